"""« Actions et financements »: defects found by the UX tour (empty cells, an overview alert that led
nowhere, empty selections drawing broken charts, objectives listed twice)."""

from __future__ import annotations

import io
import json
from datetime import date

import duckdb
import polars as pl
import pytest

from cdv_core import fmt
from cdv_core.figures import financements as fig_fin
from cdv_core.queries import financements as fin
from cdv_core.queries import overview
from tests.conftest import insert, minimal_contract, open_alert_tab, run_app

VERM = "CV-DEMO-VERM"
OVERPAID = "Lignes de financement dont le versé dépasse l'accordé"
EMPTY_QUERY = {"contrat": VERM, "fin_annee": "tous", "fin_fin": "CAF", "fin_them": "4.2"}


def _sql(store_path, q: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(store_path))
    try:
        return con.execute(q, params or []).fetchall()
    finally:
        con.close()


def _table_with(at, column: str):
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert found, f"pas de tableau avec la colonne « {column} »"
    return found[0]


def _specs(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


# --- 1. empty cells ---------------------------------------------------------------------------


def test_empty_text_cells_show_a_dash_not_none(app_env, deferred):
    # The demo's identifiers are all valid: give one porteur no identifier and another an invalid
    # SIRET, both without RNA, as real files have.
    (no_siret, porteur), (_, bad) = _sql(
        app_env,
        """SELECT min(code_action), id_porteur FROM action WHERE code_contrat = ? AND annee_debut = 2026
                    GROUP BY id_porteur ORDER BY 1 LIMIT 2""",
        [VERM],
    )
    _sql(app_env, "UPDATE porteur SET siret = NULL, rna = NULL WHERE id_porteur = ?", [porteur])
    _sql(app_env, "UPDATE porteur SET siret = '12345678901234', rna = NULL WHERE id_porteur = ?", [bad])
    at = run_app("financements", query={"contrat": VERM})
    assert not at.exception, at.exception
    open_alert_tab(at, "SIRET invalides")
    for shown in at.dataframe:  # no table of the page shows a raw empty cell (« None »)
        assert not shown.value.isna().any().any(), shown.value.columns.tolist()
    sirets = _table_with(at, "RNA")  # alert « SIRET invalides »: the demo porteur has no RNA
    expected = _sql(app_env, """SELECT count(*) FROM porteur WHERE rna IS NULL AND nom = ?""", [sirets["Porteur"][0]])[
        0
    ][0]
    assert expected == 1 and sirets["RNA"].tolist()[0] == "—"
    actions = _table_with(at, "Type de porteur")  # the actions table
    row = actions[actions["Code action"] == no_siret]
    assert row.shape[0] == 1 and row["SIRET"].tolist() == ["—"]
    # the downloads keep a real empty cell
    button = next(
        b
        for b in at.get("download_button")
        if b.proto.label == "Télécharger (CSV)" and b.proto.id.endswith("fin_dl_csv")
    )
    csv = pl.read_csv(io.BytesIO(deferred(button)), separator=";", decimal_comma=True, infer_schema_length=None)
    assert csv.filter(pl.col("Code action") == no_siret)["SIRET"].to_list() == [None]


def test_the_open_alert_tab_stays_open_when_a_filter_changes_its_count(app_env):
    at = run_app("financements", query={"contrat": VERM})
    assert not any("Fin prévue" in d.value.columns for d in at.dataframe)  # the first tab opens
    open_alert_tab(at, "Terminées sans statut final")
    before = [t.label for t in at.tabs]
    assert _table_with(at, "Fin prévue").shape[0] > 0
    at.multiselect(key="fin_fin").set_value(["CAF"]).run()
    assert not at.exception, at.exception
    labels = [t.label for t in at.tabs]
    assert labels != before and labels[2].startswith("Terminées sans statut final")
    assert at.session_state["fin_alertes"] == labels[2]  # the same tab, under its new count
    assert not any("Code action" in d.value.columns and "Financeur" in d.value.columns for d in at.dataframe)
    _table_with(at, "Fin prévue")


# --- 2. versé above accordé: one function for the overview's count and the page's list ---------


@pytest.fixture
def overpaid_store(empty_store):
    con = empty_store
    minimal_contract(con, "CV-T", qpv=("QN07511M",))
    insert(con, "porteur", [{"id_porteur": "P1", "nom": "Asso", "type_structure": "association avec salariés"}])
    insert(
        con,
        "action",
        [
            {
                "code_action": c,
                "code_contrat": "CV-T",
                "libelle": f"Action {c}",
                "id_porteur": "P1",
                "thematique": "1.1",
                "mode_financement": "AAP",
                "annee_debut": 2025,
                "annee_fin": 2025,
                "statut": "en cours",
            }
            for c in ("A1", "A2")
        ],
    )

    def line(code, financeur, accorde, verse):
        return {
            "code_action": code,
            "financeur": financeur,
            "annee": 2025,
            "montant_demande": 5000,
            "montant_accorde": accorde,
            "montant_verse": verse,
            "date_decision": date(2025, 3, 1),
        }

    insert(
        con,
        "financement",
        [
            line("A1", "État P147", 1000, 1250),  # 250 € over
            line("A1", "commune", 2000, 2000),  # equal: fine
            line("A2", "CAF", 300, 1300),  # 1 000 € over
            line("A2", "région", None, 50),  # no accordé: not compared
            line("A2", "département", 800, None),  # nothing paid
        ],
    )
    return con


def test_overpaid_lines_on_a_handmade_store(overpaid_store):
    cur = overpaid_store.cursor()
    lines = fin.overpaid_lines(cur, contrat="CV-T")
    assert lines.select("code_action", "financeur", "annee").rows() == [("A2", "CAF", 2025), ("A1", "État P147", 2025)]
    assert [float(v) for v in lines["montant_accorde"]] == [300, 1000]
    assert [float(v) for v in lines["montant_verse"]] == [1300, 1250]
    assert [float(v) for v in lines["ecart"]] == [1000, 250]
    assert fin.overpaid_lines(cur, contrat="CV-T", financeurs=("CAF",)).height == 1
    checks = dict(zip(*overview.soft_check_warnings(cur, contrat="CV-T").select("controle", "nombre")))
    assert checks[OVERPAID] == 2
    assert fin.overpaid_lines(cur, contrat="CV-AUTRE").is_empty()
    assert OVERPAID not in overview.soft_check_warnings(cur, contrat="CV-AUTRE")["controle"].to_list()


@pytest.mark.parametrize("contrat", [None, "CV-DEMO-VERM", "CV-DEMO-BRE", "CV-DEMO-MONT"])
def test_overview_count_is_the_page_list(demo_cur, contrat):
    independent = demo_cur.execute(
        """SELECT count(*) FROM financement f JOIN action a USING (code_action)
           WHERE (? IS NULL OR a.code_contrat = ?) AND f.montant_verse > f.montant_accorde""",
        [contrat, contrat],
    ).fetchall()[0][0]
    assert independent > 0
    lines = fin.overpaid_lines(demo_cur, contrat=contrat)
    checks = dict(zip(*overview.soft_check_warnings(demo_cur, contrat=contrat).select("controle", "nombre")))
    assert lines.height == checks[OVERPAID] == independent
    alerts = overview.alerts(
        demo_cur, contrat=contrat, donnees_au=date(2026, 11, 15), unpaid_months=3, tolerance_days=30
    )
    row = alerts.filter(pl.col("message").str.starts_with(OVERPAID))
    assert row["message"].to_list() == [f"{OVERPAID} : {fmt.integer(independent)}"]
    assert row["page"].to_list() == ["Actions et financements"]


def test_page_lists_the_overpaid_lines(app_env, deferred):
    at = run_app("financements", query={"contrat": VERM})
    assert not at.exception, at.exception
    expected = _sql(
        app_env,
        """
        SELECT f.code_action, f.financeur, f.annee, f.montant_accorde::DOUBLE, f.montant_verse::DOUBLE
        FROM financement f JOIN action a USING (code_action)
        WHERE a.code_contrat = ? AND f.montant_verse > f.montant_accorde
        ORDER BY f.montant_verse - f.montant_accorde DESC, f.code_action""",
        [VERM],
    )
    assert len(expected) == 4
    assert f"Versé > accordé ({len(expected)})" in [t.label for t in at.tabs]
    assert not any("Écart" in d.value.columns for d in at.dataframe)  # lazy tabs: not built while closed
    open_alert_tab(at, "Versé > accordé")
    shown = _table_with(at, "Écart")
    assert shown["Code action"].tolist() == [r[0] for r in expected]
    assert shown["Exercice"].tolist() == [str(r[2]) for r in expected]
    assert shown["Accordé"].tolist() == [fmt.euros(r[3]) for r in expected]
    assert shown["Versé"].tolist() == [fmt.euros(r[4]) for r in expected]
    assert shown["Écart"].tolist() == [fmt.euros(r[4] - r[3]) for r in expected]
    total = sum(r[4] - r[3] for r in expected)
    assert any(f"pour {fmt.euros(total)} versés au-delà" in w.value for w in at.warning)
    button = next(b for b in at.get("download_button") if b.proto.id.endswith("fin_dl_trop_verse_csv"))
    csv = pl.read_csv(io.BytesIO(deferred(button)), separator=";", decimal_comma=True)
    assert csv["Code action"].to_list() == [r[0] for r in expected]
    assert csv["Écart"].to_list() == pytest.approx([r[4] - r[3] for r in expected])


# --- 3. an empty selection ----------------------------------------------------------------------


def test_empty_selection_shows_messages_not_broken_charts(app_env):
    assert (
        _sql(
            app_env,
            """
        SELECT count(*) FROM financement f JOIN action a USING (code_action)
        WHERE a.code_contrat = ? AND f.financeur = 'CAF' AND a.thematique LIKE '4.2%'""",
            [VERM],
        )[0][0]
        == 0
    )
    at = run_app("financements", query=EMPTY_QUERY)
    assert not at.exception, at.exception
    assert _specs(at) == []  # no chart drawn at all
    infos = [i.value for i in at.info]
    assert infos.count("Aucun financement pour cette sélection.") == 3  # funder × year, thématique, funnel
    assert "Aucun financement en CPO pour cette sélection." in infos
    assert "Aucune action pour cette sélection." in infos
    assert "Aucune action dans la sélection." in infos
    assert not [d for d in at.dataframe if "Type de porteur" in d.value.columns]  # no blank table
    assert "fin_action" not in [s.key for s in at.selectbox]
    assert "fin_tri" not in [s.key for s in at.selectbox]


def test_detail_only_offers_actions_of_the_selection(app_env):
    at = run_app("financements", query={"contrat": VERM})
    outside = _sql(
        app_env,
        """
        SELECT a.code_action FROM action a JOIN financement f USING (code_action)
        WHERE a.code_contrat = ? AND a.annee_debut <= 2026 AND a.annee_fin >= 2026 AND f.annee = 2026
          AND a.mode_financement = 'CPO' ORDER BY 1 LIMIT 1""",
        [VERM],
    )[0][0]
    at.selectbox(key="fin_action").set_value(outside).run()
    assert at.selectbox(key="fin_action").value == outside
    at.multiselect(key="fin_mode").set_value(["AAP"]).run()  # the action is CPO: out of the selection
    assert not at.exception, at.exception
    offered = at.selectbox(key="fin_action").options
    selection = {
        r[0]
        for r in _sql(
            app_env,
            """
        SELECT code_action FROM action WHERE code_contrat = ? AND annee_debut <= 2026 AND annee_fin >= 2026
          AND mode_financement = 'AAP'""",
            [VERM],
        )
    }
    codes = [o.split(" — ")[0] for o in offered]
    assert codes and outside not in codes and set(codes) <= selection
    assert at.selectbox(key="fin_action").value in selection
    # and emptying the selection then widening it again brings no stale action back
    at.multiselect(key="fin_fin").set_value(["CAF"]).run()
    at.multiselect(key="fin_them").set_value(["4.2"]).run()
    assert "fin_action" not in [s.key for s in at.selectbox]


def test_shared_link_to_an_action_of_the_selection_beyond_the_first_rows(app_env):
    """A linked action of the selection is still offered when it is not among the rows shown;
    a linked action outside the selection is not."""
    con = duckdb.connect(str(app_env))
    try:
        table = fig_fin.actions_table(
            fin.action_rows(con.cursor(), contrat=None, annee=None)
        )  # the page's default order
    finally:
        con.close()
    assert table.height > 200  # the page shows the first 200 rows
    code, mode = table.select("Code action", "Mode").row(-1)
    at = run_app("financements", query={"fin_annee": "tous", "fin_action": code})
    assert not at.exception, at.exception
    assert at.selectbox(key="fin_action").value == code
    other_mode = "CPO" if mode != "CPO" else "AAP"
    at = run_app("financements", query={"fin_annee": "tous", "fin_action": code, "fin_mode": other_mode})
    assert not at.exception, at.exception
    assert code not in [o.split(" — ")[0] for o in at.selectbox(key="fin_action").options]


def test_amount_axes_never_repeat_integer_ticks(app_env):
    at = run_app("financements", query={"contrat": VERM})
    assert not at.exception, at.exception
    specs = _specs(at)
    assert len(specs) == 4
    text = json.dumps(specs)
    # every quantitative amount axis asks for whole-euro steps (no « 0 0 0 1 1 » on tiny domains)
    assert text.count('"tickMinStep": 1') >= 4, text[:500]


# --- 4. objectives ------------------------------------------------------------------------------


def test_objective_labels_are_distinct_and_name_the_quartier(demo_cur):
    for contrat in ("CV-DEMO-VERM", "CV-DEMO-BRE", "CV-DEMO-MONT"):
        objectifs = fin.filter_options(demo_cur, contrat=contrat)["objectifs"]
        assert objectifs["etiquette"].n_unique() == objectifs.height
    labels = fin.filter_options(demo_cur, contrat=VERM)["objectifs"]
    wanted = demo_cur.execute(  # the same objective in two quartiers of the contract
        """WITH shared AS (SELECT libelle FROM objectif WHERE code_contrat = ? AND code_qp IS NOT NULL
                          GROUP BY libelle HAVING count(DISTINCT code_qp) >= 2 ORDER BY libelle LIMIT 1)
           SELECT o.code_objectif, q.libelle, o.axe, o.libelle FROM objectif o JOIN quartier q USING (code_qp)
           WHERE o.code_contrat = ? AND o.libelle = (SELECT libelle FROM shared) ORDER BY 1""",
        [VERM, VERM],
    ).fetchall()
    assert len(wanted) >= 2 and wanted[0][1] != wanted[1][1]
    got = dict(zip(labels["code_objectif"], labels["etiquette"]))
    for code, quartier, axe, libelle in wanted:
        assert got[code] == f"{axe} — {libelle} ({quartier})"
    transversal = demo_cur.execute(
        "SELECT code_objectif, axe, libelle FROM objectif WHERE code_contrat = ? AND code_qp IS NULL", [VERM]
    ).fetchall()
    assert transversal
    for code, axe, libelle in transversal:
        assert got[code] == f"{axe} — {libelle} (socle transversal)"


def test_same_wording_in_the_same_quartier_gets_the_code(empty_store):
    con = empty_store
    minimal_contract(con, "CV-T", qpv=("QN07511M",))
    insert(
        con,
        "objectif",
        [
            {"code_objectif": c, "code_contrat": "CV-T", "code_qp": "QN07511M", "axe": "Santé", "libelle": "Soigner"}
            for c in ("O-1", "O-2")
        ],
    )
    labels = fin.filter_options(con.cursor(), contrat="CV-T")["objectifs"]["etiquette"].to_list()
    assert len(set(labels)) == 2 and labels[0].endswith("· O-1") and labels[1].endswith("· O-2")


def test_objective_filter_options_are_distinct_on_the_page(app_env):
    at = run_app("financements", query={"contrat": VERM})
    assert not at.exception, at.exception
    options = at.multiselect(key="fin_obj").options
    assert (
        len(options)
        == len(set(options))
        == _sql(app_env, "SELECT count(*) FROM objectif WHERE code_contrat = ?", [VERM])[0][0]
    )
    axe, libelle, n = _sql(
        app_env,
        """SELECT axe, libelle, count(DISTINCT code_qp) FROM objectif
                                       WHERE code_contrat = ? AND code_qp IS NOT NULL GROUP BY ALL
                                       HAVING count(DISTINCT code_qp) >= 2 ORDER BY libelle LIMIT 1""",
        [VERM],
    )[0]
    assert sum(o.startswith(f"{axe} — {libelle} (") for o in options) == n  # one per quartier, named
