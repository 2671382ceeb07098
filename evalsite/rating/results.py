"""What the rater side has collected, read as tables: the one module through which the researcher
side (``evalsite.studies``) and the analysis read raters, judgments and progress.

Everything here is read-only and returns plain values. Judgments and the manifest come out in
the shared contracts (docs/contracts.md), so an export, the study page's preview, a design
refresh and the full report all fit the same frames.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from typing import Any

import pandas as pd
from django.db.models import Count, Max, QuerySet
from django.urls import reverse

from analysis.elo import EloFit, SamplerOptions
from analysis.errors import AnalysisError
from analysis.fitting import fit_elo
from evalsite.rating.models import Judgment, Rater, RaterEvent, Trial
from evalsite.rating.outcomes import Outcome, all_outcomes
from evalsite.studies.models import Stimulus, Study

PREVIEW_SAMPLING = SamplerOptions(draws=200)  # Laplace draws of the MAP preview: enough for a 95% interval

JUDGMENT_COLUMNS = [
    "rater",
    "image",
    "a_codec",
    "a_level",
    "b_codec",
    "b_level",
    "winner",
    "study",
    "shown_left",
    "kind",
    "response_ms",
    "switches",
    "crop_x",
    "crop_y",
    "crop_w",
    "crop_h",
    "created_at",
]
"""judgments.csv columns (contract in docs/contracts.md); ``excluded`` is added when excluded raters are included."""

_JUDGMENT_FIELDS = {
    "rater": "trial__rater_id",
    "image": "trial__reference__name",
    "a_codec": "trial__a__codec",
    "a_level": "trial__a__level",
    "b_codec": "trial__b__codec",
    "b_level": "trial__b__level",
    "winner": "winner",
    "shown_left": "trial__shown_left",
    "kind": "trial__kind",
    "response_ms": "response_ms",
    "switches": "switches",
    "crop_x": "trial__crop_x",
    "crop_y": "trial__crop_y",
    "crop_w": "trial__crop_w",
    "crop_h": "trial__crop_h",
    "created_at": "created_at",
    "excluded": "trial__rater__excluded",
}


def rater_link(study: Study) -> str:
    """The link raters open (append ``?PROLIFIC_PID=...`` or ``?pid=...`` on a crowd platform)."""
    return reverse("rating:entry", args=[study.slug])


PROLIFIC_QUERY = "PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"
"""Prolific's URL parameters, in its own placeholder syntax: Prolific fills them in for each participant."""


def preview_link(rater: Rater) -> str:
    """The link that walks a researcher's preview rater through the flow (rating.services.start_preview)."""
    return reverse("rating:preview", args=[rater.study.slug, rater.token])


def study_outcomes(study: Study) -> list[Outcome]:
    """Each outcome's code and redirect, as raters get them (configured, or the study-wide default)."""
    return all_outcomes(study)


def study_raters(study: Study) -> QuerySet[Rater]:
    """The study's raters, researchers' previews left out (they are in no table, fit or count)."""
    return study.raters.filter(preview=False)


def rater_label(rater_id: int) -> str:
    """The pseudonymous rater id used in exports and fits (crowd ids stay in raters.csv only)."""
    return f"r{rater_id}"


def judgments_stamp(study: Study) -> tuple[int, int | None, tuple[int, ...]]:
    """Changes whenever a judgment arrives or a rater is excluded or included (a cache key for fits)."""
    stamp = Judgment.objects.filter(trial__rater__study=study, trial__rater__preview=False).aggregate(
        n=Count("pk"), last=Max("pk")
    )
    excluded = tuple(study_raters(study).filter(excluded=True).order_by("pk").values_list("pk", flat=True))
    return stamp["n"], stamp["last"], excluded


def judgments_queryset(
    study: Study, *, include_excluded: bool = False, kinds: tuple[str, ...] = (Trial.Kind.TRIAL,)
) -> QuerySet[Judgment]:
    """Judgments of ``study`` of the given trial kinds, oldest first; excluded raters left out by default."""
    queryset = Judgment.objects.filter(trial__rater__study=study, trial__kind__in=kinds, trial__rater__preview=False)
    if not include_excluded:
        queryset = queryset.filter(trial__rater__excluded=False)
    return queryset.order_by("created_at", "pk")


def judgment_rows(study: Study, *, include_excluded: bool = False) -> list[dict[str, Any]]:
    """Rows of judgments.csv for ``study``: compared trials only (practice and attention checks screen raters).

    Read as plain values, not model instances: a PICO-sized study has tens of thousands of rows.
    """
    rows = []
    queryset = judgments_queryset(study, include_excluded=include_excluded)
    for values in queryset.values_list(*_JUDGMENT_FIELDS.values()):
        row = dict(zip(_JUDGMENT_FIELDS, values, strict=True))
        row["rater"] = rater_label(row["rater"])
        row["study"] = study.slug
        row["created_at"] = row["created_at"].isoformat()
        excluded = row.pop("excluded")
        if include_excluded:
            row["excluded"] = "yes" if excluded else "no"
        rows.append(row)
    return rows


def manifest_rows(study: Study) -> list[dict[str, Any]]:
    """Rows of manifest.csv for the study's conditions; ``path`` is relative to STUDY_DATA_DIR/<slug>/."""
    rows = []
    prefix = f"{study.slug}/"
    for stimulus in study.stimuli.filter(role=Stimulus.Role.CONDITION).select_related("reference"):
        path = stimulus.path[len(prefix) :] if stimulus.path.startswith(prefix) else stimulus.path
        rows.append(
            {
                "image": stimulus.reference.name,
                "codec": stimulus.codec,
                "level": stimulus.level,
                "bpp": stimulus.bpp,
                "path": path,
                "target_bpp": stimulus.target_bpp,
                "bytes": stimulus.nbytes,
                "width": stimulus.reference.width,
                "height": stimulus.reference.height,
                "param": stimulus.param or None,
                "psnr": stimulus.psnr,
                "ms_ssim": stimulus.ms_ssim,
                "ssimulacra2": stimulus.ssimulacra2,
                "sha256": stimulus.sha256 or None,
            }
        )
    return rows


def study_frames(study: Study) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The study's judgments (excluded raters left out) and manifest as contract frames."""
    judgments = pd.DataFrame(judgment_rows(study), columns=JUDGMENT_COLUMNS)
    manifest = pd.DataFrame(manifest_rows(study))
    judgments.attrs["source"] = f"study {study.slug}"
    return judgments, manifest


def anchor_codec(study: Study) -> str | None:
    """The codec Elo and BD-rates are reported against: ``jpeg`` when compared, else the first codec by name."""
    codecs = sorted(set(study.stimuli.filter(role=Stimulus.Role.CONDITION).values_list("codec", flat=True)))
    if not codecs:
        return None
    return "jpeg" if "jpeg" in codecs else codecs[0]


def fit_study_elo(study: Study, *, method: str = "map", sampling: SamplerOptions | None = None) -> EloFit | None:
    """An :class:`analysis.elo.EloFit` of the study's judgments; ``None`` while there is not yet enough data.

    ``method="map"`` is the live preview (MAP + Laplace, fast; ``PREVIEW_SAMPLING`` unless
    ``sampling`` is given); ``"nuts"`` is the full posterior.
    """
    anchor = anchor_codec(study)
    judgments, manifest = study_frames(study)
    if anchor is None or judgments.empty:
        return None
    if sampling is None:
        sampling = PREVIEW_SAMPLING if method == "map" else SamplerOptions()
    try:
        return fit_elo(judgments, manifest, anchor=anchor, method=method, sampling=sampling)
    except AnalysisError:
        return None  # e.g. conditions not yet connected by any comparison: the page says "not enough data"


def rater_rows(study: Study) -> list[dict[str, Any]]:
    """One row per rater: stage, attention failures, timing and agreement with the majority.

    ``agreement`` is the share of a rater's trial judgments that agree with the majority of the
    other raters on the same pair: a cheap reliability estimate that needs no model fit.
    ``consistency`` is the share of the rater's ``repeats`` (earlier pairs shown again, sides
    swapped) answered with the same stimulus as the first time; None without repeats.
    """
    trials = Trial.objects.filter(rater__study=study, rater__preview=False, judgment__isnull=False).select_related(
        "judgment"
    )
    per_rater: dict[int, list[Trial]] = defaultdict(list)
    votes: Counter[tuple[int, int, int]] = Counter()  # (winner stimulus, loser stimulus, reference)
    for trial in trials:
        per_rater[trial.rater_id].append(trial)
        if trial.kind == Trial.Kind.TRIAL and (outcome := _outcome(trial)) is not None:
            votes[outcome] += 1
    rows = []
    for rater in study_raters(study):
        own = per_rater.get(rater.pk, [])
        compared = [t for t in own if t.kind == Trial.Kind.TRIAL]
        attention = [t for t in own if t.kind == Trial.Kind.ATTENTION]
        times = [t.judgment.response_ms for t in compared]
        rows.append(
            {
                "rater": rater_label(rater.pk),
                "pk": rater.pk,
                "crowd_id": rater.crowd_id,
                "stage": rater.stage,
                "screened_out": rater.stage == Rater.Stage.SCREENED_OUT,
                "excluded": rater.excluded,
                "excluded_reason": rater.excluded_reason,
                "judgments": len(compared),
                "attention_checks": len(attention),
                "attention_failures": rater.attention_failures,
                "median_response_ms": int(statistics.median(times)) if times else None,
                "agreement": _agreement(compared, votes),
                "repeats": sum(1 for t in own if t.kind == Trial.Kind.REPEAT),
                "consistency": _consistency(own),
                "started_at": rater.started_at.isoformat(),
                "completed_at": rater.completed_at.isoformat() if rater.completed_at else "",
                "device_pixel_ratio": rater.device_pixel_ratio,
                "window_width": rater.window_width,
                "window_height": rater.window_height,
                "browser": rater.browser,
                "zoom_hint": rater.zoom_hint,
                "consent_version": rater.consent_version,
            }
        )
    return rows


DECISION_COLUMNS = ["participant_id", "study_id", "session_id", "decision", "outcome", "reason", "code"]
"""prolific-decisions.csv columns (docs/studies.md, "Paying raters")."""


def decision_rows(study: Study) -> list[dict[str, Any]]:
    """What to do with each crowd id's submission on the platform: approve, reject, return, or nothing yet.

    - completed and not excluded: ``approve``;
    - excluded (failed attention checks, or by the researcher, with the reason): ``reject``;
    - screened out, or refused for the device (phone, pixel ratio): ``return`` (Prolific does not
      allow rejecting a participant for an in-study screen-out or a device they could not know about);
    - still in progress or left: ``none`` (no decision: they may still finish, or return the study).

    Raters without a crowd id (a generic link, or purged) have nothing to decide on a platform and
    are left out; so are declined raters, who are not stored at all (their ``declined`` code tells
    the platform). Reads 3 queries whatever the number of raters.
    """
    refused = set(
        RaterEvent.objects.filter(rater__study=study, kind="device_refused").values_list("rater_id", flat=True)
    )
    codes = {o.name: o.code for o in study_outcomes(study)}
    rows = []
    for rater in study_raters(study).exclude(crowd_id=""):
        if rater.excluded:
            decision, ending, reason = "reject", "excluded", rater.excluded_reason
        elif rater.stage == Rater.Stage.DONE:
            decision, ending, reason = "approve", "completed", ""
        elif rater.stage == Rater.Stage.SCREENED_OUT:
            decision, ending, reason = "return", "screened_out", "did not pass the in-study screening test"
        elif rater.pk in refused and rater.stage == Rater.Stage.DISPLAY:
            decision, ending, reason = "return", "refused_device", "device or screen the study cannot use"
        else:
            decision, ending, reason = "none", "", f"not finished (at {rater.stage})"
        params = rater.crowd_params or {}
        rows.append(
            {
                "participant_id": rater.crowd_id,
                "study_id": params.get("STUDY_ID", ""),
                "session_id": params.get("SESSION_ID", ""),
                "decision": decision,
                "outcome": ending,
                "reason": reason,
                "code": rater.completion_code if ending == "completed" else codes.get(ending, ""),
            }
        )
    return rows


def _outcome(trial: Trial) -> tuple[int, int, int] | None:
    """(chosen stimulus, the other, reference) of a judged trial; None for a tie."""
    chosen = trial.chosen(trial.judgment.winner)
    if chosen is None:
        return None
    return chosen, trial.b_id if chosen == trial.a_id else trial.a_id, trial.reference_id


def _consistency(own: list[Trial]) -> float | None:
    """Share of the rater's repeated pairs (sides swapped) answered as the first time (the same stimulus, or a tie again)."""
    first = {
        (t.reference_id, frozenset((t.a_id, t.b_id))): t.chosen(t.judgment.winner)
        for t in own
        if t.kind == Trial.Kind.TRIAL
    }
    same = [
        t.chosen(t.judgment.winner) == first[key]
        for t in own
        if t.kind == Trial.Kind.REPEAT and (key := (t.reference_id, frozenset((t.a_id, t.b_id)))) in first
    ]
    return round(sum(same) / len(same), 3) if same else None


def _agreement(compared: list[Trial], votes: Counter[tuple[int, int, int]]) -> float | None:
    """Share of the rater's judgments on the side the other raters mostly chose (ties and unseen pairs skipped)."""
    agree = total = 0
    for trial in compared:
        won = _outcome(trial)
        if won is None:
            continue
        lost = (won[1], won[0], won[2])
        for_won, for_lost = votes[won] - 1, votes[lost]  # leave the rater's own vote out
        if for_won == for_lost:
            continue
        total += 1
        agree += for_won > for_lost
    return round(agree / total, 3) if total else None


def study_progress(study: Study) -> dict[str, Any]:
    """Counts for the study page: judgments per condition and image, raters by outcome, attention and timing."""
    judgments = list(
        Judgment.objects.filter(
            trial__rater__study=study, trial__rater__excluded=False, trial__rater__preview=False
        ).values_list(
            "trial__kind",
            "trial__a__codec",
            "trial__a__level",
            "trial__b__codec",
            "trial__b__level",
            "trial__reference__name",
            "response_ms",
        )
    )
    per_condition: Counter[tuple[str, int]] = Counter()
    per_image: Counter[str] = Counter()
    times = []
    total = 0
    for kind, a_codec, a_level, b_codec, b_level, image, response_ms in judgments:
        if kind != Trial.Kind.TRIAL:
            continue
        total += 1
        per_condition[(a_codec, a_level)] += 1
        per_condition[(b_codec, b_level)] += 1
        per_image[image] += 1
        times.append(response_ms)
    attention_total = sum(1 for row in judgments if row[0] == Trial.Kind.ATTENTION)
    raters = study_raters(study)
    conditions = (
        study.stimuli.filter(role=Stimulus.Role.CONDITION)
        .values_list("codec", "level")
        .distinct()
        .order_by("codec", "level")
    )
    attention_failures = sum(r.attention_failures for r in raters if not r.excluded)
    return {
        "judgments": total,
        "target": study.target_judgments,
        "percent": round(100 * total / study.target_judgments, 1) if study.target_judgments else None,
        "per_condition": [{"codec": c, "level": lv, "count": per_condition[(c, lv)]} for c, lv in conditions],
        "per_image": [{"image": r.name, "count": per_image[r.name]} for r in study.references.all()],
        "raters_started": raters.count(),
        "raters_screened_out": raters.filter(stage=Rater.Stage.SCREENED_OUT).count(),
        "raters_completed": raters.filter(stage=Rater.Stage.DONE).count(),
        "raters_excluded": raters.filter(excluded=True).count(),
        "attention_checks": attention_total,
        "attention_failure_rate": round(attention_failures / attention_total, 3) if attention_total else None,
        "median_response_ms": int(statistics.median(times)) if times else None,
    }
