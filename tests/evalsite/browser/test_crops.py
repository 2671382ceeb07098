"""A researcher drags a reference's crop window on the crop page, sees the reconstructions follow,
saves it, and finds a launched study's crops frozen (headless Chromium against the live server)."""

from __future__ import annotations

import pytest

from evalsite.studies.models import Study
from tests.evalsite.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_researcher_drags_the_crop_window_and_saves_it(live_server, page, screenshot, make_study, alice):
    study = make_study("crops", state=Study.State.DRAFT, size=(320, 200), crop_width=96, crop_height=64)
    reference = study.references.get(name="img0")
    log_in(page, f"{live_server.url}/accounts/login/")
    page.goto(f"{live_server.url}/studies/{study.slug}/")
    page.click("#choose-crops")

    row = page.locator(f"#crop-{reference.pk}")
    assert row.locator("input[name=x]").input_value() == "112"  # centred: (320 - 96) / 2
    assert row.locator("input[name=y]").input_value() == "68"
    image = row.locator(".crop-reference")
    assert image.bounding_box()["width"] == 320  # 1:1 pixels at devicePixelRatio 1
    frame = row.locator(".crop-window")
    box = frame.bounding_box()
    assert (box["width"], box["height"]) == (96, 64)

    preview = row.locator("img.crop-preview").nth(1)
    before = preview.get_attribute("src")
    page.mouse.move(box["x"] + 40, box["y"] + 30)
    page.mouse.down()
    page.mouse.move(box["x"] + 10, box["y"] + 10, steps=5)
    page.mouse.move(box["x"] - 60, box["y"] - 18, steps=5)
    page.mouse.up()
    assert row.locator("input[name=x]").input_value() == "12"
    assert row.locator("input[name=y]").input_value() == "20"
    assert row.locator(".crop-unsaved").is_visible()
    assert preview.get_attribute("src") != before and preview.get_attribute("src").endswith("?x=12&y=20")
    page.wait_for_function("(img) => img.complete && img.naturalWidth === 96", arg=preview.element_handle())
    screenshot(page, "crops-01-dragged")

    page.mouse.move(box["x"] - 60 + 40, box["y"] - 18 + 30)  # dragging past the edge stops at it
    page.mouse.down()
    page.mouse.move(box["x"] - 400, box["y"] - 400, steps=5)
    page.mouse.up()
    assert row.locator("input[name=x]").input_value() == "0"
    assert row.locator("input[name=y]").input_value() == "0"
    page.mouse.move(box["x"] - 112 + 40, box["y"] - 68 + 30)
    page.mouse.down()
    page.mouse.move(box["x"] - 112 + 40 + 12, box["y"] - 68 + 30 + 20, steps=5)
    page.mouse.up()

    row.locator(".save-crop").click()
    page.wait_for_selector("text=Crop of img0 saved at (12, 20).")
    reference.refresh_from_db()
    assert (reference.crop_x, reference.crop_y) == (12, 20)
    assert page.locator(f"#crop-{reference.pk} input[name=x]").input_value() == "12"
    screenshot(page, "crops-02-saved")


def test_a_live_studys_crop_page_shows_them_frozen(live_server, page, make_study, alice):
    study = make_study("frozen", state=Study.State.LIVE, size=(320, 200), crop_width=96, crop_height=64)
    log_in(page, f"{live_server.url}/accounts/login/")
    page.goto(f"{live_server.url}/studies/{study.slug}/crops/")
    assert "frozen" in page.locator("#crops-frozen").inner_text()
    assert page.locator(".save-crop").count() == 0
    frame = page.locator(".crop-window").first
    box = frame.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] - 50, box["y"] - 50, steps=5)
    page.mouse.up()
    assert page.locator("input[name=x]").first.input_value() == "112"  # the window does not move
