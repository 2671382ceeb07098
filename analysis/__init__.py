"""analysis: Bayesian Elo from pairwise judgments, rate–Elo curves and BD-rate savings.

No Django import here: usable from the command line (``python -m analysis``), notebooks
and the site. PyMC is imported only when a full posterior is sampled, so MAP previews and
tables stay light.

>>> fit = fit_elo(judgments, manifest, anchor="avif", method="map")   # doctest: +SKIP
>>> fit = fit_elo(judgments, manifest, anchor="avif", sampling=SamplerOptions(chains=2))   # doctest: +SKIP
>>> elo_table(fit); bdrate_table(fit); rater_table(fit); write_report(fit, "out/")  # doctest: +SKIP
"""

from analysis.bdrate import BDRateSummary, BDRateUndefined, bd_rate, bd_rate_posterior
from analysis.data import Exclusions, StudyData, load_study, prepare_study
from analysis.design import base_allocation, optimal_allocation, predicted_sd
from analysis.elo import EloFit, SamplerOptions, elo_table
from analysis.fitting import fit_elo, fit_study
from analysis.planning import plan_study
from analysis.raters import rater_table
from analysis.report import write_report
from analysis.simulate import SimulatedStudy, expected_curves, simulate_study
from analysis.summaries import bdrate_table, objective_bdrate_table

__all__ = [
    "BDRateSummary",
    "BDRateUndefined",
    "EloFit",
    "Exclusions",
    "SamplerOptions",
    "SimulatedStudy",
    "StudyData",
    "base_allocation",
    "bd_rate",
    "bd_rate_posterior",
    "bdrate_table",
    "elo_table",
    "expected_curves",
    "fit_elo",
    "fit_study",
    "load_study",
    "objective_bdrate_table",
    "optimal_allocation",
    "plan_study",
    "predicted_sd",
    "prepare_study",
    "rater_table",
    "simulate_study",
    "write_report",
]
