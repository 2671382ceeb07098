"""The create-study form: images (zip upload or a server folder), codecs, bitrates, presentation.

The form writes a study file (TOML) like one a researcher would write by hand, so a study made
in the browser has the same validation, the same generation and the same bundle as one made with
``create_study``.
"""

from __future__ import annotations

import functools
import json
import zipfile
from pathlib import Path
from typing import Any, cast

from django import forms
from django.conf import settings

from evalsite.studies.config import IMAGE_SUFFIXES, SLUG_RE
from evalsite.studies.models import Study
from evalsite.studies.schema import OUTCOMES, SETTINGS
from pico.codecs import list_codecs

MAX_ZIP_BYTES = 200 * 1024 * 1024
MAX_ZIP_MEMBERS = 200


def image_root() -> Path:
    """The server folder under which researchers may pick image folders (setting STUDY_IMAGE_ROOT)."""
    return Path(getattr(settings, "STUDY_IMAGE_ROOT", Path(settings.BASE_DIR) / "fixtures")).resolve()


def image_folders() -> list[tuple[str, str]]:
    """Folders under :func:`image_root` (two levels deep) that hold images, as form choices."""
    root = image_root()
    if not root.is_dir():
        return []
    candidates = [
        root,
        *sorted(p for p in root.glob("*") if p.is_dir()),
        *sorted(p for p in root.glob("*/*") if p.is_dir()),
    ]
    found = []
    for folder in candidates:
        count = sum(1 for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if count:
            rel = folder.relative_to(root).as_posix() or "."
            found.append((rel, f"{rel} ({count} images)"))
    return found


@functools.cache
def codec_choices() -> list[tuple[str, str]]:
    """Built-in codecs that can run on this server (asked once per process: installs do not change under it)."""
    return [(c.name, f"{c.name} ({c.library})") for c in list_codecs() if c.kind == "builtin" and c.available() is None]


def _bpp_list(text: str) -> list[float]:
    try:
        return [float(part) for part in text.replace(";", ",").split(",") if part.strip()]
    except ValueError:
        raise forms.ValidationError("enter bitrates in bits per pixel separated by commas, e.g. 0.25, 0.5, 1") from None


def setting_field(path: str, **options: Any) -> forms.Field:
    """A form field for study-file key ``path``: choices or bounds, initial value and help from schema.py.

    Not required: a value left out (a client posting only some fields) takes the study file's default.
    """
    setting = SETTINGS[path]
    options = {"initial": setting.default, "help_text": setting.help, "required": False, **options}
    if setting.choices:
        return forms.ChoiceField(choices=[(c, c.replace("_", " ")) for c in setting.choices], **options)
    if setting.kind is bool:
        return forms.BooleanField(**options)
    if setting.kind is str:
        long = (setting.max_length or 0) > 500
        widget = forms.Textarea(attrs={"rows": 4}) if long else None
        return forms.CharField(max_length=setting.max_length, widget=widget, **options)
    if setting.kind is float:
        return forms.FloatField(min_value=setting.minimum, **options)
    return forms.IntegerField(min_value=int(setting.minimum), **options)


def outcome_field(outcome: str, key: str) -> forms.CharField:
    """``code`` or ``redirect`` of ``[completion.<outcome>]`` (the completed outcome uses the table's fields)."""
    setting = SETTINGS[f"completion.{key}"]
    help_text = {
        "code": "Empty = a study-wide code made for this outcome (shown on the study page).",
        "redirect": "Empty = the completed outcome's redirect, with this outcome's code for {code}.",
    }[key]
    label = f"{outcome.replace('_', ' ').capitalize()}: {key}"
    return forms.CharField(required=False, max_length=setting.max_length, label=label, help_text=help_text)


OTHER_OUTCOMES = [o for o in OUTCOMES if o != "completed"]


class CreateStudyForm(forms.Form):
    """Enough to define a study; every other key takes the study file's default (docs/studies.md)."""

    slug = forms.SlugField(max_length=50, help_text="The rater link is /s/<slug>/.")
    title = forms.CharField(max_length=200)
    images_zip = forms.FileField(required=False, label="Images (zip of PNG/JPEG files)")
    images_folder = forms.ChoiceField(required=False, label="…or a folder on the server", choices=())
    codecs = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, choices=())
    bpp = forms.CharField(label="Bitrates (bpp)", initial="0.25, 0.5, 1.0", help_text="Ascending, comma separated.")
    # Each of these is named like its study-file key and written under that key's section.
    mode = setting_field("presentation.mode")
    crop = setting_field("presentation.crop", help_text="Square crop shown to raters, in reference pixels.")
    trials_per_rater = setting_field("rating.trials_per_rater")
    target_judgments = setting_field("rating.target_judgments")
    design = setting_field(
        "rating.design",
        label="Pair design",
        help_text="adaptive: judgments go where BD-rates are read, refreshed from the live Elo (docs/rating.md).",
    )
    min_view_ms = setting_field("presentation.min_view_ms", label="Minimum viewing time (ms)")
    # Screening and quality control (docs/rating.md): the study file checks that exclusion can fire.
    colour_plates = setting_field("screening.colour_plates")
    colour_pass = setting_field("screening.colour_pass")
    artifact_items = setting_field("screening.artifact_items")
    artifact_pass = setting_field("screening.artifact_pass")
    practice_trials = setting_field("rating.practice_trials")
    break_every = setting_field("rating.break_every")
    attention_rate = setting_field("rating.attention_rate")
    attention_min = setting_field("rating.attention_min")
    attention_max_failures = setting_field("rating.attention_max_failures")
    repeat_share = setting_field("rating.repeat_share", label="Repeated pairs (share)")

    # Crowd platform: a code and a redirect per outcome ([completion] and [completion.<outcome>]).
    completion_code = setting_field("completion.code", label="Completed: code")
    completion_redirect = setting_field("completion.redirect", label="Completed: redirect")
    screened_out_code = outcome_field("screened_out", "code")
    screened_out_redirect = outcome_field("screened_out", "redirect")
    excluded_code = outcome_field("excluded", "code")
    excluded_redirect = outcome_field("excluded", "redirect")
    declined_code = outcome_field("declined", "code")
    declined_redirect = outcome_field("declined", "redirect")
    refused_device_code = outcome_field("refused_device", "code")
    refused_device_redirect = outcome_field("refused_device", "redirect")
    require_crowd_id = setting_field("rating.require_crowd_id", label="Require a crowd id")
    allow_ties = setting_field("rating.allow_ties", label="Allow “can't decide”")
    # Viewing conditions.
    high_density = setting_field("presentation.high_density", label="High-density screens")
    max_pixel_ratio = setting_field("presentation.max_pixel_ratio", label="Largest pixel ratio (with refuse)")
    flicker_view_both = setting_field("presentation.flicker_view_both", label="Flicker: view both copies first")
    # The information sheet raters consent to.
    consent_title = setting_field("consent.title", label="Information sheet: title")
    consent_duration = setting_field("consent.duration", label="Duration")
    consent_pay = setting_field("consent.pay", label="Payment")
    consent_contact = setting_field("consent.contact", label="Contact")
    consent_ethics_reference = setting_field("consent.ethics_reference", label="Ethics reference")
    consent_retention = setting_field("consent.retention", label="Data retention (in words)")
    consent_text = setting_field("consent.text", label="More information (paragraphs)")
    consent_version = setting_field("consent.version", label="Consent version")
    retention_days = setting_field("consent.retention_days", label="Purge identifiers after (days)")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["images_folder"]).choices = [("", "—"), *image_folders()]
        cast(forms.MultipleChoiceField, self.fields["codecs"]).choices = codec_choices()

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"]
        if not SLUG_RE.match(slug):
            raise forms.ValidationError("use lowercase letters, digits and '-'")
        if Study.objects.filter(slug=slug).exists():
            raise forms.ValidationError("a study with this slug exists; choose another")
        return slug

    def clean_bpp(self) -> list[float]:
        return _bpp_list(self.cleaned_data["bpp"])

    def clean_images_zip(self):
        upload = self.cleaned_data.get("images_zip")
        if upload is None:
            return None
        if upload.size > MAX_ZIP_BYTES:
            raise forms.ValidationError(f"the zip is larger than {MAX_ZIP_BYTES // 2**20} MiB")
        if not zipfile.is_zipfile(upload):
            raise forms.ValidationError("not a zip file")
        return upload

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if not data.get("images_zip") and not data.get("images_folder"):
            raise forms.ValidationError("upload a zip of images or pick a folder on the server")
        if data.get("images_zip") and data.get("images_folder"):
            raise forms.ValidationError("give either a zip or a server folder, not both")
        return data

    def images_dir(self, upload_dir: Path) -> Path:
        """The folder of the study's images: the picked server folder, or the zip extracted into ``upload_dir``."""
        if self.cleaned_data.get("images_folder"):
            folder = (image_root() / self.cleaned_data["images_folder"]).resolve()
            if image_root() not in (folder, *folder.parents):
                raise forms.ValidationError("that folder is outside the allowed image root")
            return folder
        return extract_images(self.cleaned_data["images_zip"], upload_dir)

    def study_toml(self, images_dir: Path) -> str:
        """The study file this form describes (paths absolute, so it is valid wherever it is stored)."""
        d = self.cleaned_data
        lines = [
            "# Made with the create-study form; edit and rerun with `manage.py create_study FILE`.",
            f"slug = {json.dumps(d['slug'])}",
            f"title = {json.dumps(d['title'])}",
            "",
            "[images]",
            f"folder = {json.dumps(str(images_dir))}",
            "",
            "[ladder]",
            f"bpp = [{', '.join(repr(b) for b in d['bpp'])}]",
            "",
        ]
        for codec in d["codecs"]:
            lines += ["[[codecs]]", f"name = {json.dumps(codec)}", ""]
        sections: dict[str, list[str]] = {}
        for setting in SETTINGS.values():
            name = setting.form_field
            if name in self.fields and d.get(name) not in ("", None):  # left out: the file's default
                sections.setdefault(setting.section, []).append(f"{setting.key} = {json.dumps(d[name])}")
        for section, settings_lines in sections.items():
            lines += [f"[{section}]", *settings_lines, ""]
        for outcome in OTHER_OUTCOMES:
            entry = [
                f"{key} = {json.dumps(d[f'{outcome}_{key}'])}"
                for key in ("code", "redirect")
                if d.get(f"{outcome}_{key}")
            ]
            if entry:
                lines += [f"[completion.{outcome}]", *entry, ""]
        return "\n".join(lines)


def extract_images(upload, folder: Path) -> Path:
    """Extract the image files of a zip into ``folder`` (flattened; no paths from the archive are trusted)."""
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(upload) as archive:
        members = [
            m for m in archive.infolist() if not m.is_dir() and Path(m.filename).suffix.lower() in IMAGE_SUFFIXES
        ]
        members = [m for m in members if not Path(m.filename).name.startswith(".") and "__MACOSX" not in m.filename]
        if not members:
            raise forms.ValidationError(f"the zip holds no images ({', '.join(IMAGE_SUFFIXES)})")
        if len(members) > MAX_ZIP_MEMBERS:
            raise forms.ValidationError(f"the zip holds more than {MAX_ZIP_MEMBERS} images")
        for member in members:
            # Only the base name is used, so '../' or absolute names in the archive cannot escape `folder`.
            (folder / Path(member.filename).name).write_bytes(archive.read(member))
    return folder
