"""Streamlit's "magic" draws any bare expression of a script it runs (app.py and pages/) on the page: a string
meant as an attribute docstring after an assignment showed up as English text on every page. Only module, class
and function docstrings are left alone, so those are the only bare strings the scripts may hold."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]


def bare_strings(source: str) -> list[int]:
    """Line numbers of string statements that are not the docstring of their module, class or function."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        for name in ("body", "orelse", "finalbody", "handlers"):
            body = getattr(node, name, None)
            if not isinstance(body, list):
                continue
            docstring_slot = name == "body" and isinstance(
                node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            for k, stmt in enumerate(body):
                if (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
                        and isinstance(stmt.value.value, str) and not (docstring_slot and k == 0)):
                    lines.append(stmt.lineno)
    return lines


def test_a_string_after_an_assignment_is_found() -> None:
    assert bare_strings('"""doc"""\nX = 1\n"""about X"""\ndef f():\n    """doc"""\n    "drawn"\n') == [3, 6]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_hold_no_string_streamlit_would_draw(script: Path) -> None:
    assert bare_strings(script.read_text(encoding="utf-8")) == []
