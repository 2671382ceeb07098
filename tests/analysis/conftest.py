"""Shared worlds for analysis tests: small simulated studies with known truth."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.data import StudyData, prepare_study
from analysis.simulate import SimulatedStudy, simulate_study

ROOT = Path(__file__).resolve().parents[2]
SMALL_JUDGMENTS = ROOT / "fixtures" / "judgments" / "small.csv"
SMALL_MANIFEST = ROOT / "fixtures" / "manifests" / "small.csv"


@pytest.fixture(scope="session")
def study() -> SimulatedStudy:
    """4 codecs × 5 levels, 8000 judgments by 64 raters (about 5 spammers), 8 images."""
    return simulate_study(n_judgments=8000, n_raters=64, n_images=8, spammer_fraction=0.08, seed=11)


@pytest.fixture(scope="session")
def study_data(study: SimulatedStudy) -> StudyData:
    return prepare_study(study.judgments, study.manifest)


@pytest.fixture(scope="session")
def small_files() -> tuple[Path, Path]:
    """The checked-in example study: (judgments.csv, manifest.csv)."""
    return SMALL_JUDGMENTS, SMALL_MANIFEST
