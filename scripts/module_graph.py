"""The package graph of courtfeed, read from its imports, and the layering it must keep.

``python scripts/module_graph.py`` prints the graph as a Mermaid diagram; ``--check`` exits 1
with one line per import that runs against the layering; ``--write`` refreshes the diagram in
docs/architecture.md (``make docs``). tests/test_architecture.py runs both checks, so the
picture in the docs cannot drift from the code.

Every import counts, the ones inside functions too: a lazy import is still a dependency.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "plugins" / "courtfeed"
DOC = ROOT / "docs" / "architecture.md"
BEGIN, END = "<!-- module-graph:begin -->", "<!-- module-graph:end -->"

# Floors, top to bottom. A package may import its own modules and any package on a lower floor,
# never one on its own floor or above (the entry points on the top floor excepted: they may use
# each other). The stages sit in the order a file flows through them, so an earlier stage may
# use a later one's definitions (the read stage's exclusions read dates as mapping does), and
# a later stage never reaches back to an earlier one.
FLOORS: list[tuple[str, ...]] = [
    ("dagfactory", "cli", "web", "doctor", "demo"),  # entry points: Airflow, the command line, pages
    ("observability",),  # OpenLineage facets and Prometheus metrics, from what the stages counted
    ("pipeline",),  # one stage per module, plain data between them
    ("sources",),  # where files come from (SFTP, S3) and which to take
    ("unpack",),  # .zip, .gz, .pgp deliveries
    ("readers",),  # bytes -> Arrow batches of text cells with row numbers
    ("validation",),  # Great Expectations over the staged rows
    ("mapping",),  # rows -> typed records of the target's entities
    ("target",),  # the database: schema, upsert, ledger
    ("config", "rejects", "privacy", "progress", "faults", "rows", "status"),  # shared ground
]
ENTRY_FLOOR = 0


def floor_of(package: str) -> int:
    for index, names in enumerate(FLOORS):
        if package in names:
            return index
    raise KeyError(f"courtfeed.{package} is on no floor: add it to FLOORS in scripts/module_graph.py")


def top_package(module: str) -> str | None:
    """``courtfeed.readers.table`` -> ``readers``; None for courtfeed itself."""
    parts = module.split(".")
    return parts[1] if parts[0] == "courtfeed" and len(parts) > 1 else None


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every courtfeed module ``path`` imports, at any depth of the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("courtfeed."))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "courtfeed":
                found.update(f"courtfeed.{a.name}" for a in node.names)
            elif node.module.startswith("courtfeed."):
                found.add(node.module)
    return found


def package_edges() -> dict[str, dict[str, list[str]]]:
    """importing package -> imported package -> the importing modules."""
    edges: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        source = module_name(path)
        here = top_package(source)
        if here is None:
            continue
        for target in sorted(imports_of(path)):
            there = top_package(target)
            if there is not None and there != here:
                edges[here][there].append(source)
    return edges


def violations(edges: dict[str, dict[str, list[str]]]) -> list[str]:
    problems = []
    for here, targets in sorted(edges.items()):
        for there, modules in sorted(targets.items()):
            mine, theirs = floor_of(here), floor_of(there)
            if theirs > mine or (mine == theirs == ENTRY_FLOOR):
                continue
            where = "the same floor" if mine == theirs else "a floor above"
            problems.append(
                f"courtfeed.{here} imports courtfeed.{there}, on {where} ({', '.join(sorted(set(modules)))})"
            )
    return problems


def mermaid(edges: dict[str, dict[str, list[str]]]) -> str:
    lines = ["```mermaid", "flowchart TD"]
    for index, names in enumerate(FLOORS):
        present = [n for n in names if (PACKAGE / n).is_dir() or (PACKAGE / f"{n}.py").exists()]
        lines.append(f'    subgraph floor{index}[" "]')
        lines.extend(f"        {n}" for n in present)
        lines.append("    end")
    ground = set(FLOORS[-1])
    for here, targets in sorted(edges.items()):
        for there in sorted(targets):
            if there in ground and here not in ground:
                continue  # everyone uses the ground floor: drawn once, not from every package
            lines.append(f"    {here} --> {there}")
    lines.append("```")
    return "\n".join(lines)


def rendered_doc(edges: dict[str, dict[str, list[str]]]) -> str:
    text = DOC.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{mermaid(edges)}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 on an import against the floors")
    parser.add_argument("--write", action="store_true", help="refresh the diagram in docs/architecture.md")
    args = parser.parse_args(argv)
    edges = package_edges()
    if args.check:
        problems = violations(edges)
        for line in problems:
            print(line)
        return 1 if problems else 0
    if args.write:
        DOC.write_text(rendered_doc(edges), encoding="utf-8")
        return 0
    print(mermaid(edges))
    return 0


if __name__ == "__main__":
    sys.exit(main())
