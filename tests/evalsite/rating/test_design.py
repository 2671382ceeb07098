"""The adaptive pair design: shares refreshed from the MAP preview, stored on the study, shown on its page."""

from __future__ import annotations

import pytest

from analysis.design import PILOT_PER_CONDITION
from evalsite.rating.design import refresh_design, refresh_due

pytestmark = pytest.mark.django_db

# True Elo of the simulated study: "other" is 100 Elo better than JPEG at each level, at 0.8x the bits.
ELO = {("jpeg", 0): 0, ("jpeg", 1): 200, ("jpeg", 2): 400, ("other", 0): 100, ("other", 1): 300, ("other", 2): 500}


@pytest.fixture
def simulated(make_study, add_codec, judge_by_elo):
    """An adaptive study of JPEG and a better codec, with 600 judgments drawn from ``ELO``."""
    study = make_study(design="adaptive")
    add_codec(study)
    for seed in range(3):
        judge_by_elo(study, ELO, n=200, seed=seed)
    return study


def test_refresh_stores_shares_that_favour_close_elo_pairs_across_codecs(simulated):
    assert refresh_design(simulated) == 600
    simulated.refresh_from_db()
    assert simulated.design_judgments == 600
    shares = {(a, la, b, lb): share for a, la, b, lb, share in simulated.design_shares}
    assert len(shares) == 15  # every unordered pair of the 6 conditions
    assert sum(shares.values()) == pytest.approx(1.0)
    cross = {pair: share for pair, share in shares.items() if pair[0] != pair[2]}
    close = [share for (a, la, b, lb), share in cross.items() if abs(ELO[(a, la)] - ELO[(b, lb)]) <= 100]
    far = [share for (a, la, b, lb), share in cross.items() if abs(ELO[(a, la)] - ELO[(b, lb)]) >= 300]
    assert sum(close) / len(close) > 2 * sum(far) / len(far)
    assert simulated.events.filter(action="design", detail__contains="600 judgments").exists()


def test_refresh_keeps_the_base_design_while_there_is_nothing_to_fit(make_study, add_codec):
    study = make_study(design="adaptive")
    add_codec(study)
    assert refresh_design(study) == 0
    study.refresh_from_db()
    assert study.design_judgments == 0
    assert len(study.design_shares) == 15
    assert sum(row[4] for row in study.design_shares) == pytest.approx(1.0)


def test_refreshes_come_after_the_pilot_then_after_a_quarter_more_judgments():
    pilot = PILOT_PER_CONDITION * 20
    assert not refresh_due(judged=pilot - 1, requested=0, n_conditions=20)
    assert refresh_due(judged=pilot, requested=0, n_conditions=20)
    assert not refresh_due(judged=9_999, requested=8_000, n_conditions=20)  # 25% of 8,000 = 2,000
    assert refresh_due(judged=10_000, requested=8_000, n_conditions=20)


def test_the_study_page_shows_the_design(client, alice, simulated, make_study):
    client.force_login(alice)
    assert "adaptive design, base design until the first update" in client.get("/studies/tiny/").content.decode()
    refresh_design(simulated)
    assert "adaptive design, last updated at 600 judgments" in client.get("/studies/tiny/").content.decode()
    make_study("plain")
    assert "balanced design" in client.get("/studies/plain/").content.decode()
