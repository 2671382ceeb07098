"""create_study: a study file becomes a draft study with real reconstructions, checked first, resumable."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from evalsite.studies.config import StudyFileError
from evalsite.studies.models import Stimulus, Study
from evalsite.studies.services import StudyError, create_study_from_file, launch_study

pytestmark = pytest.mark.django_db


def test_a_study_file_becomes_a_draft_with_reconstructions_and_rater_stimuli(study_file, alice, study_data_dir):
    study = create_study_from_file(study_file(), owner=alice)
    assert study.state == Study.State.DRAFT
    assert study.generation == Study.Generation.DONE
    assert sorted(study.references.values_list("name", flat=True)) == ["photo0", "photo1"]
    conditions = study.stimuli.filter(role=Stimulus.Role.CONDITION)
    assert sorted(set(conditions.values_list("codec", "level"))) == [("jpeg", 0), ("jpeg", 1), ("webp", 0), ("webp", 1)]
    for stimulus in conditions:
        assert (study_data_dir / stimulus.path).is_file()
        assert stimulus.bpp > 0 and stimulus.nbytes > 0
    for reference in study.references.all():
        assert (study_data_dir / reference.path).is_file()
        assert reference.crop_x is not None and reference.crop_x + 64 <= reference.width
    assert study.stimuli.filter(role=Stimulus.Role.ATTENTION).exists()
    assert study.stimuli.filter(role=Stimulus.Role.SCREENING).exists()
    assert 'slug = "tiny"' in study.study_file


def test_a_matched_codec_targets_the_bpp_the_other_codec_achieved(study_file, alice):
    study = create_study_from_file(study_file(), owner=alice)
    references = list(study.references.all())
    assert len(references) == 2
    for reference in references:
        jpeg = dict(reference.stimuli.filter(codec="jpeg").values_list("level", "bpp"))
        webp = dict(reference.stimuli.filter(codec="webp").values_list("level", "target_bpp"))
        assert len(jpeg) == 2
        assert webp == pytest.approx(jpeg)


def test_nothing_is_generated_for_a_bad_study_file(study_file, alice, study_data_dir):
    path = study_file(extra='\n[[codecs]]\nname = "nosuchcodec"\n')
    with pytest.raises(StudyFileError) as caught:
        create_study_from_file(path, owner=alice)
    assert "codecs[2] (nosuchcodec).name" in {p.key for p in caught.value.problems}
    assert not Study.objects.exists()
    assert not any(study_data_dir.iterdir())


def test_an_undecodable_image_is_reported_before_generation(study_file, alice, study_data_dir):
    path = study_file()
    (path.parent / "images" / "photo9.png").write_bytes(b"not an image at all")
    with pytest.raises(StudyFileError, match="photo9.png"):
        create_study_from_file(path, owner=alice)
    assert not Study.objects.exists()
    assert not any(study_data_dir.iterdir())


def test_an_unavailable_codec_is_reported_before_generation(study_file, alice, study_data_dir, monkeypatch):
    monkeypatch.setattr("pico.codecs.webp.Webp.available", lambda self: "libwebp is missing; install Pillow with WebP")
    with pytest.raises(StudyFileError, match="libwebp is missing"):
        create_study_from_file(study_file(), owner=alice)
    assert not any(study_data_dir.iterdir())


class Interrupted(Exception):
    """Stands in for a crash (worker killed, machine rebooted) in the middle of the ladder."""


def test_an_interrupted_generation_resumes_without_redoing_finished_work(study_file, alice):
    path = study_file()
    seen: list[int] = []

    def crash_after_three(done: int, total: int, note: str) -> None:
        seen.append(done)
        if done == 3:
            raise Interrupted

    with pytest.raises(Interrupted):
        create_study_from_file(path, owner=alice, progress=crash_after_three)
    study = Study.objects.get(slug="tiny")
    assert study.generation == Study.Generation.FAILED
    assert not study.stimuli.exists()

    study = create_study_from_file(path, owner=alice)
    assert study.generation == Study.Generation.DONE
    assert "(5 reconstructions made, 3 reused)" in study.generation_message
    assert study.stimuli.filter(role=Stimulus.Role.CONDITION).count() == 8

    again = create_study_from_file(path, owner=alice)
    assert "(0 reconstructions made, 8 reused)" in again.generation_message


def test_a_live_studys_stimuli_cannot_be_regenerated(study_file, alice):
    path = study_file()
    launch_study(study=create_study_from_file(path, owner=alice))
    with pytest.raises(StudyError) as caught:
        create_study_from_file(path, owner=alice)
    assert caught.value.code == "stimuli_frozen"


def test_another_researcher_cannot_take_over_the_slug(study_file, alice, bob):
    path = study_file()
    create_study_from_file(path, owner=alice)
    with pytest.raises(StudyError) as caught:
        create_study_from_file(path, owner=bob)
    assert caught.value.code == "slug_taken"
    assert Study.objects.get(slug="tiny").owner == alice


def test_the_command_creates_and_launches_a_study(study_file, alice, capsys):
    call_command("create_study", str(study_file()), "--owner", "alice", "--launch")
    out = capsys.readouterr().out
    assert "2 images, 8 reconstructions, state live" in out
    assert Study.objects.get(slug="tiny").state == Study.State.LIVE


def test_the_command_prints_warnings_and_the_study_page_note_keeps_them(study_file, alice, capsys):
    call_command("create_study", str(study_file(extra="attention_max_failures = 4\n")), "--owner", "alice")
    err = capsys.readouterr().err
    assert "warning: rating.attention_max_failures: a rater gets at most 2 attention checks" in err
    note = Study.objects.get(slug="tiny").generation_message
    assert note.startswith("ready to launch") and "warning: rating.attention_max_failures" in note


def test_the_command_lists_every_problem_of_a_bad_file(study_file, alice):
    path = study_file(extra="attention_rate = 3\n")
    path.write_text(path.read_text().replace("bpp = [1.0, 2.0]", "bpp = [2.0, 1.0]"))
    with pytest.raises(CommandError) as caught:
        call_command("create_study", str(path), "--owner", "alice")
    assert "ladder.bpp" in str(caught.value)
    assert "rating.attention_rate" in str(caught.value)


def test_the_demo_study_file_validates_against_this_machines_codecs():
    from evalsite.studies.config import load_study_file

    config = load_study_file(Path(settings.BASE_DIR) / "fixtures" / "studies" / "demo.toml")
    assert [c.name for c in config.codecs] == ["jpeg", "webp", "avif-svt"]


def test_external_and_imported_codecs_join_the_same_manifest(study_file, alice, tmp_path):
    import io

    from PIL import Image

    recipe = Path(settings.BASE_DIR) / "pico" / "codecs" / "recipes" / "cwebp.toml"
    listing_dir = tmp_path / "elsewhere"
    listing_dir.mkdir()
    lines = ["image,codec,level,bpp,path"]
    images = study_file().parent / "images"
    for image in sorted(images.iterdir()):
        with Image.open(image) as opened:
            for level, quality in enumerate((20, 80)):
                buffer = io.BytesIO()
                opened.save(buffer, "JPEG", quality=quality)
                Image.open(buffer).save(listing_dir / f"{image.stem}-{level}.png")
                bpp = buffer.tell() * 8 / (opened.width * opened.height)
                lines.append(f"{image.stem},learned,{level},{bpp},{image.stem}-{level}.png")
    (listing_dir / "listing.csv").write_text("\n".join(lines) + "\n")
    extra = (
        f'\n[[codecs]]\nname = "cwebp"\ndefinition = "{recipe}"\nbpp = [1.5]\n'
        f'\n[[codecs]]\nname = "learned"\nlisting = "{listing_dir / "listing.csv"}"\n'
    )
    study = create_study_from_file(study_file(extra=extra), owner=alice)
    conditions = study.stimuli.filter(role=Stimulus.Role.CONDITION)
    assert set(conditions.values_list("codec", flat=True)) == {"jpeg", "webp", "cwebp", "learned"}
    assert conditions.filter(codec="learned").count() == 4
    assert conditions.filter(codec="cwebp").count() == 2
