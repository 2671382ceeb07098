"""The study file's scalar settings, described once: section, key, type, default, bounds and help.

This table is the single source for them: the study-file reader (``config.py``) checks values
against it, ``StudyConfig.study_fields`` and the ``Study`` model's defaults and help texts come
from it, and so do the create form's fields. ``tests/evalsite/studies/test_schema.py`` fails if
any of them drifts. Keys with structure (images, codecs, the ladder, crop positions) have their
own readers in ``config.py``. Plain Python only, so ``models.py`` can import it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MODES = ("side_by_side", "flicker")
HIGH_DENSITY = ("device_pixels", "css_pixels", "refuse")  # how crops meet devicePixelRatio > 1: docs/rating.md
# How a rater's session can end; each has a code and a redirect ([completion.<outcome>], docs/studies.md).
OUTCOMES = ("completed", "screened_out", "excluded", "declined", "refused_device")
DESIGNS = ("balanced", "adaptive")  # how pairs are chosen: see docs/rating.md, "Trial assignment"

Value = int | float | str | bool


@dataclass(frozen=True)
class Setting:
    """One scalar key of the study file and the ``Study`` field(s) it sets."""

    section: str  # the TOML table, e.g. "rating"
    key: str  # the key in that table
    kind: type[int] | type[float] | type[str] | type[bool]
    default: Value
    help: str
    minimum: int | float = 0  # numbers: lowest allowed value
    below: int | float | None = None  # numbers: values must stay under this, if given
    choices: tuple[str, ...] = ()  # strings: the allowed values
    max_length: int | None = None  # strings without choices: longest allowed value
    fields: tuple[str, ...] = ()  # Study fields and StudyConfig attributes it sets; empty = (key,)

    def __post_init__(self) -> None:
        if not self.fields:
            object.__setattr__(self, "fields", (self.key,))

    @property
    def path(self) -> str:
        """The dotted key that problems name, e.g. ``rating.trials_per_rater``."""
        return f"{self.section}.{self.key}"

    @property
    def form_field(self) -> str:
        """The create form's field for this key: the Study field it sets, or the key when it sets several."""
        return self.fields[0] if len(self.fields) == 1 else self.key

    @property
    def expected(self) -> str:
        """What a valid value looks like, for messages: 'an integer >= 1', 'a number in [0, 0.5)'."""
        if self.kind is bool:
            return "true or false"
        if self.choices:
            return " or ".join(f'"{c}"' for c in self.choices)
        if self.kind is str:
            return f"a string of at most {self.max_length} characters"
        noun = "an integer" if self.kind is int else "a number"
        if self.below is None:
            return f"{noun} >= {self.minimum:g}"
        return f"{noun} in [{self.minimum:g}, {self.below:g})"

    def parse(self, value: object) -> Value:
        """``value`` as read from TOML, checked for type, bounds and choices; ``ValueError`` says what was expected."""
        problem = ValueError(f"expected {self.expected}, got {value!r}")
        if self.kind is bool:
            if not isinstance(value, bool):
                raise problem
            return value
        if self.kind is str:
            if not isinstance(value, str) or (self.choices and value not in self.choices):
                raise problem
            if self.max_length is not None and len(value) > self.max_length:
                raise problem
            return value
        # bool is an int in Python; a TOML `true` where a number is expected is a mistake.
        numeric = (int,) if self.kind is int else (int, float)
        if isinstance(value, bool) or not isinstance(value, numeric) or not math.isfinite(value):
            raise problem
        if value < self.minimum or (self.below is not None and value >= self.below):
            raise problem
        return self.kind(value)


# fmt: off
_TABLE = (
    Setting("presentation", "mode", str, "side_by_side", "How raters see the pair.", choices=MODES),
    Setting("presentation", "crop", int, 384, "Crop shown to raters, in reference pixels.", minimum=16,
            fields=("crop_width", "crop_height")),
    Setting("presentation", "min_view_ms", int, 1000, "A choice is accepted only after this long."),
    Setting("screening", "colour_plates", int, 8, "Colour-vision plates shown (0 = no colour test)."),
    Setting("screening", "colour_pass", int, 7, "Plates a rater must read correctly."),
    Setting("screening", "artifact_items", int, 8, "Artifact-discrimination items shown (0 = no such test)."),
    Setting("screening", "artifact_pass", int, 4,
            "Clearly visible items a rater must get right (the test has one more, or half its items if more)."),
    Setting("rating", "trials_per_rater", int, 100, "Comparisons each rater makes.", minimum=1),
    Setting("rating", "practice_trials", int, 3, "Golden comparisons with feedback before the trials."),
    Setting("rating", "break_every", int, 50, "Offer a break after this many trials."),
    Setting("rating", "attention_rate", float, 0.05, "Share of trials that are attention checks.", below=0.5),
    Setting("rating", "attention_max_failures", int, 1,
            "More failures than this exclude the rater; below the checks a rater gets, or no one is excluded."),
    Setting("rating", "attention_min", int, 2,
            "Attention checks every rater gets at least, however short the pair design makes their session."),
    Setting("rating", "repeat_share", float, 0.0,
            "Share of trials that repeat one of the rater's earlier pairs with sides swapped (a consistency score).",
            below=0.5),
    Setting("rating", "target_judgments", int, 0,
            "New raters are refused once the study has this many judgments (0 = no target)."),
    Setting("rating", "design", str, "balanced", 'Which pairs raters compare (docs/rating.md, "Trial assignment").',
            choices=DESIGNS),
    Setting("completion", "code", str, "", "Shown to raters who finish; empty = a code derived for the study (docs/studies.md).",
            max_length=64, fields=("completion_code",)),
    Setting("completion", "redirect", str, "",
            "http(s) URL raters are sent to when they finish; {code} is replaced by their code.",
            max_length=200, fields=("completion_redirect",)),
    Setting("rating", "allow_ties", bool, False,
            "Offer a third answer, “can't decide”, stored as winner = tie (Davidson tie term in the fit)."),
    Setting("rating", "require_crowd_id", bool, False,
            "Refuse study links without PROLIFIC_PID or pid (a crowd platform's link always has one)."),
    Setting("presentation", "high_density", str, "device_pixels",
            "Screens with devicePixelRatio > 1: crops at device pixels (physically small), at CSS pixels "
            "(upscaled), or refuse ratios above max_pixel_ratio.", choices=HIGH_DENSITY),
    Setting("presentation", "max_pixel_ratio", float, 2.0,
            "With high_density = \"refuse\": the largest devicePixelRatio accepted.", minimum=1),
    Setting("presentation", "flicker_view_both", bool, False,
            "Flicker mode: answers are accepted only after the rater has viewed both copies."),
    Setting("consent", "title", str, "Image comparison study", "Heading of the information sheet.",
            max_length=200, fields=("consent_title",)),
    Setting("consent", "duration", str, "", "How long the study takes, e.g. \"about 20 minutes\".",
            max_length=100, fields=("consent_duration",)),
    Setting("consent", "pay", str, "", "What raters are paid, e.g. \"GBP 3.00\".", max_length=100,
            fields=("consent_pay",)),
    Setting("consent", "contact", str, "", "Who raters can contact with questions (name, e-mail).", max_length=200,
            fields=("consent_contact",)),
    Setting("consent", "ethics_reference", str, "", "Ethics approval reference shown on the information sheet.",
            max_length=100, fields=("consent_ethics_reference",)),
    Setting("consent", "retention", str, "", "How long identifiers are kept, in words shown to raters.",
            max_length=300, fields=("consent_retention",)),
    Setting("consent", "text", str, "",
            "More of the information sheet: plain paragraphs separated by blank lines.", max_length=5000,
            fields=("consent_text",)),
    Setting("consent", "version", str, "",
            "Stored with each rater's consent; empty = a hash of the information sheet.", max_length=32,
            fields=("consent_version",)),
    Setting("consent", "retention_days", int, 90,
            "purge_identifiers removes crowd ids and browser strings this many days after the study closes."),
)
# fmt: on
SETTINGS: dict[str, Setting] = {s.path: s for s in _TABLE}
CROP = SETTINGS["presentation.crop"]  # an int or [width, height]: config.py reads it
SECTIONS = tuple(dict.fromkeys(s.section for s in SETTINGS.values()))
STUDY_FIELDS = tuple(f for s in SETTINGS.values() for f in s.fields)
