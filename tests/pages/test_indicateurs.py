"""« Indicateurs » page (AppTest on the demo store): latest value shown, secret values never plotted."""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa
import pytest

from cdv_core.domain import model
from tests.conftest import metric, run_app

PAGE = "indicateurs"


def _choose(at, indicateur: str, qpv: str):
    at.selectbox(key="indic_indicateur").set_value(indicateur)
    at.run()
    at.selectbox(key="indic_qpv").set_value(qpv)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _table(at, column: str):
    """The one dataframe shown with this column (AppTest does not expose dataframe keys)."""
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert len(found) == 1
    return found[0]


def _chart_rows(chart) -> list[dict]:
    """Every row the chart ships to the browser: Arrow datasets plus any inline spec datasets."""
    rows = []
    for dataset in chart.proto.datasets:
        rows += pa.ipc.open_stream(dataset.data.data).read_all().to_pylist()
    spec = json.loads(chart.proto.spec)
    for values in (spec.get("datasets") or {}).values():
        rows += values
    return rows


def _sql(store, q, params):
    con = duckdb.connect(str(store))  # same configuration as the app's in-process connection
    try:
        return con.execute(q, params).fetchall()
    finally:
        con.close()


def test_page_renders_without_error(app_env):
    at = run_app(PAGE)
    assert not at.exception and not at.error
    assert len(at.get("vega_lite_chart")) >= 2


def test_choosing_an_indicator_and_a_qpv_shows_its_latest_value(app_env):
    at = _choose(run_app(PAGE), "REVMED", "QN00286N")
    # independent query: the latest vintage of the selection and this QPV's value at it
    ((latest, value),) = _sql(
        app_env,
        """
        SELECT d, (SELECT valeur FROM valeur_indicateur WHERE code_indicateur = 'REVMED' AND type_territoire = 'QPV'
                   AND code_territoire = 'QN00286N' AND date_valeur = d)
        FROM (SELECT max(date_valeur) AS d FROM valeur_indicateur
              WHERE code_indicateur = 'REVMED' AND type_territoire = 'QPV')""",
        {},
    )
    assert value is not None
    card = metric(at, "Valeur au ", prefix=True)
    assert card.label == f"Valeur au {latest:%d/%m/%Y}"
    expected = f"{value:,.1f}".replace(",", "\u202f").replace(".", ",") + "\u00a0€"
    assert card.value == expected


def test_a_secret_latest_value_shows_its_reason(app_env):
    # a QPV whose latest value of an indicator is missing (secret statistique first, else « ns »/« nd »):
    # the demo draws these where real data have them (small QPV, surveys), not at a fixed place
    found = _sql(
        app_env,
        """SELECT code_indicateur, code_territoire, secret FROM valeur_indicateur v
        WHERE type_territoire = 'QPV' AND secret IS NOT NULL
          AND date_valeur = (SELECT max(date_valeur) FROM valeur_indicateur w WHERE w.type_territoire = 'QPV'
                             AND w.code_indicateur = v.code_indicateur AND w.code_territoire = v.code_territoire)
        ORDER BY secret = 's' DESC, code_indicateur, code_territoire LIMIT 1""",
        {},
    )
    assert found, "the demo store should have a QPV whose latest value is missing"
    ((code, qpv, secret),) = found
    at = _choose(run_app(PAGE), code, qpv)
    assert metric(at, "Valeur au ", prefix=True).value == model.SECRET_MARKERS[secret]


def test_secret_values_are_absent_from_the_plotted_data(app_env):
    at = _choose(run_app(PAGE), "REVMED", "QN00286N")
    secret_dates = {
        d
        for (d,) in _sql(
            app_env,
            """SELECT date_valeur FROM valeur_indicateur
        WHERE code_indicateur = 'REVMED' AND type_territoire = 'QPV' AND code_territoire = 'QN00286N'
          AND valeur IS NULL""",
            {},
        )
    }
    assert secret_dates, "the demo store should have a suppressed value for this QPV"
    ((libelle,),) = _sql(app_env, "SELECT libelle FROM quartier WHERE code_qp = 'QN00286N'", {})
    charts = at.get("vega_lite_chart")
    trajectory = _chart_rows(charts[0])
    qpv_rows = [r for r in trajectory if r.get("serie") == libelle and r.get("type_serie") == "QPV"]
    assert len(qpv_rows) == 10 - len(secret_dates)  # 10 yearly values, the suppressed ones left out
    assert (
        not {r["date_valeur"].date() if hasattr(r["date_valeur"], "date") else r["date_valeur"] for r in qpv_rows}
        & secret_dates
    )
    for chart in charts:  # nothing drawn as a null (let alone a 0) in any chart
        for row in _chart_rows(chart):
            for key in ("valeur", "ecart"):
                if key in row:
                    assert row[key] is not None
    # …and the suppressed points are listed beside the chart, with their reason
    missing = _table(at, "Motif")
    assert "secret statistique" in set(missing["Motif"])


@pytest.mark.parametrize("reference", ["commune", "France"])
def test_reference_territory_switch(app_env, reference):
    at = _choose(run_app(PAGE), "PAUV", "QN00281M")
    at.radio(key="indic_reference").set_value(reference)
    at.run()
    assert not at.exception
    label = {"commune": "Écart à la commune", "France": "Écart à la France"}[reference]
    assert metric(at, "Écart à", prefix=True).label == label


def test_dictionary_search(app_env):
    at = run_app(PAGE)
    at.text_input(key="indic_recherche").set_value("education").run()
    libelles = set(_table(at, "Fraîcheur")["Libellé"])
    assert libelles and all(
        x
        in {
            "Jeunes ni en emploi ni en formation",
            "Élèves de 6e en retard",
            "Taux de réussite au diplôme national du brevet",
        }
        for x in libelles
    )


def test_an_indicator_without_any_value(app_env):
    con = duckdb.connect(str(app_env))
    con.execute("""INSERT INTO indicateur (code_indicateur, libelle, unite, sens, source, axe, agregation)
                   VALUES ('VIDE', 'Indicateur encore jamais mesuré', '%', 'hausse', 'test', 'Santé',
                           'moyenne pondérée')""")
    con.close()
    at = run_app(PAGE)
    at.selectbox(key="indic_indicateur").set_value("VIDE").run()
    assert not at.exception, [e.value for e in at.exception]
    assert metric(at, "Dernière valeur", prefix=True).value == "aucune valeur"
    assert any("Aucune valeur de cet indicateur" in w.value for w in at.warning)


def test_contract_selection_limits_the_comparison(app_env):
    at = run_app(PAGE, query={"contrat": "CV-DEMO-BRE"})
    assert not at.exception
    ((n,),) = _sql(app_env, "SELECT count(*) FROM quartier WHERE code_contrat = 'CV-DEMO-BRE'", {})
    assert len(_table(at, "Écart au départ")) == n
