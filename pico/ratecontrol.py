"""Rate control: the codec parameter whose bitstream lands closest to a target bpp.

The search runs on the codec's rate curve, not blind bisection: log2(bpp) is monotone in
the parameter (or in its logarithm, for parameters such as a requested bpp or a
Butteraugli distance), so a first step along the codec's typical slope and then secant
steps inside a bracket (regula falsi, pulled back to bisection when a step would leave
the bracket or barely move) reach ±2% in a few encodes. Integer parameters stop at two
adjacent values and keep the closer; the tolerance is then the codec's granularity.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from pico.codecs.base import Codec

DEFAULT_TOLERANCE = 0.02
MAX_ENCODES = 12


@dataclass
class RateResult:
    """Outcome of one search: the chosen bitstream, or why the target cannot be met."""

    target_bpp: float
    status: str  # "ok", "unreachable" (outside the codec's range) or "missed" (non-monotone curve)
    param: float
    bpp: float
    data: bytes = field(repr=False)
    n_encodes: int
    encode_s: float
    tolerance: float
    reason: str = ""

    @property
    def error(self) -> float:
        """Relative bpp error of the chosen bitstream (+0.01 = 1% above the target)."""
        return self.bpp / self.target_bpp - 1.0


class _Curve:
    """Memoised encodes of one image, seen in a coordinate where more = more bits."""

    def __init__(self, codec: Codec, image: np.ndarray, target_bpp: float) -> None:
        self.codec, self.image, self.target_bpp = codec, image, target_bpp
        self.pixels = image.shape[0] * image.shape[1]
        self.points: dict[float, tuple[float, bytes]] = {}
        self.encode_s = 0.0
        low, high = codec.param_range
        self.sign = 1.0 if codec.higher_param_more_bits else -1.0
        self.log = codec.param_log
        ends = [self.to_x(low), self.to_x(high)]
        self.x_min, self.x_max = min(ends), max(ends)

    def to_x(self, param: float) -> float:
        offset = self.codec.param_log_offset
        if offset is not None:
            return self.sign * -math.log2(offset - param)
        return self.sign * (math.log2(param) if self.log else param)

    def to_param(self, x: float) -> float:
        value = self.sign * x
        offset = self.codec.param_log_offset
        if offset is not None:
            return self.codec.clamp_param(offset - 2.0**-value)
        return self.codec.clamp_param(2.0**value if self.log else value)

    def width(self, a: float, b: float) -> float:
        """How far apart two coordinates are, in parameter units when the codec states its step."""
        if self.codec.param_step is not None or (self.codec.param_integer and not self.log):
            return abs(self.to_param(b) - self.to_param(a))
        return abs(b - a)

    def f(self, x: float) -> tuple[float, float]:
        """(x actually used after rounding, log2(bpp / target)) for coordinate x."""
        param = self.to_param(min(max(x, self.x_min), self.x_max))
        if param not in self.points:
            started = time.perf_counter()
            data = self.codec.encode(self.image, param)
            self.encode_s += time.perf_counter() - started
            self.points[param] = (8.0 * len(data) / self.pixels, data)
        return self.to_x(param), self.raw_f(self.to_x(param))

    def raw_f(self, x: float) -> float:
        """log2(bpp / target) of an already encoded coordinate."""
        return math.log2(self.points[self.to_param(x)][0] / self.target_bpp)


def find_param(
    codec: Codec,
    image: np.ndarray,
    target_bpp: float,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    max_encodes: int = MAX_ENCODES,
) -> RateResult:
    """Search ``codec``'s parameter for ``target_bpp`` on ``image`` (HxWx3 uint8).

    Returns status ``ok`` within ``tolerance`` (relative) or the codec's granularity,
    ``unreachable`` when the target lies outside what the parameter range reaches (the
    closest end is returned, for the report), or ``missed`` when ``max_encodes`` ran out.
    """
    if not target_bpp > 0:
        raise ValueError(f"target bpp must be positive, got {target_bpp}")
    curve = _Curve(codec, image, target_bpp)
    band = math.log2(1.0 + tolerance)
    span = curve.x_max - curve.x_min
    slope = codec.doublings_per_unit or 12.0 / span  # log2(bpp) per unit of x, a typical value
    guess = codec.initial_param(target_bpp) if hasattr(codec, "initial_param") else None
    if guess is not None:
        x0 = curve.to_x(guess)
    elif codec.param_at_1bpp is not None:
        x0 = curve.to_x(codec.param_at_1bpp) + math.log2(target_bpp) / slope
    else:
        x0 = curve.x_min + span / 2
    below: tuple[float, float] | None = None  # (x, f) with f < 0: too few bits
    above: tuple[float, float] | None = None  # (x, f) with f > 0: too many bits
    x, fx = curve.f(x0)
    granularity = 0.0
    # Below this bracket width the parameter cannot move the rate: integer steps, or a
    # thousandth of the range for real-valued parameters (flat steps of a quantiser table).
    resolution = codec.param_step or (1.0 if codec.param_integer and not codec.param_log else span / 1000)
    if codec.param_integer and codec.param_log:
        resolution = 1.0
    last_side, passes = 0, 0
    while abs(fx) > band and len(curve.points) < max_encodes and passes < 4 * max_encodes:
        passes += 1  # a guard: each pass should add an encode, but never loop forever if one does not
        side = -1 if fx < 0 else 1
        if side < 0 and (below is None or x > below[0]):
            below = (x, fx)
        if side > 0 and (above is None or x < above[0]):
            above = (x, fx)
        if below and above:
            if side == last_side:
                # Illinois step: the other end has stayed put twice, so halve its weight; plain
                # regula falsi would creep towards the root from one side on a convex curve.
                below, above = (below, (above[0], above[1] / 2)) if side < 0 else ((below[0], below[1] / 2), above)
            last_side = side
            a, b = below, above
            if curve.width(a[0], b[0]) <= resolution:
                granularity = 2.0 ** (curve.raw_f(b[0]) - curve.raw_f(a[0])) - 1.0
                break
            guess = a[0] - a[1] * (b[0] - a[0]) / (b[1] - a[1])
            margin = 0.02 * (b[0] - a[0])
            guess = min(max(guess, a[0] + margin), b[0] - margin)
            new_x, new_f = curve.f(guess)
            if new_x in (a[0], b[0]):  # rounding landed on a bracket end: step one unit inside
                new_x, new_f = curve.f(a[0] + (1.0 if new_x == a[0] else (b[0] - a[0]) / 2))
                if new_x in (a[0], b[0]):
                    granularity = 2.0 ** (curve.raw_f(b[0]) - curve.raw_f(a[0])) - 1.0
                    break
            x, fx = new_x, new_f
            continue
        end = curve.x_max if fx < 0 else curve.x_min
        if x == end:
            break  # the target is beyond what this end of the parameter range reaches
        others = [(px, pf) for px, pf in _seen(curve) if px != x]
        if others:
            px, pf = min(others, key=lambda p: abs(p[0] - x))
            local = (fx - pf) / (x - px)
            slope = local if local > 1e-6 else slope
        step = -fx / slope * (1.1 if others else 1.0)  # overshoot a little so the next point brackets
        guess = x + math.copysign(
            min(abs(step), span / 3), step
        )  # a flat local slope must not fling x across the range
        seen = len(curve.points)
        x, fx = curve.f(min(max(guess, curve.x_min), curve.x_max))
        if len(curve.points) == seen:
            # The step rounded back onto a point already encoded: move at least one unit
            # (or to the range end) towards the target, so every pass costs one new encode.
            x, fx = curve.f(min(max(x + math.copysign(resolution, -fx), curve.x_min), curve.x_max))
            if len(curve.points) == seen:
                x, fx = curve.f(end)  # the curve is flat here: ask the end of the range directly
                if len(curve.points) == seen:
                    break
    return _result(curve, target_bpp, tolerance, granularity)


def _seen(curve: _Curve) -> list[tuple[float, float]]:
    return [(curve.to_x(p), math.log2(bpp / curve.target_bpp)) for p, (bpp, _) in curve.points.items()]


def _result(curve: _Curve, target_bpp: float, tolerance: float, granularity: float) -> RateResult:
    """Pick the closest encode and say whether it is within tolerance or why not."""
    param, (bpp, data) = min(curve.points.items(), key=lambda item: abs(math.log2(item[1][0] / target_bpp)))
    allowed = max(tolerance, granularity)
    error = bpp / target_bpp - 1.0
    status, reason = "ok", ""
    if abs(math.log2(bpp / target_bpp)) > math.log2(1.0 + allowed) + 1e-12:
        bpps = [b for b, _ in curve.points.values()]
        name = curve.codec.param_name
        if all(b > target_bpp for b in bpps) and param == curve.to_param(curve.x_min):
            status = "unreachable"
            reason = f"{target_bpp:g} bpp is below the fewest bits {curve.codec.name} reaches here ({bpp:.4g} bpp at {name} {param:g})"
        elif all(b < target_bpp for b in bpps) and param == curve.to_param(curve.x_max):
            status = "unreachable"
            reason = f"{target_bpp:g} bpp is above the most bits {curve.codec.name} reaches here ({bpp:.4g} bpp at {name} {param:g})"
        elif all(b < target_bpp for b in bpps) or all(b > target_bpp for b in bpps):
            status = "unreachable"
            reason = f"{curve.codec.name}'s rate stays {'below' if bpp < target_bpp else 'above'} {target_bpp:g} bpp here (closest {bpp:.4g} bpp at {name} {param:g}, tried {len(bpps)} values)"
        else:
            status = "missed"
            reason = f"closest encode after {len(curve.points)} tries is {bpp:.4g} bpp ({error:+.1%}); the rate curve is not monotone here"
    return RateResult(
        target_bpp=target_bpp,
        status=status,
        param=param,
        bpp=bpp,
        data=data,
        n_encodes=len(curve.points),
        encode_s=curve.encode_s,
        tolerance=allowed,
        reason=reason,
    )


def matched_targets(rows: list[dict], codec: str) -> dict[str, list[float]]:
    """Matched mode: per image, the bpp that ``codec`` achieved in manifest rows, by ascending level."""
    targets: dict[str, list[tuple[int, float]]] = {}
    for row in rows:
        if row["codec"] == codec:
            targets.setdefault(str(row["image"]), []).append((int(row["level"]), float(row["bpp"])))
    return {image: [bpp for _, bpp in sorted(levels)] for image, levels in targets.items()}
