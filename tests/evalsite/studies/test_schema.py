"""The study file's settings table (schema.py) is the one source: model, form, reader and docs agree with it."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from PIL import Image

from evalsite.studies.config import StudyFileError, load_study_file
from evalsite.studies.forms import CreateStudyForm
from evalsite.studies.models import Study
from evalsite.studies.schema import CROP, DESIGNS, HIGH_DENSITY, MODES, OUTCOMES, SETTINGS, STUDY_FIELDS, Setting

DOCS = Path(__file__).resolve().parents[3] / "docs" / "studies.md"


def any_codec(name: str, definition: Path | None = None) -> str | None:
    return None


def minimal_study(folder: Path, extra: str = "") -> Path:
    """The smallest valid study file: a slug, one image as large as the default crop, one codec."""
    images = folder / "images"
    images.mkdir()
    Image.new("RGB", (CROP.default, CROP.default), (120, 90, 200)).save(images / "pic.png")
    path = folder / "study.toml"
    path.write_text(f'slug = "minimal"\n[images]\nfolder = "images"\n[[codecs]]\nname = "jpeg"\nbpp = [0.5]\n{extra}')
    return path


@pytest.mark.parametrize("setting", SETTINGS.values(), ids=lambda s: s.path)
def test_the_model_takes_its_defaults_and_help_from_the_table(setting: Setting):
    for name in setting.fields:
        field = Study._meta.get_field(name)
        assert field.get_default() == setting.default, name
        assert field.help_text == setting.help, name
        if setting.max_length is not None:
            assert field.max_length == setting.max_length, name


def test_the_models_choices_are_the_tables():
    assert tuple(Study.Mode.values) == MODES == SETTINGS["presentation.mode"].choices
    assert tuple(Study.Design.values) == DESIGNS == SETTINGS["rating.design"].choices
    assert SETTINGS["presentation.high_density"].choices == HIGH_DENSITY
    assert tuple(Study.Outcome.values) == OUTCOMES


FORM_KEYS = {
    "presentation.mode",
    "presentation.crop",
    "rating.trials_per_rater",
    "rating.target_judgments",
    "rating.design",
    # crowd platform, consent and viewing conditions (issue 15): every key of these sections
    *(path for path in SETTINGS if path.startswith(("completion.", "consent."))),
    "rating.require_crowd_id",
    "presentation.high_density",
    "presentation.max_pixel_ratio",
    "presentation.flicker_view_both",
}


def test_the_forms_initial_values_and_bounds_are_the_tables():
    shown = [s for s in SETTINGS.values() if s.form_field in CreateStudyForm.base_fields]
    assert {s.path for s in shown} >= FORM_KEYS
    for setting in shown:
        field = CreateStudyForm.base_fields[setting.form_field]
        assert field.initial == setting.default, setting.path
        if setting.choices:
            assert [value for value, _ in field.choices] == list(setting.choices), setting.path
        elif setting.kind is str:
            assert field.max_length == setting.max_length, setting.path
        elif setting.kind is not bool:
            assert field.min_value == setting.minimum, setting.path


def test_the_form_has_a_code_and_a_redirect_for_every_outcome():
    for outcome in OUTCOMES[1:]:
        assert {f"{outcome}_code", f"{outcome}_redirect"} <= set(CreateStudyForm.base_fields), outcome


def test_a_minimal_study_file_gets_every_default_and_sets_exactly_the_tables_fields(tmp_path):
    fields = load_study_file(minimal_study(tmp_path), check_codec=any_codec).study_fields()
    assert set(fields) == {"title", "description", "outcomes", *STUDY_FIELDS}
    assert set(STUDY_FIELDS) <= {f.name for f in Study._meta.get_fields()}
    for setting in SETTINGS.values():
        for name in setting.fields:
            assert fields[name] == setting.default, name
            assert type(fields[name]) is setting.kind, name


def bad_value(setting: Setting) -> object:
    """A value of the right TOML type that breaks the setting's bounds or choices (a switch: not a boolean)."""
    if setting.kind is bool:
        return "yes"
    if setting.choices:
        return "nope"
    if setting.kind is str:
        return "https://" + "x" * setting.max_length
    return setting.below if setting.below is not None else setting.minimum - 1


def bounds(setting: Setting) -> list[str]:
    """What the message must show of the allowed values."""
    if setting.kind is bool:
        return ["true or false"]
    if setting.choices:
        return [f'"{c}"' for c in setting.choices]
    if setting.kind is str:
        return [str(setting.max_length)]
    return [f"{b:g}" for b in (setting.minimum, setting.below) if b is not None]


def test_bad_values_are_all_reported_at_once_with_the_key_and_the_bounds(tmp_path):
    sections: dict[str, list[str]] = {}
    for setting in SETTINGS.values():
        sections.setdefault(setting.section, []).append(f"{setting.key} = {json.dumps(bad_value(setting))}")
    extra = "".join(f"[{section}]\n" + "\n".join(lines) + "\n" for section, lines in sections.items())
    with pytest.raises(StudyFileError) as caught:
        load_study_file(minimal_study(tmp_path, extra), check_codec=any_codec)
    found = {p.key: p.message for p in caught.value.problems}
    for setting in SETTINGS.values():
        message = found[setting.path]
        assert message.startswith("expected "), setting.path
        assert f"got {bad_value(setting)!r}" in message, setting.path
        for bound in bounds(setting):
            assert bound in message, (setting.path, bound)


def test_a_bad_share_names_its_interval():
    with pytest.raises(ValueError, match=r"expected a number in \[0, 0\.5\), got 0\.7"):
        SETTINGS["rating.attention_rate"].parse(0.7)


def test_the_form_writes_each_setting_under_its_section(settings, tmp_path):
    settings.STUDY_IMAGE_ROOT = tmp_path
    form = CreateStudyForm()
    form.cleaned_data = {
        "slug": "formed",
        "title": "Formed",
        "bpp": [0.25, 0.5],
        "codecs": ["jpeg"],
        "mode": "flicker",
        "crop": 128,
        "trials_per_rater": 40,
        "target_judgments": 500,
        "design": "adaptive",
    }
    data = tomllib.loads(form.study_toml(tmp_path))
    assert data["presentation"] == {"mode": "flicker", "crop": 128}
    assert data["rating"] == {"trials_per_rater": 40, "target_judgments": 500, "design": "adaptive"}


def test_the_form_writes_outcomes_consent_and_viewing_keys_that_the_reader_accepts(settings, tmp_path):
    settings.STUDY_IMAGE_ROOT = tmp_path
    folder = minimal_study(tmp_path).parent / "images"
    form = CreateStudyForm()
    form.cleaned_data = {
        "slug": "formed",
        "title": "Formed",
        "bpp": [0.5],
        "codecs": ["jpeg"],
        "completion_code": "C0MPL",
        "completion_redirect": "https://app.prolific.com/submissions/complete?cc={code}",
        "screened_out_code": "SCRN",
        "screened_out_redirect": "",
        "declined_code": "",
        "declined_redirect": "https://example.org/declined?c={code}",
        "require_crowd_id": True,
        "high_density": "refuse",
        "max_pixel_ratio": 1.5,
        "flicker_view_both": True,
        "consent_title": "Which photo is closer?",
        "consent_duration": "about 15 minutes",
        "consent_pay": "GBP 2.50",
        "consent_contact": "Ada <ada@example.org>",
        "consent_ethics_reference": "ERC-2026-042",
        "consent_retention": "ids are deleted 30 days after the study closes",
        "consent_text": "First paragraph.\n\nSecond one.",
        "consent_version": "",
        "retention_days": 30,
    }
    data = tomllib.loads(form.study_toml(folder))
    assert data["completion"]["screened_out"] == {"code": "SCRN"}
    assert data["completion"]["declined"] == {"redirect": "https://example.org/declined?c={code}"}
    assert "excluded" not in data["completion"] and "version" not in data["consent"]
    path = tmp_path / "formed.toml"
    path.write_text(form.study_toml(folder))
    config = load_study_file(path, check_codec=any_codec)
    assert config.completion_code == "C0MPL" and config.require_crowd_id is True
    assert config.outcomes == {
        "screened_out": {"code": "SCRN"},
        "declined": {"redirect": "https://example.org/declined?c={code}"},
    }
    assert (config.high_density, config.max_pixel_ratio, config.flicker_view_both) == ("refuse", 1.5, True)
    assert config.consent_ethics_reference == "ERC-2026-042" and config.retention_days == 30


def test_outcome_tables_are_checked_and_completed_agrees_with_the_older_keys(tmp_path):
    extra = """
[completion]
code = "OLD"
[completion.completed]
code = "NEW"
[completion.excluded]
code = "EX"
redirect = "ftp://nope"
colour = "red"
[completion.refused_device]
code = 7
"""
    with pytest.raises(StudyFileError) as caught:
        load_study_file(minimal_study(tmp_path, extra), check_codec=any_codec)
    found = {p.key: p.message for p in caught.value.problems}
    assert "differs from [completion] code = 'OLD'" in found["completion.completed.code"]
    assert "http(s) URL" in found["completion.excluded.redirect"]
    assert "unknown key" in found["completion.excluded.colour"]
    assert found["completion.refused_device.code"].startswith("expected a string")


def test_completed_table_alone_sets_the_completion_fields(tmp_path):
    extra = '[completion.completed]\ncode = "DONE1"\nredirect = "https://x.org/?cc={code}"\n'
    config = load_study_file(minimal_study(tmp_path, extra), check_codec=any_codec)
    assert (config.completion_code, config.completion_redirect) == ("DONE1", "https://x.org/?cc={code}")
    assert config.outcomes == {}


def docs_default(setting: Setting) -> str:
    if setting.kind is bool:
        return f"`{str(setting.default).lower()}`"
    if setting.kind is str:
        return f"`{setting.default}`" if setting.default else '""'
    return f"{setting.default:g}"


@pytest.mark.parametrize("setting", SETTINGS.values(), ids=lambda s: s.path)
def test_the_docs_list_every_setting_with_its_default(setting: Setting):
    assert f"| `[{setting.section}] {setting.key}` | {docs_default(setting)} |" in DOCS.read_text(encoding="utf-8")


def test_the_form_sets_every_key_of_the_table():
    assert [s.path for s in SETTINGS.values() if s.form_field not in CreateStudyForm.base_fields] == []
