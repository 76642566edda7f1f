"""« Actions et financements » in AppTest: figures from the queries, filters in the URL, downloads."""

from __future__ import annotations

import io
from datetime import date

import duckdb
import polars as pl
import pytest

from cdv_core import fmt
from cdv_core.figures import financements as fig_fin
from cdv_core.queries import financements as fin
from tests.conftest import DEMO_AU, metric, run_app


def _query(store_path, fn, **kwargs):
    con = duckdb.connect(str(store_path))  # same configuration as the app in this process
    try:
        return fn(con.cursor(), **kwargs)
    finally:
        con.close()


def test_page_shows_the_query_figures(app_env):
    at = run_app("financements")
    assert not at.exception, at.exception
    annee = DEMO_AU.year
    counts = _query(app_env, fin.action_counts, contrat=None, annee=annee)
    totals = _query(app_env, fin.funding_totals, contrat=None, annee=annee)
    assert metric(at, "Actions").value == fmt.integer(counts["actions"])
    assert metric(at, "Porteurs").value == fmt.integer(counts["porteurs"])
    assert metric(at, "Montant accordé").value == fmt.euros_compact(totals["accorde"])
    assert metric(at, "Crédits P147 en CPO").value == fmt.percent(totals["part_cpo"])
    assert metric(at, "Petites associations").value == fmt.percent(totals["part_petites_assos"])
    assert at.query_params["fin_annee"] == [str(annee)] or at.query_params["fin_annee"] == str(annee)
    assert len(at.get("vega_lite_chart")) == 4


def test_filters_change_figures_and_go_to_the_url(app_env):
    at = run_app("financements")
    before = metric(at, "Actions").value
    at.multiselect(key="fin_mode").set_value(["CPO"]).run()
    assert not at.exception, at.exception
    totals = _query(app_env, fin.funding_totals, contrat=None, annee=DEMO_AU.year, modes=("CPO",))
    counts = _query(app_env, fin.action_counts, contrat=None, annee=DEMO_AU.year, modes=("CPO",))
    assert metric(at, "Actions").value == fmt.integer(counts["actions"]) != before
    assert metric(at, "Montant accordé").value == fmt.euros_compact(totals["accorde"])
    assert metric(at, "Crédits P147 en CPO").value == fmt.percent(1.0)  # only CPO actions left
    assert "CPO" in str(at.query_params["fin_mode"])
    at.selectbox(key="fin_annee").set_value("tous").run()
    all_years = _query(app_env, fin.action_counts, contrat=None, annee=None, modes=("CPO",))
    assert metric(at, "Actions").value == fmt.integer(all_years["actions"])
    assert "contrat" in at.query_params and "au" in at.query_params  # bootstrap's keys untouched


class _Recording:
    """A connection whose cursors note every statement they run (`statements`)."""

    def __init__(self, con, statements: list[str]):
        self._con, self._statements = con, statements

    def cursor(self):
        return _RecordingCursor(self._con.cursor(), self._statements)

    def __getattr__(self, name):
        return getattr(self._con, name)


class _RecordingCursor(_Recording):
    def execute(self, query, *args, **kwargs):
        self._statements.append(str(query))
        return self._con.execute(query, *args, **kwargs)


def test_with_no_filter_the_page_reuses_the_overviews_totals_and_alerts(app_env, monkeypatch):
    """The overview asks the funding totals, the action count and three alert lists with no filter;
    the page, with none chosen, asks them under the same spelling (filters left out, not empty), so
    that they are computed once per data version for both (`memo.per_version`)."""
    from cdv_core.ui import context

    statements: list[str] = []
    real = context.connection
    monkeypatch.setattr(context, "connection", lambda path: _Recording(real(path), statements))
    at = run_app()  # the overview
    assert not at.exception, at.exception
    overview = len(statements)
    at.switch_page("pages/financements.py")
    at.run()
    assert not at.exception, at.exception
    assert len(statements) > overview  # the page read its own figures (charts, table)
    bodies = {  # a phrase of each function's statement, found in no other
        "funding_totals": "s.mode_financement = 'CPO'), 0)",
        "action_counts": "count(DISTINCT id_porteur) FILTER",
        "unpaid_summary": "FROM lignes l WHERE",
        "overpaid_lines": "l.montant_verse > l.montant_accorde",
        "ended_without_status": "statut IN ('accordée', 'en cours') AND date_fin < $au",
    }
    runs = {name: sum(phrase in s for s in statements) for name, phrase in bodies.items()}
    assert runs == dict.fromkeys(bodies, 1)


def test_shared_link_sets_the_filters(app_env):
    at = run_app(
        "financements", query={"fin_annee": "2025", "fin_mode": "AAP", "fin_them": "1.1", "contrat": "CV-DEMO-VERM"}
    )
    assert not at.exception, at.exception
    assert at.selectbox(key="fin_annee").value == "2025"
    assert at.multiselect(key="fin_mode").value == ["AAP"]
    assert at.multiselect(key="fin_them").value == ["1.1"]
    counts = _query(
        app_env, fin.action_counts, contrat="CV-DEMO-VERM", annee=2025, modes=("AAP",), thematiques=("1.1",)
    )
    assert metric(at, "Actions").value == fmt.integer(counts["actions"])


def test_qpv_filter_and_drill_down(app_env):
    at = run_app("financements", query={"contrat": "CV-DEMO-BRE"})
    con = duckdb.connect(str(app_env))
    qpv, code = con.execute(
        """SELECT aq.code_qp, aq.code_action FROM action_quartier aq JOIN action a USING (code_action)
           WHERE a.code_contrat = 'CV-DEMO-BRE' AND a.annee_debut <= 2026 AND a.annee_fin >= 2026
             AND aq.code_action IN (SELECT code_action FROM action_quartier GROUP BY 1 HAVING count(*) > 1)
           ORDER BY 2, 1 LIMIT 1"""
    ).fetchall()[0]
    con.close()
    at.multiselect(key="fin_qpv").set_value([qpv]).run()
    totals = _query(app_env, fin.funding_totals, contrat="CV-DEMO-BRE", annee=2026, qpv=(qpv,))
    assert metric(at, "Montant accordé").value == fmt.euros_compact(totals["accorde"])
    at.selectbox(key="fin_action").set_value(code).run()
    assert not at.exception, at.exception
    qpv_table = next(d.value for d in at.dataframe if "Part déclarée" in d.value.columns)
    assert qpv_table.shape[0] == 2 and qpv in qpv_table["QPV"].to_list()
    assert at.query_params["fin_action"] in (code, [code])
    assert any("Historique des statuts" in c.value for c in at.caption)


def test_downloads_parse_back_to_the_same_rows(app_env, deferred):
    at = run_app("financements", query={"contrat": "CV-DEMO-VERM"})
    assert not at.exception, at.exception
    expected = fig_fin.actions_table(_query(app_env, fin.action_rows, contrat="CV-DEMO-VERM", annee=DEMO_AU.year))
    buttons = {b.proto.id.rsplit("-", 1)[-1]: b for b in at.get("download_button")}
    csv_bytes = deferred(buttons["fin_dl_csv"])
    assert csv_bytes.startswith(b"\xef\xbb\xbf")  # BOM for Excel
    csv = pl.read_csv(io.BytesIO(csv_bytes), separator=";", decimal_comma=True, infer_schema_length=None)
    assert csv.columns == expected.columns
    assert csv.height == expected.height > 0
    assert csv["Code action"].to_list() == expected["Code action"].to_list()
    assert csv["Accordé (€)"].to_list() == pytest.approx(expected["Accordé (€)"].to_list())
    assert csv["Versé (€)"].sum() == pytest.approx(expected["Versé (€)"].sum())
    xlsx = pl.read_excel(io.BytesIO(deferred(buttons["fin_dl_xlsx"])), engine="openpyxl")
    assert xlsx.height == expected.height
    assert xlsx["Code action"].to_list() == expected["Code action"].to_list()
    assert xlsx["Demandé (€)"].to_list() == pytest.approx(expected["Demandé (€)"].to_list())


def test_formula_cells_are_neutralised(app_env, deferred):
    con = duckdb.connect(str(app_env))
    con.execute(
        """INSERT INTO porteur (id_porteur, nom, type_structure) VALUES ('LOC-X', '@SOMME(A1)', 'entreprise')"""
    )
    con.execute("""INSERT INTO action (code_action, code_contrat, id_porteur, libelle, thematique, mode_financement,
                   annee_debut, annee_fin, statut) VALUES
                   ('A-FORMULE', 'CV-DEMO-MONT', 'LOC-X', '=HYPERLINK("http://x")', '1.1', 'AAP',
                    2026, 2026, 'accordée')""")
    con.execute(
        """INSERT INTO financement (code_action, financeur, annee, montant_demande, montant_accorde, date_decision)
                   VALUES ('A-FORMULE', 'commune', 2026, 1000, 1000, $d)""",
        {"d": date(2026, 4, 1)},
    )
    con.close()
    at = run_app("financements", query={"contrat": "CV-DEMO-MONT"})
    assert not at.exception, at.exception
    buttons = {b.proto.id.rsplit("-", 1)[-1]: b for b in at.get("download_button")}
    csv = pl.read_csv(io.BytesIO(deferred(buttons["fin_dl_csv"])), separator=";", decimal_comma=True)
    row = csv.filter(pl.col("Code action") == "A-FORMULE").row(0, named=True)
    assert row["Action"] == '\'=HYPERLINK("http://x")'
    assert row["Porteur"] == "'@SOMME(A1)"
    xlsx = pl.read_excel(io.BytesIO(deferred(buttons["fin_dl_xlsx"])), engine="openpyxl")
    assert xlsx.filter(pl.col("Code action") == "A-FORMULE")["Action"].item().startswith("'=")


def test_filters_survive_a_page_change_and_follow_the_contract(app_env):
    at = run_app("financements", query={"contrat": "CV-DEMO-BRE"})
    code_qp = _query(app_env, fin.filter_options, contrat="CV-DEMO-BRE")["quartiers"]["code_qp"][0]
    at.multiselect(key="fin_mode").set_value(["AAP"])
    at.multiselect(key="fin_qpv").set_value([code_qp]).run()
    assert at.multiselect(key="fin_qpv").value == [code_qp]
    at.switch_page("pages/vue_ensemble.py").run()
    at.switch_page("pages/financements.py").run()
    assert not at.exception, at.exception
    assert at.multiselect(key="fin_mode").value == ["AAP"]
    assert at.multiselect(key="fin_qpv").value == [code_qp]
    at.sidebar.selectbox(key="sidebar_contrat").set_value("CV-DEMO-MONT").run()  # the QPV is not in this contract
    assert not at.exception, at.exception
    assert at.multiselect(key="fin_qpv").value == [] and at.multiselect(key="fin_mode").value == ["AAP"]
