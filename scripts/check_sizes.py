"""Keep every piece small enough to hold in one's head: modules and functions have a length cap.

``python scripts/check_sizes.py`` prints one line per module over MAX_MODULE_LINES lines and per
function over MAX_FUNCTION_LINES lines (its body from ``def`` to its last line, decorators and
docstring included) under plugins/, dags/ and scripts/, and exits 1 if there is any. `make lint`
runs it. Tests are not counted: a test reads best as one story, even a long one.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("plugins", "dags", "scripts")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def python_files() -> list[Path]:
    skip = {"migrations", "__pycache__"}
    files = []
    for folder in FOLDERS:
        files += [p for p in sorted((ROOT / folder).rglob("*.py")) if not skip & set(p.parts)]
    return files


def function_lengths(tree: ast.AST) -> list[tuple[str, int, int]]:
    """(qualified name, first line, length in lines) of every function, nested ones included."""
    found: list[tuple[str, int, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                end = child.end_lineno or child.lineno
                found.append((f"{prefix}{child.name}", first, end - first + 1))
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def problems() -> list[str]:
    out = []
    for path in python_files():
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(ROOT)
        lines = text.count("\n") + (0 if text.endswith("\n") else 1)
        if lines > MAX_MODULE_LINES:
            out.append(f"{rel}: {lines} lines, over {MAX_MODULE_LINES}: split it along what it holds")
        for name, first, length in function_lengths(ast.parse(text)):
            if length > MAX_FUNCTION_LINES:
                out.append(f"{rel}:{first}: {name} is {length} lines, over {MAX_FUNCTION_LINES}")
    return out


def main() -> int:
    found = problems()
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
