"""A rater goes through the whole study in headless Chromium, in both presentation modes;
a rater who fails the colour test is stopped; a phone is refused at the display check."""

from __future__ import annotations

import random

import pytest

from evalsite.rating import selectors
from evalsite.rating.models import Judgment, Rater, Trial
from evalsite.screening.models import ScreeningAttempt

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PHONE = (
    "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Mobile Safari/537.36"
)


def _study(make_rated_study, mode: str):
    study = make_rated_study(
        f"browser-{mode.replace('_', '-')}",
        mode=mode,
        images=2,
        size=(160, 120),
        crop_width=128,
        crop_height=96,
        qualities=(8, 30, 90),
        trials_per_rater=5,
        attention_rate=0.2,
        attention_min=1,
        practice_trials=1,
        break_every=3,
        min_view_ms=300,
        colour_plates=3,
        colour_pass=3,
        artifact_items=3,
        artifact_pass=2,
        completion_code="PICO-OK",
    )
    study.completion_redirect = "https://app.prolific.com/submissions/complete?cc={code}"
    study.save()
    return study


def _good_side(trial: Trial) -> str:
    good = "a" if selectors.golden_winner((trial.a_id, trial.b_id)) == trial.a_id else "b"
    return "left" if trial.shown_left == good else "right"


def _through_display(page, live_server, study, pid: str, screenshot, prefix: str) -> Rater:
    page.goto(f"{live_server.url}/s/{study.slug}/?PROLIFIC_PID={pid}&STUDY_ID=st&SESSION_ID=se")
    page.wait_for_selector("#consent")
    screenshot(page, f"{prefix}-01-consent")
    page.click("#agree")
    page.wait_for_selector("#instructions")
    page.wait_for_function("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    screenshot(page, f"{prefix}-02-instructions")
    page.click("#continue")
    page.wait_for_selector("#display-check")
    page.check("#zoom-confirm")
    screenshot(page, f"{prefix}-03-display")
    page.click("#display-continue")
    page.wait_for_selector("#colour-test")
    return Rater.objects.get(study=study, crowd_id=pid)


def _answer_screening(page, rater: Rater, screenshot, prefix: str) -> None:
    page.wait_for_function("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    screenshot(page, f"{prefix}-04-colour")
    attempt = ScreeningAttempt.objects.get(rater=rater, kind="colour")
    for item in attempt.items.all():
        page.fill(f"input[name=item-{item.index}]", item.expected)
    page.click("#colour-submit")
    page.wait_for_selector("#artifact-test")
    page.wait_for_function("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    screenshot(page, f"{prefix}-05-artifacts")
    attempt = ScreeningAttempt.objects.get(rater=rater, kind="artifact")
    for item in attempt.items.all():
        page.check(f"input[name=item-{item.index}][value={item.expected}]")
    page.click("#artifact-submit")


def _judge_current(page, flicker: bool, choice: str) -> None:
    page.wait_for_selector("#choose-left:not([disabled])")
    if flicker:
        for key in ("2", "3", "Space", "1"):
            page.keyboard.press(key)
    page.keyboard.press("ArrowLeft" if choice == "left" else "ArrowRight")


@pytest.mark.parametrize(("mode", "dpr"), [("side_by_side", 1), ("flicker", 2)])
def test_a_rater_completes_the_study_in_the_browser(live_server, new_page, make_rated_study, screenshot, mode, dpr):
    study = _study(make_rated_study, mode)
    page = new_page(device_scale_factor=dpr)
    prefix = f"rater-{mode}"
    flicker = mode == "flicker"
    rater = _through_display(page, live_server, study, f"pid-{mode}", screenshot, prefix)
    _answer_screening(page, rater, screenshot, prefix)

    rng = random.Random(1)
    shots = set()
    reloaded = False
    for _ in range(20):
        page.wait_for_selector("#trial, #break, #done")
        if page.query_selector("#done"):
            break
        if page.query_selector("#break"):
            screenshot(page, f"{prefix}-08-break")
            page.click("#continue")
            continue
        token = page.get_attribute("input[name=trial]", "value")
        trial = Trial.objects.select_related("a", "b").get(token=token)
        if trial.kind == Trial.Kind.TRIAL and not reloaded:
            # A reload shows the same comparison, not a new one.
            page.reload()
            page.wait_for_selector("#trial")
            assert page.get_attribute("input[name=trial]", "value") == token
            reloaded = True
        page.wait_for_function("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
        # Crops are shown at 1:1 device pixels: CSS size = image pixels / devicePixelRatio.
        sizes = page.eval_on_selector_all(
            "#trial img.px", "imgs => imgs.map(i => [i.naturalWidth, parseFloat(i.style.width)])"
        )
        assert all(abs(css - natural / dpr) < 0.01 for natural, css in sizes), sizes
        if trial.kind not in shots:
            screenshot(
                page, f"{prefix}-{ {'practice': '06', 'trial': '07', 'attention': '07'}[trial.kind] }-{trial.kind}"
            )
            shots.add(trial.kind)
        choice = _good_side(trial) if trial.kind != Trial.Kind.TRIAL else rng.choice(["left", "right"])
        _judge_current(page, flicker, choice)
        page.wait_for_load_state("load")

    page.wait_for_selector("#done")
    screenshot(page, f"{prefix}-09-done")
    assert page.inner_text("#completion-code") == "PICO-OK"
    assert page.get_attribute("#return", "href") == "https://app.prolific.com/submissions/complete?cc=PICO-OK"

    rater.refresh_from_db()
    assert rater.stage == Rater.Stage.DONE and not rater.excluded
    assert rater.device_pixel_ratio == dpr and rater.window_width == 1600
    judgments = Judgment.objects.filter(trial__rater=rater)
    assert judgments.filter(trial__kind=Trial.Kind.PRACTICE).count() == 1
    assert judgments.filter(trial__kind__in=["trial", "attention"]).count() == 5
    assert judgments.filter(trial__kind="attention").count() == 1
    assert all(j.response_ms >= 300 for j in judgments)
    if flicker:
        assert all(j.switches == 4 for j in judgments)
    else:
        assert all(j.switches == 0 for j in judgments)


def test_a_rater_who_fails_the_colour_test_is_stopped(live_server, page, make_rated_study, screenshot):
    study = _study(make_rated_study, "side_by_side")
    rater = _through_display(page, live_server, study, "pid-fails", screenshot, "fail")
    for index in range(3):
        page.fill(f"input[name=item-{index}]", "1")  # 1 is never drawn on a plate
    page.click("#colour-submit")
    page.wait_for_selector("#message")
    screenshot(page, "fail-04-stopped")
    assert "cannot take part" in page.inner_text("#message")
    rater.refresh_from_db()
    assert rater.stage == Rater.Stage.SCREENED_OUT

    # Opening the link again with the same crowd id does not allow a second try.
    page.goto(f"{live_server.url}/s/{study.slug}/?PROLIFIC_PID=pid-fails")
    page.wait_for_selector("#message")
    assert "cannot take part" in page.inner_text("#message")
    page.goto(f"{live_server.url}/s/{study.slug}/colour/")
    assert page.url.endswith("/stopped/")
    assert ScreeningAttempt.objects.filter(rater=rater).count() == 1


def test_a_phone_is_politely_refused_at_the_display_check(live_server, new_page, make_rated_study, screenshot):
    study = _study(make_rated_study, "side_by_side")
    page = new_page(user_agent=PHONE, viewport={"width": 1600, "height": 1000})
    page.goto(f"{live_server.url}/s/{study.slug}/?pid=phone")
    page.click("#agree")
    page.click("#continue")
    page.check("#zoom-confirm")
    page.click("#display-continue")
    page.wait_for_selector("#display-error")
    screenshot(page, "phone-03-refused")
    assert page.get_attribute("#display-error", "data-code") == "mobile"
    assert Rater.objects.get(crowd_id="phone").stage == Rater.Stage.DISPLAY
