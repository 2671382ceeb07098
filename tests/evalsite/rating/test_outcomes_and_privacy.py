"""Outcome codes and redirects, crowd ids required, consent and declining, purging identifiers,
viewing conditions, high-density screens and preview raters (services and rater pages)."""

from __future__ import annotations

import pytest
from django.db import connection

from evalsite.rating import geometry, results, services
from evalsite.rating.access import session_key
from evalsite.rating.errors import RatingError
from evalsite.rating.models import Judgment, Rater, RaterEvent
from evalsite.rating.outcomes import OUTCOMES, outcome
from evalsite.studies.models import Study, StudyEvent
from tests.evalsite.conftest import desktop_display

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
EDGE = "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36 Edg/140.0"
SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15"
)
PROLIFIC = "https://app.prolific.com/submissions/complete?cc={code}"


def _display(rater: Rater, **overrides) -> None:
    services.record_display(rater=rater, display=desktop_display(**overrides))


# --- outcomes ---


@pytest.mark.django_db
def test_each_outcome_has_its_configured_code_and_falls_back_to_the_completed_redirect(make_rated_study):
    study = make_rated_study(completion_code="DONE", completion_redirect=PROLIFIC)
    study.outcomes = {
        "screened_out": {"code": "SCR EEN"},
        "declined": {"code": "NO", "redirect": "https://x.org/{code}"},
    }
    study.save()
    assert outcome(study, "completed").redirect == "https://app.prolific.com/submissions/complete?cc=DONE"
    # The code is URL-quoted where it is substituted.
    assert outcome(study, "screened_out").redirect == "https://app.prolific.com/submissions/complete?cc=SCR%20EEN"
    assert outcome(study, "declined").redirect == "https://x.org/NO"
    excluded = outcome(study, "excluded")
    assert not excluded.configured and excluded.redirect.endswith(f"cc={excluded.code}")


@pytest.mark.django_db
def test_default_codes_are_study_wide_distinct_per_outcome_and_unguessable_from_the_slug(make_rated_study, settings):
    study = make_rated_study()
    codes = [outcome(study, name).code for name in OUTCOMES]
    assert len(set(codes)) == len(OUTCOMES) and all(len(c) == 8 and c.isalnum() for c in codes)
    assert outcome(study, "completed").redirect == ""  # no redirect configured: the page shows the code only
    settings.SECRET_KEY = "another secret key for the test, long enough to be realistic"
    assert outcome(study, "completed").code != codes[0]


@pytest.mark.django_db
def test_a_study_that_requires_a_crowd_id_refuses_a_bare_link_with_a_message(make_rated_study, client):
    study = make_rated_study(require_crowd_id=True)
    with pytest.raises(RatingError) as caught:
        services.start_rater(study=study, params={})
    assert caught.value.code == "crowd_id_required"
    response = client.get(f"/s/{study.slug}/")
    assert response.status_code == 200 and b"missing your participant id" in response.content
    assert not Rater.objects.exists()
    assert services.start_rater(study=study, params={"PROLIFIC_PID": "p1"}).crowd_id == "p1"


@pytest.mark.django_db
def test_end_pages_show_their_outcome_code_and_redirect(make_rated_study, walk_rater, client):
    study = make_rated_study(completion_redirect=PROLIFIC)
    study.outcomes = {"excluded": {"code": "EXCL"}, "screened_out": {"code": "SCRN"}}
    study.save()
    rater = walk_rater(study, Rater.Stage.TRIALS, client=client)
    services.exclude_rater(rater=rater, reason="test")
    page = client.get(f"/s/{study.slug}/stopped/").content.decode()
    assert 'data-outcome="excluded"' in page and "EXCL" in page and "cc=EXCL" in page
    Rater.objects.filter(pk=rater.pk).update(excluded=False, stage=Rater.Stage.SCREENED_OUT)
    page = client.get(f"/s/{study.slug}/stopped/").content.decode()
    assert (
        'data-outcome="screened_out"' in page and 'href="https://app.prolific.com/submissions/complete?cc=SCRN"' in page
    )


@pytest.mark.django_db
def test_a_phone_gets_the_refused_device_code_and_keeps_its_place(make_rated_study, walk_rater, client):
    study = make_rated_study()
    study.outcomes = {"refused_device": {"code": "DEVICE", "redirect": "https://x.org/?c={code}"}}
    study.save()
    rater = walk_rater(study, Rater.Stage.DISPLAY, client=client)
    form = {"device_pixel_ratio": 1, "window_width": 1900, "window_height": 1000, "zoom_ok": "on", "zoom_hint": 1}
    page = client.post(f"/s/{study.slug}/display/", form, HTTP_USER_AGENT="Mozilla/5.0 (iPhone) Mobile").content
    assert b'data-code="mobile"' in page and b'href="https://x.org/?c=DEVICE"' in page
    rater.refresh_from_db()
    assert rater.stage == Rater.Stage.DISPLAY and rater.events.filter(kind="device_refused").exists()
    # A window that is merely too small is not a refused device: the rater can fix it.
    page = client.post(f"/s/{study.slug}/display/", {**form, "window_width": 100}, HTTP_USER_AGENT=CHROME).content
    assert b'data-code="window_too_small"' in page and b"DEVICE" not in page


# --- consent and privacy ---


@pytest.mark.django_db
def test_a_declining_rater_leaves_no_crowd_id_or_browser_string_in_the_database(make_rated_study, client):
    study = make_rated_study()
    client.get(f"/s/{study.slug}/?PROLIFIC_PID=pid-secret&STUDY_ID=st&SESSION_ID=se", HTTP_USER_AGENT="Secret/1.0")
    assert Rater.objects.filter(crowd_id="pid-secret").exists()
    page = client.post(f"/s/{study.slug}/consent/", {"decline": "1"}).content.decode()
    assert 'data-outcome="declined"' in page and outcome(study, "declined").code in page
    assert not Rater.objects.exists() and not RaterEvent.objects.exists()
    with connection.cursor() as cursor:  # nowhere in the database, not only not in the rater table
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')
            dump = repr(cursor.fetchall())
            assert "pid-secret" not in dump and "Secret/1.0" not in dump, table
    assert StudyEvent.objects.filter(study=study, action="rater_declined").count() == 1
    # Changing one's mind: the same crowd id starts afresh.
    client.get(f"/s/{study.slug}/?PROLIFIC_PID=pid-secret")
    assert Rater.objects.get(crowd_id="pid-secret").stage == Rater.Stage.CONSENT


@pytest.mark.django_db
def test_consent_stores_the_sheets_version_which_changes_with_its_text(make_rated_study, walk_rater):
    study = make_rated_study(consent_duration="10 minutes")
    first = walk_rater(study, Rater.Stage.INSTRUCTIONS)
    assert first.consent_version.startswith("sha256:") and first.consented_at is not None
    Study.objects.filter(pk=study.pk).update(consent_pay="GBP 2")
    second = walk_rater(Study.objects.get(pk=study.pk), Rater.Stage.INSTRUCTIONS)
    assert second.consent_version != first.consent_version
    Study.objects.filter(pk=study.pk).update(consent_version="v3")
    assert walk_rater(Study.objects.get(pk=study.pk), Rater.Stage.INSTRUCTIONS).consent_version == "v3"


@pytest.mark.django_db
def test_the_consent_page_shows_the_studys_information_sheet(make_rated_study, client):
    study = make_rated_study(
        consent_title="Which photo is closer?",
        consent_pay="GBP 2.50",
        consent_ethics_reference="ERC-42",
        consent_text="First <b>para</b>.\n\nSecond\npara.",
    )
    page = client.get(f"/s/{study.slug}/?pid=x", follow=True).content.decode()
    assert "Which photo is closer?" in page and "GBP 2.50" in page and "ERC-42" in page
    assert '<p class="consent-text">First &lt;b&gt;para&lt;/b&gt;.</p>' in page  # plain text, escaped
    assert '<p class="consent-text">Second para.</p>' in page


@pytest.mark.django_db
def test_purging_keeps_judgments_and_still_refuses_the_same_crowd_id(make_rated_study, walk_rater):
    study = make_rated_study()
    rater = walk_rater(study, Rater.Stage.TRIALS, pid="pid-7")
    trial = services.issue_trial(rater=rater)
    services.record_judgment(rater=rater, trial_token=trial.token, choice="left", response_ms=2000)
    judged = Judgment.objects.filter(trial__rater=rater).count()
    with pytest.raises(RatingError):
        services.purge_identifiers(study=study)  # only closed studies
    Study.objects.filter(pk=study.pk).update(state=Study.State.CLOSED)
    assert services.purge_identifiers(study=study) == 1
    rater.refresh_from_db()
    assert (rater.crowd_id, rater.crowd_params, rater.user_agent) == ("", {}, "")
    assert rater.crowd_hash == services.crowd_hash(study, "pid-7") and rater.identifiers_purged_at
    assert "pid-7" not in repr(list(RaterEvent.objects.values_list("detail", flat=True)))
    assert Judgment.objects.filter(trial__rater=rater).count() == judged > 0
    Study.objects.filter(pk=study.pk).update(state=Study.State.LIVE)  # even if it were open again
    with pytest.raises(RatingError) as caught:
        services.start_rater(study=Study.objects.get(pk=study.pk), params={"pid": "pid-7"})
    assert caught.value.code == "already_taken_part"


# --- viewing conditions ---


@pytest.mark.parametrize(
    ("agent", "family"), [(CHROME, "chrome"), (FIREFOX, "firefox"), (EDGE, "edge"), (SAFARI, "safari"), ("", "other")]
)
def test_the_browser_family_is_read_from_the_user_agent(agent, family):
    assert geometry.browser_family(agent) == family


@pytest.mark.django_db
def test_viewing_conditions_reach_the_rater_table(make_rated_study, walk_rater):
    study = make_rated_study()
    rater = walk_rater(study, Rater.Stage.DISPLAY)
    _display(rater, device_pixel_ratio=1.25, window_width=1700, window_height=950, user_agent=FIREFOX, zoom_hint=1.012)
    (row,) = results.rater_rows(study)
    assert (row["device_pixel_ratio"], row["window_width"], row["window_height"]) == (1.25, 1700, 950)
    assert (row["browser"], row["zoom_hint"]) == ("firefox", 1.012)


@pytest.mark.django_db
def test_high_density_screens_are_shown_as_the_study_says(make_rated_study):
    device = make_rated_study("device", crop_width=64, crop_height=64)
    css = make_rated_study("css", crop_width=64, crop_height=64, high_density="css_pixels")
    assert geometry.required_window(device, 2.0) == (3 * 32 + 4 * geometry.GAP_CSS_PX, 32 + geometry.CONTROLS_CSS_PX)
    assert geometry.required_window(css, 2.0) == (3 * 64 + 4 * geometry.GAP_CSS_PX, 64 + geometry.CONTROLS_CSS_PX)


@pytest.mark.django_db
def test_a_study_can_refuse_pixel_ratios_above_its_limit(make_rated_study, walk_rater):
    study = make_rated_study(high_density="refuse", max_pixel_ratio=1.5)
    ok = walk_rater(study, Rater.Stage.DISPLAY)
    _display(ok, device_pixel_ratio=1.5)
    refused = walk_rater(study, Rater.Stage.DISPLAY)
    with pytest.raises(RatingError) as caught:
        _display(refused, device_pixel_ratio=2.0)
    assert caught.value.code == "high_density"
    refused.refresh_from_db()
    assert refused.stage == Rater.Stage.DISPLAY and refused.device_pixel_ratio == 2.0


@pytest.mark.django_db
def test_the_rater_pages_say_how_to_scale_images(make_rated_study, walk_rater, client):
    study = make_rated_study(high_density="css_pixels")
    walk_rater(study, Rater.Stage.INSTRUCTIONS, client=client)
    page = client.get(f"/s/{study.slug}/instructions/").content.decode()
    assert '<meta name="pico-pixels" content="css">' in page and "at a fixed size" in page


# --- flicker: both copies ---


@pytest.mark.django_db
def test_flicker_view_both_refuses_an_answer_without_a_switch(make_rated_study, walk_rater, client):
    study = make_rated_study(mode="flicker", flicker_view_both=True, practice_trials=0, attention_rate=0.0)
    rater = walk_rater(study, Rater.Stage.TRIALS, client=client)
    trial = services.issue_trial(rater=rater)
    page = client.get(f"/s/{study.slug}/compare/").content.decode()
    assert 'data-view-both="1"' in page and 'id="image-retry"' in page
    with pytest.raises(RatingError) as caught:
        services.record_judgment(rater=rater, trial_token=trial.token, choice="left", response_ms=2000, switches=0)
    assert caught.value.code == "view_both"
    services.record_judgment(rater=rater, trial_token=trial.token, choice="left", response_ms=2000, switches=2)


@pytest.mark.django_db
def test_instructions_match_the_mode(make_rated_study, walk_rater, client):
    flicker = make_rated_study("flick", mode="flicker", flicker_view_both=True)
    walk_rater(flicker, Rater.Stage.INSTRUCTIONS, client=client)
    page = client.get(f"/s/{flicker.slug}/instructions/").content.decode()
    assert "one image at a time" in page and 'id="view-both-rule"' in page and "side by side:" not in page
    side = make_rated_study("side")
    walk_rater(side, Rater.Stage.INSTRUCTIONS, client=client)
    page = client.get(f"/s/{side.slug}/instructions/").content.decode()
    assert "side by side:" in page and "<kbd>1</kbd>" not in page


# --- preview ---


@pytest.mark.django_db
def test_a_preview_rater_walks_the_flow_and_is_left_out_of_the_studys_data(make_rated_study, walk_rater, client):
    study = make_rated_study(
        target_judgments=1, practice_trials=0, attention_rate=0.0, attention_min=0, colour_plates=0, artifact_items=0
    )
    real = walk_rater(study, Rater.Stage.TRIALS, pid="real")
    trial = services.issue_trial(rater=real)
    services.record_judgment(rater=real, trial_token=trial.token, choice="left", response_ms=2000)
    # The study is full for new raters, but a researcher can still preview it.
    preview = services.start_preview(study=study)
    response = client.get(results.preview_link(preview))
    assert response.status_code == 302 and response.url.endswith("/consent/")
    assert client.session[session_key(study)] == preview.pk
    services.give_consent(rater=preview)
    services.finish_instructions(rater=preview)
    _display(preview)
    trial = services.issue_trial(rater=preview)
    services.record_judgment(rater=preview, trial_token=trial.token, choice="right", response_ms=2000)
    assert Judgment.objects.filter(trial__rater=preview).count() == 1
    assert [row["crowd_id"] for row in results.rater_rows(study)] == ["real"]
    progress = results.study_progress(study)
    assert (progress["raters_started"], progress["judgments"]) == (1, 1)
    assert len(results.judgment_rows(study, include_excluded=True)) == 1
    assert [row["participant_id"] for row in results.decision_rows(study)] == ["real"]


@pytest.mark.django_db
def test_a_preview_link_only_opens_preview_raters(make_rated_study, walk_rater, client):
    study = make_rated_study()
    real = walk_rater(study, Rater.Stage.CONSENT, pid="real")
    assert client.get(f"/s/{study.slug}/preview/{real.token}/").status_code == 404
