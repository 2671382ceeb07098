"""The study page's live picture: reasons and states in words, pace and time to target, the curves
figure (cached, researcher-only) and the full report's stamp (stale once more judgments arrived)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from PIL import Image

from evalsite.rating.models import Judgment
from evalsite.studies import figures, live
from evalsite.studies.models import Study
from evalsite.studies.scores import write_report
from evalsite.studies.services import analysis_dir

pytestmark = pytest.mark.django_db

ELO = [
    {"codec": "jpeg", "level": 0, "elo": 0.0},
    {"codec": "jpeg", "level": 1, "elo": 150.0},
    {"codec": "jpeg", "level": 2, "elo": 300.0},
    {"codec": "pico", "level": 0, "elo": 420.0},
    {"codec": "pico", "level": 1, "elo": 410.0},
    {"codec": "pico", "level": 2, "elo": 600.0},
]


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()


# --- words ------------------------------------------------------------------------------------


def test_no_overlap_names_the_conditions_nearest_in_quality_and_the_share_of_draws():
    words = live.reason_in_words("no_overlap in 22% of draws", codec="pico", anchor="jpeg", elo=ELO)
    assert words == (
        "The pico and jpeg curves do not overlap in quality yet (in 22% of the fit's draws): "
        "more judgments comparing pico level 1 with jpeg level 2, the nearest in quality, would help."
    )


def test_not_monotone_names_the_step_most_in_doubt():
    words = live.reason_in_words("not_monotone in 40% of draws", codec="pico", anchor="jpeg", elo=ELO)
    assert "more judgments between pico levels 0 and 1 would settle their order" in words
    assert "no_overlap" not in words and "not_monotone" not in words


def test_too_few_points_and_unknown_reasons_are_sentences_too():
    assert "fewer than three judged levels" in live.reason_in_words("too_few_points", codec="pico", anchor="jpeg")
    assert live.reason_in_words("odd_thing", codec="pico", anchor="jpeg") == "No BD-rate yet: odd_thing."
    # Without an Elo table the sentence still stands, without naming levels.
    assert "more judgments between the two codecs" in live.reason_in_words("no_overlap", codec="a", anchor="b")


def test_generation_states_are_said_once_in_words():
    assert live.generation_in_words("queued", "queued").startswith("Waiting for a worker")
    assert "queued: queued" not in live.generation_in_words("queued", "queued")
    assert live.generation_in_words("running", "3/8 jpeg") == "Making the reconstructions: 3/8 jpeg"
    assert live.generation_in_words("failed", "disk full") == "Making the reconstructions failed: disk full"


# --- pace -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("judgments", "target", "per_hour", "hours"),
    [(100, 400, 50.0, 6.0), (400, 400, None, 0.0), (100, 0, 50.0, None), (100, 400, None, None)],
)
def test_hours_to_target(judgments, target, per_hour, hours):
    assert live.hours_to_target(judgments, target, per_hour) == hours


def test_durations_are_said_as_estimates():
    assert live.duration_in_words(0.4) == "under an hour"
    assert live.duration_in_words(1.2) == "about an hour"
    assert live.duration_in_words(6.4) == "about 6 hours"
    assert live.duration_in_words(80) == "about 3 days"


def test_pace_counts_the_last_hours_and_estimates_the_time_to_the_target(make_study, judge):
    study = make_study(target_judgments=100)
    judge(study, n=30)
    now = timezone.now()
    old = list(Judgment.objects.order_by("pk").values_list("pk", flat=True)[:10])
    Judgment.objects.filter(pk__in=old).update(created_at=now - timedelta(hours=5))  # before the 3-hour window
    pace = live.pace(study, now=now + timedelta(seconds=1))
    assert pace.judgments == 30
    assert pace.per_hour == pytest.approx(20 / 3, rel=1e-3)
    assert pace.hours_left == pytest.approx(70 / (20 / 3), rel=1e-3)
    assert pace.time_left == "about 10 hours"
    assert [count for _, count in pace.timeline] == [10, 20]
    assert pace.bucket == "hour"


def test_pace_lists_days_once_judgments_span_more_than_two_days(make_study, judge):
    study = make_study()
    judge(study, n=6)
    first = Judgment.objects.order_by("pk").first()
    Judgment.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(days=3))
    pace = live.pace(study)
    assert pace.bucket == "day"
    assert [count for _, count in pace.timeline] == [1, 5]
    assert pace.time_left == "no target set"


# --- the curves figure ------------------------------------------------------------------------


def test_the_curves_figure_is_drawn_once_per_state_of_the_judgments(make_study, judge, monkeypatch):
    study = make_study()
    judge(study, n=40, seed=1)
    drawn = []
    real = figures.curves_figure
    monkeypatch.setattr(figures, "curves_figure", lambda *a, **k: drawn.append(1) or real(*a, **k))
    png = figures.curves_png(study)
    assert Image.open(io.BytesIO(png)).format == "PNG"
    assert figures.curves_png(study) == png and len(drawn) == 1  # a page refresh redraws nothing
    judge(study, n=5, seed=2)
    figures.curves_png(study)
    assert len(drawn) == 2  # a new judgment does


def test_the_study_page_embeds_the_live_figure_and_pace(client, make_study, judge, alice):
    study = make_study(target_judgments=500)
    judge(study, n=40, seed=1)
    client.force_login(alice)
    page = client.get(f"/studies/{study.slug}/").content.decode()
    assert f'<img id="live-curves" src="/studies/{study.slug}/live/curves.png?n=40"' in page
    assert 'id="per-hour"' in page and "to 500 judgments" in page
    response = client.get(f"/studies/{study.slug}/live/curves.png")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")


def test_the_live_figure_is_for_the_studys_researchers_only(client, make_study, judge, bob):
    study = make_study()
    judge(study, n=40, seed=1)
    url = f"/studies/{study.slug}/live/curves.png"
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(bob)
    assert client.get(url).status_code == 404


def test_a_study_without_enough_judgments_has_no_figure(client, make_study, alice):
    study = make_study()
    client.force_login(alice)
    assert client.get(f"/studies/{study.slug}/live/curves.png").status_code == 404
    assert 'id="live-curves"' not in client.get(f"/studies/{study.slug}/").content.decode()


# --- report stamps ----------------------------------------------------------------------------


def test_a_report_is_stamped_and_marked_stale_when_more_judgments_arrive(client, make_study, judge, alice, settings):
    settings.STUDY_REPORT_METHOD = "map"
    study = make_study()
    judge(study, n=40, seed=1)
    folder = write_report(study, analysis_dir(study))
    assert json.loads((folder / live.STAMP_FILE).read_text())["judgments"] == 40
    client.force_login(alice)
    page = client.get(f"/studies/{study.slug}/").content.decode()
    assert "computed from 40 judgments at" in page and "stale" not in page

    judge(study, n=8, seed=2)
    page = client.get(f"/studies/{study.slug}/").content.decode()
    assert "stale: computed from 40 judgments, 48 now" in page
    report = client.get(f"/studies/{study.slug}/analysis/report.html").content.decode()
    assert 'id="stale-report"' in report and "40 judgments, 48 now" in report
    bundle = zipfile.ZipFile(io.BytesIO(client.get(f"/studies/{study.slug}/export/bundle.zip").content))
    bundled = bundle.read("analysis/report.html").decode()
    assert 'id="stale-report"' in bundled and "40 judgments, 48 now" in bundled
    assert json.loads(bundle.read("analysis/stamp.json"))["judgments"] == 40


def test_a_fresh_report_is_bundled_as_it_was_written(client, make_study, judge, alice, settings):
    settings.STUDY_REPORT_METHOD = "map"
    study = make_study()
    judge(study, n=40, seed=1)
    folder = write_report(study, analysis_dir(study))
    client.force_login(alice)
    bundle = zipfile.ZipFile(io.BytesIO(client.get(f"/studies/{study.slug}/export/bundle.zip").content))
    assert bundle.read("analysis/report.html") == (folder / "report.html").read_bytes()


def test_a_report_without_a_stamp_is_called_stale(tmp_path):
    (tmp_path / "report.html").write_text("<html><body><h1>Report</h1></body></html>")
    stamp = live.report_stamp(tmp_path, 12)
    assert stamp is not None and stamp.stale
    assert stamp.words == "stale: computed from an unknown number of judgments, 12 now"
    assert live.stale_banner("<html><body><h1>R</h1>", stamp).startswith('<html><body><p id="stale-report"')
    assert live.report_stamp(tmp_path / "nothing", 12) is None


def test_bdrate_reasons_show_as_sentences_on_the_study_page(client, make_study, judge, add_codec, alice):
    study = make_study(qualities=(10, 90))  # two levels per codec: too few for a BD-rate
    add_codec(study, "other")
    judge(study, n=60, seed=1)
    client.force_login(alice)
    page = client.get(f"/studies/{study.slug}/").content.decode()
    assert "fewer than three judged levels" in page
    assert "too_few_points" not in page


def test_the_status_poll_says_the_generation_state_in_words(client, make_study, alice):
    study = make_study(state=Study.State.DRAFT)
    Study.objects.filter(pk=study.pk).update(generation=Study.Generation.QUEUED, generation_message="queued")
    client.force_login(alice)
    status = client.get(f"/studies/{study.slug}/status/").json()
    assert status["words"].startswith("Waiting for a worker")
    page = client.get(f"/studies/{study.slug}/").content.decode()
    assert "queued: queued" not in page and "Waiting for a worker" in page


def test_a_report_task_is_said_in_words():
    started = timezone.now().replace(hour=9, minute=5)
    assert live.report_task_in_words("READY", None).startswith("A full report is waiting for a worker")
    assert live.report_task_in_words("RUNNING", started) == "The full report is being computed (since 09:05 UTC)."
    assert live.report_task_in_words("FAILED", None, "MemoryError") == "The last full report failed: MemoryError"


def test_the_study_page_follows_the_queued_report_until_it_is_done(client, make_study, judge, alice):
    from django_tasks_db.models import DBTaskResult

    study = make_study()
    judge(study, n=40, seed=1)
    client.force_login(alice)
    client.post(f"/studies/{study.slug}/report/")  # the database backend: queued for a worker
    assert "A full report is waiting for a worker" in client.get(f"/studies/{study.slug}/").content.decode()
    DBTaskResult.objects.update(
        status="FAILED",
        exception_class_path="builtins.MemoryError",
        traceback="Traceback ...\nMemoryError: out of memory",
    )
    page = client.get(f"/studies/{study.slug}/").content.decode()
    assert "The last full report failed: MemoryError: out of memory" in page
    DBTaskResult.objects.update(status="SUCCESSFUL")
    assert 'id="report-state"' not in client.get(f"/studies/{study.slug}/").content.decode()
