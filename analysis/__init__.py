"""analysis: Bayesian Elo from pairwise judgments, rate–Elo curves and BD-rate savings.

No Django import here: usable from the command line (``python -m analysis``), notebooks
and the site. PyMC is imported only when a full posterior is sampled, so MAP previews and
tables stay light.

>>> fit = fit_elo(judgments, manifest, anchor="avif", method="map")   # doctest: +SKIP
>>> fit = fit_elo(judgments, manifest, anchor="avif", sampling=SamplerOptions(chains=2))   # doctest: +SKIP
>>> elo_table(fit); bdrate_table(fit); rater_table(fit); write_report(fit, "out/")  # doctest: +SKIP
"""

from analysis.answers import AnswerColumns, import_answers, read_methods, to_answers
from analysis.bdrate import BDRateSummary, BDRateUndefined, bd_rate, bd_rate_posterior, monotone_draws
from analysis.data import Exclusions, StudyData, load_study, prepare_study
from analysis.design import base_allocation, optimal_allocation, predicted_sd
from analysis.elo import EloFit, SamplerOptions, elo_table
from analysis.equality import equal_quality_table
from analysis.fitting import fit_elo, fit_study
from analysis.fragility import bdrate_fragility, fragility_table, split_half_reliability
from analysis.planning import plan_study
from analysis.ratermodel import RaterModelChoice, choose_rater_model
from analysis.raters import rater_table
from analysis.report import write_report
from analysis.simulate import SimulatedStudy, expected_curves, near_equal_levels, simulate_study
from analysis.summaries import bdrate_table, objective_bdrate_table

__all__ = [
    "AnswerColumns",
    "BDRateSummary",
    "BDRateUndefined",
    "EloFit",
    "Exclusions",
    "RaterModelChoice",
    "SamplerOptions",
    "SimulatedStudy",
    "StudyData",
    "base_allocation",
    "bd_rate",
    "bd_rate_posterior",
    "bdrate_fragility",
    "bdrate_table",
    "choose_rater_model",
    "elo_table",
    "equal_quality_table",
    "expected_curves",
    "fit_elo",
    "fit_study",
    "fragility_table",
    "import_answers",
    "load_study",
    "monotone_draws",
    "near_equal_levels",
    "objective_bdrate_table",
    "optimal_allocation",
    "plan_study",
    "predicted_sd",
    "prepare_study",
    "rater_table",
    "read_methods",
    "simulate_study",
    "split_half_reliability",
    "to_answers",
    "write_report",
]
