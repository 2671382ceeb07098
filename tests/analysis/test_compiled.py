"""Compiled nutpie models reused across fits of one shape: keys, padding, and identical draws (slow)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analysis import compiled as compiled_module
from analysis.compiled import clear_cache, compiled_model, rater_slots, sample_study
from analysis.data import StudyData, prepare_study
from analysis.elo import ModelData, ModelSpec, SamplerOptions, model_data
from analysis.likelihood import OUTCOME_ROWS, choice_loglik
from analysis.simulate import simulate_study

SPEC = ModelSpec(anchor="avif")


def small_study(seed: int, *, n_judgments: int = 1500, n_raters: int = 12, n_images: int = 4) -> StudyData:
    study = simulate_study(n_judgments=n_judgments, n_raters=n_raters, n_images=n_images, seed=seed)
    return prepare_study(study.judgments, study.manifest)


def inputs(data: StudyData, spec: ModelSpec = SPEC) -> ModelData:
    """The model data as :func:`analysis.compiled.sample_study` builds it: raters padded to their slots."""
    return model_data(data, spec, rater_slots=rater_slots(len(data.raters)) if spec.rater_terms else None)


def test_rater_slots_cover_the_raters_with_at_most_a_quarter_of_padding() -> None:
    slots = [rater_slots(n) for n in range(1, 3000)]
    assert all(s >= n for n, s in enumerate(slots, start=1))
    assert all(s <= max(8, 1.25 * n) for n, s in enumerate(slots, start=1))
    assert slots == sorted(slots)
    assert len(set(slots[:1000])) < 30
    assert rater_slots(600) == 640


def test_studies_of_one_shape_share_a_key_and_any_other_shape_or_structure_does_not(study_data) -> None:
    key = inputs(study_data).shape_key(SPEC)
    other_rows = small_study(5, n_raters=64, n_images=8)
    assert inputs(other_rows).shape_key(SPEC) == key  # same shapes, other judgments
    assert inputs(study_data, replace(SPEC, anchor="jpeg")).shape_key(replace(SPEC, anchor="jpeg")) == key
    different = [
        (study_data, replace(SPEC, image_terms=True)),
        (study_data, replace(SPEC, rater_terms=False)),
        (study_data, replace(SPEC, spammer_class=False)),
        (study_data, replace(SPEC, prior_sd_elo=500.0)),
        (small_study(5, n_raters=64, n_images=3), replace(SPEC, image_terms=True)),
        (small_study(5, n_raters=40, n_images=8), SPEC),
    ]
    keys = [inputs(data, spec).shape_key(spec) for data, spec in different]
    assert key not in keys and len(set(keys)) == len(keys)
    ties = study_data.judgments.assign(tie=np.arange(len(study_data.judgments)) % 7 == 0)
    with_ties = dataclasses.replace(study_data, judgments=ties)
    assert inputs(with_ties).shape_key(SPEC) != key
    assert model_data(study_data, SPEC, rater_slots=80).shape_key(SPEC) != key


def test_padded_raters_add_nothing_to_the_likelihood(study_data) -> None:
    """A padded rater has no judgments: log-likelihood and gradients equal the unpadded ones."""
    plain = model_data(study_data, SPEC).arrays
    padded = model_data(study_data, SPEC, rater_slots=rater_slots(100)).arrays
    n = len(study_data.raters)
    assert len(padded["random_loglik"]) == rater_slots(100) > n
    strength = np.random.default_rng(0).normal(0, 1, len(study_data.labels))
    ours = choice_loglik(strength, -3.0, -2.0, -np.inf, 0.0, *(padded[k] for k in OUTCOME_ROWS))
    theirs = choice_loglik(strength, -3.0, -2.0, -np.inf, 0.0, *(plain[k] for k in OUTCOME_ROWS))
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-13)
    for a, b in zip(ours[1:6], theirs[1:6], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours[6][:n], theirs[6])


@dataclass(frozen=True)
class _FakeCompiled:
    """Stands in for nutpie's compiled model: records which study's arrays it was given."""

    key: tuple[object, ...]
    arrays: dict[str, Any]
    _coords: dict[str, pd.Index]

    @property
    def coords(self) -> dict[str, pd.Index]:
        return self._coords

    def with_data(self, **arrays: Any) -> _FakeCompiled:
        unknown = set(arrays) - set(self.arrays)
        if unknown:
            raise KeyError(unknown)
        return dataclasses.replace(self, arrays=arrays)


def test_the_cache_compiles_once_per_shape_and_swaps_in_each_studys_data(monkeypatch, study_data) -> None:
    compiles: list[tuple[object, ...]] = []

    def fake_compile(model: Any) -> _FakeCompiled:
        key = current.shape_key(SPEC)
        compiles.append(key)
        return _FakeCompiled(key, current.arrays, {"unconstrained_parameter": pd.Index(["x"])})

    monkeypatch.setattr(compiled_module, "compile_model", fake_compile)
    monkeypatch.setattr(compiled_module, "build_model", lambda data, spec: None)
    clear_cache()
    same_shape, other_shape = small_study(5, n_raters=64, n_images=8), small_study(6, n_raters=40, n_images=8)
    compiled_so_far = []
    for data in (study_data, same_shape, other_shape, study_data):
        current = inputs(data)
        model, _ = compiled_model(current, SPEC)
        compiled_so_far.append(len(compiles))
        assert model.key == current.shape_key(SPEC)  # never a model compiled for another shape
        assert model.arrays.keys() == current.arrays.keys()
        assert all(model.arrays[k] is v for k, v in current.arrays.items())  # this study's rows, not the cached ones
        assert list(model.coords["rater"])[: len(data.raters)] == data.raters
        assert "unconstrained_parameter" in model.coords
    assert compiled_so_far == [1, 1, 2, 2]
    clear_cache()


@pytest.mark.slow
def test_a_cached_model_draws_exactly_what_a_fresh_compile_draws() -> None:
    """Study B sampled through the model compiled for study A equals B compiled on its own, draw for draw."""
    first, second = small_study(1), small_study(2, n_judgments=1800, n_raters=11)
    assert rater_slots(len(first.raters)) == rater_slots(len(second.raters))
    sampling = SamplerOptions(draws=100, tune=100, chains=2, cores=2, seed=4)
    clear_cache()
    _, cold = sample_study(first, SPEC, sampling)
    reused, warm = sample_study(second, SPEC, sampling)
    assert cold["compile_s"] > 0.0 and warm["compile_s"] == 0.0
    clear_cache()
    fresh, timings = sample_study(second, SPEC, sampling)
    assert timings["compile_s"] > 0.0
    for name in ("elo", "lapse0", "spammer_share", "p_spammer"):
        np.testing.assert_array_equal(reused["posterior"][name].to_numpy(), fresh["posterior"][name].to_numpy())
    assert list(reused["posterior"]["p_spammer"].coords["rater"].to_numpy()) == second.raters
    assert list(reused["posterior"]["elo"].coords["condition"].to_numpy()) == second.labels
    clear_cache()


FIT_IN_A_NEW_PROCESS = """
import sys, warnings
warnings.filterwarnings("ignore")
import numpy as np
from analysis.data import prepare_study
from analysis.elo import SamplerOptions
from analysis.fitting import fit_study
from analysis.simulate import simulate_study
study = simulate_study(n_judgments=3000, n_raters=30, n_images=4, image_sd_elo=40, design="random", seed=5)
data = prepare_study(study.judgments, study.manifest)
sampling = SamplerOptions(draws=200, tune=200, chains=2, cores=1, seed=0, progress=False)
fit = fit_study(data, anchor=study.anchor, image_terms=True, sampling=sampling)
print(np.asarray(fit.elo_draws()).sum().hex())
"""


@pytest.mark.slow
def test_the_same_seed_gives_the_same_draws_on_a_first_fit_and_on_later_ones(tmp_path) -> None:
    """A machine's first fit compiles PyTensor's code afresh, later ones load it from the compile cache:
    the draws must not depend on which (they did while the code was compiled with fastmath)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp_path / 'pytensor'}"}

    def fit() -> str:
        done = subprocess.run(
            [sys.executable, "-c", FIT_IN_A_NEW_PROCESS], env=env, capture_output=True, text=True, check=True
        )
        return done.stdout.strip().splitlines()[-1]

    first = fit()  # empty compile cache
    assert (tmp_path / "pytensor").is_dir()
    assert fit() == first  # the cache filled by the first
