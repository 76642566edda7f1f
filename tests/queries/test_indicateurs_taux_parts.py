"""Rates from their numerator and denominator (issue #20): imported with the values, checked,
aggregated as the ratio of the sums; a rate without its parts is shown per QPV, not aggregated."""

from __future__ import annotations

import polars as pl

from cdv_core import ingest, store
from cdv_core.access import local_user
from cdv_core.domain import gaps
from cdv_core.ingest import templates
from cdv_core.queries import indicateurs as ind
from tests.conftest import DEMO_AU, run_app

LOCAL = local_user("test")
HEADER = "code_indicateur;type_territoire;code_territoire;date_valeur;valeur;numerateur;denominateur\n"


def _analyse(con, body: str):
    return ingest.analyse(con.cursor(), (HEADER + body).encode(), "valeurs.csv")


def _problems(a) -> list[tuple[int, str, str]]:
    return a.problems.filter(pl.col("gravité") == "erreur").select("ligne", "colonne", "problème").rows()


def test_the_import_checks_the_parts_of_a_rate(demo_store):
    con = store.connect(demo_store)
    try:
        a = _analyse(
            con,
            "CHOM;QPV;QN00281M;01/01/2026;18,3;412;2250\n"  # right: 412 / 2 250 = 18,3 %
            "CHOM;QPV;QN00282M;01/01/2026;20,0;412;2250\n"  # the value says otherwise
            "CHOM;QPV;QN00283M;01/01/2026;20,0;412;\n"  # a numerator alone
            "CHOM;QPV;QN00284N;01/01/2026;s;12;50\n"  # parts of a secret value
            "DEFM;QPV;QN00285M;01/01/2026;300;300;2000\n"  # a count is not a rate
            "CHOM;QPV;QN00286N;01/01/2026;120,0;3000;2500\n"  # more than 100 %
            "CHOM;QPV;QN06081M;01/01/2026;0;0;0\n",
        )  # a zero denominator
        assert _problems(a) == [
            (3, "valeur", "La valeur ne correspond pas au numérateur divisé par le dénominateur"),
            (4, "numerateur", "Numérateur et dénominateur vont ensemble"),
            (5, "numerateur", "Numérateur et dénominateur d'une valeur secrète"),
            (6, "numerateur", "Cet indicateur n'est pas un taux : pas de numérateur ni de dénominateur"),
            (7, "numerateur", "Numérateur supérieur au dénominateur d'un pourcentage"),
            (8, "denominateur", "Dénominateur nul ou négatif"),
        ]
        expected = a.problems.filter(pl.col("ligne") == 3)["correction attendue"].item()
        assert expected.startswith("18,3") and "× 100" in expected
        ok = _analyse(con, "CHOM;QPV;QN00281M;01/01/2026;18,3;412;2250\n")
        assert ok.ok, ok.problems
        ingest.commit(con, ok, user=LOCAL)
        row = con.execute(
            "SELECT valeur, numerateur, denominateur FROM valeur_indicateur WHERE code_indicateur = 'CHOM' "
            "AND code_territoire = 'QN00281M' AND date_valeur = DATE '2026-01-01'"
        ).fetchall()
        assert row == [(18.3, 412.0, 2250.0)]
        # the same value imported again without its parts: the parts go (they would no longer be checked)
        bare = ingest.analyse(
            con.cursor(),
            b"code_indicateur;type_territoire;code_territoire;date_valeur;valeur\nCHOM;QPV;QN00281M;01/01/2026;19,0\n",
            "sans_parts.csv",
        )
        assert bare.ok, bare.problems
        ingest.commit(con, bare, user=LOCAL)
        row = con.execute(
            "SELECT valeur, numerateur, denominateur FROM valeur_indicateur WHERE code_indicateur = 'CHOM' "
            "AND code_territoire = 'QN00281M' AND date_valeur = DATE '2026-01-01'"
        ).fetchall()
        assert row == [(19.0, None, None)]
        assert store.integrity_errors(con.cursor()) == []
    finally:
        con.close()


def test_the_template_and_the_current_data_carry_the_parts(demo_cur):
    assert {"numerateur", "denominateur"} <= set(templates.example_frame("valeurs_indicateurs").columns)
    example = templates.example_frame("valeurs_indicateurs").row(0, named=True)
    assert (
        abs(
            float(example["numerateur"]) / float(example["denominateur"]) * 100
            - float(example["valeur"].replace(",", "."))
        )
        < 0.05
    )  # the example obeys its own rule
    current = templates.current_frame(demo_cur, kind="valeurs_indicateurs", contrat="CV-DEMO-VERM")
    chom = current.filter((pl.col("code_indicateur") == "CHOM") & (pl.col("type_territoire") == "QPV"))
    assert chom.height and chom["numerateur"].null_count() == 0


def test_the_demo_aggregates_its_rates_on_the_sums(demo_cur):
    agg = ind.aggregate(demo_cur, code_indicateur="CHOM", contrat="CV-DEMO-VERM", donnees_au=DEMO_AU)
    last = agg.filter(pl.col("date_valeur") == agg["date_valeur"].max()).row(0, named=True)
    sums = demo_cur.execute(
        """SELECT sum(v.numerateur) / sum(v.denominateur) * 100 FROM valeur_indicateur v JOIN quartier q
           ON q.code_qp = v.code_territoire WHERE v.code_indicateur = 'CHOM' AND v.type_territoire = 'QPV'
             AND q.code_contrat = 'CV-DEMO-VERM' AND v.date_valeur = ?""",
        [last["date_valeur"]],
    ).fetchall()[0][0]
    assert last["methode"] == gaps.RATIO_OF_SUMS and abs(last["valeur"] - sums) < 1e-9


def test_the_page_says_how_the_selection_is_aggregated(app_env):
    at = run_app("indicateurs", query={"contrat": "CV-DEMO-VERM"})
    at.selectbox(key="indic_indicateur").set_value("CHOM").run()
    assert not at.exception, at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "taux recalculé sur la somme des numérateurs" in captions
    assert "Taux recalculé sur les sommes des numérateurs et des dénominateurs des quartiers" in captions
    # the same rate without its parts: shown per QPV, no « Ensemble des QPV »
    con = store.connect(app_env)
    try:
        with store.transaction(con, written=["valeur_indicateur"], audit=store.Audit("test", "parts retirées")) as cur:
            cur.execute(
                "UPDATE valeur_indicateur SET numerateur = NULL, denominateur = NULL WHERE code_indicateur = 'CHOM'"
            )
    finally:
        con.close()
    at = run_app("indicateurs", query={"contrat": "CV-DEMO-VERM"})
    at.selectbox(key="indic_indicateur").set_value("CHOM").run()
    assert not at.exception, at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "Pas d'« Ensemble des QPV »" in captions and "Taux recalculé" not in captions
