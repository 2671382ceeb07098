"""Display geometry: how large a window must be to show a study's crops at 1:1 device pixels
(or at CSS pixels, when the study says so for high-density screens), and which displays are
refused (phones, zoomed browsers, windows too small, pixel ratios above the study's limit)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from math import ceil

from evalsite.rating.errors import RatingError
from evalsite.rating.serving import crop_boxes
from evalsite.studies.models import Study

MOBILE_AGENT = re.compile(r"Mobi|Android|iPhone|iPad|iPod|Silk|Kindle", re.IGNORECASE)
# Browser families, most specific first (Edge and Opera say "Chrome", Chrome says "Safari").
BROWSERS = (
    ("edge", re.compile(r"Edg(e|A|iOS)?/")),
    ("opera", re.compile(r"OPR/|Opera")),
    ("firefox", re.compile(r"Firefox/|FxiOS/")),
    ("chrome", re.compile(r"Chrom(e|ium)/|CriOS/|HeadlessChrome/")),
    ("safari", re.compile(r"Safari/")),
)
REFUSED_DEVICE_CODES = ("mobile", "high_density")  # refusals the rater cannot fix by resizing or zooming
GAP_CSS_PX = 16
CONTROLS_CSS_PX = 140


def columns(study: Study) -> int:
    """Images side by side on a trial page: reference, left and right, or one in flicker mode."""
    return 3 if study.mode == Study.Mode.SIDE_BY_SIDE else 1


def crop_size(study: Study) -> tuple[int, int]:
    """The largest crop (w, h) in image pixels the study shows."""
    boxes = crop_boxes(study).values()
    return max((w for _, _, w, _ in boxes), default=study.crop_width), max(
        (h for _, _, _, h in boxes), default=study.crop_height
    )


def browser_family(user_agent: str) -> str:
    """``chrome``, ``firefox``, ``safari``, ``edge``, ``opera`` or ``other``, from a user-agent string."""
    return next((name for name, pattern in BROWSERS if pattern.search(user_agent)), "other")


def image_pixels_per_css_pixel(study: Study, device_pixel_ratio: float) -> float:
    """How many image pixels one CSS px shows: ``dpr`` at device pixels (the default), 1 at CSS pixels."""
    return 1.0 if study.high_density == "css_pixels" else device_pixel_ratio


def required_window(study: Study, device_pixel_ratio: float) -> tuple[int, int]:
    """Smallest browser window (CSS px) that shows the study's crops at their scale (1:1 device pixels by default)."""
    crop_w, crop_h = crop_size(study)
    n = columns(study)
    divisor = image_pixels_per_css_pixel(study, device_pixel_ratio)
    width = n * ceil(crop_w / divisor) + (n + 1) * GAP_CSS_PX
    return width, ceil(crop_h / divisor) + CONTROLS_CSS_PX


@dataclass(frozen=True)
class Display:
    """What display.js measured in the rater's browser, and the browser's user-agent string.

    ``zoom_hint`` is outerWidth / innerWidth (about 1 at 100% zoom), when the browser tells.
    """

    device_pixel_ratio: float
    window_width: int
    window_height: int
    zoom_ok: bool
    coarse_pointer: bool
    user_agent: str
    zoom_hint: float | None = None


def check_display(study: Study, display: Display) -> None:
    """Raise :class:`RatingError` when this display cannot show the study as intended."""
    if MOBILE_AGENT.search(display.user_agent) or display.coarse_pointer:
        raise RatingError("mobile")
    if not 0.5 <= display.device_pixel_ratio <= 6 or display.window_width <= 0 or display.window_height <= 0:
        raise RatingError("bad_display")
    if study.high_density == "refuse" and display.device_pixel_ratio > study.max_pixel_ratio:
        raise RatingError("high_density")
    if not display.zoom_ok:
        raise RatingError("zoom")
    need_w, need_h = required_window(study, display.device_pixel_ratio)
    if display.window_width < need_w or display.window_height < need_h:
        raise RatingError(
            "window_too_small",
            f"Please make it at least {need_w} x {need_h} (now {display.window_width} x {display.window_height}), "
            "for example by maximising it or using full screen (F11).",
        )
