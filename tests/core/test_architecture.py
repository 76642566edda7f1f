"""The layers stay visible (DESIGN.md, « Architecture »): Streamlit only in the app's pages,
`app.py` and `cdv_core/ui`; the pages never talk to DuckDB themselves (they read through
`ui.cached` / `ui.own` and write through `ui.write`)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    """Top-level package names imported anywhere in the file (inside functions too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _python_files(*parts: str) -> list[Path]:
    return sorted(p for p in ROOT.joinpath(*parts).rglob("*.py") if "__pycache__" not in p.parts)


def test_streamlit_stays_in_the_pages_and_the_ui_module():
    allowed = {ROOT / "app.py", *_python_files("pages"), *_python_files("cdv_core", "ui")}
    core = _python_files("cdv_core")
    assert len(core) > 40  # the walk found the package
    leaks = [str(p.relative_to(ROOT)) for p in core if p not in allowed and "streamlit" in _imports(p)]
    assert leaks == []


def test_pages_do_not_talk_to_duckdb():
    pages = [ROOT / "app.py", *_python_files("pages")]
    assert len(pages) >= 10
    assert [str(p.relative_to(ROOT)) for p in pages if "duckdb" in _imports(p)] == []


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f():\n    import streamlit.components.v1 as c\n    from duckdb import connect\n", encoding="utf-8"
    )
    assert _imports(sample) == {"streamlit", "duckdb"}


def _calls(path: Path, names: set[str]) -> list[str]:
    """`st.<name>(…)` calls in the file, for each name of `names`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in names
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "st"
    ]


def test_tables_and_charts_go_through_the_ui_helpers():
    """`ui.table` hands a Polars frame to the browser as Arrow and `ui.chart` skips Altair's
    whole-spec validation and keeps a kept chart's conversion (docs/performance.md): a direct
    `st.dataframe` or `st.altair_chart` would pay them again."""
    files = [ROOT / "app.py", *_python_files("pages"), *_python_files("cdv_core", "ui")]
    helpers = ROOT / "cdv_core" / "ui" / "widgets.py"
    direct = {
        str(p.relative_to(ROOT)): found
        for p in files
        if p != helpers and (found := _calls(p, {"dataframe", "altair_chart"}))
    }
    assert direct == {}  # (the séance's charts are Vega-Lite specs already: `st.vega_lite_chart`)
    assert sorted(_calls(helpers, {"dataframe", "altair_chart", "vega_lite_chart"})) == ["dataframe", "vega_lite_chart"]


def _relation_frames(path: Path) -> list[int]:
    """Lines of `<x>.sql(…).pl()` in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "pl"
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Attribute)
        and node.value.func.attr == "sql"
    ]


def test_frames_are_read_with_execute_not_through_a_relation(tmp_path):
    """`cur.sql(q, params=…).pl()` was 4 to 5 times slower than `cur.execute(q, params).pl()` on big
    results (DuckDB 1.5.5; docs/architecture.md, « Rules »)."""
    found = {str(p.relative_to(ROOT)): lines for p in _python_files("cdv_core") if (lines := _relation_frames(p))}
    assert found == {}
    sample = tmp_path / "sample.py"
    sample.write_text("def f(cur):\n    return cur.sql('SELECT 1', params={}).pl()\n", encoding="utf-8")
    assert _relation_frames(sample) == [2]


IN_PLACE = {"insert_column", "replace_column"}  # Polars frame methods that only change the frame in place


def _in_place_changes(path: Path) -> list[int]:
    """Lines that change a Polars frame in place: its in-place methods, `in_place=True`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return sorted(
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Attribute) and node.func.attr in IN_PLACE)
            or any(
                k.arg == "in_place" and isinstance(k.value, ast.Constant) and k.value.value is True
                for k in node.keywords
            )
        )
    )


def test_no_frame_is_changed_in_place(tmp_path):
    """A read's frames and the figures kept by `cdv_core.memo` are shared by the sessions and
    named by a content tag (docs/architecture.md, « How a figure travels »): a frame changed in
    place would show another session stale or foreign figures."""
    files = [ROOT / "app.py", *_python_files("pages"), *_python_files("cdv_core")]
    found = {str(p.relative_to(ROOT)): lines for p in files if (lines := _in_place_changes(p))}
    assert found == {}
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f(a, b):\n    a.insert_column(0, b)\n    a.vstack(b, in_place=True)\n    return a.vstack(b)\n",
        encoding="utf-8",
    )
    assert _in_place_changes(sample) == [2, 3]
