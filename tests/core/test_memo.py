"""Figures built once per content (`cdv_core.memo.by_content`) and the chart conversion kept on the
chart (`ui.chart`)."""

from __future__ import annotations

import dataclasses
import json
from datetime import date

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from cdv_core import memo
from cdv_core.figures import financements as fig


def _counted():
    calls = []

    @memo.by_content
    def build(frame, *, label="x"):
        calls.append(1)
        return frame.with_columns(pl.lit(str(label)).alias("label"))

    return build, calls


def test_same_content_is_built_once_and_any_change_builds_again():
    build, calls = _counted()
    frame = pl.DataFrame({"code": ["A", "B"], "montant": [1.5, None]})
    first = build(frame)
    again = build(pl.DataFrame({"code": ["A", "B"], "montant": [1.5, None]}))  # equal content, another object
    assert again is first and len(calls) == 1
    changed = [
        pl.DataFrame({"code": ["A", "B"], "montant": [1.5, 0.0]}),  # a null became a value
        pl.DataFrame({"code": ["B", "A"], "montant": [None, 1.5]}),  # same rows, other order
        pl.DataFrame({"code": ["A", "B"], "montant": [1, None]}),  # another dtype
        pl.DataFrame({"code": ["A", "B"], "total": [1.5, None]}),  # another column name
        pl.DataFrame({"code": ["A"], "montant": [1.5]}),
    ]
    for other in changed:
        assert build(other)["code"].to_list() == other["code"].to_list()
    assert len(calls) == 1 + len(changed)
    build(frame, label="y")
    assert len(calls) == 2 + len(changed)
    assert build(frame, label="y")["label"].to_list() == ["y", "y"]
    assert len(calls) == 2 + len(changed)


def test_plain_values_containers_and_dataclasses_are_told_apart():
    @dataclasses.dataclass(frozen=True)
    class Sel:
        annee: int | None
        flag: bool

    seen = []

    @memo.by_content
    def echo(value):
        seen.append(value)
        return value

    values = [1, True, 1.0, "1", None, date(2024, 1, 1), (1,), [1], {"a": 1}, {"a": "1"}, Sel(1, True), Sel(1, False)]
    for value in values + values:
        assert echo(value) == value
    assert seen == values  # the second pass built nothing, and no two values shared a result


def test_an_argument_without_digest_runs_the_function_every_time():
    build, calls = _counted()

    class Opaque:
        pass

    frame = pl.DataFrame({"code": ["A"]})
    build(frame, label=Opaque())
    build(frame, label=Opaque())
    objects = pl.DataFrame({"o": [Opaque()]}, schema={"o": pl.Object})
    build(objects)
    build(objects)
    assert len(calls) == 4


def test_the_oldest_results_go_beyond_the_budget(monkeypatch):
    build, calls = _counted()
    frames = [pl.DataFrame({"n": list(range(1000))}).with_columns(pl.col("n") + i) for i in range(3)]
    monkeypatch.setattr(memo, "BUDGET_BYTES", int(frames[0].estimated_size() * 2.5))
    for frame in frames:
        build(frame)
    build(frames[2])
    build(frames[1])
    assert len(calls) == 3
    build(frames[0])  # dropped when the third came in
    assert len(calls) == 4


def test_results_of_plain_values_are_kept_up_to_a_count(monkeypatch):
    seen = []

    @memo.by_content
    def label(year):
        seen.append(year)
        return f"Exercice {year}"

    monkeypatch.setattr(memo, "MAX_KEPT", 2)
    for year in (2024, 2025, 2026, 2026, 2025):
        label(year)
    assert seen == [2024, 2025, 2026]
    label(2024)  # dropped when 2026 came in: weightless results do not pile up
    assert seen == [2024, 2025, 2026, 2024]


def test_a_tagged_frame_is_known_by_its_tag_and_a_derived_frame_by_its_rows():
    build, calls = _counted()
    read = pl.DataFrame({"code": ["A", "B"]})
    memo.tag(read, b"read:v1")
    same_read = pl.DataFrame({"code": ["A", "B"]})
    memo.tag(same_read, b"read:v1")
    assert build(same_read) is build(read) and len(calls) == 1
    rewritten = pl.DataFrame({"code": ["A", "B"]})  # the same rows read at another data version
    memo.tag(rewritten, b"read:v2")
    build(rewritten)
    assert len(calls) == 2
    derived = read.filter(pl.col("code") == "A")  # Polars gives a derived frame no tag
    assert memo._TAG not in derived.__dict__
    assert build(derived)["code"].to_list() == ["A"] and len(calls) == 3
    assert build(pl.DataFrame({"code": ["A"]})) is build(derived) and len(calls) == 3  # by its rows


def test_tags_reach_the_frames_inside_a_result_each_by_its_place():
    @dataclasses.dataclass
    class Detail:
        actions: pl.DataFrame

    frames = [pl.DataFrame({"n": [i]}) for i in range(4)]
    memo.tag({"a": frames[0], "b": [frames[1], (frames[2],)], "c": Detail(frames[3]), "d": 1}, b"read:k")
    tags = [f.__dict__[memo._TAG] for f in frames]
    assert len(set(tags)) == 4 and all(t.startswith(b"read:k") for t in tags)


def test_a_kept_frame_is_tagged_so_the_next_figure_does_not_hash_it(monkeypatch):
    build, calls = _counted()
    table = build(pl.DataFrame({"code": ["A", "B"]}))
    assert table.__dict__[memo._TAG].startswith(f"{build.__module__}.".encode())
    hashed = []
    monkeypatch.setattr(memo, "_hashes", lambda method: hashed.append(method) or b"")
    build(table)
    assert not hashed and len(calls) == 2


def test_a_read_is_named_by_its_function_arguments_store_and_data_version():
    """`ui.cached` tags what a read returns with this token: any write (a new version and version
    token) names its frames anew. tests/pages/test_gouvernance.py sees a figure follow a write."""
    from cdv_core import access, settings
    from cdv_core.ui.context import Context, read_token

    ctx = Context(
        "/base.duckdb",
        7,
        None,
        "Tous les contrats",
        date(2026, 11, 15),
        None,
        settings.load(),
        access.local_user("test"),
        "jeton",
    )
    args = (("contrat", "CV-1"), ("annee", 2026))
    token = read_token(ctx, "cdv_core.queries.x.f", args, None)
    assert token == read_token(dataclasses.replace(ctx), "cdv_core.queries.x.f", args, None)
    others = [
        read_token(dataclasses.replace(ctx, version=ctx.version + 1), "cdv_core.queries.x.f", args, None),
        read_token(dataclasses.replace(ctx, version_token="autre"), "cdv_core.queries.x.f", args, None),
        read_token(dataclasses.replace(ctx, store_path="/autre.duckdb"), "cdv_core.queries.x.f", args, None),
        read_token(ctx, "cdv_core.queries.x.g", args, None),
        read_token(ctx, "cdv_core.queries.x.f", (("contrat", "CV-2"), ("annee", 2026)), None),
        read_token(ctx, "cdv_core.queries.x.f", args, "a1b2"),
    ]
    assert None not in others and len({token, *others}) == 1 + len(others)
    assert read_token(ctx, "cdv_core.queries.x.f", (("objet", object()),), None) is None


def test_a_figure_function_returns_the_same_chart_for_the_same_rows():
    rows = {"financeur": ["État", "Ville"], "annee": [2024, 2025], "accorde": [1000.0, 2500.0]}
    by_year = pl.DataFrame(rows)
    chart = fig.funder_year_chart(by_year)
    assert fig.funder_year_chart(pl.DataFrame(rows)) is chart
    assert fig.funder_year_chart.uncached(by_year) is not chart


def _two_charts():
    import polars as pl
    import streamlit as st

    from cdv_core import ui
    from cdv_core.figures import financements as fig

    by_year = pl.DataFrame({"financeur": ["État", "Ville"], "annee": [2024, 2025], "accorde": [1000.0, 2500.0]})
    st.altair_chart(fig.funder_year_chart.uncached(by_year), width="stretch")
    ui.chart(fig.funder_year_chart(by_year), width="stretch", key="kept")


@pytest.mark.parametrize("runs", [1, 2])
def test_ui_chart_sends_what_streamlit_sends_for_the_chart_also_when_kept(runs):
    at = AppTest.from_function(_two_charts, default_timeout=30)
    for _ in range(runs):  # the second run draws the kept chart from its kept conversion
        at.run()
    assert not at.exception
    plain, kept = at.get("vega_lite_chart")
    assert json.loads(kept.proto.spec) == json.loads(plain.proto.spec)
    assert [(d.name, d.data.data) for d in kept.proto.datasets] == [(d.name, d.data.data) for d in plain.proto.datasets]
    assert kept.proto.datasets and kept.proto.theme == plain.proto.theme == "streamlit"


def test_a_query_several_reads_call_runs_once_per_data_version():
    calls = []

    @memo.per_version
    def cadence(cur, *, contrat, annee=None):
        calls.append((contrat, annee))
        return pl.DataFrame({"contrat": [contrat]})

    cadence(None, contrat="CV-1")
    cadence(None, contrat="CV-1")
    assert len(calls) == 2  # outside a read (imports, exports, reports): it simply runs
    with memo.reading(b"v1"):
        first = cadence(None, contrat="CV-1")
        assert cadence(None, contrat="CV-1") is first and len(calls) == 3
        cadence(None, contrat="CV-1", annee=2026)
        cadence(None, contrat="CV-2")
        assert len(calls) == 5
    with memo.reading(b"v2"):  # a write: another version computes it anew
        assert cadence(None, contrat="CV-1") is not first and len(calls) == 6
    with memo.reading(None):
        cadence(None, contrat="CV-1")
    assert len(calls) == 7
