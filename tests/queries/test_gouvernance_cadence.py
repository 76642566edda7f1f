"""Cadence and lateness of governance instances, on hand-made meetings: the pure rule of
`cdv_core.domain.cadence` and the SQL of `cdv_core.queries.gouvernance` must agree."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from cdv_core.domain import cadence
from cdv_core.queries import gouvernance as gouv
from tests.conftest import insert, minimal_contract

TOL = 30


def _instance(code, *, type_instance="COTECH", cadence_mois=1, created=date(2024, 1, 1), qp=None, contrat="CV-T"):
    return {
        "code_instance": code,
        "code_contrat": contrat,
        "code_qp": qp,
        "type_instance": type_instance,
        "libelle": f"Instance {code}",
        "cadence_mois": cadence_mois,
        "date_creation": created,
    }


def _meeting(code, n, day, statut="tenue", participants=None, habitants=None, objet=None):
    held = statut == "tenue"
    return {
        "id_reunion": f"R-{code}-{n:03d}",
        "code_instance": code,
        "date_reunion": day,
        "statut": statut,
        "nb_participants": participants if held else None,
        "nb_habitants": habitants if held else None,
        "objet": objet,
    }


def _cadence(con, au, contrat="CV-T") -> dict[str, dict]:
    frame = gouv.instance_cadence(con.cursor(), contrat=contrat, donnees_au=au, tolerance_days=TOL)
    return {row["code_instance"]: row for row in frame.to_dicts()}


# --- pure rule ------------------------------------------------------------------------------


def test_add_months_clamps_to_month_end():
    assert cadence.add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert cadence.add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert cadence.add_months(date(2024, 11, 15), 3) == date(2025, 2, 15)


def test_exact_boundary_is_not_late_the_day_after_is():
    # last held 31/01/2025, monthly: 28/02/2025 + 30 days = 30/03/2025
    due = cadence.due_date(last_held=date(2025, 1, 31), created=date(2024, 1, 1), cadence_months=1, tolerance_days=TOL)
    assert due == date(2025, 3, 30)
    kwargs = dict(last_held=date(2025, 1, 31), created=date(2024, 1, 1), cadence_months=1, tolerance_days=TOL)
    assert not cadence.is_late(donnees_au=date(2025, 3, 30), **kwargs)
    assert cadence.is_late(donnees_au=date(2025, 3, 31), **kwargs)


def test_cancelled_postponed_and_planned_meetings_are_not_held():
    meetings = [
        (date(2024, 1, 10), "tenue"),
        (date(2024, 3, 1), "annulée"),
        (date(2024, 4, 1), "reportée"),
        (date(2024, 5, 1), "prévue"),
        (date(2024, 9, 1), "tenue"),
    ]
    assert cadence.last_held(meetings, donnees_au=date(2024, 6, 1)) == date(2024, 1, 10)
    assert cadence.last_held(meetings, donnees_au=date(2024, 9, 1)) == date(2024, 9, 1)
    assert cadence.last_held([(date(2024, 3, 1), "annulée")], donnees_au=date(2024, 6, 1)) is None


def test_expected_meetings_prorated_for_an_instance_created_mid_year():
    au = date(2026, 11, 15)
    assert cadence.expected_meetings(year=2024, created=date(2024, 1, 1), cadence_months=4, donnees_au=au) == 3
    assert cadence.expected_meetings(year=2024, created=date(2024, 1, 1), cadence_months=1, donnees_au=au) == 12
    assert cadence.expected_meetings(year=2024, created=date(2024, 7, 1), cadence_months=12, donnees_au=au) == 1
    assert cadence.expected_meetings(year=2024, created=date(2024, 10, 1), cadence_months=12, donnees_au=au) == 0
    assert cadence.expected_meetings(year=2024, created=date(2024, 7, 1), cadence_months=4, donnees_au=au) == 2
    # the current year counts the months elapsed up to « données au » (10 month boundaries)
    assert cadence.expected_meetings(year=2026, created=date(2024, 1, 1), cadence_months=1, donnees_au=au) == 10
    # not created yet in that year
    assert cadence.expected_meetings(year=2024, created=date(2025, 2, 1), cadence_months=1, donnees_au=au) == 0


# --- SQL agrees with the rule on a hand-made store -------------------------------------------


@pytest.fixture
def gov_store(empty_store):
    con = empty_store
    minimal_contract(con, "CV-T", ("QN07511M", "QN07512M", "QN07513M"))
    insert(
        con,
        "instance",
        [
            _instance("I-EDGE", cadence_mois=1),  # boundary case
            _instance("I-CANC", cadence_mois=3),  # cancelled / postponed after a held one
            _instance("I-MID", type_instance="COPIL", cadence_mois=12, created=date(2024, 7, 1)),
            _instance("I-NEVER", cadence_mois=3, created=None),  # never met, no creation date
            _instance("I-FUT", cadence_mois=1, created=date(2030, 1, 1)),  # created after « données au »
            _instance("I-CC-A", type_instance="conseil citoyen", cadence_mois=3, qp="QN07511M"),
            _instance("I-CC-B", type_instance="conseil citoyen", cadence_mois=3, qp="QN07512M"),
            _instance("I-TQ-B", type_instance="table de quartier", cadence_mois=1, qp="QN07512M"),
        ],
    )
    insert(
        con,
        "reunion",
        [
            _meeting("I-EDGE", 1, date(2025, 1, 31), participants=10, habitants=2),
            _meeting("I-EDGE", 2, date(2025, 3, 15), "annulée"),
            _meeting("I-EDGE", 3, date(2025, 6, 1), "prévue"),
            _meeting("I-CANC", 1, date(2024, 1, 10), participants=8, habitants=0),
            _meeting("I-CANC", 2, date(2024, 3, 1), "annulée"),
            _meeting("I-CANC", 3, date(2024, 4, 1), "reportée"),
            _meeting("I-MID", 1, date(2024, 9, 20), participants=30, habitants=4),
            _meeting("I-CC-A", 1, date(2024, 5, 1), participants=12, habitants=9),  # 11 months before 30/03/2025
            _meeting("I-CC-B", 1, date(2024, 2, 1), participants=15, habitants=10),  # > 12 months
            _meeting("I-TQ-B", 1, date(2025, 3, 1), participants=20, habitants=18),
            _meeting("I-TQ-B", 2, date(2025, 4, 1), participants=20, habitants=18),  # after « données au »: ignored
        ],
    )
    return con


@pytest.mark.parametrize("au, late", [(date(2025, 3, 30), False), (date(2025, 3, 31), True)])
def test_sql_boundary(gov_store, au, late):
    rows = _cadence(gov_store, au)
    assert rows["I-EDGE"]["derniere_tenue"] == date(2025, 1, 31)
    assert rows["I-EDGE"]["echeance"] == date(2025, 3, 30)
    assert rows["I-EDGE"]["en_retard"] is late
    assert rows["I-EDGE"]["jours_retard"] == (1 if late else 0)


def test_sql_agrees_with_the_pure_rule(gov_store):
    au = date(2025, 3, 30)
    cur = gov_store.cursor()
    rows = _cadence(gov_store, au)
    assert set(rows) == {"I-EDGE", "I-CANC", "I-MID", "I-NEVER", "I-CC-A", "I-CC-B", "I-TQ-B"}  # not I-FUT
    meetings = cur.sql("SELECT code_instance, date_reunion, statut FROM reunion").pl()
    instances = cur.sql("SELECT i.*, c.date_debut FROM instance i JOIN contrat c USING (code_contrat)").pl()
    for inst in instances.filter(pl.col("code_instance") != "I-FUT").to_dicts():
        own = meetings.filter(pl.col("code_instance") == inst["code_instance"])
        last = cadence.last_held(zip(own["date_reunion"], own["statut"]), donnees_au=au)
        created = inst["date_creation"] or inst["date_debut"]
        row = rows[inst["code_instance"]]
        assert row["derniere_tenue"] == last, inst["code_instance"]
        assert row["echeance"] == cadence.due_date(
            last_held=last, created=created, cadence_months=inst["cadence_mois"], tolerance_days=TOL
        )
        assert row["en_retard"] == cadence.is_late(
            last_held=last, created=created, cadence_months=inst["cadence_mois"], tolerance_days=TOL, donnees_au=au
        ), inst["code_instance"]
        assert row["attendues_annee"] == cadence.expected_meetings(
            year=au.year, created=created, cadence_months=inst["cadence_mois"], donnees_au=au
        )
    # hand-computed expectations
    assert rows["I-CANC"]["derniere_tenue"] == date(2024, 1, 10) and rows["I-CANC"]["en_retard"]
    assert rows["I-MID"]["en_retard"] is False  # created 01/07/2024, met 20/09/2024, yearly
    assert rows["I-NEVER"]["derniere_tenue"] is None
    assert rows["I-NEVER"]["echeance"] == date(2024, 5, 1)  # contract start 01/01/2024 + 3 months + 30 days
    assert rows["I-NEVER"]["en_retard"] is True
    assert rows["I-TQ-B"]["derniere_tenue"] == date(2025, 3, 1)
    assert rows["I-EDGE"]["prochaine_prevue"] == date(2025, 6, 1)
    assert rows["I-EDGE"]["tenues_12_mois"] == 1


def test_yearly_expected_counts_prorate_mid_year_instance(gov_store):
    yearly = gouv.yearly_meetings(gov_store.cursor(), contrat="CV-T", donnees_au=date(2025, 3, 30))
    copil = {r["annee"]: r for r in yearly.filter(pl.col("type_instance") == "COPIL").to_dicts()}
    assert copil[2024]["attendues"] == 1 and copil[2024]["tenues"] == 1
    assert copil[2025]["attendues"] == 0  # 2 months elapsed of a 12-month cadence
    assert copil[2026]["attendues"] == 0 and copil[2030]["attendues"] == 0
    cotech = {r["annee"]: r for r in yearly.filter(pl.col("type_instance") == "COTECH").to_dicts()}
    # 2024: I-EDGE 12 (monthly) + I-CANC 4 (quarterly) + I-NEVER 4 ; held: I-CANC once
    assert cotech[2024]["attendues"] == 20 and cotech[2024]["tenues"] == 1
    assert cotech[2024]["annulees_reportees"] == 2
    # 2025 up to 30/03: 2 months elapsed → I-EDGE 2, I-CANC (2*2+3)//6 = 1, I-NEVER 1
    assert cotech[2025]["attendues"] == 4 and cotech[2025]["tenues"] == 1
    assert cotech[2025]["prevues"] == 1 and cotech[2025]["annulees_reportees"] == 1


def test_residents_bodies_active_in_last_12_months(gov_store):
    frame = gouv.residents_bodies(gov_store.cursor(), contrat="CV-T", donnees_au=date(2025, 3, 30))
    rows = {r["code_qp"]: r for r in frame.to_dicts()}
    assert rows["QN07511M"]["conseil_citoyen_actif"] and rows["QN07511M"]["instance_habitants_active"]
    assert not rows["QN07512M"]["conseil_citoyen_actif"]  # met 01/02/2024, > 12 months
    assert rows["QN07512M"]["instance_habitants_active"]  # its table de quartier met 01/03/2025
    assert rows["QN07512M"]["derniere_reunion_cc"] == date(2024, 2, 1)
    assert not rows["QN07513M"]["a_conseil_citoyen"] and not rows["QN07513M"]["instance_habitants_active"]
    assert frame["code_qp"][0] == "QN07513M"  # QPV with no active residents' body first


def test_participation_by_type_counts_held_meetings_only(gov_store):
    frame = gouv.participation_by_type(gov_store.cursor(), contrat="CV-T", donnees_au=date(2025, 3, 30))
    tq = frame.filter((pl.col("type_instance") == "table de quartier") & (pl.col("annee") == 2025)).to_dicts()[0]
    assert tq["reunions_tenues"] == 1 and tq["habitants"] == 18 and tq["participants"] == 20
    cc = frame.filter((pl.col("type_instance") == "conseil citoyen") & (pl.col("annee") == 2024)).to_dicts()[0]
    assert cc["reunions_tenues"] == 2 and cc["habitants"] == 19 and cc["habitants_par_reunion"] == pytest.approx(9.5)
    assert cc["part_habitants"] == pytest.approx(19 / 27)
