"""The study file: a TOML description of a study, validated into a typed :class:`StudyConfig`.

Every problem found is collected (key, what is wrong, how to fix it) and raised together as
:class:`StudyFileError` before anything is generated. The scalar settings (presentation,
screening, rating, completion) are read from the table in ``schema.py``; keys with structure
have their own readers here. The documented example is ``fixtures/studies/demo.toml``;
docs/studies.md lists every key.

This module reads files and images but never touches the database, so it is tested without Django's DB.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from PIL import Image, UnidentifiedImageError

from evalsite.attention import most_attention_checks
from evalsite.studies.schema import CROP, DESIGNS, MODES, OUTCOMES, SECTIONS, SETTINGS, STUDY_FIELDS, Setting, Value
from pico.codecs import get_codec
from pico.errors import PicoError
from pico.images import ImageRefused, load_reference

__all__ = [
    "DESIGNS",
    "IMAGE_SUFFIXES",
    "MODES",
    "SLUG_RE",
    "CodecSpec",
    "StudyConfig",
    "StudyFileError",
    "StudyProblem",
    "codec_problem",
    "image_problem",
    "load_study_file",
    "parse_study",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".ppm", ".tif", ".tiff", ".webp", ".bmp")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,49}$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
MAX_BPP = 24.0  # uncompressed 8-bit RGB; a higher target is a typo (bits vs bytes, or kbps)
CROP_POSITIONS = ("auto", "centre")


@dataclass(frozen=True)
class StudyProblem:
    """One thing wrong with the study file: the key it concerns, what is wrong, and the fix."""

    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


class StudyFileError(Exception):
    """The study file cannot be used; ``problems`` lists every key that is wrong."""

    def __init__(self, source: str, problems: list[StudyProblem]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"{source}: {len(problems)} {noun}:\n{lines}")


@dataclass(frozen=True)
class CodecSpec:
    """One compared codec: a registry name, an external TOML definition, or an imported listing."""

    name: str
    kind: str  # builtin | external | imported
    definition: Path | None = None  # external: the codec's TOML definition
    listing: Path | None = None  # imported: CSV with image, codec, level, bpp, path
    bpp: tuple[float, ...] = ()  # targets; empty when matched or imported
    match: str | None = None  # per image, the bpp another codec achieved at each level


@dataclass(frozen=True)
class StudyConfig:
    """A validated study file; paths are absolute.

    The attributes after ``crops`` are the table's settings (``schema.STUDY_FIELDS``); their
    defaults live in the table, which :func:`parse_study` applies.
    """

    source: Path
    slug: str
    title: str
    description: str
    images_dir: Path
    images: tuple[Path, ...]
    codecs: tuple[CodecSpec, ...]
    crop_positions: str  # auto | centre | explicit
    crops: dict[str, tuple[int, int]]  # image stem -> (x, y), when explicit
    mode: str
    crop_width: int
    crop_height: int
    min_view_ms: int
    colour_plates: int
    colour_pass: int
    artifact_items: int
    artifact_pass: int
    trials_per_rater: int
    practice_trials: int
    break_every: int
    attention_rate: float
    attention_max_failures: int
    attention_min: int
    repeat_share: float
    target_judgments: int
    design: str  # balanced | adaptive
    completion_code: str
    completion_redirect: str
    require_crowd_id: bool
    allow_ties: bool
    high_density: str
    max_pixel_ratio: float
    flicker_view_both: bool
    consent_title: str
    consent_duration: str
    consent_pay: str
    consent_contact: str
    consent_ethics_reference: str
    consent_retention: str
    consent_text: str
    consent_version: str
    retention_days: int
    # [completion.<outcome>] tables other than completed: {outcome: {"code": ..., "redirect": ...}}
    outcomes: dict[str, dict[str, str]]
    # Settings that work but probably not as meant (e.g. no attention checks): printed by create_study,
    # shown on the create form's study page and kept in the generation note. Never block creation.
    warnings: tuple[StudyProblem, ...] = ()

    @property
    def codecs_by_name(self) -> dict[str, CodecSpec]:
        return {c.name: c for c in self.codecs}

    @property
    def image_names(self) -> list[str]:
        """Image stems, as they appear in manifest.csv."""
        return [p.stem for p in self.images]

    def study_fields(self) -> dict[str, Any]:
        """Values of the :class:`~evalsite.studies.models.Study` fields this file sets."""
        fields = {f: getattr(self, f) for f in STUDY_FIELDS}
        return {"title": self.title, "description": self.description, **fields, "outcomes": self.outcomes}


# Which keys each table accepts; anything else is reported as unknown (catches typos early).
TOP_KEYS = {"slug", "title", "description", "images", "codecs", "ladder", *SECTIONS}
IMAGES_KEYS = {"folder", "include"}
CODEC_KEYS = {"name", "definition", "listing", "bpp", "match"}
LADDER_KEYS = {"bpp"}
# settings sections' keys that are not in the table
STRUCTURED_KEYS = {"presentation": {"crop_positions"}, "completion": set(OUTCOMES)}
OUTCOME_KEYS = {"code", "redirect"}
SECTION_KEYS = {
    section: {s.key for s in SETTINGS.values() if s.section == section} | STRUCTURED_KEYS.get(section, set())
    for section in SECTIONS
}


class _Reader:
    """Collects problems while reading values of known types out of the parsed TOML."""

    def __init__(self) -> None:
        self.problems: list[StudyProblem] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(StudyProblem(key, message))

    def table(self, data: dict, key: str, allowed: set[str]) -> dict:
        value = data.get(key, {})
        if not isinstance(value, dict):
            self.problem(key, f"expected a table [{key}], got {type(value).__name__}")
            return {}
        self.unknown(value, allowed, prefix=f"{key}.")
        return value

    def unknown(self, data: dict, allowed: set[str], *, prefix: str = "") -> None:
        for key in sorted(set(data) - allowed):
            self.problem(f"{prefix}{key}", f"unknown key; allowed keys here: {', '.join(sorted(allowed))}")

    def get(self, data: dict, key: str, kind: type | tuple[type, ...], default: Any, *, where: str = "") -> Any:
        if key not in data:
            return default
        value = data[key]
        # bool is an int in Python; a TOML `true` where a number is expected is a mistake.
        wrong_bool = isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,))
        if wrong_bool or not isinstance(value, kind):
            names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
            self.problem(f"{where}{key}", f"expected {_article(names)}, got {value!r}")
            return default
        return value

    def setting(self, table: dict, setting: Setting) -> Value:
        """The value of ``setting`` in its section's ``table``: its default when absent or invalid (a problem)."""
        if setting.key not in table:
            return setting.default
        try:
            return setting.parse(table[setting.key])
        except ValueError as exc:
            self.problem(setting.path, str(exc))
            return setting.default


def _article(names: str) -> str:
    return f"an {names}" if names[0] in "aeiou" else f"a {names}"


def codec_problem(name: str, definition: Path | None = None) -> str | None:
    """``None`` when pico can run codec ``name`` here (from its TOML ``definition`` if given), else why not."""
    try:
        codec = get_codec(name, definition)
    except PicoError as exc:
        return str(exc)
    return codec.available()


def image_problem(path: Path) -> str | None:
    """``None`` when pico can turn ``path`` into the 8-bit RGB its codecs take, else why not and the fix."""
    try:
        load_reference(path)
    except ImageRefused as exc:
        return str(exc)
    return None


def load_study_file(
    path: str | Path, *, check_codec: Callable[[str, Path | None], str | None] = codec_problem
) -> StudyConfig:
    """Read and validate a study TOML file; raise :class:`StudyFileError` listing every problem.

    ``check_codec(name, definition)`` returns ``None`` for a usable codec, else why not
    (by default :func:`codec_problem`, which asks pico).
    Every image is decoded here, so a broken image is reported before any generation starts.
    """
    path = Path(path).resolve()
    source = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StudyFileError(source, [StudyProblem("(file)", "file not found; check the path")]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise StudyFileError(source, [StudyProblem("(file)", f"not valid TOML ({exc}); fix the syntax")]) from None
    return parse_study(data, base=path.parent, source=path, check_codec=check_codec)


def parse_study(
    data: dict, *, base: Path, source: Path, check_codec: Callable[[str, Path | None], str | None]
) -> StudyConfig:
    """Validate parsed TOML ``data``; relative paths are resolved against ``base``."""
    r = _Reader()
    r.unknown(data, TOP_KEYS)

    slug = r.get(data, "slug", str, "")
    if not SLUG_RE.match(slug):
        r.problem(
            "slug",
            f"expected lowercase letters, digits and '-' (1-50 characters), got {slug!r}; e.g. slug = \"my-study\"",
        )
    title = r.get(data, "title", str, "") or slug
    description = r.get(data, "description", str, "")

    images_dir, images = _read_images(r, data, base)
    codecs = _read_codecs(r, data, base, check_codec)

    tables = {section: r.table(data, section, SECTION_KEYS[section]) for section in SECTIONS}
    values: dict[str, Any] = {}  # setting values, typed by the table's checks
    for setting in SETTINGS.values():
        if setting is CROP:  # an int or [width, height]
            values.update(zip(CROP.fields, _read_crop(r, tables[CROP.section]), strict=True))
        else:
            (name,) = setting.fields
            values[name] = r.setting(tables[setting.section], setting)
    crop_positions, crops = _read_crop_positions(r, tables["presentation"], [p.stem for p in images])
    _check_image_sizes(r, images, values["crop_width"], values["crop_height"], crops)
    for passed, total in (("colour_pass", "colour_plates"), ("artifact_pass", "artifact_items")):
        if values[passed] > values[total]:
            r.problem(f"screening.{passed}", f"pass mark {values[passed]} exceeds {total} = {values[total]}; lower it")
    redirect = values["completion_redirect"]
    if redirect and not redirect.startswith(("https://", "http://")):
        r.problem("completion.redirect", f"expected an http(s) URL, got {redirect!r}")
    outcomes = _read_outcomes(r, tables["completion"], values)
    warnings = _check_attention(values)

    if r.problems:
        raise StudyFileError(str(source), r.problems)
    return StudyConfig(
        source=source,
        slug=slug,
        title=title,
        description=description,
        images_dir=images_dir,
        images=tuple(images),
        codecs=tuple(codecs),
        crop_positions=crop_positions,
        crops=crops,
        outcomes=outcomes,
        warnings=tuple(warnings),
        **values,
    )


def _check_attention(values: dict[str, Any]) -> list[StudyProblem]:
    """Warnings when automatic exclusion can never fire: no attention checks, or fewer than the threshold needs.

    Warnings rather than problems: a researcher may mean to exclude by hand only; the defaults never warn.
    """
    checks = most_attention_checks(
        trials_per_rater=values["trials_per_rater"],
        attention_rate=values["attention_rate"],
        attention_min=values["attention_min"],
    )
    limit = values["attention_max_failures"]
    if checks == 0:
        return [
            StudyProblem(
                "rating.attention_min",
                "raters get no attention checks, so no rater is ever excluded automatically; "
                "set attention_min (e.g. 2) to check attention",
            )
        ]
    if checks <= limit:
        return [
            StudyProblem(
                "rating.attention_max_failures",
                f"a rater gets at most {checks} attention checks, so more than {limit} failures can never happen "
                f"and nobody is excluded automatically; set attention_max_failures to at most {checks - 1} or "
                "raise attention_min",
            )
        ]
    return []


def _read_outcomes(r: _Reader, completion: dict, values: dict[str, Any]) -> dict[str, dict[str, str]]:
    """``[completion.<outcome>]`` tables, each with ``code`` and ``redirect`` (``{code}`` is substituted).

    ``[completion.completed]`` sets the same fields as the older ``[completion] code/redirect``
    (written into ``values``); the other outcomes are returned.
    """
    code_setting, redirect_setting = SETTINGS["completion.code"], SETTINGS["completion.redirect"]
    found: dict[str, dict[str, str]] = {}
    for outcome in OUTCOMES:
        if outcome not in completion:
            continue
        where = f"completion.{outcome}"
        table = completion[outcome]
        if not isinstance(table, dict):
            r.problem(
                where, f'expected a table [{where}] with code = "..." and redirect = "https://...", got {table!r}'
            )
            continue
        r.unknown(table, OUTCOME_KEYS, prefix=f"{where}.")
        entry: dict[str, str] = {}
        for key, setting in (("code", code_setting), ("redirect", redirect_setting)):
            if key not in table:
                continue
            try:
                entry[key] = str(setting.parse(table[key]))
            except ValueError as exc:
                r.problem(f"{where}.{key}", str(exc))
        redirect = entry.get("redirect", "")
        if redirect and not redirect.startswith(("https://", "http://")):
            r.problem(f"{where}.redirect", f"expected an http(s) URL, got {redirect!r}")
        if outcome != "completed":
            found[outcome] = entry
            continue
        for key, field in (("code", "completion_code"), ("redirect", "completion_redirect")):
            if key in entry and values[field] and values[field] != entry[key]:
                r.problem(f"{where}.{key}", f"differs from [completion] {key} = {values[field]!r}; keep one of them")
            elif key in entry:
                values[field] = entry[key]
    return found


def _read_images(r: _Reader, data: dict, base: Path) -> tuple[Path, list[Path]]:
    """The images folder and the chosen images in it; each must decode."""
    if "images" not in data:
        r.problem("images", 'missing; add [images] with folder = "path/to/references"')
        return base, []
    table = r.table(data, "images", IMAGES_KEYS)
    folder = r.get(table, "folder", str, "", where="images.")
    if not folder:
        r.problem("images.folder", 'missing; set folder = "path/to/references" (relative to the study file)')
        return base, []
    images_dir = (base / folder).resolve()
    if not images_dir.is_dir():
        r.problem("images.folder", f"folder {images_dir} does not exist; fix the path (relative to the study file)")
        return images_dir, []
    found = {p.stem: p for p in sorted(images_dir.iterdir()) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES}
    include = r.get(table, "include", list, None, where="images.")
    if include is None:
        chosen = list(found.values())
    else:
        chosen = []
        for stem in include:
            if stem not in found:
                r.problem(
                    "images.include",
                    f"no image named {stem!r} in {images_dir}; available: {', '.join(found) or 'none'}",
                )
            else:
                chosen.append(found[stem])
    if not chosen:
        r.problem(
            "images", f"no images ({', '.join(IMAGE_SUFFIXES)}) chosen in {images_dir}; add some or fix images.include"
        )
    for image in chosen:
        if not NAME_RE.match(image.stem):
            r.problem(
                "images", f"image file name {image.name!r} must be letters, digits and '._+-' (no spaces); rename it"
            )
        problem = image_problem(image)
        if problem:
            r.problem("images", problem)
    return images_dir, chosen


def _read_bpp(r: _Reader, value: Any, key: str) -> tuple[float, ...]:
    """A ladder of bpp targets: positive, below MAX_BPP, strictly ascending."""
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        r.problem(key, f"expected a non-empty list of numbers in bits per pixel, e.g. [0.15, 0.3, 0.6], got {value!r}")
        return ()
    targets = tuple(float(v) for v in value)
    if any(not math.isfinite(v) or v <= 0 or v > MAX_BPP for v in targets):
        r.problem(key, f"every target must be > 0 and <= {MAX_BPP:g} bpp, got {list(targets)}")
        return ()
    if any(b <= a for a, b in zip(targets, targets[1:], strict=False)):
        r.problem(key, f"targets must be strictly ascending (level 0 = lowest bitrate), got {list(targets)}; sort them")
        return ()
    return targets


def _read_codecs(
    r: _Reader, data: dict, base: Path, check_codec: Callable[[str, Path | None], str | None]
) -> list[CodecSpec]:
    """The compared codecs, each with its source of reconstructions and its targets."""
    ladder = r.table(data, "ladder", LADDER_KEYS)
    default_bpp = _read_bpp(r, ladder["bpp"], "ladder.bpp") if "bpp" in ladder else ()
    raw = data.get("codecs")
    if not isinstance(raw, list) or not raw:
        r.problem("codecs", 'missing; add one [[codecs]] table per codec, e.g. [[codecs]] name = "jpeg"')
        return []
    specs: list[CodecSpec] = []
    for index, entry in enumerate(raw):
        where = f"codecs[{index}]."
        if not isinstance(entry, dict):
            r.problem(f"codecs[{index}]", f"expected a table with name = ..., got {entry!r}")
            continue
        r.unknown(entry, CODEC_KEYS, prefix=where)
        name = r.get(entry, "name", str, "", where=where)
        if not NAME_RE.match(name):
            r.problem(f"{where}name", f'expected a codec name such as "jpeg", got {name!r}')
            continue
        where = f"codecs[{index}] ({name})."
        definition = r.get(entry, "definition", str, None, where=where)
        listing = r.get(entry, "listing", str, None, where=where)
        match = r.get(entry, "match", str, None, where=where)
        if definition and listing:
            r.problem(f"{where}listing", "a codec has either an external definition or an imported listing, not both")
            continue
        kind, definition_path, listing_path = "builtin", None, None
        if definition:
            kind, definition_path = "external", (base / definition).resolve()
            if not definition_path.is_file():
                r.problem(
                    f"{where}definition",
                    f"file {definition_path} does not exist; fix the path (relative to the study file)",
                )
        elif listing:
            kind, listing_path = "imported", (base / listing).resolve()
            if not listing_path.is_file():
                r.problem(
                    f"{where}listing", f"file {listing_path} does not exist; fix the path (relative to the study file)"
                )
        if kind != "imported" and not (definition_path and not definition_path.is_file()):
            reason = check_codec(name, definition_path)
            if reason:
                r.problem(f"{where}{'definition' if definition_path else 'name'}", f"codec unavailable here: {reason}")
        bpp: tuple[float, ...] = ()
        if kind == "imported":
            if "bpp" in entry or match:
                r.problem(f"{where}bpp", "imported reconstructions come with their own bpp; remove bpp/match")
        elif match:
            if "bpp" in entry:
                r.problem(f"{where}match", 'give either bpp targets or match = "codec", not both')
        else:
            bpp = _read_bpp(r, entry["bpp"], f"{where}bpp") if "bpp" in entry else default_bpp
            if not bpp and "bpp" not in entry and "bpp" not in ladder:
                r.problem(
                    f"{where}bpp",
                    'no bitrate targets; set [ladder] bpp = [...] or bpp on this codec, or match = "codec"',
                )
        specs.append(CodecSpec(name, kind, definition_path, listing_path, bpp, match))
    names = [s.name for s in specs]
    for duplicate in sorted({n for n in names if names.count(n) > 1}):
        r.problem("codecs", f"codec {duplicate!r} is listed twice; list each codec once")
    for spec in specs:
        if spec.match and (spec.match not in names or spec.match == spec.name):
            r.problem(
                f"codecs ({spec.name}).match",
                f"{spec.match!r} must name another codec of this study ({', '.join(names)})",
            )
        elif spec.match and next(s for s in specs if s.name == spec.match).match:
            r.problem(
                f"codecs ({spec.name}).match", f"{spec.match!r} is itself matched; match a codec that has bpp targets"
            )
    return specs


def _read_crop(r: _Reader, presentation: dict) -> tuple[int, int]:
    """Crop size in reference pixels: ``crop = 384`` (square) or ``crop = [width, height]``."""
    value = presentation.get(CROP.key, CROP.default)
    sizes = [value, value] if isinstance(value, int) else value
    if not isinstance(sizes, list) or len(sizes) != 2 or not all(_is_size(v) for v in sizes):
        r.problem(
            CROP.path,
            f"expected a size in pixels >= {CROP.minimum}, as crop = {CROP.default} or crop = [512, 384], got {value!r}",
        )
        return int(CROP.default), int(CROP.default)
    return sizes[0], sizes[1]


def _is_size(value: object) -> bool:
    """An integer number of pixels the crop may have (TOML ``true`` is not one)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= CROP.minimum


def _read_crop_positions(
    r: _Reader, presentation: dict, stems: Iterable[str]
) -> tuple[str, dict[str, tuple[int, int]]]:
    """``"auto"`` (busiest region), ``"centre"``, or a table of image stem -> [x, y]."""
    value = presentation.get("crop_positions", "auto")
    if isinstance(value, str):
        if value not in CROP_POSITIONS:
            r.problem(
                "presentation.crop_positions", f'expected "auto", "centre" or a table image = [x, y], got {value!r}'
            )
        return value, {}
    if not isinstance(value, dict):
        r.problem("presentation.crop_positions", f'expected "auto", "centre" or a table image = [x, y], got {value!r}')
        return "auto", {}
    stems = set(stems)
    crops: dict[str, tuple[int, int]] = {}
    for stem, xy in value.items():
        key = f"presentation.crop_positions.{stem}"
        if stem not in stems:
            r.problem(key, f"no image named {stem!r} in this study; use one of {', '.join(sorted(stems))}")
        elif not (isinstance(xy, list) and len(xy) == 2 and all(isinstance(v, int) and v >= 0 for v in xy)):
            r.problem(key, f"expected [x, y] of the crop's top-left corner in pixels, got {xy!r}")
        else:
            crops[stem] = (xy[0], xy[1])
    return "explicit", crops


def with_crop_positions(study_file: str, crops: dict[str, tuple[int, int]]) -> str:
    """``study_file`` with ``[presentation] crop_positions`` set to ``crops`` (image stem -> (x, y)).

    Everything else in the file, comments included, stays as it was (tomlkit). With no crops the
    key is set to ``"centre"``, which is what a study shows where no crop was chosen.
    """
    document = tomlkit.parse(study_file)
    presentation = document.setdefault("presentation", tomlkit.table())
    if crops:
        positions = tomlkit.inline_table()
        positions.update({stem: [x, y] for stem, (x, y) in sorted(crops.items())})
        presentation["crop_positions"] = positions
    else:
        presentation["crop_positions"] = "centre"
    return tomlkit.dumps(document)


def _check_image_sizes(
    r: _Reader, images: list[Path], crop_width: int, crop_height: int, crops: dict[str, tuple[int, int]]
) -> None:
    """Every image must contain the crop (at its explicit position, when given)."""
    for image in images:
        try:
            with Image.open(image) as opened:
                width, height = opened.size
        except (UnidentifiedImageError, OSError):
            continue  # already reported as undecodable
        if width < crop_width or height < crop_height:
            r.problem(
                "presentation.crop",
                f"{image.name} is {width}x{height}, smaller than the {crop_width}x{crop_height} crop; use a smaller crop",
            )
        x, y = crops.get(image.stem, (0, 0))
        if image.stem in crops and (x + crop_width > width or y + crop_height > height):
            r.problem(
                f"presentation.crop_positions.{image.stem}",
                f"crop at ({x}, {y}) of {crop_width}x{crop_height} leaves the {width}x{height} image; move it",
            )
