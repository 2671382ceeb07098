"""Exports follow the shared contracts: analysis reads them back, excluded raters stay out unless asked for."""

from __future__ import annotations

import zipfile

import pytest
from django.core.management import CommandError, call_command

from analysis.judgments import read_judgments
from evalsite.studies.exports import build_bundle, write_judgments, write_manifest_csv
from pico.manifest import read_manifest

pytestmark = pytest.mark.django_db


def test_exported_judgments_read_back_against_the_manifest(make_study, judge, tmp_path, study_data_dir):
    study = make_study()
    judge(study, n=10, seed=1)
    judge(study, n=7, seed=2)
    write_manifest_csv(study, study_data_dir / study.slug / "manifest.csv")
    manifest = read_manifest(study_data_dir / study.slug / "manifest.csv", check_files=True)
    assert len(manifest) == 6
    assert write_judgments(study, tmp_path / "judgments.csv") == 17
    frame = read_judgments(tmp_path / "judgments.csv", manifest)
    assert len(frame) == 17
    assert set(frame["kind"]) == {"trial"}
    assert frame["rater"].nunique() == 2


def test_excluded_raters_are_left_out_by_default_and_flagged_when_included(make_study, judge, tmp_path):
    study = make_study()
    judge(study, n=5, seed=1)
    judge(study, n=4, seed=2, excluded=True, excluded_reason="clicked one side")
    assert write_judgments(study, tmp_path / "default.csv") == 5
    assert write_judgments(study, tmp_path / "all.csv", include_excluded=True) == 9
    frame = read_judgments(tmp_path / "all.csv")
    assert list(frame["excluded"]).count("yes") == 4


def test_export_command_writes_the_file(make_study, judge, tmp_path):
    study = make_study()
    judge(study, n=3)
    call_command("export_judgments", study.slug, "--out", str(tmp_path / "j.csv"))
    assert len(read_judgments(tmp_path / "j.csv")) == 3


def test_export_command_names_the_known_studies_for_a_wrong_slug(make_study, tmp_path):
    make_study("known")
    with pytest.raises(CommandError, match="known"):
        call_command("export_judgments", "nosuch", "--out", str(tmp_path / "j.csv"))


def test_the_bundle_holds_study_file_manifest_judgments_raters_and_analysis(make_study, judge, tmp_path):
    study = make_study(study_file='slug = "tiny"\n')
    judge(study, n=6, crowd_id="PROLIFIC-1")
    analysis = tmp_path / "analysis"
    analysis.mkdir()
    (analysis / "elo.csv").write_text("codec,level,bpp,elo,elo_lo,elo_hi\n")
    bundle = build_bundle(study, tmp_path / "out", analysis_dir=analysis)
    with zipfile.ZipFile(bundle) as opened:
        names = set(opened.namelist())
        assert names == {"study.toml", "manifest.csv", "judgments.csv", "raters.csv", "analysis/elo.csv"}
        assert opened.read("study.toml") == b'slug = "tiny"\n'
        assert b"PROLIFIC-1" in opened.read("raters.csv")


def test_the_elo_preview_ranks_higher_bitrates_higher(make_study, judge):
    from evalsite.studies.scores import fit_scores

    study = make_study()
    for seed in range(4):
        judge(study, n=40, p=0.95, seed=seed)
    scores = fit_scores(study)
    elo = scores.elo.set_index("level")["elo"]
    assert scores.anchor == "jpeg"
    assert elo[0] < elo[1] < elo[2]
    assert len(scores.raters) == 4


def test_the_elo_preview_waits_for_judgments(make_study):
    from evalsite.studies.scores import fit_scores

    assert fit_scores(make_study()) is None


def test_the_preview_is_cached_until_judgments_or_exclusions_change(make_study, judge, monkeypatch):
    from evalsite.studies import scores as scores_module

    study = make_study()
    rater = judge(study, n=30, seed=1)
    judge(study, n=30, seed=2)
    fits = []
    real = scores_module.fit_scores
    monkeypatch.setattr(scores_module, "fit_scores", lambda s: fits.append(1) or real(s))
    first = scores_module.preview_scores(study)
    assert scores_module.preview_scores(study) is not None
    assert len(fits) == 1
    judge(study, n=5, seed=3)
    scores_module.preview_scores(study)
    assert len(fits) == 2
    rater.excluded = True
    rater.save()
    assert len(scores_module.preview_scores(study).raters) == 2
    assert len(fits) == 3
    assert len(first.raters) == 2
