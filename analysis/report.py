"""Write a fit's outputs: elo.csv, bdrate.csv, raters.csv, figures and a self-contained report.html."""

from __future__ import annotations

import base64
import html
import io
import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.elo import EloFit, elo_table
from analysis.plots import curves_figure, win_matrix_figure
from analysis.raters import rater_table
from analysis.summaries import bdrate_table, objective_bdrate_table
from pico.csvtable import write_table_atomic


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
    post = fit.idata["posterior"]
    for name, label in (("lapse0", "lapse λ₀ of attentive raters"), ("spammer_share", "spammer share")):
        if name in post:
            draws = post[name].to_numpy().ravel()
            lo, hi = np.quantile(draws, [0.025, 0.975])
            info[label] = f"{draws.mean():.1%} [{lo:.1%}, {hi:.1%}]"
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


def write_report(fit: EloFit, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write every output of ``fit`` into ``out_dir``; returns the paths by name.

    Files: ``elo.csv``, ``bdrate.csv``, ``objective_bdrate.csv``, ``raters.csv``,
    ``curves.png``, ``winrates.png`` and ``report.html`` (figures embedded as base64, so the
    page is one self-contained file).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    elo = elo_table(fit)
    bdrate = bdrate_table(fit)
    objective = objective_bdrate_table(fit.data.conditions, fit.anchor)
    raters = rater_table(fit)
    paths = {name: out / name for name in ("elo.csv", "bdrate.csv", "objective_bdrate.csv", "raters.csv")}
    for name, frame in zip(paths, (elo, bdrate, objective, raters), strict=True):
        _write_csv(paths[name], frame)
    figures = {
        "curves.png": _png(curves_figure(elo, anchor=fit.anchor)),
        "winrates.png": _png(win_matrix_figure(fit.data)),
    }
    for name, blob in figures.items():
        paths[name] = out / name
        paths[name].write_bytes(blob)
    paths["report.html"] = out / "report.html"
    paths["report.html"].write_text(_html(fit, elo, bdrate, objective, raters, figures), encoding="utf-8")
    return paths


def _html(
    fit: EloFit,
    elo: pd.DataFrame,
    bdrate: pd.DataFrame,
    objective: pd.DataFrame,
    raters: pd.DataFrame,
    figures: dict[str, bytes],
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
<h2>BD-rate on rate–Elo curves</h2>{_table(bdrate)}
<h2>Rate–Elo curves</h2><img alt="rate-Elo curves" src="data:image/png;base64,{images["curves.png"]}">
<h2>Elo per condition</h2>{_table(elo.assign(bpp=elo["bpp"].map(lambda v: f"{v:.4f}")))}
<h2>Classic BD-rate on objective metrics</h2>{_table(objective)}
<h2>Raters flagged as likely spammers ({len(flagged)} of {len(raters)})</h2>{_table(flagged, 3)}
<h2>Observed win rates</h2><img alt="win-rate matrix" src="data:image/png;base64,{images["winrates.png"]}">
</body></html>
"""
