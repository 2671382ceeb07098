"""A study's plan before launch: the judgments and raters a target BD-rate interval needs, and what they cost.

The judgments come from ``analysis.planning``: studies drawn from the expected rate–Elo curves,
with the study's conditions, images, session length and pair design, are fitted, and the widths
of the 95% BD-rate intervals are read off per study size. The expected curves are a pilot's Elo
(the study's own judgments, or another study's) or, before any judgment, the objective metrics
of the study's reconstructions. The rest (minutes per rater, pay, total cost, time to finish) is
arithmetic in :func:`costs`, tested without the database.

Simulations take seconds for a balanced design and minutes for an adaptive one, so pages and the
API read them from a file per input (``plan/<key>.json`` in the study's folder) and queue
``tasks.plan_task`` to write it; ``manage.py plan_study`` computes it in place.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from django.conf import settings

from analysis.bdrate import MIN_POINTS
from analysis.data import METRICS
from analysis.planning import DEFAULT_GRID, plan_study
from analysis.simulate import DEFAULT_LADDER, expected_curves
from analysis.summaries import objective_bdrate_table
from evalsite import atomic
from evalsite.rating import results
from evalsite.rating import services as rating
from evalsite.studies.live import duration_in_words, launch_plan_path
from evalsite.studies.models import Study
from evalsite.studies.scores import preview_scores
from evalsite.studies.services import study_dir

DEFAULT_TARGET_WIDTH = 10.0  # percentage points: the 95% BD-rate interval every codec should reach
DEFAULT_SECONDS_PER_TRIAL = 4.0  # without a pilot's median
DEFAULT_HOURLY_RATE = 12.0
DEFAULT_CURRENCY = "GBP"
DEFAULT_ARRIVALS_PER_HOUR = 30.0
# Time outside the trials, as stated constants until a pilot measures whole sessions: consent, instructions
# and display check; each colour plate; each break offered. Artifact items and practice trials take a trial's time.
SETUP_SECONDS = 120.0
PLATE_SECONDS = 5.0
BREAK_SECONDS = 30.0
METRIC_ORDER = ("ssimulacra2", "ms_ssim", "psnr")  # the first the reconstructions have sets the expected curves
QUEUED_FOR_S = 3600  # a queued simulation not written by then is queued again (e.g. the worker was stopped)
DESIGNS = {"balanced": "random", "adaptive": "adaptive"}  # the site's pair design -> analysis.planning's


@dataclass(frozen=True)
class PlanInputs:
    """What the researcher sets; ``seconds_per_trial`` None means the pilot's median, else 4 s."""

    target_width: float = DEFAULT_TARGET_WIDTH
    seconds_per_trial: float | None = None
    hourly_rate: float = DEFAULT_HOURLY_RATE
    currency: str = DEFAULT_CURRENCY
    arrivals_per_hour: float = DEFAULT_ARRIVALS_PER_HOUR
    pilot: str = ""  # slug of a study whose judgments give the curves and timings; empty = this study's own


Queue = Callable[[Study, PlanInputs], None]
"""Hands a plan's simulation to the background worker (``tasks.queue_plan``)."""


@dataclass(frozen=True)
class Curves:
    """Expected Elo per condition (``codec, level, bpp, elo``), the anchor, and where they come from, in words."""

    table: pd.DataFrame
    anchor: str
    source: str


@dataclass(frozen=True)
class Pilot:
    """What a pilot measured: median seconds per trial, median minutes per whole session, share who complete."""

    study: Study
    seconds_per_trial: float | None = None
    session_minutes: float | None = None
    completed_share: float | None = None


@dataclass(frozen=True)
class Costs:
    """Per rater and in total, for a number of completing raters."""

    seconds_per_trial: float
    minutes_per_rater: float
    pay_per_rater: float
    raters: int
    raters_to_start: int
    total_cost: float
    hours_to_finish: float

    @property
    def time_to_finish(self) -> str:
        """``hours_to_finish`` as the study page says a duration (``about 3 days``)."""
        return duration_in_words(self.hours_to_finish)


@dataclass(frozen=True)
class StudyPlan:
    """The plan of a study; ``judgments`` is None while the simulation runs or when it cannot be made (``notes``)."""

    inputs: PlanInputs
    design: str
    judgments_per_rater: int
    trials_per_session: int
    curves_source: str = ""
    anchor: str = ""
    computing: bool = False
    judgments: int | None = None
    extrapolated: bool = False
    costs: Costs | None = None
    widths: list[dict] = field(default_factory=list)  # judgments, raters, codec, width_median, width_max
    notes: list[str] = field(default_factory=list)


def costs(
    *,
    raters: int,
    trials_per_session: int,
    seconds_per_trial: float,
    inputs: PlanInputs,
    screening_seconds: float,
    breaks: int,
    session_minutes: float | None = None,
    completed_share: float | None = None,
) -> Costs:
    """Minutes and pay per rater, raters to start, total cost and hours to finish (plain arithmetic).

    ``session_minutes``, when a pilot measured it, replaces the estimate from the trial count.
    Raters who start but do not complete (``completed_share`` < 1) cost time but, here, no pay.
    """
    estimate = SETUP_SECONDS + screening_seconds + trials_per_session * seconds_per_trial + breaks * BREAK_SECONDS
    minutes = session_minutes if session_minutes is not None else estimate / 60
    pay = minutes / 60 * inputs.hourly_rate
    to_start = math.ceil(raters / completed_share) if completed_share else raters
    return Costs(
        seconds_per_trial=seconds_per_trial,
        minutes_per_rater=minutes,
        pay_per_rater=pay,
        raters=raters,
        raters_to_start=to_start,
        total_cost=pay * raters,
        hours_to_finish=to_start / inputs.arrivals_per_hour + minutes / 60,
    )


def judgments_needed(widths: pd.DataFrame, target_width: float) -> tuple[int | None, bool]:
    """Judgments at which every codec's median 95% interval is ``target_width`` wide, and whether extrapolated.

    Interpolates the worst codec's width between simulated sizes on log–log axes; beyond them it
    follows the 1/sqrt(judgments) law of a larger sample. None when some BD-rate is undefined.
    """
    worst = widths.groupby("judgments")["width_median"].max().sort_index()
    if worst.empty or not np.isfinite(worst.to_numpy()).all():
        return None, False
    sizes, values = worst.index.to_numpy(float), worst.to_numpy(float)
    meets = np.flatnonzero(values <= target_width)
    if len(meets) == 0 or meets[0] == 0:
        at = len(sizes) - 1 if len(meets) == 0 else 0
        return math.ceil(sizes[at] * (values[at] / target_width) ** 2), True
    low, high = meets[0] - 1, meets[0]
    slope = np.log(values[high] / values[low]) / np.log(sizes[high] / sizes[low])
    if slope >= 0:  # noise between two sizes; take the size that meets the target
        return int(sizes[high]), False
    return math.ceil(sizes[low] * (target_width / values[low]) ** (1 / slope)), False


def objective_curves(manifest: pd.DataFrame, anchor: str) -> Curves:
    """Expected curves from the reconstructions' objective metrics.

    Each codec's classic BD-rate against the anchor (SSIMULACRA2, else MS-SSIM, else PSNR) sets
    its rate factor in ``analysis.simulate``'s typical rate–Elo curve, placed at the conditions'
    geometric-mean bpp. A codec without metrics is taken as equal to the anchor.
    """
    frame = manifest.assign(log_bpp=np.log(manifest["bpp"].astype(float)))
    for metric in METRICS:
        frame[metric] = pd.to_numeric(frame.get(metric), errors="coerce")
    conditions = frame.groupby(["codec", "level"], as_index=False).agg(
        log_bpp=("log_bpp", "mean"), **{m: (m, "mean") for m in METRICS}
    )
    conditions["bpp"] = np.exp(conditions["log_bpp"])
    bdrates = objective_bdrate_table(conditions, anchor).dropna(subset=["bdrate"])
    factors, used = {anchor: 1.0}, set[str]()
    for codec in sorted(set(conditions["codec"]) - {anchor}):
        rows = bdrates[bdrates["codec"] == codec].set_index("metric")["bdrate"]
        metric = next((m for m in METRIC_ORDER if m in rows), "")
        factors[codec] = max(0.05, 1 + rows[metric] / 100) if metric else 1.0
        used.add(metric or "none (taken as equal to the anchor)")
    # BD-rates and Elo gaps depend on bpp ratios only, so the bpp are scaled onto the typical curve's ladder,
    # where it rises (it peaks near 4 bpp), and every codec is placed at every bpp to share one Elo zero.
    scale = np.exp(np.mean(np.log(DEFAULT_LADDER)) - conditions.loc[conditions["codec"] == anchor, "log_bpp"].mean())
    conditions["scaled"] = conditions["bpp"] * scale
    typical = expected_curves(factors, sorted(set(conditions["scaled"])), anchor).rename(columns={"bpp": "scaled"})
    table = conditions.merge(typical[["codec", "scaled", "elo"]], on=["codec", "scaled"])[
        ["codec", "level", "bpp", "elo"]
    ]
    return Curves(table, anchor, f"objective metrics of the reconstructions ({', '.join(sorted(used)) or 'none'})")


def pilot_of(study: Study, inputs: PlanInputs, visible: Sequence[Study] = ()) -> Pilot | None:
    """The pilot study (``inputs.pilot`` among ``visible``, else ``study`` itself) and what it measured; None without judgments."""
    pilot: Study | None = next((s for s in visible if s.slug == inputs.pilot), None) if inputs.pilot else study
    if pilot is None or not results.judgments_stamp(pilot)[0]:
        return None
    progress = results.study_progress(pilot)
    median_ms = progress["median_response_ms"]
    raters = results.study_raters(pilot)
    sessions = [
        (done - started).total_seconds() / 60
        for started, done in raters.filter(completed_at__isnull=False).values_list("started_at", "completed_at")
        if done is not None
    ]
    finished = progress["raters_completed"] + progress["raters_screened_out"]
    return Pilot(
        study=pilot,
        seconds_per_trial=median_ms / 1000 if median_ms else None,
        session_minutes=float(np.median(sessions)) if sessions else None,
        completed_share=progress["raters_completed"] / finished if finished else None,
    )


def study_curves(study: Study, pilot: Pilot | None) -> tuple[Curves | None, str]:
    """The expected curves of the plan, or None and why not."""
    if pilot is not None:
        scores = preview_scores(pilot.study)
        if scores is not None:
            n = results.judgments_stamp(pilot.study)[0]
            return Curves(
                scores.elo[["codec", "level", "bpp", "elo"]],
                scores.anchor,
                f"Elo of {n} judgments of study {pilot.study.slug}",
            ), ""
    anchor = results.anchor_codec(study)
    if anchor is None:
        return None, "The study has no reconstructions yet; the plan follows once they are made."
    manifest = pd.DataFrame(results.manifest_rows(study))
    if manifest["codec"].nunique() < 2:
        return None, "The study compares one codec only, so it has no BD-rate to plan for."
    levels = manifest.groupby("codec")["level"].nunique()
    if levels.min() < MIN_POINTS:
        few = ", ".join(f"{codec} has {n}" for codec, n in levels.items() if n < MIN_POINTS)
        return None, f"A BD-rate needs at least {MIN_POINTS} bitrates per codec ({few}); add bitrates to plan for one."
    return objective_curves(manifest, anchor), ""


def simulation_key(curves: Curves, *, design: str, judgments_per_rater: int, n_images: int) -> str:
    """A file name for the widths of one simulation: it changes with every input that changes them."""
    parts = {
        "curves": curves.table.round(6).to_csv(index=False),
        "anchor": curves.anchor,
        "design": design,
        "per_rater": judgments_per_rater,
        "images": n_images,
        "grid": list(plan_grid()),
        "reps": plan_reps(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]


def plan_grid() -> tuple[int, ...]:
    """Study sizes simulated (setting STUDY_PLAN_GRID, default ``analysis.planning.DEFAULT_GRID``)."""
    return tuple(getattr(settings, "STUDY_PLAN_GRID", DEFAULT_GRID))


def plan_reps() -> int:
    """Simulated studies per size (setting STUDY_PLAN_REPS, default 4); the median width is used."""
    return int(getattr(settings, "STUDY_PLAN_REPS", 4))


def widths_path(study: Study, key: str) -> Path:
    """Where the widths of simulation ``key`` of ``study`` are stored."""
    return study_dir(study) / "plan" / f"{key}.json"


def simulate_widths(curves: Curves, *, design: str, judgments_per_rater: int, n_images: int) -> pd.DataFrame:
    """Median and largest 95% BD-rate interval widths per study size and codec (``analysis.planning``)."""
    plan = plan_study(
        curves.table,
        anchor=curves.anchor,
        target_width=DEFAULT_TARGET_WIDTH,  # widths do not depend on it; the target is applied afterwards
        judgments=plan_grid(),
        judgments_per_rater=judgments_per_rater,
        n_images=n_images,
        reps=plan_reps(),
        design=design,
    )
    return plan[["judgments", "raters", "codec", "width_median", "width_max"]]


def write_widths(path: Path, widths: pd.DataFrame) -> None:
    """Store a simulation's widths (temporary file, then rename, so a reader never sees half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = widths.replace([np.inf], None).to_dict("records")
    atomic.write_text(path, json.dumps(rows))


def _queued(path: Path) -> bool:
    """Whether the simulation for ``path`` was queued less than an hour ago (a reload does not queue it again)."""
    marker = path.with_suffix(".queued")
    return marker.is_file() and time.time() - marker.stat().st_mtime < QUEUED_FOR_S


def read_widths(path: Path) -> pd.DataFrame | None:
    """Stored widths (undefined ones as infinity), or None while they are not simulated yet."""
    if not path.is_file():
        return None
    frame = pd.DataFrame(json.loads(path.read_text(encoding="utf-8")))
    return frame.astype({"width_median": float, "width_max": float}).fillna(np.inf)


def study_plan(
    study: Study,
    inputs: PlanInputs,
    *,
    visible: Sequence[Study] = (),
    compute: bool = False,
    queue: Queue | None = None,
) -> StudyPlan:
    """The plan of ``study`` for ``inputs``.

    Widths already simulated are read from the study's ``plan/`` folder; otherwise ``compute``
    runs the simulation here (the command) or ``queue(study, inputs)`` hands it to the worker
    (pages and the API) and the plan says it is computing.
    """
    session = rating.session_plan(study=study)
    design = DESIGNS[study.design]
    pilot = pilot_of(study, inputs, visible)
    trials = session.length + study.practice_trials
    plan = StudyPlan(inputs, study.design, judgments_per_rater=session.compared, trials_per_session=trials)
    if inputs.pilot and pilot is None:
        return replace(plan, notes=[f"Study {inputs.pilot} has no judgments to plan from; leave the pilot empty."])
    curves, why_not = study_curves(study, pilot)
    if curves is None or session.compared == 0:
        return replace(plan, notes=[why_not or "Raters would make no comparisons; raise trials per rater."])
    n_images = study.references.count()
    key = simulation_key(curves, design=design, judgments_per_rater=session.compared, n_images=n_images)
    path = widths_path(study, key)
    widths = read_widths(path)
    if widths is None and compute:
        try:
            widths = simulate_widths(curves, design=design, judgments_per_rater=session.compared, n_images=n_images)
        finally:  # a failed simulation is queued again by the next page view, not left "computing" for an hour
            path.with_suffix(".queued").unlink(missing_ok=True)
        write_widths(path, widths)
    elif widths is None and queue is not None and not _queued(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.with_suffix(".queued").touch()
        queue(study, inputs)
        widths = read_widths(path)  # an immediate task backend (tests) has written it already
    plan = replace(plan, curves_source=curves.source, anchor=curves.anchor)
    if widths is None:
        return replace(plan, computing=True)
    judgments, extrapolated = judgments_needed(widths, inputs.target_width)
    rows = widths.replace([np.inf], None).to_dict("records")
    if judgments is None:
        note = "Some BD-rate is undefined in the simulated studies (e.g. curves whose qualities do not overlap)."
        return replace(plan, widths=rows, notes=[note])
    raters = max(1, math.ceil(judgments / session.compared))
    measured = pilot.seconds_per_trial if pilot else None
    seconds = inputs.seconds_per_trial or measured or DEFAULT_SECONDS_PER_TRIAL
    screening_seconds = study.colour_plates * PLATE_SECONDS + study.artifact_items * seconds
    breaks = (session.length - 1) // study.break_every if study.break_every else 0
    plan_costs = costs(
        raters=raters,
        trials_per_session=trials,
        seconds_per_trial=seconds,
        inputs=inputs,
        screening_seconds=screening_seconds,
        breaks=breaks,
        session_minutes=pilot.session_minutes if pilot else None,
        completed_share=pilot.completed_share if pilot else None,
    )
    return replace(
        plan,
        judgments=judgments,
        extrapolated=extrapolated,
        costs=plan_costs,
        widths=rows,
        notes=_notes(inputs, pilot),
    )


def keep_launch_plan(study: Study, plan: StudyPlan) -> bool:
    """Keep the judgments of the plan confirmed at launch: the study page's target (``live.judgments_target``).

    Written whole (temporary name, then rename); False, and nothing kept, when the plan has no number.
    """
    if plan.judgments is None:
        return False
    path = launch_plan_path(study)
    path.parent.mkdir(parents=True, exist_ok=True)
    kept = {"judgments": plan.judgments, "target_width": plan.inputs.target_width, "design": plan.design}
    atomic.write_text(path, json.dumps(kept))
    return True


def _notes(inputs: PlanInputs, pilot: Pilot | None) -> list[str]:
    """Where the timing and the losses come from, in words."""
    notes = []
    if inputs.seconds_per_trial:
        notes.append(f"{inputs.seconds_per_trial:g} s per trial, as you set.")
    elif pilot and pilot.seconds_per_trial:
        notes.append(f"{pilot.seconds_per_trial:.1f} s per trial: the median of study {pilot.study.slug}'s judgments.")
    else:
        notes.append(f"{DEFAULT_SECONDS_PER_TRIAL:g} s per trial: the default until a pilot measures it.")
    if pilot and pilot.session_minutes is not None:
        notes.append(f"Minutes per rater: the median whole session of study {pilot.study.slug}'s completed raters.")
    else:
        notes.append(
            f"Minutes per rater: the trials plus {SETUP_SECONDS / 60:g} minutes of consent, instructions and display "
            f"check, {PLATE_SECONDS:g} s per colour plate and {BREAK_SECONDS:g} s per break."
        )
    if pilot and pilot.completed_share is not None:
        notes.append(f"{pilot.completed_share:.0%} of study {pilot.study.slug}'s finished raters completed it.")
    else:
        notes.append("Raters screened out are not counted: no pilot has measured how many are.")
    return notes
