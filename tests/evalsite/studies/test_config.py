"""The study file is validated completely, with the key and the fix, before anything is generated."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from evalsite.attention import most_attention_checks
from evalsite.rating.scheduler import plan_session
from evalsite.studies.config import StudyFileError, load_study_file

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"


def installed(name: str, definition: Path | None = None) -> str | None:
    """Stand-in for pico's availability check: jpeg and webp run here, nothing else does."""
    return None if name in ("jpeg", "webp") else "not installed; install its library"


def write(folder: Path, text: str) -> Path:
    path = folder / "study.toml"
    path.write_text(text)
    return path


@pytest.fixture
def images(tmp_path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    for index in range(2):
        Image.new("RGB", (200, 120), (index * 80, 90, 200)).save(folder / f"pic{index}.png")
    return folder


GOOD = """
slug = "tiny"
[images]
folder = "images"
[ladder]
bpp = [0.2, 0.5]
[[codecs]]
name = "jpeg"
[[codecs]]
name = "webp"
match = "jpeg"
[presentation]
crop = [96, 64]
"""


def problems_of(path: Path) -> dict[str, str]:
    with pytest.raises(StudyFileError) as caught:
        load_study_file(path, check_codec=installed)
    return {p.key: p.message for p in caught.value.problems}


def test_a_good_file_becomes_a_typed_config(tmp_path, images):
    config = load_study_file(write(tmp_path, GOOD), check_codec=installed)
    assert config.slug == "tiny"
    assert config.image_names == ["pic0", "pic1"]
    assert [(c.name, c.kind, c.bpp, c.match) for c in config.codecs] == [
        ("jpeg", "builtin", (0.2, 0.5), None),
        ("webp", "builtin", (), "jpeg"),
    ]
    assert (config.crop_width, config.crop_height) == (96, 64)
    assert config.study_fields()["mode"] == "side_by_side"


def test_the_demo_file_documents_a_valid_study():
    config = load_study_file(FIXTURES / "studies" / "demo.toml", check_codec=lambda name, definition: None)
    assert config.slug == "demo"
    assert len(config.images) == 3
    assert {c.name for c in config.codecs} >= {"jpeg", "webp"}
    assert all(c.bpp == (0.25, 0.5, 1.0) for c in config.codecs)


def test_unknown_keys_are_named_with_the_allowed_ones(tmp_path, images):
    found = problems_of(write(tmp_path, GOOD + "\n[rating]\ntrials_per_ratr = 10\n"))
    assert "rating.trials_per_ratr" in found
    assert "trials_per_rater" in found["rating.trials_per_ratr"]


def test_wrong_types_name_the_key_and_the_expected_type(tmp_path, images):
    found = problems_of(write(tmp_path, GOOD + '\n[rating]\nattention_rate = "five"\ntrials_per_rater = true\n'))
    assert found["rating.attention_rate"] == "expected a number in [0, 0.5), got 'five'"
    assert found["rating.trials_per_rater"] == "expected an integer >= 1, got True"


def test_a_missing_images_folder_is_reported(tmp_path):
    found = problems_of(write(tmp_path, GOOD))
    assert "does not exist" in found["images.folder"]


def test_an_unavailable_codec_is_reported_with_the_reason(tmp_path, images):
    found = problems_of(write(tmp_path, GOOD + '\n[[codecs]]\nname = "vvc"\n'))
    assert "unavailable" in found["codecs[2] (vvc).name"]
    assert "install" in found["codecs[2] (vvc).name"]


@pytest.mark.parametrize(
    ("ladder", "fragment"),
    [("[0.5, 0.2]", "ascending"), ("[0.2, -1]", "> 0"), ("[]", "non-empty"), ("[0.2, 80]", "<= 24"), ('"0.2"', "list")],
)
def test_a_bad_bpp_ladder_is_reported(tmp_path, images, ladder, fragment):
    found = problems_of(write(tmp_path, GOOD.replace("bpp = [0.2, 0.5]", f"bpp = {ladder}")))
    assert fragment in found["ladder.bpp"]


def test_an_image_that_fails_to_decode_is_reported_by_name(tmp_path, images):
    (images / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    found = problems_of(write(tmp_path, GOOD))
    assert "broken.png" in found["images"]
    assert "convert it to PNG" in found["images"]
    assert "cannot read it" in found["images"]


def test_every_problem_is_reported_at_once(tmp_path, images):
    text = GOOD.replace('slug = "tiny"', 'slug = "Not A Slug"').replace("crop = [96, 64]", "crop = [400, 64]")
    found = problems_of(write(tmp_path, text + '\n[[codecs]]\nname = "jpeg"\n'))
    assert {"slug", "presentation.crop", "codecs"} <= set(found)
    assert "listed twice" in found["codecs"]


def test_a_match_must_name_another_codec_with_targets(tmp_path, images):
    found = problems_of(write(tmp_path, GOOD.replace('match = "jpeg"', 'match = "avif"')))
    assert "another codec" in found["codecs (webp).match"]


def test_external_and_imported_codecs_need_their_files(tmp_path, images):
    text = (
        GOOD
        + '\n[[codecs]]\nname = "vtm"\ndefinition = "vtm.toml"\n[[codecs]]\nname = "hific"\nlisting = "hific.csv"\n'
    )
    found = problems_of(write(tmp_path, text))
    assert "vtm.toml does not exist" in found["codecs[2] (vtm).definition"]
    assert "hific.csv does not exist" in found["codecs[3] (hific).listing"]


def test_explicit_crop_positions_must_fit_the_image(tmp_path, images):
    text = GOOD + "crop_positions = { pic0 = [150, 10], nosuch = [0, 0] }\n"
    found = problems_of(write(tmp_path, text))
    assert "leaves the 200x120 image" in found["presentation.crop_positions.pic0"]
    assert "no image named 'nosuch'" in found["presentation.crop_positions.nosuch"]


def test_pass_marks_cannot_exceed_the_number_of_items(tmp_path, images):
    found = problems_of(write(tmp_path, GOOD + "\n[screening]\ncolour_plates = 4\ncolour_pass = 5\n"))
    assert "exceeds colour_plates" in found["screening.colour_pass"]


def test_invalid_toml_is_reported_with_the_syntax_error(tmp_path):
    found = problems_of(write(tmp_path, "slug = \n"))
    assert "not valid TOML" in found["(file)"]


def test_the_pair_design_is_balanced_unless_the_file_asks_for_adaptive(tmp_path, images):
    assert load_study_file(write(tmp_path, GOOD), check_codec=installed).study_fields()["design"] == "balanced"
    adaptive = load_study_file(write(tmp_path, GOOD + '\n[rating]\ndesign = "adaptive"\n'), check_codec=installed)
    assert adaptive.design == "adaptive"
    assert adaptive.study_fields()["design"] == "adaptive"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ('"random"', 'expected "balanced" or "adaptive", got \'random\''),
        ("1", 'expected "balanced" or "adaptive", got 1'),
    ],
)
def test_an_unknown_pair_design_names_the_key_and_the_allowed_values(tmp_path, images, value, fragment):
    found = problems_of(write(tmp_path, GOOD + f"\n[rating]\ndesign = {value}\n"))
    assert fragment in found["rating.design"]


def test_an_exclusion_threshold_that_can_never_fire_is_a_warning_with_the_fix(tmp_path, images):
    # 40 trials at 5% and attention_min = 2: at most 2 checks, so "more than 2 failures" never happens.
    rating = "[rating]\ntrials_per_rater = 40\nattention_min = 2\nattention_max_failures = 2\n"
    (warning,) = load_study_file(write(tmp_path, GOOD + rating), check_codec=installed).warnings
    assert warning.key == "rating.attention_max_failures"
    assert "at most 2 attention checks" in warning.message and "at most 1" in warning.message
    fixed = load_study_file(
        write(tmp_path, GOOD + rating.replace("failures = 2", "failures = 1")), check_codec=installed
    )
    assert fixed.attention_max_failures == 1 and fixed.warnings == ()
    assert load_study_file(write(tmp_path, GOOD), check_codec=installed).warnings == ()  # the defaults


def test_a_study_without_attention_checks_is_allowed_with_a_warning(tmp_path, images):
    config = load_study_file(
        write(tmp_path, GOOD + "[rating]\nattention_rate = 0.0\nattention_min = 0\n"), check_codec=installed
    )
    assert [w.key for w in config.warnings] == ["rating.attention_min"]
    assert "no rater is ever excluded" in config.warnings[0].message


def test_the_demo_study_can_exclude_its_raters():
    config = load_study_file(FIXTURES / "studies" / "demo.toml", check_codec=lambda name, definition=None: None)
    assert config.attention_min > config.attention_max_failures
    assert config.warnings == ()


def test_the_files_count_of_attention_checks_is_the_schedulers():
    for trials in (1, 2, 3, 10, 45, 100):
        for rate in (0.0, 0.01, 0.05, 0.3):
            for minimum in (0, 1, 2, 5):
                plan = plan_session(
                    trials_per_rater=trials,
                    attention_rate=rate,
                    attention_min=minimum,
                    repeat_share=0.0,
                    pairs=10**6,
                    seed="s",
                )
                expected = len(plan.attention)
                got = most_attention_checks(trials_per_rater=trials, attention_rate=rate, attention_min=minimum)
                assert got == expected, (trials, rate, minimum)
