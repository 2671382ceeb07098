"""A researcher logs in, creates a study in the browser, launches it, watches judgments arrive,
excludes a rater and downloads the bundle (headless Chromium against the live server)."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest

from evalsite.studies.models import Study
from tests.evalsite.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_researcher_creates_launches_monitors_excludes_and_exports(
    live_server, page, screenshot, alice, judge, photo_library, tmp_path
):
    log_in(page, f"{live_server.url}/studies/")
    page.click("#new-study")

    page.fill("#id_slug", "browser-study")
    page.fill("#id_title", "Made in Chromium")
    page.select_option("#id_images_folder", "photos")
    page.check("input[name=codecs][value=jpeg]")
    page.check("input[name=codecs][value=webp]")
    page.fill("#id_bpp", "1.0, 2.0")
    page.fill("#id_crop", "96")
    screenshot(page, "researcher-01-create-form")
    page.click("#create")

    page.wait_for_selector("#launch")
    assert page.locator("#state").inner_text() == "Draft"
    assert page.locator("#gallery figure.stimulus").count() == 8
    page.locator("#gallery figure.stimulus").first.click()
    page.wait_for_selector("#viewer-dialog[open]")
    page.keyboard.press("Space")
    # The view is named once its image is drawn, which waits for the image to load.
    page.wait_for_function("document.getElementById('viewer-view').textContent === 'reference'", timeout=5000)
    screenshot(page, "researcher-02-flicker-viewer")
    page.click("#viewer-close")

    page.click("#launch")
    page.click("#confirm-launch")  # the confirmation page shows the plan and cost first
    page.wait_for_selector("#rater-link")
    assert page.locator("#state").inner_text() == "Live"
    study = Study.objects.get(slug="browser-study")
    assert study.state == Study.State.LIVE

    raters = [judge(study, n=25, seed=seed, crowd_id=f"crowd-{seed}") for seed in range(3)]
    page.reload()
    assert page.locator("#n-judgments").inner_text() == "75"
    assert page.locator("#n-started").inner_text() == "3"
    page.wait_for_selector("#elo-table")
    screenshot(page, "researcher-03-progress")

    excluded = raters[1]
    row = page.locator(f"#rater-{excluded.pk}")
    row.locator("input[name=reason]").fill("too fast")
    row.locator("button[type=submit]").click()
    page.wait_for_selector(f"#rater-{excluded.pk}.excluded")
    assert page.locator("#n-excluded").inner_text() == "1"
    screenshot(page, "researcher-04-rater-excluded")

    with page.expect_download() as download_info:
        page.click("#export-bundle")
    bundle_path = tmp_path / "bundle.zip"
    download_info.value.save_as(bundle_path)
    with zipfile.ZipFile(bundle_path) as bundle:
        assert {"study.toml", "manifest.csv", "judgments.csv", "raters.csv"} <= set(bundle.namelist())
        judgments = list(csv.DictReader(io.StringIO(bundle.read("judgments.csv").decode())))
    assert len(judgments) == 50
    assert f"r{excluded.pk}" not in {row["rater"] for row in judgments}
