"""`cdv_core.figures.indicateurs`: what « Indicateurs » shows, from the demo store's query results —
chart encodings and French axis formats, display-table headers, the wording of counts."""

from __future__ import annotations

import polars as pl
import pytest

from cdv_core import charts, fmt
from cdv_core.domain import gaps, model
from cdv_core.figures import indicateurs as fig
from cdv_core.queries import indicateurs as ind
from tests.conftest import DEMO_AU


@pytest.fixture
def dico(demo_cur) -> pl.DataFrame:
    return ind.dictionary(demo_cur, contrat=None, donnees_au=DEMO_AU, max_age_months=24)


def _meta(dico: pl.DataFrame, code: str) -> dict:
    return dico.filter(pl.col("code_indicateur") == code).row(0, named=True)


def _comparison(demo_cur, code: str, reference: str = "EPCI") -> pl.DataFrame:
    return ind.comparison(demo_cur, code_indicateur=code, contrat=None, reference=reference, donnees_au=DEMO_AU)


def test_trajectory_chart_draws_years_and_french_numbers(demo_cur, dico):
    meta = _meta(dico, "CHOM")
    comparison = _comparison(demo_cur, "CHOM")
    focus = comparison["code_qp"][0]
    traj = ind.trajectory(demo_cur, code_indicateur="CHOM", focus=focus, autres=(), donnees_au=DEMO_AU)
    aggregate = ind.aggregate(demo_cur, code_indicateur="CHOM", contrat=None, donnees_au=DEMO_AU)
    lines = fig.trajectory_lines(traj, aggregate, method=aggregate["methode"][0])
    spec = fig.trajectory_chart(lines, ind.markers(comparison, (focus,)), unite=meta["unite"]).to_dict()
    line = spec["layer"][0]["encoding"]
    assert (line["x"]["field"], line["y"]["field"], line["color"]["field"]) == ("date_valeur", "valeur", "serie")
    assert line["x"]["axis"]["format"] == "%Y"
    assert line["y"]["axis"]["format"] == charts.NUMBER_AXIS_FORMAT and line["y"]["title"] == meta["unite"]
    assert spec["config"]["locale"]["number"]["decimal"] == ","
    if len(spec["layer"]) > 1:  # the baseline and targets as shapes, only those drawn in the legend
        assert set(spec["layer"][1]["encoding"]["shape"]["scale"]["domain"]) <= set(fig.SHAPES)


def test_trajectory_cards_and_gap_chart(demo_cur, dico):
    meta = _meta(dico, "CHOM")
    comparison = _comparison(demo_cur, "CHOM")
    row = comparison.row(0, named=True)
    vintage = comparison["date_valeur"].max()
    cards = fig.trajectory_cards(row, meta, reference="EPCI", vintage=vintage)
    assert [c.label for c in cards] == [
        f"Valeur au {fmt.day(vintage)}",
        "Point de départ",
        "Cible",
        ind.GAP_LABELS["EPCI"],
    ]
    assert cards[0].value == f"{fmt.number(row['valeur'], 1)}{ind.display_unit(meta['unite'])}"
    traj = ind.trajectory(demo_cur, code_indicateur="CHOM", focus=row["code_qp"], autres=(), donnees_au=DEMO_AU)
    series = ind.gap_series(traj, focus=row["code_qp"], reference="EPCI", unite=meta["unite"])
    gap_unit = gaps.gap_unit(meta["unite"])
    spec = fig.gap_chart(series, row, gap_unit=gap_unit).to_dict()
    assert spec["layer"][0]["encoding"]["y"]["title"] == f"écart ({gap_unit})"
    assert spec["layer"][0]["encoding"]["tooltip"][1]["format"] == "+,.1f"


def test_comparison_chart_dots_and_reference_ticks(demo_cur, dico):
    meta = _meta(dico, "CHOM")
    known, shown = fig.ranked(_comparison(demo_cur, "CHOM", "commune"))
    assert shown.height == min(known.height, 2 * fig.DOT_PLOT_HALF)
    spec = fig.comparison_chart(shown, unite=meta["unite"], reference="commune").to_dict()
    ticks, points = spec["layer"]
    assert ticks["mark"]["type"] == "tick" and points["mark"]["type"] == "circle"
    assert points["encoding"]["x"]["axis"]["format"] == charts.NUMBER_AXIS_FORMAT
    assert points["encoding"]["tooltip"][2]["title"] == ind.REFERENCE_TYPES["commune"]
    assert fig.comparison_note(reference="commune", shown=shown.height, known=known.height).startswith(
        "Trait noir : commune du quartier"
    )


def test_dictionary_wording_with_one_and_two_indicators(dico):
    assert fig.dictionary_caption(dico.head(1).height, dico.height).startswith(f"1 indicateur sur {dico.height}.")
    assert fig.dictionary_caption(dico.head(2).height, dico.height).startswith(f"2 indicateurs sur {dico.height}.")
    old = dico.with_columns(pl.lit("ancien").alias("fraicheur"))
    assert fig.stale_warning(old.head(1), donnees_au=DEMO_AU).startswith("1 indicateur sans le dernier millésime")
    assert fig.stale_warning(old.head(2), donnees_au=DEMO_AU).startswith("2 indicateurs sans le dernier millésime")
    assert fig.stale_warning(dico.filter(pl.col("fraicheur") == "à jour"), donnees_au=DEMO_AU) is None


def test_breakdown_table_headers_and_chart(demo_cur, dico):
    meta = _meta(dico, "DEFM")
    frame = fig.breakdown_rows(
        ind.breakdowns(demo_cur, code_indicateur="DEFM", contrat=None, donnees_au=DEMO_AU, reference="EPCI")
    )
    sexe = frame.filter(pl.col("dimension") == model.DIMENSION_SEXE)
    decimals = 0 if meta["unite"] == "nb" else 1
    table = fig.breakdown_table(sexe, unite=meta["unite"], decimals=decimals)
    assert table.columns == ["Territoire", "Femmes", "Hommes", "Ensemble", "Écart femmes − hommes", "Date"]
    drawn, kept = fig.breakdown_drawn(sexe, method=frame["methode"][0])
    assert kept <= fig.MAX_CHART_QPV
    spec = fig.breakdown_chart(drawn, unite=meta["unite"], dimension=model.DIMENSION_SEXE, decimals=decimals).to_dict()
    assert spec["encoding"]["color"]["scale"]["range"] == [fig.SEXE_COLORS["femmes"], fig.SEXE_COLORS["hommes"]]
    assert spec["encoding"]["x"]["axis"]["format"] == charts.NUMBER_AXIS_FORMAT
    notes = fig.breakdown_notes(
        sexe,
        unite=meta["unite"],
        dimension=model.DIMENSION_SEXE,
        method=frame["methode"][0],
        kept=kept,
        rows=table.height,
    )
    assert "Écart femmes − hommes" in notes


def test_indicator_caption_says_unit_source_and_gap(dico):
    meta = _meta(dico, "CHOM")
    caption = fig.indicator_caption(meta)
    assert caption.startswith(f"Unité : **{meta['unite']}**") and fmt.day(meta["derniere_date"]) in caption
    assert fig.freshness_warning(meta, donnees_au=DEMO_AU, max_age_months=24) is None  # up to date
