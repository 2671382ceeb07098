"""Write a fit's outputs: elo.csv, bdrate.csv, raters.csv, figures and a self-contained report.html."""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.elo import EloFit, elo_table
from analysis.equality import SPACE_WORDS, at_bpp_sentences, equal_quality_display, equal_quality_table
from analysis.fragility import SplitHalf, fragility_table, split_half_reliability
from analysis.plots import curves_figure, win_matrix_figure
from analysis.raters import rater_table
from analysis.summaries import bdrate_table, objective_bdrate_table
from pico.csvtable import write_table_atomic

SEVERAL_RATERS = 3
"""Rater-class results (spammer share, flagged raters) are shown only with at least this many raters."""


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    write_table_atomic(path, list(frame.columns), frame.astype(object).where(frame.notna(), None).to_dict("records"))


def _table(frame: pd.DataFrame, digits: int = 1) -> str:
    return frame.to_html(index=False, float_format=lambda v: f"{v:.{digits}f}", na_rep="—", border=0)


def summary(fit: EloFit) -> dict[str, object]:
    """Study and fit summary shown in the report: counts, exclusions, method, diagnostics."""
    data = fit.data
    info: dict[str, object] = {
        "judgments file": data.source,
        "judgment rows": data.n_rows,
        "judgments fitted": len(data.judgments),
        "excluded": ", ".join(f"{n} ({why})" for why, n in data.excluded.items()) or "none",
        "raters": len(data.raters),
        "images": len(data.images),
        "conditions": len(data.conditions),
        "anchor": f"{fit.anchor} (level {data.conditions.loc[data.conditions['codec'] == fit.anchor, 'level'].min()} = 0 Elo)",
        "method": fit.method + (f" ({fit.sampler})" if fit.sampler else " (MAP + Laplace, no MCMC diagnostics)"),
        "terms": ", ".join(
            t for t, on in (("rater lapses", fit.spec.rater_terms), ("image deviations", fit.spec.image_terms)) if on
        )
        or "pooled (no rater or image terms)",
    }
    if fit.model_note:  # which rater model was fitted and why (analysis.ratermodel)
        info["rater model"] = fit.model_note.removeprefix("rater model: ")
    post = fit.idata["posterior"]
    if "lapse0" in post and not fit.spec.spammer_class:  # one shared lapse: a study-wide figure, any rater count
        draws = post["lapse0"].to_numpy().ravel()
        lo, hi = np.quantile(draws, [0.025, 0.975])
        info["lapse λ₀ shared by every judgment"] = f"{draws.mean():.1%} [{lo:.1%}, {hi:.1%}]"
    for name, label in (("lapse0", "lapse λ₀ of attentive raters"), ("spammer_share", "spammer share")):
        if name in post and len(data.raters) >= SEVERAL_RATERS and fit.spec.spammer_class:
            draws = post[name].to_numpy().ravel()
            lo, hi = np.quantile(draws, [0.025, 0.975])
            info[label] = f"{draws.mean():.1%} [{lo:.1%}, {hi:.1%}]"
    if data.n_ties:  # "can't decide" answers and how the model took them (analysis.elo)
        how = "Davidson tie parameter" if "tie_even" in post else "each counted as half a win to both sides (CLIC)"
        info["ties"] = f"{data.n_ties} ({data.n_ties / len(data.judgments):.1%} of judgments): {how}"
    for name, label, form in (
        ("tie_even", "tie probability τ₀ on an evenly matched pair", "{:.1%}"),
        ("side_elo", "side bias: Elo points given to the image shown left", "{:+.1f}"),
    ):
        if name in post:
            draws = post[name].to_numpy().ravel()
            lo, hi = np.quantile(draws, [0.025, 0.975])
            info[label] = f"{form.format(draws.mean())} [{form.format(lo)}, {form.format(hi)}]"
    info.update({k.replace("_", " "): f"{v:.1f} s" for k, v in fit.timings.items()})
    if fit.diagnostics is not None:
        d = fit.diagnostics
        info.update(
            {
                "chains × draws": f"{d.chains} × {d.draws}",
                "R-hat max": f"{d.rhat_max:.4f}",
                "bulk ESS min": f"{d.ess_bulk_min:.0f}",
                "divergences": d.divergences,
            }
        )
    return info


def write_report(
    fit: EloFit, out_dir: str | os.PathLike, *, at_bpp: Sequence[float] = (), space: str = "log"
) -> dict[str, Path]:
    """Write every output of ``fit`` into ``out_dir``; returns the paths by name.

    Files: ``elo.csv``, ``bdrate.csv`` (with each BD-rate's fragility), ``equal_quality.csv``
    (with rows for the anchor rates in ``at_bpp``, bpp; read between levels in ``space``, see
    :func:`analysis.equality.equal_quality_table`), ``objective_bdrate.csv``,
    ``raters.csv``, ``curves.png``, ``winrates.png`` and ``report.html`` (figures embedded as
    base64, so the page is one self-contained file).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    elo = elo_table(fit)
    fragility = fragility_table(fit)
    bdrate = bdrate_table(fit).merge(fragility[["codec", "fragility", "fragility_share"]], on="codec", how="left")
    equal = equal_quality_table(fit, at_bpp=at_bpp, space=space)
    objective = objective_bdrate_table(fit.data.conditions, fit.anchor)
    raters = rater_table(fit)
    split = split_half_reliability(fit)
    names = ("elo.csv", "bdrate.csv", "equal_quality.csv", "objective_bdrate.csv", "raters.csv")
    paths = {name: out / name for name in names}
    for name, frame in zip(paths, (elo, bdrate, equal, objective, raters), strict=True):
        _write_csv(paths[name], frame)
    figures = {
        "curves.png": _png(curves_figure(elo, anchor=fit.anchor)),
        "winrates.png": _png(win_matrix_figure(fit.data)),
    }
    for name, blob in figures.items():
        paths[name] = out / name
        paths[name].write_bytes(blob)
    paths["report.html"] = out / "report.html"
    trust = _trust_html(fit, bdrate, fragility, split)
    page = _html(fit, elo, bdrate, objective, raters, figures, equal=equal, trust=trust, space=space)
    paths["report.html"].write_text(page, encoding="utf-8")
    return paths


def _html(
    fit: EloFit,
    elo: pd.DataFrame,
    bdrate: pd.DataFrame,
    objective: pd.DataFrame,
    raters: pd.DataFrame,
    figures: dict[str, bytes],
    *,
    equal: pd.DataFrame | None = None,
    trust: str = "",
    space: str = "log",
) -> str:
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in summary(fit).items())
    banner = ""
    if not fit.converged:
        problems = "; ".join(fit.diagnostics.problems) if fit.diagnostics else ""
        banner = (
            '<p class="alarm">NOT CONVERGED: ' + html.escape(problems) + ". Do not use these numbers; "
            "sample longer (more tune/draws) or simplify the model.</p>"
        )
    flagged = raters[raters["spammer"]]
    rater_section = (
        f"<h2>Raters flagged as likely spammers ({len(flagged)} of {len(raters)})</h2>{_table(flagged, 3)}"
        if fit.spec.rater_terms and len(raters) >= SEVERAL_RATERS
        else ""
    )
    objective_section = f"<h2>Classic BD-rate on objective metrics</h2>{_table(objective)}" if len(objective) else ""
    equal_section = ""
    if equal is not None and len(equal):
        sentences = "".join(f"<p>{html.escape(line)}</p>" for line in at_bpp_sentences(equal))
        equal_section = (
            "<h2>Equal-quality bitrates</h2><p>At each level of the anchor: its Elo, and the bpp at which each "
            f"other codec reaches that Elo ({SPACE_WORDS[space]} between the codec's levels, "
            "in every posterior draw; no extrapolation), with the difference in percent (negative = fewer "
            "bits); 95% intervals.</p>" + sentences + _table(equal_quality_display(equal))
        )
    images = {name: base64.b64encode(blob).decode("ascii") for name, blob in figures.items()}
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>PICO Eval: Elo and BD-rate report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5rem 0 1.5rem; }}
th, td {{ padding: 0.2rem 0.7rem; border-bottom: 1px solid #ddd; text-align: right; }}
th {{ text-align: left; }}
.alarm {{ background: #b00020; color: white; padding: 1rem; font-weight: bold; font-size: 1.2rem; }}
img {{ max-width: 100%; }}
</style></head><body>
<h1>Elo and BD-rate report</h1>
<p>Generated {stamp}. Elo: 400·log10 odds, P(A beats B) = 1/(1+10^((Elo_B−Elo_A)/400)); intervals are
95% credible intervals. BD-rate: percent bits versus {html.escape(fit.anchor)} at equal quality, negative = fewer bits.</p>
{banner}
<h2>Study and fit</h2><table>{rows}</table>
<h2>BD-rate on rate–Elo curves</h2>{_table(bdrate.drop(columns=["fragility", "fragility_share"], errors="ignore"))}
{trust}
{equal_section}
<h2>Rate–Elo curves</h2><img alt="rate-Elo curves" src="data:image/png;base64,{images["curves.png"]}">
<h2>Elo per condition</h2>{_table(elo.assign(bpp=elo["bpp"].map(lambda v: f"{v:.4f}")))}
{objective_section}
{rater_section}
<h2>Observed win rates</h2><img alt="win-rate matrix" src="data:image/png;base64,{images["winrates.png"]}">
</body></html>
"""


def _trust_html(fit: EloFit, bdrate: pd.DataFrame, fragility: pd.DataFrame, split: SplitHalf | None) -> str:
    """The "how far to trust" section: each BD-rate's fragility and the Elo scale's split-half reliability."""
    n = len(fit.data.judgments)
    rows = []
    for row in bdrate.merge(fragility[["codec", "map_bdrate", "fragility_reason"]], on="codec").itertuples():
        if pd.isna(row.fragility):
            flips = str(row.fragility_reason or "—")
        else:
            flips = f"{int(row.fragility):,} of {n:,} ({row.fragility_share:.2%})"
        estimate = "—" if pd.isna(row.map_bdrate) else f"{row.map_bdrate:+.1f}%"
        rows.append({"codec": row.codec, "MAP BD-rate": estimate, "judgments whose removal flips its sign": flips})
    text = (
        "<h2>How far to trust the results</h2><p><b>Fragility</b>: the fewest judgments found whose removal "
        "flips the sign of the BD-rate. Greedy search on the MAP of a Bradley–Terry model (judgments weighted "
        "by 1 − p_spammer of their rater; no image terms): remove the judgments with the largest first-order "
        "effect towards zero, refit, repeat; every count is verified by a refit, so it is an upper bound (a "
        "smaller set may exist). A handful of judgments means the sign rests on very little.</p>"
        + _table(pd.DataFrame(rows))
    )
    if split is None:
        return text + "<p><b>Split-half reliability</b>: needs at least 4 raters.</p>"
    return text + (
        f"<p><b>Split-half reliability</b> of the Elo scale ({split.repeats} random splits of the "
        f"{split.raters} raters into halves, each half fitted alone): Pearson r = {split.pearson:.3f} "
        f"(range {split.pearson_min:.3f}–{split.pearson_max:.3f}) between the halves' Elo over conditions; "
        f"Spearman–Brown reliability of the whole study {split.spearman_brown:.3f}; RMS difference between "
        f"the halves {split.rms_difference:.0f} Elo.</p>"
    )
