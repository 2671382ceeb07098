"""Crops chosen by eye: where a crop may go, saving it (drafts only), the preview crops and the crop page's rules."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from evalsite.studies import crops
from evalsite.studies.models import Study, StudyEvent
from evalsite.studies.services import StudyError, save_crop

pytestmark = pytest.mark.django_db


def test_a_crop_may_go_anywhere_inside_the_image():
    assert crops.crop_limits(96, 64, 64, 64) == (32, 0)
    assert crops.crop_limits(48, 40, 64, 64) == (0, 0)  # larger than the image: shown whole
    assert crops.centre_corner(96, 64, 64, 32) == (16, 16)


def test_the_preview_is_the_crop_of_the_image_moved_inside_it(tmp_path):
    pixels = np.arange(40 * 30 * 3, dtype=np.uint8).reshape(30, 40, 3)
    Image.fromarray(pixels).save(tmp_path / "image.png")
    crop = Image.open(io.BytesIO(crops.crop_preview_png(tmp_path / "image.png", 5, 7, 16, 8)))
    assert crop.size == (16, 8)
    assert np.array_equal(np.asarray(crop), pixels[7:15, 5:21])
    outside = Image.open(io.BytesIO(crops.crop_preview_png(tmp_path / "image.png", 99, -3, 16, 8)))
    assert np.array_equal(np.asarray(outside), pixels[0:8, 24:40])


def test_saving_a_crop_sets_it_and_leaves_an_event(make_study, alice):
    study = make_study(state=Study.State.DRAFT)
    reference = study.references.first()
    save_crop(study=study, reference=reference, x=32, y=0, actor=alice)
    reference.refresh_from_db()
    assert (reference.crop_x, reference.crop_y) == (32, 0)
    event = StudyEvent.objects.get(study=study, action="crop_set")
    assert event.actor == alice and event.detail == f"{reference.name}: (32, 0)"


@pytest.mark.parametrize(("x", "y"), [(33, 0), (0, 1), (-1, 0)])
def test_a_crop_outside_the_image_is_refused_and_names_the_limits(make_study, x, y):
    study = make_study(state=Study.State.DRAFT)
    reference = study.references.first()
    with pytest.raises(StudyError) as refused:
        save_crop(study=study, reference=reference, x=x, y=y)
    assert refused.value.code == "crop_outside"
    assert "x must be 0 to 32 and y 0 to 0" in refused.value.message
    reference.refresh_from_db()
    assert reference.crop_x is None


@pytest.mark.parametrize("state", [Study.State.LIVE, Study.State.PAUSED, Study.State.CLOSED])
def test_a_launched_studys_crops_are_frozen(make_study, state):
    study = make_study(state=state)
    reference = study.references.first()
    with pytest.raises(StudyError) as refused:
        save_crop(study=study, reference=reference, x=0, y=0)
    assert refused.value.code == "crops_frozen"
    reference.refresh_from_db()
    assert reference.crop_x is None


@pytest.mark.parametrize(
    ("generation", "code"),
    [(Study.Generation.RUNNING, "generation_running"), (Study.Generation.FAILED, "generation_failed")],
)
def test_no_crop_is_saved_while_generation_would_choose_it_afresh(make_study, generation, code):
    study = make_study(state=Study.State.DRAFT, generation=generation)
    with pytest.raises(StudyError) as refused:
        save_crop(study=study, reference=study.references.first(), x=0, y=0)
    assert refused.value.code == code


# --- the crop page ----------------------------------------------------------------------------


def test_the_crop_page_shows_each_reference_with_its_crop_and_previews(client, make_study, alice):
    study = make_study(state=Study.State.DRAFT)
    first = study.references.first()
    save_crop(study=study, reference=first, x=10, y=0)
    client.force_login(alice)
    page = client.get(f"/studies/{study.slug}/crops/").content.decode()
    assert f'id="crop-{first.pk}"' in page
    assert 'name="x" value="10"' in page  # the saved crop
    assert 'name="x" value="16"' in page  # the other reference: centred
    assert page.count('class="crop-preview"') == 2 * (1 + 3)
    stimulus = study.stimuli.first()
    preview = client.get(f"/studies/{study.slug}/crops/stimulus/{stimulus.pk}/?x=8&y=0")
    assert preview.status_code == 200 and Image.open(io.BytesIO(preview.content)).size == (64, 64)


def test_saving_from_the_page_and_the_refusal_of_a_live_study(client, make_study, alice):
    draft = make_study("draft", state=Study.State.DRAFT)
    live = make_study("live", state=Study.State.LIVE)
    client.force_login(alice)
    reference = draft.references.first()
    response = client.post(f"/studies/draft/crops/{reference.pk}/", {"x": "20", "y": "0"}, follow=True)
    assert "Crop of img0 saved at (20, 0)." in response.content.decode()
    reference.refresh_from_db()
    assert reference.crop_x == 20

    frozen = live.references.first()
    response = client.post(f"/studies/live/crops/{frozen.pk}/", {"x": "20", "y": "0"}, follow=True)
    page = response.content.decode()
    assert "its crops are frozen" in page and 'id="crops-frozen"' in page
    assert "Save crop" not in page
    frozen.refresh_from_db()
    assert frozen.crop_x is None

    response = client.post(f"/studies/draft/crops/{reference.pk}/", {"x": "left", "y": "0"}, follow=True)
    assert "whole numbers of pixels" in response.content.decode()


def test_the_crop_pages_are_for_the_studys_researchers_only(client, make_study, bob):
    study = make_study(state=Study.State.DRAFT)
    reference = study.references.first()
    stimulus = study.stimuli.first()
    urls = [
        ("get", f"/studies/{study.slug}/crops/"),
        ("get", f"/studies/{study.slug}/crops/stimulus/{stimulus.pk}/?x=0&y=0"),
        ("get", f"/studies/{study.slug}/crops/reference/{reference.pk}/?x=0&y=0"),
        ("post", f"/studies/{study.slug}/crops/{reference.pk}/"),
    ]
    for method, url in urls:
        response = getattr(client, method)(url, {"x": "0", "y": "0"} if method == "post" else None)
        assert response.status_code == 302 and response.url.startswith("/accounts/login/"), url
    client.force_login(bob)
    for method, url in urls:
        assert getattr(client, method)(url, {"x": "0", "y": "0"} if method == "post" else None).status_code == 404, url
    reference.refresh_from_db()
    assert reference.crop_x is None


def test_a_crop_saved_by_eye_is_rendered_at_once_not_in_a_raters_request(make_study, alice, monkeypatch):
    from evalsite.rating import imaging
    from evalsite.rating.serving import reference_box, render_study_crops

    study = make_study(state=Study.State.DRAFT)
    reference = study.references.first()
    save_crop(study=study, reference=reference, x=32, y=0, actor=alice)
    reference.refresh_from_db()
    assert reference_box(reference, study)[:2] == (32, 0)

    def refuse(*args, **kwargs):
        raise AssertionError("a crop was rendered after the crop was saved")

    monkeypatch.setattr(imaging, "render_crop", refuse)
    assert render_study_crops(study) > 0  # every crop of the new box is stored already


def test_crop_positions_are_written_into_a_study_file_keeping_the_rest():
    import tomllib

    from evalsite.studies.config import with_crop_positions

    text = '# my study\nslug = "s"\n[presentation]\ncrop = 64  # pixels\ncrop_positions = "auto"\n[rating]\nx = 1\n'
    written = with_crop_positions(text, {"b": (3, 4), "a photo": (0, 16)})
    assert "# my study" in written and "# pixels" in written
    data = tomllib.loads(written)
    assert data["presentation"] == {"crop": 64, "crop_positions": {"a photo": [0, 16], "b": [3, 4]}}
    assert data["rating"] == {"x": 1}
    assert tomllib.loads(with_crop_positions('slug = "s"\n', {}))["presentation"] == {"crop_positions": "centre"}


def _site_study(study_file, alice):
    """A draft made as the site makes one: its study file and images in the study's own folder."""
    import shutil

    from evalsite.studies.services import create_study_from_file, study_dir

    source = study_file()
    folder = study_dir("tiny")
    shutil.copytree(source.parent / "images", folder / "images")
    (folder / "study.toml").write_text(source.read_text())
    return create_study_from_file(folder / "study.toml", owner=alice), folder / "study.toml"


def test_a_crop_chosen_by_eye_is_kept_in_the_study_file_and_by_generating_again(
    study_file, alice, django_capture_on_commit_callbacks
):
    from evalsite.studies.config import load_study_file
    from evalsite.studies.services import create_study_from_file

    study, on_disk = _site_study(study_file, alice)
    chosen, other = study.references.order_by("name")
    auto = (other.crop_x, other.crop_y)
    by_eye = (0, 0) if (chosen.crop_x, chosen.crop_y) != (0, 0) else (64, 32)  # not what "auto" chose
    with django_capture_on_commit_callbacks(execute=True):
        save_crop(study=study, reference=chosen, x=by_eye[0], y=by_eye[1], actor=alice)
    study.refresh_from_db()
    assert load_study_file(on_disk).crops == {chosen.name: by_eye, other.name: auto}
    assert study.study_file == on_disk.read_text()
    create_study_from_file(on_disk, owner=alice)  # what Run again does
    chosen.refresh_from_db()
    other.refresh_from_db()
    assert (chosen.crop_x, chosen.crop_y) == by_eye and (other.crop_x, other.crop_y) == auto


def test_a_study_file_elsewhere_on_the_server_is_left_alone(study_file, alice):
    from evalsite.studies.services import create_study_from_file

    path = study_file()
    original = path.read_text()
    study = create_study_from_file(path, owner=alice)
    save_crop(study=study, reference=study.references.order_by("name").first(), x=0, y=0, actor=alice)
    study.refresh_from_db()
    assert path.read_text() == original
    assert "crop_positions = {" in study.study_file


def test_a_crop_that_is_not_saved_leaves_the_study_file_as_it_was(
    study_file, alice, django_capture_on_commit_callbacks, monkeypatch
):
    study, on_disk = _site_study(study_file, alice)
    before = on_disk.read_text()

    def fail(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(StudyEvent.objects, "create", fail)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        save_crop(study=study, reference=study.references.first(), x=0, y=0, actor=alice)
    study.refresh_from_db()
    assert on_disk.read_text() == before and study.study_file == before
