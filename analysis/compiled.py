"""nutpie models compiled once per model shape and reused, with the study's data swapped in.

Compiling the PyMC model to numba is most of a nutpie fit (7–11 s of the paper-scale fits on a
quiet 2-core machine, 22 s under load, against 0.4 s of pooled sampling). The model takes its
data through ``pm.Data`` (:func:`analysis.elo.model_data`), so the compiled log-density depends
only on the model's structure and parameter shapes (:meth:`analysis.elo.ModelData.shape_key`):
a fit whose key was compiled before in this process takes that model and swaps its own arrays in
with nutpie's ``with_data``. Raters are padded to a few sizes (:func:`rater_slots`), so a live
study keeps its compiled model while raters join. The cache lives in memory: nutpie's compiled
functions are numba C callbacks over dynamic globals, which numba does not cache on disk; the
site's task workers are long-lived processes, where the reuse happens.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import OrderedDict
from typing import Any, cast

import arviz as az
import pandas as pd

from analysis.data import StudyData
from analysis.elo import (
    DEFAULT_SAMPLING,
    ModelData,
    ModelSpec,
    SamplerOptions,
    build_model,
    compile_model,
    model_data,
    sample_compiled,
)

CACHE_SIZE = 8
"""Compiled models kept per process (least recently used dropped first), each with the arrays it was compiled with."""

_CACHE: OrderedDict[tuple[object, ...], Any] = OrderedDict()
_LOCK = threading.Lock()


def rater_slots(n_raters: int) -> int:
    """Rater axis length for ``n_raters``: at least 8, rounded up to a multiple of an eighth of its power of two.

    From 9 raters on at most a quarter more slots than raters (600 raters → 640 slots); a study
    growing from 1 to 1,000 raters meets 29 sizes instead of 1,000.
    """
    if n_raters <= 8:
        return 8
    step = 1 << ((n_raters - 1).bit_length() - 3)
    return -(-n_raters // step) * step


def sample_study(
    data: StudyData, spec: ModelSpec, sampling: SamplerOptions = DEFAULT_SAMPLING
) -> tuple[az.InferenceData, dict[str, float]]:
    """Sample ``data`` with nutpie, compiling only when no model of its shape was compiled before.

    Returns the posterior (padded raters dropped) and timings: ``compile_s`` (0 on a cache hit),
    ``with_data_s`` and ``sample_s``.
    """
    inputs = model_data(data, spec, rater_slots=rater_slots(len(data.raters)) if spec.rater_terms else None)
    compiled, timings = compiled_model(inputs, spec)
    start = time.perf_counter()
    idata = sample_compiled(compiled, sampling)
    timings["sample_s"] = time.perf_counter() - start
    if spec.rater_terms:
        idata = cast("az.InferenceData", idata.isel(rater=slice(0, len(data.raters))))  # a copy, never None
    return idata, timings


def compiled_model(data: ModelData, spec: ModelSpec) -> tuple[Any, dict[str, float]]:
    """nutpie's compiled model for ``data``, from the cache when its shape was compiled before.

    Returns the model with ``data``'s arrays and coords in it, and timings: ``compile_s`` (0 on
    a cache hit) and ``with_data_s`` (swapping the arrays in).
    """
    key = data.shape_key(spec)
    with _LOCK:
        compiled = _CACHE.get(key)
        if compiled is not None:
            _CACHE.move_to_end(key)
    timings = {"compile_s": 0.0}
    if compiled is None:
        start = time.perf_counter()
        compiled = compile_model(build_model(data, spec))
        timings["compile_s"] = time.perf_counter() - start
        with _LOCK:
            _CACHE[key] = compiled
            while len(_CACHE) > CACHE_SIZE:
                _CACHE.popitem(last=False)
    start = time.perf_counter()
    coords = {**compiled.coords, **{name: pd.Index(labels) for name, labels in data.coords.items()}}
    compiled = dataclasses.replace(compiled.with_data(**data.arrays), _coords=coords)
    timings["with_data_s"] = time.perf_counter() - start
    return compiled, timings


def clear_cache() -> None:
    """Forget every compiled model (tests; a process that wants its memory back)."""
    with _LOCK:
        _CACHE.clear()
