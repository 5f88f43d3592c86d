"""The package layout keeps its floors, and docs/architecture.md draws the imports as they are."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import module_graph  # noqa: E402 - found through the path set just above


def test_no_import_runs_against_the_floors():
    assert module_graph.violations(module_graph.package_edges()) == []


def test_an_import_back_up_a_floor_is_caught():
    edges = {"target": {"mapping": ["courtfeed.target.upsert"]}, "mapping": {"target": ["x"]}}
    problems = module_graph.violations(edges)
    assert problems == [
        "courtfeed.target imports courtfeed.mapping, on a floor above (courtfeed.target.upsert)"
    ]


def test_two_stages_on_one_floor_may_not_use_each_other():
    assert module_graph.violations({"rows": {"privacy": ["courtfeed.rows"]}}) != []


def test_every_package_is_on_a_floor():
    package = REPO / "plugins" / "courtfeed"
    names = {p.name for p in package.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    names |= {p.stem for p in package.glob("*.py") if p.stem != "__init__"}
    for name in sorted(names):
        module_graph.floor_of(name)  # KeyError names the package that has no floor


def test_the_architecture_doc_draws_the_imports_as_they_are():
    current = module_graph.DOC.read_text(encoding="utf-8")
    assert current == module_graph.rendered_doc(module_graph.package_edges()), (
        "docs/architecture.md is out of date: run `make docs`"
    )


def test_only_the_airflow_layer_imports_airflow_when_a_module_loads():
    """Engine modules import Airflow inside the function that needs it, never at import time."""
    package = REPO / "plugins" / "courtfeed"
    allowed = {"dagfactory"}
    found = []
    for path in sorted(package.rglob("*.py")):
        if path.relative_to(package).parts[0] in allowed:
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "airflow" or n.startswith("airflow.") for n in names):
                found.append(str(path.relative_to(REPO)))
    assert found == []
