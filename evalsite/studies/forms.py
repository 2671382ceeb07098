"""The create-study form: images (zip upload or a server folder), codecs, bitrates, presentation.

The form writes a study file (TOML) like one a researcher would write by hand, so a study made
in the browser has the same validation, the same generation and the same bundle as one made with
``create_study``.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from django import forms
from django.conf import settings

from evalsite.studies import planning, uploads
from evalsite.studies.config import IMAGE_SUFFIXES, SLUG_RE, StudyConfig, StudyFileError, load_study_file
from evalsite.studies.models import Study
from evalsite.studies.schema import OUTCOMES, SETTINGS
from pico.codecs import list_codecs


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
CHECK_SLUG = "slug-to-check"  # stands in for a wrong slug while the rest of the study file is checked


class KeptUpload:
    """A researcher's zip of images, extracted and kept between tries of the create form: a failed submit loses nothing.

    One per researcher, under STUDY_DATA_DIR/.drafts/ (slugs cannot start with a dot); cleared once a study is made.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.images = folder / "images"

    @classmethod
    def of(cls, user: Any) -> KeptUpload:
        return cls(Path(settings.STUDY_DATA_DIR) / ".drafts" / str(user.pk))

    def exists(self) -> bool:
        return self.images.is_dir() and any(self.images.iterdir())

    @property
    def name(self) -> str:
        """The zip's file name, as the researcher's browser sent it."""
        path = self.folder / "name.txt"
        return path.read_text(encoding="utf-8") if path.is_file() else "images.zip"

    @property
    def count(self) -> int:
        return sum(1 for p in self.images.iterdir() if p.is_file()) if self.images.is_dir() else 0

    def replace(self, upload: Any) -> None:
        """Keep the images of ``upload`` instead (``uploads.extract_images`` checks it; a refused zip changes nothing)."""
        incoming = self.folder / "incoming"
        shutil.rmtree(incoming, ignore_errors=True)
        uploads.extract_images(upload, incoming)  # creates the folders only for a zip that passes
        shutil.rmtree(self.images, ignore_errors=True)
        incoming.replace(self.images)
        (self.folder / "name.txt").write_text(Path(upload.name or "images.zip").name[:200], encoding="utf-8")

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


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

    def __init__(self, *args, kept: KeptUpload | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kept = kept  # the researcher's zip from an earlier, failed try: used when no other images are given
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
        """A new zip is checked and, when a kept-upload area is given, extracted there at once (kept if the rest fails)."""
        upload = self.cleaned_data.get("images_zip")
        if upload is None:
            return None
        try:
            if self.kept is None:
                uploads.check_zip(upload)
            else:
                self.kept.replace(upload)
        except uploads.UploadError as exc:
            raise forms.ValidationError(exc.problems) from None
        return upload

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.has_error("images_zip"):
            return data
        kept = self.kept is not None and self.kept.exists()
        if not data.get("images_zip") and not data.get("images_folder") and not kept:
            raise forms.ValidationError("upload a zip of images or pick a folder on the server")
        if data.get("images_zip") and data.get("images_folder"):
            raise forms.ValidationError("give either a zip or a server folder, not both")
        return data

    def images_source(self) -> Path | None:
        """Where the images are now: the picked server folder, the kept zip's folder, or None while neither is valid."""
        if self.cleaned_data.get("images_folder"):
            folder = (image_root() / self.cleaned_data["images_folder"]).resolve()
            if image_root() not in (folder, *folder.parents):
                raise forms.ValidationError("that folder is outside the allowed image root")
            return folder
        if self.kept is not None and self.kept.exists():
            return self.kept.images
        return None

    def images_dir(self, upload_dir: Path) -> Path:
        """The folder of the study's images: the picked server folder, or the zip's images copied into ``upload_dir``."""
        if self.cleaned_data.get("images_folder") or self.kept is not None:
            source = self.images_source()
            assert source is not None  # clean() required images
            if self.cleaned_data.get("images_folder"):
                return source
            shutil.copytree(source, upload_dir, dirs_exist_ok=True)
            return upload_dir
        return extract_images(self.cleaned_data["images_zip"], upload_dir)

    def check_study_file(self, folder: Path) -> StudyConfig | None:
        """Check the study file of every valid field together, in ``folder``; each problem becomes an error in words.

        Runs whether or not some fields are wrong, so one submit reports every problem. Problems
        of fields that already have an error are left out (they follow from it).
        """
        try:
            images = self.images_source() if not self.has_error("images_folder") else None
        except forms.ValidationError as exc:
            self.add_error("images_folder", exc)
            return None
        if images is None:
            return None
        study_file = folder / "study.toml"
        study_file.write_text(self.study_toml(images), encoding="utf-8")
        try:
            return load_study_file(study_file)
        except StudyFileError as exc:
            for problem in exc.problems:
                name = self.field_for(problem.key)
                if name is None or not self.has_error(name):
                    self.add_error(name, self.in_words(problem.message))
            return None

    def field_for(self, key: str) -> str | None:
        """The form field a study-file key is set by, or None for the form as a whole."""
        if key in SETTINGS:
            return SETTINGS[key].form_field
        if key.startswith("images"):
            return "images_folder" if self.cleaned_data.get("images_folder") else "images_zip"
        if key.startswith("ladder") or (key.startswith("codecs[") and key.endswith(".bpp")):
            return "bpp"
        if key.startswith("codecs"):
            return "codecs"
        if key.startswith("presentation.crop_positions"):
            return "crop"
        parts = key.split(".")
        if parts[0] == "completion" and len(parts) == 3 and parts[1] in OUTCOMES:
            outcome = parts[1]
            return f"completion_{parts[2]}" if outcome == "completed" else f"{outcome}_{parts[2]}"
        return key if key in self.fields else None

    def in_words(self, message: str) -> str:
        """``message`` with study-file key names replaced by the form's labels, e.g. colour_plates -> “Colour plates”."""
        for setting in SETTINGS.values():
            label = f"“{self[setting.form_field].label}”"
            # Whole names only: consent.retention is not the start of consent.retention_days.
            names = [re.escape(setting.path), re.escape(f"[{setting.section}] {setting.key}")]
            if "_" in setting.key:
                names.append(rf"(?<![.\w]){setting.key}")
            message = re.sub(rf"(?:{'|'.join(names)})\b", label, message)
        return message

    def study_toml(self, images_dir: Path) -> str:
        """The study file this form describes (paths absolute, so it is valid wherever it is stored)."""
        d = self.cleaned_data
        lines = [
            "# Made with the create-study form; edit and rerun with `manage.py create_study FILE`.",
            f"slug = {json.dumps(d.get('slug') or CHECK_SLUG)}",
            f"title = {json.dumps(d.get('title') or '')}",
            "",
            "[images]",
            f"folder = {json.dumps(str(images_dir))}",
            "",
        ]
        if d.get("bpp"):
            lines += ["[ladder]", f"bpp = [{', '.join(repr(b) for b in d['bpp'])}]", ""]
        for codec in d.get("codecs", []):
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
    """Extract the images of a zip into ``folder`` (``uploads.extract_images``: checked first, nothing written if refused)."""
    try:
        return uploads.extract_images(upload, folder)
    except uploads.UploadError as exc:
        raise forms.ValidationError(exc.problems) from None


class PlanForm(forms.Form):
    """The plan's inputs (``studies.planning.PlanInputs``), read from the study page's query string or the API's."""

    target_width = forms.FloatField(
        min_value=0.5,
        initial=planning.DEFAULT_TARGET_WIDTH,
        label="Target width of the 95% BD-rate interval (percentage points)",
    )
    seconds_per_trial = forms.FloatField(
        required=False, min_value=0.5, label="Seconds per trial", help_text="Empty = the pilot's median, else 4 s."
    )
    hourly_rate = forms.FloatField(min_value=0, initial=planning.DEFAULT_HOURLY_RATE, label="Pay per hour")
    currency = forms.CharField(max_length=8, initial=planning.DEFAULT_CURRENCY)
    arrivals_per_hour = forms.FloatField(
        min_value=0.1, initial=planning.DEFAULT_ARRIVALS_PER_HOUR, label="Raters arriving per hour"
    )
    pilot = forms.ChoiceField(
        required=False,
        label="Pilot study",
        help_text="Its judgments give the expected curves and timings; empty = this study's own, if any.",
    )

    def __init__(self, data: Mapping[str, Any] | None = None, *, studies: Sequence[Study] = ()) -> None:
        # Only the inputs given are checked; the others keep their defaults (a bare link shows the default plan).
        if data is not None:
            data = {
                **{name: field.initial for name, field in self.base_fields.items()},
                **{key: value for key, value in data.items()},
            }
        super().__init__(data)
        cast(forms.ChoiceField, self.fields["pilot"]).choices = [("", "—"), *((s.slug, s.slug) for s in studies)]

    def inputs(self) -> planning.PlanInputs:
        """The inputs given and valid; defaults for the rest (and for all, on a form with errors)."""
        if not self.is_bound or not self.is_valid():
            return planning.PlanInputs()
        d = self.cleaned_data
        return planning.PlanInputs(
            target_width=d["target_width"],
            seconds_per_trial=d["seconds_per_trial"],
            hourly_rate=d["hourly_rate"],
            currency=d["currency"],
            arrivals_per_hour=d["arrivals_per_hour"],
            pilot=d["pilot"],
        )
