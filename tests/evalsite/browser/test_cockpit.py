"""A researcher creates a study through the form with completion codes and screening set, reads its plan and
cost, confirms the launch, and after simulated judgments sees the live curves figure (headless Chromium)."""

from __future__ import annotations

import pytest

from evalsite.studies.models import Study
from tests.evalsite.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cockpit_setup(settings, photo_library):
    """The plan's simulation runs in the request too; a small grid keeps it short."""
    settings.STUDY_PLAN_GRID = (300, 1200)
    settings.STUDY_PLAN_REPS = 1
    return photo_library


def test_create_with_codes_and_screening_plan_launch_and_see_the_curves(
    live_server, page, screenshot, alice, judge, cockpit_setup
):
    log_in(page, f"{live_server.url}/studies/new/")
    page.wait_for_selector("#create-form")

    page.fill("#id_slug", "cockpit")
    page.fill("#id_title", "Planned in Chromium")
    page.select_option("#id_images_folder", "photos")
    page.check("input[name=codecs][value=jpeg]")
    page.check("input[name=codecs][value=webp]")
    page.fill("#id_bpp", "0.5, 1.0, 2.0")
    page.fill("#id_trials_per_rater", "40")
    page.fill("#id_completion_code", "PICO2026")
    page.fill("#id_completion_redirect", "https://app.prolific.com/submissions/complete?cc={code}")
    page.fill("#id_screened_out_code", "NOSIGHT")
    page.fill("#id_colour_plates", "6")
    page.fill("#id_artifact_items", "6")
    page.fill("#id_artifact_pass", "4")
    page.fill("#id_min_view_ms", "1500")
    page.fill("#id_colour_pass", "7")  # more than the 6 plates, and a crop larger than the images:
    page.fill("#id_crop", "4000")  # both reported by one submit, each at its field, in words
    page.click("#create")
    page.wait_for_selector("#form-problems")
    assert "exceeds “Colour plates” = 6" in page.locator(".field-colour_pass .errorlist").inner_text()
    assert "smaller than the 4000x4000 crop" in page.locator(".field-crop .errorlist").inner_text()
    assert page.input_value("#id_completion_code") == "PICO2026"  # nothing entered is lost
    screenshot(page, "cockpit-01-create-form-problems")
    page.fill("#id_colour_pass", "5")
    page.fill("#id_crop", "96")
    page.click("#create")

    page.wait_for_selector("#plan-judgments")
    assert page.locator("#state").inner_text() == "Draft"
    study = Study.objects.get(slug="cockpit")
    assert (study.completion_code, study.outcomes["screened_out"]["code"]) == ("PICO2026", "NOSIGHT")
    assert (study.colour_plates, study.colour_pass, study.artifact_items, study.min_view_ms) == (6, 5, 6, 1500)
    judgments = int(page.locator("#plan-judgments").inner_text())
    assert judgments > 0
    assert page.locator("#plan-cost").inner_text().startswith("GBP ")
    assert "objective metrics" in page.locator("#plan-source").inner_text()

    page.fill("#id_hourly_rate", "20")
    page.fill("#id_currency", "EUR")
    page.click("#plan-update")
    page.wait_for_selector("#plan-cost:has-text('EUR')")
    assert int(page.locator("#plan-judgments").inner_text()) == judgments  # pay changes the cost, not the judgments
    screenshot(page, "cockpit-02-plan")

    page.click("#launch")
    page.wait_for_selector("#confirm-launch")
    assert page.locator("#plan-pay").inner_text().startswith("EUR ")  # the inputs travel to the confirmation
    assert int(page.locator("#plan-judgments").inner_text()) == judgments
    screenshot(page, "cockpit-03-confirm-launch")
    page.click("#confirm-launch")
    page.wait_for_selector("#rater-link")
    assert page.locator("#state").inner_text() == "Live"
    study.refresh_from_db()
    assert study.state == Study.State.LIVE

    for seed in range(3):
        judge(study, n=40, seed=seed, crowd_id=f"crowd-{seed}")
    page.reload()
    figure = page.locator("#live-curves")
    figure.wait_for()
    page.wait_for_function("document.getElementById('live-curves').complete")
    assert page.evaluate("document.getElementById('live-curves').naturalWidth") > 0  # the PNG loaded
    screenshot(page, "cockpit-04-live-curves")
