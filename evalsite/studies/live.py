"""The study page's live picture in words and numbers: the pace of judgments and the expected time to
the target, the full report's stamp (stale once more judgments arrived), background states and
BD-rate refusal reasons said as sentences.

Judgments are read through ``rating.results``; the pure functions (``reason_in_words``,
``hours_to_target``, ``duration_in_words``, ``generation_in_words``) are tested without the database.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.db.models import Count
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from evalsite import atomic
from evalsite.rating import results
from evalsite.studies.models import Study
from evalsite.studies.services import study_dir

RATE_WINDOW = timedelta(hours=3)
"""Judgments per hour "now" are counted over this last stretch (or since the first judgment, if later)."""
MIN_RATE_SPAN = timedelta(minutes=10)
"""A rate is never taken over less than this, so the first few judgments do not promise a flood."""
HOURLY_SPAN = timedelta(hours=48)
"""Judgments over time are listed by hour while they span less than this, by day after."""
STAMP_FILE = "stamp.json"
"""Written beside the full report: how many judgments it was computed from, and when."""

_REASON = re.compile(r"^(?P<code>[a-z_]+)(?: in (?P<share>\d+%) of draws)?")


# --- BD-rate reasons -------------------------------------------------------------------------


def reason_in_words(reason: str, *, codec: str, anchor: str, elo: Sequence[dict[str, Any]] = ()) -> str:
    """A BD-rate refusal (``no_overlap in 22% of draws``, ``too_few_points``, ``not_monotone``) as a sentence.

    ``elo`` holds rows of :func:`analysis.elo.elo_table` (codec, level, elo), used to name the levels
    where more judgments would help; an unknown code is shown as it is, after a plain preamble.
    """
    match = _REASON.match(reason or "")
    code = match["code"] if match else ""
    share = f" (in {match['share']} of the fit's draws)" if match and match["share"] else ""
    if code == "no_overlap":
        near = _nearest_across(elo, codec, anchor)
        help_ = (
            f"more judgments comparing {near} would help"
            if near
            else "more judgments between the two codecs would help"
        )
        return f"The {codec} and {anchor} curves do not overlap in quality yet{share}: {help_}."
    if code == "not_monotone":
        near = _nearest_within(elo, codec, anchor)
        where = f"more judgments between {near} would settle their order" if near else "more judgments would settle it"
        return f"A curve does not rise with bitrate yet{share}: {where}."
    if code == "too_few_points":
        return (
            f"{codec} or {anchor} has fewer than three judged levels: a BD-rate needs three points per curve "
            "(judgments of the levels not compared yet, or more levels in the ladder)."
        )
    if code == "missing_metric":
        return "The manifest lacks this metric for some reconstructions."
    return f"No BD-rate yet: {reason}."


def _label(row: dict[str, Any]) -> str:
    return f"{row['codec']} level {row['level']}"


def _nearest_across(elo: Sequence[dict[str, Any]], codec: str, anchor: str) -> str | None:
    """The pair of conditions, one of each codec, closest in Elo: where the two curves are nearest to meeting."""
    ours = [r for r in elo if r["codec"] == codec and r.get("elo") is not None]
    theirs = [r for r in elo if r["codec"] == anchor and r.get("elo") is not None]
    if not ours or not theirs:
        return None
    a, b = min(((a, b) for a in ours for b in theirs), key=lambda pair: abs(pair[0]["elo"] - pair[1]["elo"]))
    return f"{_label(a)} with {_label(b)}, the nearest in quality,"


def _nearest_within(elo: Sequence[dict[str, Any]], codec: str, anchor: str) -> str | None:
    """Neighbouring levels of either codec whose Elo is out of order or closest: the step most in doubt."""
    steps = []
    for name in (codec, anchor):
        rows = sorted((r for r in elo if r["codec"] == name and r.get("elo") is not None), key=lambda r: r["level"])
        steps += [(rows[i + 1]["elo"] - rows[i]["elo"], name, rows[i], rows[i + 1]) for i in range(len(rows) - 1)]
    if not steps:
        return None
    _, name, low, high = min(steps, key=lambda step: step[0])
    return f"{name} levels {low['level']} and {high['level']}"


# --- background work --------------------------------------------------------------------------

GENERATION_WORDS: dict[str, str] = {
    Study.Generation.QUEUED: "Waiting for a worker to make the reconstructions (manage.py run_worker generation)",
    Study.Generation.RUNNING: "Making the reconstructions",
    Study.Generation.DONE: "Reconstructions made",
    Study.Generation.FAILED: "Making the reconstructions failed",
}


def generation_in_words(generation: str, message: str) -> str:
    """The study's generation state as a sentence, with its note unless the note only repeats the state."""
    words = GENERATION_WORDS.get(generation, generation)
    note = message.strip()
    return f"{words}: {note}" if note and note.lower() != generation else f"{words}."


REPORT_WORDS = {
    "READY": "A full report is waiting for a worker (manage.py run_worker reports)",
    "RUNNING": "The full report is being computed",
    "FAILED": "The last full report failed",
}


def report_task_in_words(status: str, started_at: datetime | None, error: str = "") -> str:
    """A report task's state (django-tasks ``TaskResultStatus``) as a sentence, with when it started or why it failed."""
    words = REPORT_WORDS.get(status, f"The full report is {status.lower()}")
    if status == "RUNNING" and started_at is not None:
        words += f" (since {started_at:%H:%M} UTC)"
    return f"{words}: {error}" if error else f"{words}."


# --- pace and time to target -------------------------------------------------------------------


@dataclass(frozen=True)
class Pace:
    """How fast judgments arrive and how long the study still needs; ``timeline`` is (start, count) per bucket."""

    judgments: int
    per_hour: float | None
    target: int
    target_source: str
    hours_left: float | None
    timeline: list[tuple[datetime, int]]
    bucket: str

    @property
    def time_left(self) -> str:
        """The expected time to the target in words, or why there is none."""
        if not self.target:
            return "no target set"
        if self.judgments >= self.target:
            return "target reached"
        if self.hours_left is None:
            return "unknown: no judgments in the last hours"
        return duration_in_words(self.hours_left)


def launch_plan_path(study: Study) -> Path:
    """Where the plan the researcher confirmed at launch is kept (``planning.keep_launch_plan``)."""
    return study_dir(study) / "plan" / "launched.json"


def judgments_target(study: Study) -> tuple[int, str]:
    """The number of judgments the study aims for, and where that number comes from.

    The study's ``[rating] target_judgments`` when set (it also stops new raters), else the
    judgments of the plan confirmed at launch, else none (0).
    """
    if study.target_judgments:
        return study.target_judgments, "[rating] target_judgments"
    path = launch_plan_path(study)
    if path.exists():
        kept = json.loads(path.read_text(encoding="utf-8"))
        width = kept["target_width"]
        return kept["judgments"], f"the plan confirmed at launch, for 95% BD-rate intervals {width:g} pp wide"
    return 0, "no target"


def hours_to_target(judgments: int, target: int, per_hour: float | None) -> float | None:
    """Hours until ``target`` judgments at ``per_hour``; 0 once reached, None without a target or a pace."""
    if not target:
        return None
    if judgments >= target:
        return 0.0
    if not per_hour:
        return None
    return (target - judgments) / per_hour


def duration_in_words(hours: float) -> str:
    """``under an hour``, ``about 5 hours``, ``about 3 days``: an estimate, said as one."""
    if hours < 1:
        return "under an hour"
    if hours < 48:
        return f"about {round(hours)} hours" if round(hours) > 1 else "about an hour"
    return f"about {round(hours / 24)} days"


def pace(study: Study, *, now: datetime | None = None, target: tuple[int, str] | None = None) -> Pace:
    """Judgments per hour over the last :data:`RATE_WINDOW`, the time to the target, and judgments over time.

    Counts the judgments the fit uses (``rating.results.judgments_queryset``: compared trials,
    excluded raters and previews left out), grouped in the database. ``target`` is (judgments,
    where the number comes from), e.g. a plan's; default :func:`judgments_target`.
    """
    now = now or timezone.now()
    judgments = results.judgments_queryset(study).order_by()
    by_hour = list(
        judgments.annotate(start=TruncHour("created_at")).values("start").annotate(n=Count("pk")).order_by("start")
    )
    total = sum(row["n"] for row in by_hour)
    timeline = [(row["start"], row["n"]) for row in by_hour]
    bucket = "hour"
    if timeline and now - timeline[0][0] > HOURLY_SPAN:
        timeline = [
            (row["start"], row["n"])
            for row in judgments.annotate(start=TruncDay("created_at"))
            .values("start")
            .annotate(n=Count("pk"))
            .order_by("start")
        ]
        bucket = "day"
    per_hour = None
    if total:
        first = judgments.order_by("created_at").values_list("created_at", flat=True).first()
        assert first is not None  # total > 0
        span = max(min(RATE_WINDOW, now - first), MIN_RATE_SPAN)
        recent = judgments.filter(created_at__gte=now - span).count()
        per_hour = recent / (span.total_seconds() / 3600) if recent else None
    goal, source = target or judgments_target(study)
    return Pace(total, per_hour, goal, source, hours_to_target(total, goal, per_hour), timeline, bucket)


# --- the full report's stamp ------------------------------------------------------------------


@dataclass(frozen=True)
class ReportStamp:
    """The judgments a full report was computed from (``None``: a report older than stamps) and those there are now."""

    computed_from: int | None
    computed_at: str
    now: int

    @property
    def stale(self) -> bool:
        return self.computed_from != self.now

    @property
    def words(self) -> str:
        """``computed from 120 judgments (…)``, or ``stale: computed from 120 judgments, 150 now``."""
        if self.computed_from is None:
            return f"stale: computed from an unknown number of judgments, {self.now} now"
        if self.stale:
            return f"stale: computed from {self.computed_from} judgments, {self.now} now"
        return f"computed from {self.computed_from} judgments at {self.computed_at[:16].replace('T', ' ')} UTC"


def write_stamp(folder: Path, judgments: int) -> Path:
    """Record beside a report in ``folder`` that it was computed from ``judgments`` judgments, now."""
    path = folder / STAMP_FILE
    stamp = {"judgments": judgments, "computed_at": timezone.now().isoformat(timespec="seconds")}
    atomic.write_text(path, json.dumps(stamp, indent=1) + "\n")
    return path


def report_stamp(folder: Path, judgments_now: int) -> ReportStamp | None:
    """The stamp of the report in ``folder`` against ``judgments_now``; None when there is no report."""
    if not (folder / "report.html").is_file():
        return None
    try:
        stamp = json.loads((folder / STAMP_FILE).read_text(encoding="utf-8"))
        return ReportStamp(int(stamp["judgments"]), str(stamp["computed_at"]), judgments_now)
    except (OSError, ValueError, KeyError, TypeError):
        return ReportStamp(None, "", judgments_now)


def judgments_now(study: Study) -> int:
    """The judgments a fit of the study would use now (the count a report's stamp is compared with)."""
    return results.judgments_queryset(study).count()


def stale_banner(html: str, stamp: ReportStamp) -> str:
    """``html`` (a report page) with a warning at the top of its body when ``stamp`` is stale."""
    if not stamp.stale:
        return html
    banner = (
        '<p id="stale-report" style="background:#fff3cd;padding:.6rem;border-radius:4px">'
        f"This report is {stamp.words}: recompute it for the latest judgments.</p>"
    )
    head, body, rest = html.partition("<body>")
    return head + body + banner + rest if body else banner + html
