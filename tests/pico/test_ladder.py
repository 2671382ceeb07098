"""The ladder writes a valid manifest, reruns from its cache, resumes after a kill, and reports what it skips."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pico.cli import main
from pico.codecs import get_codec
from pico.images import load_reference
from pico.ladder import CodecRef, run_ladder
from pico.manifest import COLUMNS, read_manifest

FAST = "jpeg,webp,jxl"


def _run(images_dir: Path, out: Path, *extra: str) -> int:
    return main(["ladder", str(images_dir), "--codecs", FAST, "--bpp", "0.6,1.0,1.8", "--out", str(out), *extra])


def test_ladder_writes_every_contract_column_and_hits_its_targets(images_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert _run(images_dir, out) == 0
    frame = read_manifest(out / "manifest.csv", check_files=True)
    assert list(frame.columns) == COLUMNS
    assert set(frame["codec"]) == {"jpeg", "webp", "jxl"}
    assert len(frame) == 2 * 3 * 3
    for row in frame.to_dict("records"):
        assert abs(row["bpp"] / row["target_bpp"] - 1) <= 0.25  # within the codec's tolerance or granularity
        assert (out / row["path"]).is_file()
        assert row["bytes"] * 8 / (row["width"] * row["height"]) == pytest.approx(row["bpp"])
    report = (out / "ratecontrol.csv").read_text()
    assert "n_encodes" in report.splitlines()[0]
    assert "18 computed, 0 from the cache" in capsys.readouterr().out


def test_a_rerun_does_no_work_and_changes_nothing(images_dir, tmp_path, capsys):
    out = tmp_path / "out"
    _run(images_dir, out)
    first = (out / "manifest.csv").read_text()
    capsys.readouterr()
    _run(images_dir, out)
    assert "0 computed, 18 from the cache" in capsys.readouterr().out
    assert (out / "manifest.csv").read_text() == first


def test_unreachable_targets_are_reported_and_levels_stay_contiguous(images_dir, tmp_path):
    refs = [images_dir / "garden.png"]
    result = run_ladder(refs, [CodecRef("jpeg")], lambda image: [0.01, 0.5, 1.0], tmp_path / "out")
    assert [r["status"] for r in result.report] == ["unreachable", "ok", "ok"]
    assert "below the fewest bits" in result.report[0]["reason"]
    assert sorted(r["level"] for r in result.rows) == [0, 1]
    assert [r["target_bpp"] for r in sorted(result.rows, key=lambda r: r["level"])] == [0.5, 1.0]


def test_a_level_means_the_same_target_on_every_image(images_dir, tmp_path):
    # jpeg cannot go below about 0.43 bpp on harbour, but can on garden.
    refs = [images_dir / "garden.png", images_dir / "harbour.png"]
    result = run_ladder(refs, [CodecRef("jpeg")], lambda image: [0.38, 0.6, 1.0], tmp_path / "out")
    levels = {(r["image"], r["level"]): r["target_bpp"] for r in result.rows}
    assert levels == {
        ("garden", 0): 0.38,
        ("garden", 1): 0.6,
        ("garden", 2): 1.0,
        ("harbour", 1): 0.6,
        ("harbour", 2): 1.0,
    }
    assert len(read_manifest(tmp_path / "out" / "manifest.csv", check_files=True)) == 5


def test_targets_that_give_the_same_bitstream_are_reported_as_duplicates(images_dir, tmp_path):
    refs = [images_dir / "garden.png"]
    pixels = load_reference(refs[0]).pixels
    floor = 8 * len(get_codec("jpeg").encode(pixels, 1)) / (pixels.shape[0] * pixels.shape[1])
    result = run_ladder(refs, [CodecRef("jpeg")], lambda image: [floor, floor * 1.01], tmp_path / "out")
    assert [r["status"] for r in result.report] == ["ok", "duplicate"]
    assert len(result.rows) == 1


def test_rows_of_other_codecs_already_in_the_manifest_are_kept(images_dir, tmp_path):
    out = tmp_path / "out"
    run_ladder([images_dir / "garden.png"], [CodecRef("jpeg")], lambda image: [0.5], out)
    run_ladder([images_dir / "garden.png"], [CodecRef("jxl")], lambda image: [0.5], out)
    assert set(read_manifest(out / "manifest.csv")["codec"]) == {"jpeg", "jxl"}


def test_matched_mode_targets_the_bpp_another_codec_achieved(images_dir, tmp_path):
    out = tmp_path / "out"
    _run(images_dir, out)
    matched = tmp_path / "matched"
    assert (
        main(
            [
                "ladder",
                str(images_dir),
                "--codecs",
                "jp2",
                "--match",
                f"{out / 'manifest.csv'}:jxl",
                "--out",
                str(matched),
            ]
        )
        == 0
    )
    anchor = read_manifest(out / "manifest.csv")
    jxl = anchor[anchor["codec"] == "jxl"].set_index(["image", "level"])["bpp"]
    rows = read_manifest(matched / "manifest.csv").set_index(["image", "level"])
    for key, row in rows.iterrows():
        assert row["target_bpp"] == pytest.approx(jxl[key])


def test_the_process_pool_gives_the_same_rows_as_one_process(images_dir, tmp_path):
    _run(images_dir, tmp_path / "one")
    _run(images_dir, tmp_path / "pool", "--jobs", "2")
    one = read_manifest(tmp_path / "one" / "manifest.csv")
    pool = read_manifest(tmp_path / "pool" / "manifest.csv")
    assert one[["image", "codec", "level", "bytes", "sha256"]].equals(
        pool[["image", "codec", "level", "bytes", "sha256"]]
    )


def test_an_external_recipe_gives_the_same_manifest_rows_as_the_builtin(images_dir, tmp_path):
    if not (shutil.which("cwebp") and shutil.which("dwebp")):
        pytest.skip("cwebp/dwebp not installed (apt-get install webp)")
    out = tmp_path / "out"
    assert main(["ladder", str(images_dir), "--codecs", "webp,cwebp", "--bpp", "0.5,1.0", "--out", str(out)]) == 0
    frame = read_manifest(out / "manifest.csv")
    columns = ["image", "level", "bpp", "bytes", "param", "psnr", "ms_ssim", "ssimulacra2", "sha256"]
    builtin = frame[frame["codec"] == "webp"][columns].reset_index(drop=True)
    external = frame[frame["codec"] == "cwebp"][columns].reset_index(drop=True)
    assert builtin.equals(external)


def test_a_killed_run_resumes_without_redoing_finished_work(images_dir, tmp_path):
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "pico",
        "ladder",
        str(images_dir),
        "--codecs",
        "jpeg,webp,jxl,jp2",
        "--bpp",
        "0.6,1.0,1.8",
    ]
    command += ["--out", str(out)]
    process = subprocess.Popen(command, cwd=Path(__file__).parents[2], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / ".cache").glob("*/*.json"))) < 3:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    finished = len(list((out / ".cache").glob("*/*.json")))
    assert 3 <= finished < 24, "the run must be killed part-way"
    assert not (out / "manifest.csv").exists()
    done = subprocess.run(command, cwd=Path(__file__).parents[2], capture_output=True, text=True, check=True)
    assert f"{24 - finished} computed, {finished} from the cache" in done.stdout
    assert len(read_manifest(out / "manifest.csv", check_files=True)) == 24, done.stdout


@pytest.mark.slow
def test_the_same_work_runs_on_a_dask_cluster(images_dir, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        result = run_ladder(
            [images_dir / "garden.png"],
            [CodecRef("jpeg"), CodecRef("jxl")],
            lambda image: [0.5, 1.0],
            tmp_path / "out",
            dask_address=cluster.scheduler_address,
        )
    assert result.computed == 4
    assert len(read_manifest(tmp_path / "out" / "manifest.csv")) == 4


def test_unknown_codecs_fail_before_any_work(images_dir, tmp_path, capsys):
    assert (
        main(["ladder", str(images_dir), "--codecs", "jpeg,nonesuch", "--bpp", "0.5", "--out", str(tmp_path / "out")])
        == 1
    )
    assert "no codec named 'nonesuch'" in capsys.readouterr().err
    assert not (tmp_path / "out" / "manifest.csv").exists()


def test_a_target_listed_twice_is_a_usage_error(images_dir, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["ladder", str(images_dir), "--codecs", "jpeg", "--bpp", "0.5,0.5", "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 2
