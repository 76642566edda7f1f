"""The layout of `cdv_core/ingest/`: stages that import only the stages before them (no cycle, no
import inside a function to avoid one), a registry of file kinds, detection driven by `spec`
data alone, one French number reader."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from cdv_core.ingest import detect, kinds, numbers, spec
from cdv_core.ingest.spec_types import Col, Kind
from tests.conftest import ROOT

INGEST = ROOT / "cdv_core" / "ingest"
MODULES = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__") for p in INGEST.rglob("*.py")
)


def _ingest_imports(path: Path) -> tuple[set[str], list[str]]:
    """(modules of cdv_core.ingest imported at the top of `path`, cdv_core modules imported inside a function)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cdv_core.ingest"):
            top.add(node.module)
            top.update(f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in MODULES)
    inner = [
        n.module or ""
        for f in ast.walk(tree)
        if isinstance(f, ast.FunctionDef)
        for n in ast.walk(f)
        if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("cdv_core")
    ]
    return {m for m in top if m in MODULES}, inner


def test_the_stages_import_no_cycle_and_nothing_inside_a_function():
    graph = {}
    for path in INGEST.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        top, inner = _ingest_imports(path)
        assert not inner, f"{name} imports {inner} inside a function"
        graph[name] = top - {name, "cdv_core.ingest"}
    done: set[str] = set()

    def visit(node: str, path: tuple[str, ...]) -> None:
        assert node not in path, " → ".join((*path, node))
        if node in done:
            return
        for nxt in graph.get(node, ()):
            visit(nxt, (*path, node))
        done.add(node)

    for module in graph:
        if module != "cdv_core.ingest":  # the package's public API imports every stage
            visit(module, ())


@pytest.mark.parametrize("module", MODULES)
def test_each_module_imports_alone(module):
    out = subprocess.run(
        [sys.executable, "-c", f"import {module}"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr


def test_every_registered_kind_is_a_kind_of_spec():
    assert set(kinds.BUILDERS) <= set(spec.KINDS)
    assert set(kinds.COLUMNS) <= set(spec.KINDS)
    assert kinds.columns_step("insee") is not kinds.columns_step("contrats")
    assert kinds.builder("contrats") is kinds.template.build


def test_a_kind_added_to_spec_with_synonyms_is_detected(monkeypatch):
    new = Kind(
        "essai",
        "Essai",
        "poste",
        ("id_essai",),
        (Col("id_essai", "texte", True), Col("montant", "montant", True), Col("employeur", "texte", False)),
        synonyms={"id_essai": ("numero d essai",), "montant": ("mt engage",), "employeur": ("raison sociale longue",)},
    )
    monkeypatch.setitem(spec.KINDS, "essai", new)
    headers = ["Numéro d'essai", "Mt engagé", "Raison sociale longue"]
    assert detect.detect_kind(headers) == "essai"
    assert detect.map_headers(new, headers) == dict(zip(headers, ["id_essai", "montant", "employeur"], strict=True))


def test_one_french_number_reader():
    cells = ["22 555,73", "22555,73 €", "22\u202f555,73\u00a0€", "1.234,56", "12,5 %", "-3", "abc", None]
    read = pl.DataFrame({"v": cells}).select(numbers.parse_number(pl.col("v")))["v"].to_list()
    assert read == [22555.73, 22555.73, 22555.73, 1234.56, 12.5, -3.0, None, None]
