"""What the API sends and accepts, as pydantic schemas (they are also the OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema


class Error(Schema):
    """A refused request: a stable ``code``, the message, and for a study file every problem found."""

    code: str
    message: str
    problems: list[str] = []


class StudyOut(Schema):
    """A study as the study page shows it: state, generation progress, the rater link."""

    slug: str
    title: str
    owner: str
    state: str
    design: str
    trials_per_rater: int
    target_judgments: int
    generation: str
    generation_done: int
    generation_total: int
    generation_message: str
    created_at: datetime
    launched_at: datetime | None
    closed_at: datetime | None
    rater_url: str


class ConditionCount(Schema):
    codec: str
    level: int
    count: int


class ImageCount(Schema):
    image: str
    count: int


class ProgressOut(Schema):
    """Judgments (excluded raters left out) per condition and image, raters by outcome, attention and timing."""

    judgments: int
    target: int
    percent: float | None
    per_condition: list[ConditionCount]
    per_image: list[ImageCount]
    raters_started: int
    raters_screened_out: int
    raters_completed: int
    raters_excluded: int
    attention_checks: int
    attention_failure_rate: float | None
    median_response_ms: int | None


class EloOut(Schema):
    """The MAP preview of the study page: rows of elo.csv and bdrate.csv (docs/contracts.md); NaN as null."""

    anchor: str
    method: str
    elo: list[dict[str, Any]]
    bdrate: list[dict[str, Any]]


class WidthRow(Schema):
    """One simulated study size and codec: median and largest 95% BD-rate interval width (points; null = undefined)."""

    judgments: int
    raters: int
    codec: str
    width_median: float | None
    width_max: float | None


class CostsOut(Schema):
    """Minutes and pay per rater, raters who complete and who start, total pay, hours to finish."""

    seconds_per_trial: float
    minutes_per_rater: float
    pay_per_rater: float
    raters: int
    raters_to_start: int
    total_cost: float
    hours_to_finish: float
    time_to_finish: str


class PlanOut(Schema):
    """The plan of the study page (``studies.planning``): judgments for the target width, and their cost.

    ``computing`` is true (status 202) while the simulation runs in the background; ask again.
    ``judgments`` is null then, or when no plan can be made (``notes`` say why).
    """

    target_width: float
    hourly_rate: float
    currency: str
    arrivals_per_hour: float
    design: str
    anchor: str
    curves_source: str
    judgments_per_rater: int
    trials_per_session: int
    computing: bool
    judgments: int | None
    extrapolated: bool
    costs: CostsOut | None
    widths: list[WidthRow]
    notes: list[str]
