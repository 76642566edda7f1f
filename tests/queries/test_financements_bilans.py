"""Bilans des porteurs (issue #19): due dates, states at a « données au » date, completeness per
porteur and per QPV and the late list on a hand-built store (checked against independent SQL),
the bulk import with its errors and its rollback, the record form's write, the mail-merge CSV,
the overview's alert and the « Actions et financements » section."""

from __future__ import annotations

import io
from datetime import date

import duckdb
import polars as pl
import pytest

from cdv_core import access, fmt, ingest, settings, store, tables
from cdv_core.access import local_user
from cdv_core.edits import bilans as edits
from cdv_core.figures import bilans as fig
from cdv_core.queries import bilans as q
from cdv_core.queries import overview
from tests.conftest import DEMO_AU, insert, minimal_contract, open_tab, run_app
from tests.pages.test_secret import accounts  # noqa: F401 (a fixture)

LOCAL = local_user("test")
AU = date(2026, 7, 1)  # the day after the 2025 exercice's due date


# ---------------------------------------------------------------- due dates and the setting


def test_due_date_is_the_end_of_the_month_delai_months_after_the_year():
    assert q.due_date(2024) == date(2025, 6, 30)
    assert q.due_date(2024, 0) == date(2024, 12, 31)
    assert q.due_date(2024, 2) == date(2025, 2, 28)
    assert q.due_date(2023, 2) == date(2024, 2, 29)
    assert q.due_date(2024, 12) == date(2025, 12, 31)
    assert q.due_date(2024, 13) == date(2026, 1, 31)


def test_the_setting_reads_the_environment(monkeypatch):
    assert settings.load().bilan_delai_mois == 6
    monkeypatch.setenv("CDV_BILAN_DELAI_MOIS", "3")
    assert settings.load().bilan_delai_mois == 3
    monkeypatch.setenv("CDV_BILAN_DELAI_MOIS", "six")
    with pytest.raises(settings.SettingError, match="CDV_BILAN_DELAI_MOIS"):
        settings.load()


# ---------------------------------------------------------------- a hand-built store


def _action(code: str, porteur: str, debut: int, fin: int, contrat: str = "CV-T", statut: str = "accordée") -> dict:
    return {
        "code_action": code,
        "code_contrat": contrat,
        "id_porteur": porteur,
        "libelle": f"Action {code}",
        "thematique": "1.1",
        "mode_financement": "AAP",
        "annee_debut": debut,
        "annee_fin": fin,
        "statut": statut,
    }


def _line(code: str, financeur: str, annee: int, accorde) -> dict:
    return {
        "code_action": code,
        "financeur": financeur,
        "annee": annee,
        "montant_demande": 5000.0,
        "montant_accorde": accorde,
    }


@pytest.fixture
def hand(empty_store):
    """CV-T (QPV M and N): porteur P1 (with a contact) carries A1 (2024-2025, QPV M) and A4
    (2025, no QPV); P2 (no contact) carries A2 (2024, QPV M and N) and A3 (refused, nothing
    granted). CV-U: A5 (2024) by P3. Bilans: A1 2024 accepted, A2 2024 to complete, A1 2025
    received on 01/08/2026 (after AU)."""
    con = empty_store
    minimal_contract(con, "CV-T", ("QN07511M", "QN07512M"))
    minimal_contract(con, "CV-U", ("QN07513M",))
    insert(
        con,
        "porteur",
        [
            {
                "id_porteur": "P1",
                "nom": "Centre social des Tilleuls",
                "type_structure": "association avec salariés",
                "contact_nom": "Camille Martin",
                "contact_email": "camille@asso-exemple.fr",
                "contact_telephone": "01 99 00 12 34",
            },
            {"id_porteur": "P2", "nom": "Amicale des locataires", "type_structure": "association sans salarié"},
            {
                "id_porteur": "P3",
                "nom": "Régie de quartier",
                "type_structure": "association avec salariés",
                "contact_email": "regie@asso-exemple.fr",
            },
        ],
    )
    insert(
        con,
        "action",
        [
            _action("A1", "P1", 2024, 2025),
            _action("A2", "P2", 2024, 2024),
            _action("A3", "P2", 2024, 2024, statut="refusée"),
            _action("A4", "P1", 2025, 2025),
            _action("A5", "P3", 2024, 2024, contrat="CV-U"),
        ],
    )
    insert(
        con,
        "action_quartier",
        [
            {"code_action": "A1", "code_qp": "QN07511M"},
            {"code_action": "A2", "code_qp": "QN07511M"},
            {"code_action": "A2", "code_qp": "QN07512M"},
            {"code_action": "A5", "code_qp": "QN07513M"},
        ],
    )
    insert(
        con,
        "financement",
        [
            _line("A1", "EPCI", 2024, 1000.0),
            _line("A1", "État P147", 2024, 2000.0),  # one bilan for 2024
            _line("A1", "État P147", 2025, 2000.0),
            _line("A2", "État P147", 2024, 500.0),
            _line("A3", "État P147", 2024, 0.0),  # refused: owes nothing
            _line("A4", "commune", 2025, 300.0),
            _line("A4", "CAF", 2025, None),  # pending line: nothing
            _line("A5", "État P147", 2024, 800.0),
        ],
    )
    insert(
        con,
        "bilan_action",
        [
            {"code_action": "A1", "annee": 2024, "date_reception": date(2025, 5, 10), "statut": "accepté"},
            {
                "code_action": "A2",
                "annee": 2024,
                "date_reception": date(2025, 7, 20),
                "statut": "à compléter",
                "commentaire": "Manque le tableau des charges",
            },
            {"code_action": "A1", "annee": 2025, "date_reception": date(2026, 8, 1), "statut": "reçu"},
        ],
    )
    assert store.integrity_errors(con.cursor()) == []
    return con


# Independent SQL: the bilans owed and their state, written apart from the module's.
_EXPECTED = """
SELECT o.code_action, o.annee,
       CASE WHEN b.statut IS NOT NULL AND b.date_reception <= $au THEN b.statut
            WHEN make_date(o.annee + 1, 6, 30) < $au THEN 'en retard' ELSE 'à venir' END AS etat
FROM (SELECT DISTINCT code_action, annee FROM financement WHERE montant_accorde > 0) o
LEFT JOIN bilan_action b USING (code_action, annee)
"""


def _states(cur, au: date, contrat: str | None = None) -> dict:
    got = q.bilans(cur, contrat=contrat, donnees_au=au)
    return {(r["code_action"], r["annee"]): r["etat"] for r in got.iter_rows(named=True)}


@pytest.mark.parametrize(
    "au", [date(2025, 6, 1), date(2025, 6, 30), date(2025, 7, 1), date(2026, 6, 30), AU, date(2026, 8, 1)]
)
def test_states_match_independent_sql(hand, au):
    cur = hand.cursor()
    expected = {(a, y): s for a, y, s in cur.execute(_EXPECTED, {"au": au}).fetchall()}
    assert _states(cur, au) == expected


def test_states_on_the_hand_built_store(hand):
    cur = hand.cursor()
    assert _states(cur, AU, "CV-T") == {
        ("A1", 2024): "accepté",
        ("A1", 2025): "en retard",
        ("A2", 2024): "à compléter",
        ("A4", 2025): "en retard",
    }
    # the day of the due date the bilan is not late yet; one received later is not yet received
    assert _states(cur, date(2026, 6, 30), "CV-T")[("A4", 2025)] == "à venir"
    assert _states(cur, date(2025, 6, 1), "CV-T") == {
        ("A1", 2024): "accepté",
        ("A1", 2025): "à venir",
        ("A2", 2024): "à venir",
        ("A4", 2025): "à venir",
    }
    assert _states(cur, date(2026, 8, 1), "CV-T")[("A1", 2025)] == "reçu"
    rows = q.bilans(cur, contrat="CV-T", donnees_au=AU)
    assert set(rows["echeance"].to_list()) == {date(2025, 6, 30), date(2026, 6, 30)}


def test_a_changed_delai_moves_the_due_dates(hand):
    cur = hand.cursor()
    rows = q.bilans(cur, contrat="CV-T", donnees_au=date(2025, 4, 1), delai_mois=3)
    assert set(rows.filter(pl.col("annee") == 2024)["echeance"].to_list()) == {date(2025, 3, 31)}
    assert _states(cur, date(2025, 4, 1), "CV-T") != {
        (r["code_action"], r["annee"]): r["etat"] for r in rows.iter_rows(named=True)
    }
    assert rows.filter(pl.col("code_action") == "A2")["etat"].to_list() == ["en retard"]
    assert rows.filter(pl.col("code_action") == "A2")["jours_retard"].to_list() == [1]


def test_summary_and_completeness_per_porteur(hand):
    cur = hand.cursor()
    s = q.summary(cur, contrat="CV-T", donnees_au=AU)
    assert s == {
        "dus": 4,
        "recus": 2,
        "acceptes": 1,
        "a_examiner": 0,
        "a_completer": 1,
        "en_retard": 2,
        "a_venir": 0,
        "part": pytest.approx(0.5),
    }
    porteurs = q.by_porteur(cur, contrat="CV-T", donnees_au=AU)
    by = {r["id_porteur"]: r for r in porteurs.iter_rows(named=True)}
    assert (by["P1"]["dus"], by["P1"]["recus"], by["P1"]["acceptes"], by["P1"]["en_retard"]) == (3, 1, 1, 2)
    assert by["P1"]["part"] == pytest.approx(1 / 3) and by["P1"]["contact_email"] == "camille@asso-exemple.fr"
    assert (by["P2"]["dus"], by["P2"]["recus"], by["P2"]["a_completer"], by["P2"]["part"]) == (1, 1, 1, 1.0)
    assert porteurs["id_porteur"].to_list() == ["P1", "P2"]  # most late first
    # independent SQL: due bilans per porteur, and those received by AU
    expected = dict(
        cur.execute(
            """
        SELECT a.id_porteur, count(*) FROM (SELECT DISTINCT code_action, annee FROM financement
                                            WHERE montant_accorde > 0) o JOIN action a USING (code_action)
        WHERE a.code_contrat = 'CV-T' AND make_date(o.annee + 1, 6, 30) < $au GROUP BY 1""",
            {"au": AU},
        ).fetchall()
    )
    assert {k: v["dus"] for k, v in by.items()} == expected


def test_completeness_per_qpv(hand):
    cur = hand.cursor()
    got = {
        r["quartier"]: (r["dus"], r["recus"], r["en_retard"])
        for r in q.by_qpv(cur, contrat="CV-T", donnees_au=AU).iter_rows(named=True)
    }
    # A1 (2 bilans) and A2 serve M; A2 serves N too; A4 serves none
    assert got == {"Quartier QN07511M": (3, 2, 1), "Quartier QN07512M": (1, 1, 0), q.SANS_QPV: (1, 0, 1)}
    assert q.by_qpv(cur, contrat="CV-T", donnees_au=AU)["quartier"].to_list()[-1] == q.SANS_QPV
    expected = cur.execute("""
        SELECT coalesce(x.code_qp, '-'), count(*)
        FROM (SELECT DISTINCT code_action, annee FROM financement WHERE montant_accorde > 0) o
        JOIN action a USING (code_action) LEFT JOIN action_quartier x USING (code_action)
        WHERE a.code_contrat = 'CV-T' GROUP BY 1 ORDER BY 1""").fetchall()
    assert (
        sorted(
            (r["code_qp"] or "-", r["dus"] + r["a_venir"])
            for r in q.by_qpv(cur, contrat="CV-T", donnees_au=AU).iter_rows(named=True)
        )
        == expected
    )


def test_late_list_with_contacts_and_filters(hand):
    cur = hand.cursor()
    late = q.late(cur, contrat=None, donnees_au=AU)
    assert late.select("code_action", "annee", "jours_retard").rows() == [
        ("A5", 2024, 366),
        ("A1", 2025, 1),
        ("A4", 2025, 1),
    ]
    first = late.row(1, named=True)
    assert (first["porteur"], first["contact_nom"], first["contact_email"], first["contact_telephone"]) == (
        "Centre social des Tilleuls",
        "Camille Martin",
        "camille@asso-exemple.fr",
        "01 99 00 12 34",
    )
    assert q.late(cur, contrat=None, donnees_au=AU, perimetre=("CV-U",))["code_action"].to_list() == ["A5"]
    assert q.late(cur, contrat="CV-T", donnees_au=AU, perimetre=("CV-U",)).is_empty()
    assert q.summary(cur, contrat=None, donnees_au=AU, perimetre=("CV-T",))["en_retard"] == 2


def test_mail_merge_csv(hand):
    late = q.late(hand.cursor(), contrat="CV-T", donnees_au=AU)
    data = tables.to_csv_bytes(q.mail_merge(late))
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    header, *rows = text.strip().split("\n")
    assert header.split(";") == list(q.MAIL_MERGE_COLUMNS.values())
    assert header.startswith("Adresse électronique;")
    assert rows[0].split(";") == [
        "camille@asso-exemple.fr",
        "Camille Martin",
        "01 99 00 12 34",
        "Centre social des Tilleuls",
        "A1",
        "Action A1",
        "2025",
        "30/06/2026",
        "1",
    ]
    assert len(rows) == late.height == 2


def test_overview_alert(hand):
    cur = hand.cursor()
    alerts = overview.alerts(cur, contrat="CV-T", donnees_au=AU, unpaid_months=120, tolerance_days=30)
    mine = alerts.filter(pl.col("categorie") == "Bilans en retard")
    assert mine.height == 1 and mine["page"][0] == "Actions et financements"
    assert mine["message"][0].startswith("2 bilans de porteurs en retard") and fmt.percent(0.5) in mine["message"][0]
    calm = overview.alerts(cur, contrat="CV-T", donnees_au=date(2026, 6, 30), unpaid_months=120, tolerance_days=30)
    assert "Bilans en retard" not in calm["categorie"].to_list()
    later = overview.alerts(
        cur, contrat="CV-T", donnees_au=date(2026, 6, 30), unpaid_months=120, tolerance_days=30, bilan_delai_mois=3
    )
    assert "Bilans en retard" in later["categorie"].to_list()


# ---------------------------------------------------------------- the store's rules


def test_store_rules_refuse_unknown_action_bad_statut_and_duplicates(hand):
    cases = [
        {"code_action": "ZZ", "annee": 2024, "date_reception": date(2025, 1, 5), "statut": "reçu"},
        {"code_action": "A4", "annee": 2025, "date_reception": date(2026, 1, 5), "statut": "perdu"},
        {"code_action": "A1", "annee": 2024, "date_reception": date(2025, 1, 5), "statut": "reçu"},
    ]
    for row, message in zip(cases, ("action inconnue", "statut « perdu » inconnu", "présent plusieurs fois")):
        with pytest.raises(store.IntegrityError, match=message):
            with store.transaction(hand, written={"bilan_action"}) as cur:
                cur.execute(
                    "INSERT INTO bilan_action (code_action, annee, date_reception, statut) VALUES ($a, $y, $d, $s)",
                    {"a": row["code_action"], "y": row["annee"], "d": row["date_reception"], "s": row["statut"]},
                )
    assert store.scalar(hand.cursor(), "SELECT count(*) FROM bilan_action") == 3


# ---------------------------------------------------------------- the bulk import


def _analyse(con, text: str, name: str = "bilans.csv"):
    return ingest.analyse(con.cursor(), text.encode("utf-8"), name)


def _rows(con) -> list[tuple]:
    return con.execute(
        "SELECT code_action, annee, date_reception, statut, commentaire FROM bilan_action ORDER BY 1, 2"
    ).fetchall()


def test_import_of_a_good_file_then_rollback(hand):
    before = _rows(hand)
    text = (
        "code_action;annee;date_reception;statut;commentaire\n"
        "A4;2025;15/07/2026;Validé;\n"  # new, « validé » → accepté
        "A5;2024;01/02/2025;incomplet;Manque le CERFA\n"  # new, « incomplet » → à compléter
        "A2;2024;20/07/2025;accepté;Complété le 01/09/2025\n"
    )  # changed
    a = _analyse(hand, text)
    assert a.kind == "bilans" and a.ok, a.problems
    assert a.warnings == 0
    i = ingest.commit(hand, a, user=LOCAL)
    after = {(r[0], r[1]): r[2:] for r in _rows(hand)}
    assert after[("A4", 2025)] == (date(2026, 7, 15), "accepté", None)
    assert after[("A5", 2024)] == (date(2025, 2, 1), "à compléter", "Manque le CERFA")
    assert after[("A2", 2024)] == (date(2025, 7, 20), "accepté", "Complété le 01/09/2025")
    assert store.scalar(hand.cursor(), "SELECT count(*) FROM bilan_action WHERE id_import = $i", {"i": i}) == 2
    assert q.summary(hand.cursor(), contrat="CV-T", donnees_au=date(2026, 8, 1))["en_retard"] == 0
    ingest.rollback(hand, i, user=LOCAL)
    assert _rows(hand) == before


def test_import_errors_are_refused_in_french_and_nothing_is_written(hand):
    before = _rows(hand)
    text = (
        "code_action;annee;date_reception;statut\n"
        "ZZ-INCONNUE;2024;01/03/2025;reçu\n"  # unknown action
        "A1;2027;01/03/2028;reçu\n"  # outside the action's years (2024-2025)
        "A4;2025;01/03/2026;perdu\n"  # unknown statut
        "A4;2025;02/03/2026;reçu\n"
    )  # duplicate key with the line above
    a = _analyse(hand, text)
    assert a.kind == "bilans" and not a.ok
    errors = a.problems.filter(pl.col("gravité") == "erreur")
    found = " | ".join(errors["problème"].to_list())
    assert "Action inconnue dans la base" in found
    assert "Exercice hors des années de l'action (2024–2025)" in found
    assert set(errors["colonne"].to_list()) >= {"code_action", "annee", "statut"}
    assert "Clé en double dans le fichier" in found and "Valeur non reconnue" in found
    with pytest.raises(ingest.ImportRefused, match="Rien n'a été modifié"):
        ingest.commit(hand, a, user=LOCAL)
    assert _rows(hand) == before


def test_import_warns_on_a_bilan_received_before_the_end_of_its_exercice(hand):
    a = _analyse(hand, "code_action;annee;date_reception;statut\nA4;2025;15/11/2025;reçu\n")
    assert a.ok and a.warnings == 1
    assert a.problems["problème"].to_list() == ["Bilan reçu avant la fin de l'exercice"]


def test_import_applies_the_forms_rules(hand):
    """What the form refuses, the import refuses: a year without a grant, a date before the
    exercice or in the future."""
    a = _analyse(
        hand,
        "code_action;annee;date_reception;statut\n"
        "A3;2024;01/03/2025;reçu\n"  # refused, nothing granted: no bilan owed
        "A4;2025;01/03/2024;reçu\n"  # before its exercice
        "A1;2025;01/03/2099;reçu\n",
    )  # in the future
    assert a.problems.filter(pl.col("gravité") == "erreur").select("ligne", "problème").rows() == [
        (2, "Aucun montant accordé à cette action pour cet exercice : pas de bilan attendu"),
        (3, "Date de réception antérieure à l'exercice"),
        (4, "Date de réception dans le futur"),
    ]
    with pytest.raises(store.IntegrityError, match="pas de bilan attendu"):
        edits.record_bilan(
            hand,
            user=LOCAL,
            code_action="A3",
            annee=2024,
            date_reception=date(2025, 3, 1),
            statut="reçu",
            today=date(2026, 11, 15),
        )


def test_a_crash_in_the_middle_of_an_import_leaves_the_store_as_it_was(hand, monkeypatch):
    before = _rows(hand)
    a = _analyse(hand, "code_action;annee;date_reception;statut\nA4;2025;15/07/2026;accepté\n")
    assert a.ok
    import importlib

    commit_mod = importlib.import_module("cdv_core.ingest.commit")  # the module (the package exports `commit`)

    def boom(*args, **kwargs):
        raise duckdb.IOException("disque plein (simulé)")

    monkeypatch.setattr(commit_mod, "_contracts_touched", boom)
    with pytest.raises((store.StoreError, duckdb.Error)):
        ingest.commit(hand, a, user=LOCAL)
    assert _rows(hand) == before


def test_porteurs_template_carries_the_contacts(hand):
    text = (
        "id_porteur;nom;type_structure;contact_nom;contact_email;contact_telephone\n"
        "P2;Amicale des locataires;association sans salarié;Sam Durand;sam@asso-exemple.fr;02 61 91 00 11\n"
        "P3;Régie de quartier;association avec salariés;Lou Bernard;pas-une-adresse;12 34\n"
    )
    a = _analyse(hand, text, "porteurs.csv")
    assert a.kind == "porteurs" and not a.ok  # an address the reminders cannot use: refused, as by the form
    assert a.problems.select("colonne", "gravité").rows() == [
        ("contact_email", "erreur"),
        ("contact_telephone", "avertissement"),
    ]
    a = _analyse(hand, text.replace("pas-une-adresse", "lou@regie-exemple.fr"), "porteurs.csv")
    assert a.ok and a.problems["colonne"].to_list() == ["contact_telephone"]
    ingest.commit(hand, a, user=LOCAL)
    assert hand.execute(
        "SELECT id_porteur, contact_nom, contact_email, contact_telephone FROM porteur "
        "WHERE id_porteur IN ('P2', 'P3') ORDER BY 1"
    ).fetchall() == [
        ("P2", "Sam Durand", "sam@asso-exemple.fr", "02 61 91 00 11"),
        ("P3", "Lou Bernard", "lou@regie-exemple.fr", "12 34"),
    ]
    # a porteurs file without the contact columns keeps them
    a = _analyse(
        hand, "id_porteur;nom;type_structure\nP1;Centre social des Tilleuls;association avec salariés\n", "porteurs.csv"
    )
    ingest.commit(hand, a, user=LOCAL)
    assert hand.execute("SELECT contact_nom FROM porteur WHERE id_porteur = 'P1'").fetchone()[0] == "Camille Martin"


def test_template_and_current_data_export_round_trip(hand):
    from cdv_core.ingest import templates

    assert templates.example_frame("bilans").columns == [
        "code_action",
        "annee",
        "date_reception",
        "statut",
        "commentaire",
    ]
    data = templates.current_csv(hand.cursor(), kind="bilans", contrat="CV-T")
    a = ingest.analyse(hand.cursor(), data, "bilans.csv")
    assert a.kind == "bilans" and a.ok and a.warnings == 0, a.problems
    assert a.nb_lignes == 3 and a.diff["inchangés"].sum() == 3


# ---------------------------------------------------------------- the form's writes


def test_record_and_change_one_bilan(hand):
    got = edits.record_bilan(
        hand,
        user=LOCAL,
        code_action="A4",
        annee=2025,
        date_reception=date(2026, 7, 2),
        statut="reçu",
        today=AU.replace(day=10),
    )
    assert got == "nouveau"
    got = edits.record_bilan(
        hand,
        user=LOCAL,
        code_action="A4",
        annee=2025,
        date_reception=date(2026, 7, 2),
        statut="accepté",
        commentaire="  Conforme  ",
        today=AU.replace(day=10),
    )
    assert got == "modifié"
    assert hand.execute(
        "SELECT statut, commentaire, modifie_par FROM bilan_action WHERE code_action = 'A4'"
    ).fetchall() == [("accepté", "Conforme", LOCAL.label)]
    assert edits.delete_bilan(hand, user=LOCAL, code_action="A4", annee=2025) == 1
    assert q.bilans(hand.cursor(), contrat="CV-T", donnees_au=date(2026, 7, 10)).filter(pl.col("code_action") == "A4")[
        "etat"
    ].to_list() == ["en retard"]


def test_record_refusals_are_french_and_write_nothing(hand):
    before = _rows(hand)
    with pytest.raises(store.IntegrityError) as refused:
        edits.record_bilan(
            hand,
            user=LOCAL,
            code_action="A1",
            annee=2027,
            date_reception=date(2027, 1, 2),
            statut="perdu",
            commentaire='=HYPERLINK("x")',
            today=date(2026, 7, 1),
        )
    text = " | ".join(refused.value.problems)
    assert "l'exercice 2027 est hors des années de l'action A1 (2024–2025)" in text
    assert "statut « perdu » inconnu" in text and "dans le futur" in text
    with pytest.raises(store.IntegrityError, match="action « ZZ » inconnue"):
        edits.record_bilan(
            hand, user=LOCAL, code_action="ZZ", annee=2024, date_reception=date(2025, 1, 2), statut="reçu", today=AU
        )
    assert _rows(hand) == before


def test_record_needs_the_right_to_write_the_actions_contract(hand):
    access.add_user(hand, user=LOCAL, email="cheffe@ville.fr", role="chef_de_projet", contrats=["CV-U"])
    cheffe = access.load_user(hand.cursor(), "cheffe@ville.fr")
    with pytest.raises(access.AccessDenied, match="CV-T"):
        edits.record_bilan(
            hand, user=cheffe, code_action="A4", annee=2025, date_reception=date(2026, 7, 2), statut="reçu", today=AU
        )
    edits.record_bilan(
        hand, user=cheffe, code_action="A5", annee=2024, date_reception=date(2025, 3, 2), statut="reçu", today=AU
    )
    assert store.scalar(hand.cursor(), "SELECT count(*) FROM bilan_action WHERE code_action = 'A5'") == 1


def test_porteur_contact_edit(hand):
    warnings: list[str] = []
    edits.set_porteur_contact(
        hand,
        user=LOCAL,
        id_porteur="P2",
        contact_nom="Sam Durand",
        contact_email="sam@asso-exemple.fr",
        contact_telephone="+41 22 000 00 00",
        warnings=warnings,
    )
    assert (
        hand.execute("SELECT contact_email FROM porteur WHERE id_porteur = 'P2'").fetchone()[0] == "sam@asso-exemple.fr"
    )
    assert warnings and "numéro français" in warnings[0]
    with pytest.raises(store.IntegrityError, match="adresse électronique « sam-at-asso » invalide"):
        edits.set_porteur_contact(
            hand, user=LOCAL, id_porteur="P2", contact_nom=None, contact_email="sam-at-asso", contact_telephone=None
        )


# ---------------------------------------------------------------- the page


def test_financements_page_shows_the_bilans(app_env, deferred):
    at = run_app("financements", query={"contrat": "CV-DEMO-BRE"})
    assert not at.exception, at.exception
    assert "Bilans des porteurs" in [h.value for h in at.subheader]
    con = duckdb.connect(str(app_env))
    try:
        s = q.summary(con.cursor(), contrat="CV-DEMO-BRE", donnees_au=DEMO_AU)
        late = q.late(con.cursor(), contrat="CV-DEMO-BRE", donnees_au=DEMO_AU)
    finally:
        con.close()
    cards = {m.label: m.value for m in at.metric}
    assert cards["Bilans dus"] == fmt.integer(s["dus"]) and cards["En retard"] == fmt.integer(s["en_retard"])
    assert cards["Complétude"] == fmt.percent(s["part"])
    assert s["en_retard"] > 0, "the demo shows late bilans"
    button = next(b for b in at.get("download_button") if b.proto.id.endswith("bilans_publipostage"))
    frame = pl.read_csv(io.BytesIO(deferred(button)), separator=";", encoding="utf8-lossy", infer_schema_length=0)
    assert frame.columns[0] == "Adresse électronique" and frame.height == late.height
    assert frame["Code de l'action"].to_list() == late["code_action"].to_list()


def test_only_the_open_bilans_tab_is_built(app_env):
    """The tabs are lazy: a first visit reads and shows the late list only; each tab opened shows
    its own table (as many rows as its query, up to the 200 shown) and drops the others."""
    at = run_app("financements", query={"contrat": "CV-DEMO-BRE"})
    con = duckdb.connect(str(app_env))
    try:
        args = dict(contrat="CV-DEMO-BRE", donnees_au=DEMO_AU)
        expected = {
            "En retard": fig.late_table(q.late(con.cursor(), **args)),
            "Par porteur": fig.porteurs_table(q.by_porteur(con.cursor(), **args)),
            "Par quartier": fig.qpv_table(q.by_qpv(con.cursor(), **args)),
            "Par exercice": fig.years_table(q.by_year(con.cursor(), **args)),
        }
    finally:
        con.close()

    def shown() -> dict[str, int]:
        heights = {}
        for label, frame in expected.items():
            found = [d.value for d in at.dataframe if list(d.value.columns) == frame.columns]
            if found:
                heights[label] = found[0].shape[0]
        return heights

    assert shown() == {"En retard": min(expected["En retard"].height, 200)}
    for label in ("Par porteur", "Par quartier", "Par exercice", "En retard"):
        open_tab(at, "bilans_onglets", label)
        assert shown() == {label: min(expected[label].height, 200)}, label
    open_tab(at, "bilans_onglets", "Enregistrer un bilan")
    assert not shown() and at.selectbox(key="bilans_choix").options


def test_demo_bilans_show_late_ones_and_round_numbers(demo_cur):
    s = q.summary(demo_cur, contrat=None, donnees_au=DEMO_AU)
    assert s["dus"] > 0 and 0.05 <= s["en_retard"] / s["dus"] <= 0.15
    assert s["acceptes"] > s["a_examiner"] > 0 and s["a_completer"] > 0
    received = demo_cur.execute("SELECT min(date_reception), max(date_reception) FROM bilan_action").fetchone()
    assert received[1] < DEMO_AU
    spread = demo_cur.execute(
        "SELECT count(*) FILTER (WHERE date_reception <= make_date(annee + 1, 6, 30)), "
        "count(*) FILTER (WHERE date_reception > make_date(annee + 1, 6, 30)) "
        "FROM bilan_action"
    ).fetchone()
    assert min(spread) > 0, "received before and after the due date"


def test_partenaire_sees_no_contact(accounts, app_env):  # noqa: F811 (the fixture imported above)
    from tests.pages.test_secret import PARTENAIRE, _frames, _run

    at = _run(PARTENAIRE, "financements")
    assert "Bilans des porteurs" in [h.value for h in at.subheader]
    con = duckdb.connect(str(app_env))
    try:
        emails = {
            r[0] for r in con.execute("SELECT contact_email FROM porteur WHERE contact_email IS NOT NULL").fetchall()
        }
    finally:
        con.close()
    for tab in ("En retard", "Par porteur"):  # the two tabs that list porteurs (lazy: one built at a time)
        open_tab(at, "bilans_onglets", tab)
        shown = " ".join(" ".join(f.columns) for f in _frames(at).values())
        assert "Porteur" in shown, tab
        assert "Adresse électronique" not in shown and "Contact" not in shown and "Téléphone" not in shown
        assert not [b for b in at.get("download_button") if b.proto.id.endswith("bilans_publipostage")]
        cells = {str(v) for f in _frames(at).values() for c in f.columns for v in f[c].to_list()}
        assert not cells & emails
