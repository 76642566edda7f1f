"""« Indicateurs » respects « données au » like « Projets » and « Jalons », and both screens share
one freshness rule (cdv_core.domain.freshness)."""

from __future__ import annotations

from datetime import date

import pytest

from cdv_core.domain import freshness, progress
from cdv_core.queries import indicateurs as ind
from cdv_core.queries import jalons
from tests.conftest import insert, minimal_contract

pytestmark = pytest.mark.both_backends  # the core suite runs on the file and on DuckLake

QA, QB = "QN07511M", "QN07512M"
D22, D24, D25 = date(2022, 1, 1), date(2024, 1, 1), date(2025, 1, 1)
AU = date(2024, 6, 30)  # « données au » between the 2024 and the 2025 vintages


POP = {QA: 1000, QB: 3000}


def _v(terr, d, valeur, ttype="QPV", secret=None):
    """A value; a QPV's rate with its parts (the QPV's population as denominator)."""
    parts = ttype == "QPV" and valeur is not None
    return {
        "code_indicateur": "T1",
        "type_territoire": ttype,
        "code_territoire": terr,
        "date_valeur": d,
        "valeur": valeur,
        "secret": secret,
        "numerateur": valeur * POP[terr] / 100 if parts else None,
        "denominateur": float(POP[terr]) if parts else None,
    }


@pytest.fixture
def cur(empty_store):
    con = empty_store
    minimal_contract(con, "CV-T", (QA, QB))
    con.execute("UPDATE quartier SET population = CASE code_qp WHEN $a THEN 1000 ELSE 3000 END", {"a": QA})
    insert(
        con,
        "indicateur",
        [
            {
                "code_indicateur": "T1",
                "libelle": "Taux de pauvreté",
                "unite": "%",
                "sens": "baisse",
                "source": "Insee",
                "axe": "Emploi",
                "agregation": "moyenne pondérée",
            }
        ],
    )
    insert(
        con,
        "valeur_indicateur",
        [
            _v(QA, D22, 40.0),
            _v(QA, D24, 36.0),
            _v(QA, D25, 20.0),
            _v(QB, D24, 50.0),
            _v(QB, D25, 10.0),
            # the only reference-territory value comes after « données au »
            _v("FR", D25, 14.0, ttype="France"),
        ],
    )
    insert(
        con,
        "objectif",
        [
            {
                "code_objectif": "O1",
                "code_contrat": "CV-T",
                "code_qp": QA,
                "axe": "Emploi",
                "libelle": "Réduire la pauvreté",
            }
        ],
    )
    insert(con, "objectif_indicateur", [{"code_objectif": "O1", "code_indicateur": "T1"}])
    insert(
        con,
        "cible_indicateur",
        [
            {
                "code_indicateur": "T1",
                "code_qp": QA,
                "valeur_reference": 41.0,
                "date_reference": D22,
                "valeur_cible": 30.0,
                "date_cible": date(2030, 12, 31),
            }
        ],
    )
    return con.cursor()


def test_dictionary_ignores_values_after_donnees_au(cur):
    row = ind.dictionary(cur, contrat="CV-T", donnees_au=AU, max_age_months=24).row(0, named=True)
    # Before the fix: « dernière valeur 01/01/2025 — à jour », and a France reference that does not exist yet.
    assert row["derniere_date"] == D24
    assert (row["qpv_renseignes"], row["qpv_secret"]) == (2, 0)
    assert row["a_reference"] is False
    assert row["fraicheur"] == "à jour"
    later = ind.dictionary(cur, contrat="CV-T", donnees_au=date(2025, 3, 1), max_age_months=24).row(0, named=True)
    assert later["derniere_date"] == D25 and later["a_reference"] is True


def test_comparison_aggregate_trajectory_stop_at_donnees_au(cur):
    comp = ind.comparison(cur, code_indicateur="T1", contrat="CV-T", reference="France", donnees_au=AU)
    values = dict(zip(comp["code_qp"], comp["valeur"]))
    assert comp["date_valeur"].unique().to_list() == [D24]
    assert values == {QA: 36.0, QB: 50.0}
    assert comp["valeur_reference_territoire"].null_count() == comp.height  # France 2025 not known yet
    agg = ind.aggregate(cur, code_indicateur="T1", contrat="CV-T", donnees_au=AU)
    assert agg["date_valeur"].to_list() == [D22, D24]
    assert agg["valeur"][-1] == pytest.approx((36 * 1000 + 50 * 3000) / 4000)
    traj = ind.trajectory(cur, code_indicateur="T1", focus=QA, autres=(QB,), donnees_au=AU)
    assert traj["date_valeur"].max() == D24
    assert sorted(traj["valeur"].to_list()) == [36.0, 40.0, 50.0]


def test_same_latest_value_as_projets(cur):
    # « Projets de quartier » (progress.indicator_rows) and « Indicateurs » read the same value at AU.
    prog = progress.indicator_rows(cur, contrat="CV-T", donnees_au=AU).row(0, named=True)
    comp = ind.comparison(cur, code_indicateur="T1", contrat="CV-T", reference="France", donnees_au=AU)
    qa = comp.filter(comp["code_qp"] == QA).row(0, named=True)
    assert (prog["date_valeur"], prog["valeur"]) == (qa["date_valeur"], qa["valeur"]) == (D24, 36.0)


@pytest.mark.parametrize("max_age, fresh", [(24, True), (23, False)])
def test_dictionary_and_jalons_share_the_boundary(cur, max_age, fresh):
    # At 01/01/2026 the latest value (01/01/2024, the 2025 one aside) is exactly 24 months old.
    cur.execute("DELETE FROM valeur_indicateur WHERE date_valeur = $d", {"d": D25})
    au = date(2026, 1, 1)
    assert freshness.fresh_from(au, max_age) == (date(2024, 1, 1) if max_age == 24 else date(2024, 2, 1))
    dico = ind.dictionary(cur, contrat="CV-T", donnees_au=au, max_age_months=max_age).row(0, named=True)
    item = jalons._item_indicateurs(cur, "CV-T", au, max_age).row(0, named=True)
    assert dico["fraicheur"] == ("à jour" if fresh else "ancienne")
    assert item["ok"] is fresh
    assert freshness.is_fresh(D24, donnees_au=au, max_age_months=max_age) is fresh


def test_freshness_rule_clamps_month_ends():
    assert freshness.fresh_from(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert freshness.label(None, donnees_au=AU, max_age_months=24) == "aucune valeur"
    assert not freshness.is_fresh(D25, donnees_au=AU, max_age_months=24)  # not known yet at AU
