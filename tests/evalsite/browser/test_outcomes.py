"""Every way a session ends, in headless Chromium: each outcome's page shows its code, and its button
leads to its redirect on the (stubbed) crowd platform. Also: a link without a crowd id where one is
required, an image that fails to load and is retried, and flicker mode's "view both copies" rule."""

from __future__ import annotations

import pytest

from evalsite.rating.models import Rater, Trial
from evalsite.rating.stimuli import ATTENTION_HIGH
from tests.evalsite.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PLATFORM = "https://app.prolific.com/submissions/complete"
CODES = {
    "completed": "OK-DONE",
    "screened_out": "OK-SCREEN",
    "excluded": "OK-EXCL",
    "declined": "OK-DECL",
    "refused_device": "OK-DEVICE",
}


def _study(make_rated_study, slug: str, **fields):
    """A small study with a code per outcome and one Prolific redirect for all of them."""
    options = dict(
        images=2,
        size=(160, 120),
        crop_width=96,
        crop_height=96,
        qualities=(8, 30, 90),
        trials_per_rater=2,
        attention_rate=0.0,
        attention_min=0,
        practice_trials=0,
        break_every=0,
        min_view_ms=0,
        colour_plates=0,
        artifact_items=0,
        completion_code=CODES["completed"],
        completion_redirect=PLATFORM + "?cc={code}",
    )
    study = make_rated_study(slug, **{**options, **fields})
    study.outcomes = {name: {"code": code} for name, code in CODES.items() if name != "completed"}
    study.save()
    return study


def _platform(page) -> list[str]:
    """Stub the crowd platform: record the URLs the rater is sent to."""
    visited: list[str] = []

    def answer(route):
        visited.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<h1 id='platform'>Prolific</h1>")

    page.context.route("https://app.prolific.com/**", answer)
    return visited


def _start(page, live_server, study, pid: str) -> None:
    page.goto(f"{live_server.url}/s/{study.slug}/?PROLIFIC_PID={pid}&STUDY_ID=st&SESSION_ID=se")
    page.wait_for_selector("#consent")


def _through_display(page, live_server, study, pid: str) -> None:
    _start(page, live_server, study, pid)
    page.click("#agree")
    page.click("#continue")
    page.check("#zoom-confirm")
    page.click("#display-continue")


def _answer(page, choice_for) -> None:
    """Answer comparisons until the session ends; ``choice_for(trial)`` says 'left' or 'right'."""
    for _ in range(20):
        page.wait_for_selector("#trial, #done, #message")
        if not page.query_selector("#trial"):
            return
        trial = Trial.objects.select_related("a", "b").get(token=page.get_attribute("input[name=trial]", "value"))
        page.wait_for_selector("#choose-left:not([disabled])")
        page.keyboard.press("ArrowLeft" if choice_for(trial) == "left" else "ArrowRight")
        page.wait_for_load_state("load")


def _good_side(trial: Trial) -> str:
    good = "a" if trial.a.codec == ATTENTION_HIGH else "b"
    return "left" if trial.shown_left == good else "right"


def _check_outcome(page, visited, name: str, screenshot) -> None:
    """The page shows the outcome's code; its button leads to the platform with that code."""
    screenshot(page, f"outcome-{name}")
    code_id, button_id = (
        ("#completion-code", "#return") if name == "completed" else ("#outcome-code", "#outcome-return")
    )
    assert page.get_attribute("#outcome", "data-outcome") == name
    assert page.inner_text(code_id) == CODES[name]
    page.click(button_id)
    page.wait_for_selector("#platform")
    assert visited == [f"{PLATFORM}?cc={CODES[name]}"]


def test_completed_raters_get_the_completion_code_and_redirect(live_server, page, make_rated_study, screenshot):
    study = _study(make_rated_study, "out-completed")
    visited = _platform(page)
    _through_display(page, live_server, study, "pid-done")
    _answer(page, lambda trial: "left")
    page.wait_for_selector("#done")
    _check_outcome(page, visited, "completed", screenshot)
    assert Rater.objects.get(crowd_id="pid-done").stage == Rater.Stage.DONE


def test_screened_out_raters_get_their_code_and_redirect(live_server, page, make_rated_study, screenshot):
    study = _study(make_rated_study, "out-screened", colour_plates=1, colour_pass=1)
    visited = _platform(page)
    _through_display(page, live_server, study, "pid-screened")
    page.wait_for_selector("#colour-test")
    page.fill("input[name=item-0]", "1")  # 1 is never drawn on a plate
    page.click("#colour-submit")
    page.wait_for_selector("#message")
    _check_outcome(page, visited, "screened_out", screenshot)


def test_excluded_raters_get_their_code_and_redirect(live_server, page, make_rated_study, screenshot):
    study = _study(make_rated_study, "out-excluded", trials_per_rater=3, attention_min=1, attention_max_failures=0)
    visited = _platform(page)
    _through_display(page, live_server, study, "pid-excluded")
    # Every attention check answered wrong: the first one excludes.
    _answer(
        page, lambda t: ("right" if _good_side(t) == "left" else "left") if t.kind == Trial.Kind.ATTENTION else "left"
    )
    page.wait_for_selector("#message")
    _check_outcome(page, visited, "excluded", screenshot)
    assert Rater.objects.get(crowd_id="pid-excluded").excluded


def test_declining_raters_get_their_code_and_leave_no_crowd_id(live_server, page, make_rated_study, screenshot):
    study = _study(make_rated_study, "out-declined")
    visited = _platform(page)
    _start(page, live_server, study, "pid-declines")
    page.click("#decline")
    page.wait_for_selector("#declined")
    assert not Rater.objects.filter(crowd_id="pid-declines").exists()
    assert not Rater.objects.filter(study=study).exists()
    _check_outcome(page, visited, "declined", screenshot)


def test_a_too_dense_screen_gets_the_refused_device_code(live_server, new_page, make_rated_study, screenshot):
    study = _study(make_rated_study, "out-device", high_density="refuse", max_pixel_ratio=1.5)
    page = new_page(device_scale_factor=2)
    visited = _platform(page)
    _through_display(page, live_server, study, "pid-retina")
    page.wait_for_selector("#display-error")
    assert page.get_attribute("#display-error", "data-code") == "high_density"
    _check_outcome(page, visited, "refused_device", screenshot)
    rater = Rater.objects.get(crowd_id="pid-retina")
    assert rater.stage == Rater.Stage.DISPLAY and rater.device_pixel_ratio == 2 and rater.browser == "chrome"
    assert rater.zoom_hint is not None


def test_a_link_without_a_crowd_id_is_refused_when_one_is_required(live_server, page, make_rated_study, screenshot):
    study = _study(make_rated_study, "out-required", require_crowd_id=True)
    page.goto(f"{live_server.url}/s/{study.slug}/")
    page.wait_for_selector("#message")
    screenshot(page, "outcome-crowd-id-required")
    assert page.get_attribute("#message", "data-code") == "crowd_id_required"
    assert not Rater.objects.filter(study=study).exists()


def test_an_image_that_fails_to_load_can_be_retried(live_server, page, make_rated_study, screenshot):
    study = _study(make_rated_study, "out-retry", min_view_ms=200)
    failures = []

    def flaky(route):
        if not failures:  # the first comparison image fails once
            failures.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    _start(page, live_server, study, "pid-flaky")
    page.click("#agree")
    page.click("#continue")
    page.check("#zoom-confirm")
    page.route("**/img/**", flaky)  # from the first comparison on (the instructions' example loads fine)
    page.click("#display-continue")
    page.wait_for_selector("#image-error:not([hidden])")
    screenshot(page, "outcome-image-retry")
    assert "did not load" in page.inner_text("#image-error")
    assert page.is_disabled("#choose-left")
    page.click("#image-retry")
    page.wait_for_selector("#image-error", state="hidden")
    page.wait_for_selector("#choose-left:not([disabled])")
    assert page.eval_on_selector_all("#trial img.px", "imgs => imgs.every(i => i.naturalWidth > 0)")


def test_flicker_mode_can_require_viewing_both_copies(live_server, page, make_rated_study):
    study = _study(make_rated_study, "out-both", mode="flicker", flicker_view_both=True, min_view_ms=100)
    _through_display(page, live_server, study, "pid-both")
    page.wait_for_selector("#trial")
    page.wait_for_timeout(300)
    assert page.is_disabled("#choose-left") and "both" in page.inner_text("#wait")
    page.keyboard.press("2")  # the original: still not both copies
    page.wait_for_timeout(50)
    assert page.is_disabled("#choose-left")
    page.keyboard.press("3")
    page.wait_for_selector("#choose-left:not([disabled])")


def test_a_researcher_previews_the_whole_flow_and_leaves_no_data(
    live_server, page, make_rated_study, alice, screenshot
):
    study = _study(make_rated_study, "out-preview")
    log_in(page, f"{live_server.url}/studies/{study.slug}/")
    page.wait_for_selector("#preview")
    page.click("#preview")
    page.wait_for_selector("#preview-banner")
    screenshot(page, "outcome-preview-consent")
    page.click("#agree")
    page.click("#continue")
    page.check("#zoom-confirm")
    page.click("#display-continue")
    _answer(page, lambda trial: "left")
    page.wait_for_selector("#done")
    preview = Rater.objects.get(study=study)
    assert preview.preview and preview.stage == Rater.Stage.DONE
    page.goto(f"{live_server.url}/studies/{study.slug}/")
    assert page.inner_text("#n-started") == "0" and page.inner_text("#n-judgments") == "0"
    assert "No raters yet" in page.inner_text("#rater-table")


def test_a_study_that_allows_ties_offers_cant_decide_by_button_and_key(make_rated_study, page, live_server, screenshot):
    study = _study(make_rated_study, "ties", allow_ties=True)
    _through_display(page, live_server, study, "PID-TIES")
    page.wait_for_selector("#choose-tie:not([disabled])")
    screenshot(page, "ties-trial")
    page.click("#choose-tie")
    page.wait_for_selector("#trial, #done")
    page.wait_for_selector("#choose-left:not([disabled])")
    page.keyboard.press("ArrowDown")
    page.wait_for_selector("#done")
    winners = list(Trial.objects.filter(rater__study=study).values_list("judgment__winner", flat=True))
    assert winners == ["tie", "tie"]
