"""The dependency direction of docs/architecture.md holds, and the import contracts catch a break.

``make lint`` runs the contracts in ``.importlinter`` on the real tree; these tests run the same
contracts on a copy with one wrong-way import added, so a contract that stopped looking (a typo
in a module name, an ignore that grew too wide) fails here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pico", "analysis", "evalsite")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(tree / ".importlinter"), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _outcomes(stdout: str) -> dict[str, str]:
    """Contract name -> KEPT or BROKEN, from lint-imports' summary (names may wrap over lines)."""
    summary = stdout.split("Contracts:")[0].split("-----\n")[-1]
    text = " ".join(summary.split())
    return dict(re.findall(r"(.+?) (KEPT|BROKEN)(?: \(\d+ ignored imports?\))? ?", text))


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the three packages' Python files and the contracts."""
    copy = tmp_path_factory.mktemp("tree")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            copy / package,
            ignore=lambda folder, names: [
                n for n in names if not n.endswith(".py") and not (Path(folder) / n).is_dir()
            ],
        )
    shutil.copy(ROOT / ".importlinter", copy / ".importlinter")
    return copy


def test_the_project_has_no_import_cycle_between_modules():
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True)
    edges = nx.DiGraph(
        (module, imported) for module in graph.modules for imported in graph.find_modules_directly_imported_by(module)
    )
    assert edges.number_of_edges() > 200  # the graph really was built
    cycles = [sorted(component) for component in nx.strongly_connected_components(edges) if len(component) > 1]
    assert cycles == []


def test_the_contracts_hold_on_the_unchanged_tree(tree):
    result = _lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    outcomes = _outcomes(result.stdout)
    assert len(outcomes) == 6 and set(outcomes.values()) == {"KEPT"}, outcomes


@pytest.mark.parametrize(
    ("module", "wrong_import", "contract"),
    [
        ("pico/manifest.py", "import analysis.bdrate", "The site builds on analysis"),
        ("analysis/elo.py", "import evalsite.studies.models", "The site builds on analysis"),
        ("analysis/report.py", "import pico.learned.model", "analysis never imports the learned codec"),
        ("evalsite/rating/services.py", "import evalsite.studies.services", "Site apps import downward"),
        ("evalsite/studies/services.py", "import evalsite.api.services", "Site apps import downward"),
        ("evalsite/rating/models.py", "import evalsite.screening.models", "Site apps import downward"),
        ("evalsite/studies/views.py", "import evalsite.rating.models", "reaches the rater side only through"),
        ("evalsite/studies/config.py", "import evalsite.studies.generation", "No import cycle"),
        ("evalsite/rating/views.py", "import evalsite.rating.results", "never rater-facing code"),
    ],
)
def test_a_wrong_way_import_breaks_a_contract(tree, module, wrong_import, contract):
    path = tree / module
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text(original + f"\n{wrong_import}  # added by the test\n", encoding="utf-8")
        result = _lint_imports(tree)
    finally:
        path.write_text(original, encoding="utf-8")
    assert result.returncode == 1, result.stdout + result.stderr
    broken = [name for name, state in _outcomes(result.stdout).items() if state == "BROKEN"]
    assert any(contract in name for name in broken), result.stdout
