"""Pseudo-isochromatic plates: confusion colours, fresh layouts, the digit where it should be."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from evalsite.screening.plates import (
    AXES,
    CONTROL,
    DIGITS,
    LIGHTNESS_JITTER,
    PlateSpec,
    _dots,
    _max_filter,
    cone_response,
    confusion_colours,
    digit_mask,
    is_answer,
    is_correct,
    plan_plates,
    render_plate,
)

SIZE = 180


def test_a_plan_starts_with_the_control_plate_and_cycles_the_three_axes():
    specs = plan_plates(7, seed=1)
    assert [s.axis for s in specs] == [CONTROL, "protan", "deutan", "tritan", "protan", "deutan", "tritan"]
    assert all(s.digit in DIGITS for s in specs)


def test_every_attempt_gets_fresh_digits_and_layouts():
    plans = [plan_plates(8, seed=seed) for seed in range(20)]
    assert len({tuple(s.digit for s in plan) for plan in plans}) > 15
    assert len({s.seed for plan in plans for s in plan}) == 160


@pytest.mark.parametrize("axis", AXES)
def test_figure_and_background_differ_only_in_the_cone_the_axis_tests(axis):
    figure, background = confusion_colours(axis, np.random.default_rng(3))
    difference = np.abs(cone_response(figure) - cone_response(background))
    tested = AXES.index(axis)
    assert difference[tested] > 0.02
    assert np.delete(difference, tested).max() < 1e-9
    assert figure.min() >= 0 and figure.max() <= 1 and background.min() >= 0 and background.max() <= 1


def test_the_control_plate_differs_in_lightness_everyone_sees():
    figure, background = confusion_colours(CONTROL, np.random.default_rng(3))
    assert np.all(cone_response(figure) < 0.6 * cone_response(background))


def test_the_control_plate_is_high_contrast_grey_that_every_viewer_reads():
    figure, background = confusion_colours(CONTROL, np.random.default_rng(3))
    # No hue: figure and ground are neutral greys, so no missing cone class can hide the digit.
    assert np.ptp(figure) == 0 and np.ptp(background) == 0
    # WCAG contrast between the lightest figure dot and the darkest ground dot (after the lightness jitter).
    low, high = LIGHTNESS_JITTER
    lightest_figure, darkest_ground = figure[0] * high, background[0] * low
    assert (darkest_ground + 0.05) / (lightest_figure + 0.05) >= 7.0
    # The same for each cone class alone: a protan, deutan or tritan viewer still sees the contrast.
    assert np.all(cone_response(background) * low > 5 * cone_response(figure) * high)


def test_the_same_spec_renders_the_same_plate_and_another_seed_a_different_one():
    spec = PlateSpec(digit="5", axis="deutan", seed=42)
    one, two = np.asarray(render_plate(spec, SIZE)), np.asarray(render_plate(spec, SIZE))
    other = np.asarray(render_plate(PlateSpec(digit="5", axis="deutan", seed=43), SIZE))
    assert one.shape == (SIZE, SIZE, 3)
    assert np.array_equal(one, two)
    assert not np.array_equal(one, other)


def test_figure_coloured_dots_trace_the_digit():
    spec = PlateSpec(digit="7", axis=CONTROL, seed=5)
    rng = np.random.default_rng(spec.seed)
    confusion_colours(spec.axis, rng)
    mask = digit_mask(spec.digit, SIZE, rng)
    pixels = np.asarray(render_plate(spec, SIZE)).astype(float).mean(axis=2)
    dotted = pixels < 250  # not the white background
    # The control figure is dark: inside the digit, dots are much darker than outside it.
    assert pixels[mask & dotted].mean() + 40 < pixels[~mask & dotted].mean()


def test_answers_are_compared_to_the_digit_ignoring_spaces():
    spec = PlateSpec(digit="8", axis="protan", seed=1)
    assert is_correct(spec, " 8 ")
    assert not is_correct(spec, "3") and not is_correct(spec, "")


def test_only_digits_or_nothing_count_as_an_answer():
    assert is_answer("7") and is_answer(" 12 ") and is_answer("")
    assert not is_answer("seven") and not is_answer("7?") and not is_answer("\uff17")  # a full-width 7


def test_dots_never_touch_and_fill_the_disc():
    dots = _dots(SIZE, np.random.default_rng(4))
    x, y, r = dots.T
    distance2 = (x[:, None] - x[None]) ** 2 + (y[:, None] - y[None]) ** 2
    np.fill_diagonal(distance2, np.inf)
    assert np.all(distance2 >= (r[:, None] + r[None] + 1.0) ** 2)  # the grid misses no neighbour
    covered = (np.pi * r**2).sum() / (np.pi * (SIZE / 2) ** 2)
    assert covered > 0.4, covered  # about 45% of the disc is dots, the rest the 1 px gaps and the edge


def test_the_max_filter_gives_pillows_values_edges_included():
    rng = np.random.default_rng(5)
    for density in (0.001, 0.02, 0.3):
        image = np.where(rng.random((90, 70)) < density, rng.integers(1, 256, (90, 70)), 0).astype(np.uint8)
        image[0, :3] = image[-1, -2:] = 255  # marks at the edges, where the padding matters
        expected = np.asarray(Image.fromarray(image).filter(ImageFilter.MaxFilter(9)))
        assert np.array_equal(_max_filter(image, 9), expected)
