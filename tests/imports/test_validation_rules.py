"""Validation defects found by the import audit (issue 8): NOT NULL columns left empty, dates
and QPV outside the contract, territory codes of indicator values, QPV 2015 codes in INSEE
files, and the French of the messages."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from cdv_core import demo, ingest, store
from cdv_core.access import local_user
from cdv_core.ingest import cells, detect, kinds, pipeline, territory, validate, validate_periods, validate_values
from cdv_core.ingest.cli import report_text
from cdv_core.ingest.kinds import contours_qpv, insee, liste_qpv, programmation, template
from cdv_core.ingest.spec import KINDS, TEMPLATES

LOCAL = local_user("test")  # CDV_AUTH=aucune: may do everything

# a porteur of the demo store's CV-DEMO-VERM
PORTEUR = demo.generate("demo")["action"].filter(pl.col("code_contrat") == "CV-DEMO-VERM")["id_porteur"][0]
H_ACTIONS = "code_action;code_contrat;id_porteur;libelle;thematique;mode_financement;annee_debut;annee_fin;statut"


def _analyse(con, text: str, name: str = "f.csv", **kw) -> ingest.Analysis:
    return ingest.analyse(con.cursor(), text.encode("utf-8"), name, **kw)


def _problems(a: ingest.Analysis) -> set[tuple]:
    return {
        (r["ligne"], r["colonne"], r["valeur"], r["problème"], r["gravité"]) for r in a.problems.iter_rows(named=True)
    }


def _one(con, sql: str, params: dict | None = None):
    rows = con.execute(sql, params or {}).fetchall()
    assert len(rows) == 1
    return rows[0][0]


# ---------------------------------------------------------------- A3: optional cells of NOT NULL columns

# NOT NULL columns optional in the spec without a schema default: the builder derives them
DERIVED = {
    ("porteurs", "id_porteur"),  # id_porteur, else SIRET, else RNA (error when none)
    ("programmation", "financeur"),
}  # « État P147 » when empty


def test_every_optional_not_null_column_has_a_default_or_is_derived(empty_store):
    """Guard: every import kind, every NOT NULL column of its table that the spec lets the user
    leave empty has a schema default (taken for new rows) or is derived by the builder."""
    cur = empty_store.cursor()
    found = set()
    for kind in KINDS.values():
        defaults = pipeline.not_null_defaults(cur, kind.table)
        for col in kind.columns:
            if col.name in defaults and not col.required:
                found.add((kind.code, col.name))
                assert defaults[col.name] is not pipeline._NO_DEFAULT or (kind.code, col.name) in DERIVED, (
                    kind.code,
                    col.name,
                )
    # the three the audit found, and the derived ones: nothing else slipped through
    assert found == {("contrats", "territoire"), ("actions", "hors_qpv"), ("indicateurs", "agregation"), *DERIVED}
    assert pipeline.not_null_defaults(cur, "contrat")["territoire"] == "hexagone"
    assert pipeline.not_null_defaults(cur, "action")["hors_qpv"] is False
    assert pipeline.not_null_defaults(cur, "indicateur")["agregation"] == "moyenne pondérée"


CASES = {
    # kind: (header, new row, existing row, key, table, column, default, non-default value to set first)
    "contrats": (
        "code_contrat;libelle;type_signataire;insee_dep;date_debut;date_fin;territoire",
        "CV-NEUF;Contrat neuf;EPCI;75;01/01/2024;31/12/2030;",
        "CV-DEMO-VERM;Contrat Vermandois;EPCI;02;01/01/2024;31/12/2030;",
        "code_contrat",
        "CV-DEMO-VERM",
        "territoire",
        "hexagone",
        "outre-mer",
    ),
    "actions": (
        H_ACTIONS + ";hors_qpv",
        f"2026-H-0001;CV-DEMO-VERM;{PORTEUR};Action neuve;1.1;AAP;2026;2026;accordée;",
        None,
        "code_action",
        None,
        "hors_qpv",
        False,
        True,
    ),
    "indicateurs": (
        "code_indicateur;libelle;unite;sens;agregation",
        "IND_NEUF;Indicateur neuf;%;baisse;",
        "CHOM;Taux de chômage;%;baisse;",
        "code_indicateur",
        "CHOM",
        "agregation",
        "moyenne pondérée",
        "somme",
    ),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_empty_not_null_cell_takes_the_default_when_new_and_keeps_the_value_on_update(demo_store, kind):
    header, new_row, existing_row, key, existing_key, column, default, other = CASES[kind]
    con = store.connect(demo_store)
    table = KINDS[kind].table
    if existing_row is None:  # an existing action of the demo, written back with the same values
        existing_key = _one(
            con,
            "SELECT min(code_action) FROM action WHERE code_contrat = 'CV-DEMO-VERM' "
            "AND annee_debut = 2024 AND annee_fin = 2024",
        )
        row = con.execute(
            "SELECT code_action, code_contrat, id_porteur, libelle, thematique, mode_financement, "
            "annee_debut, annee_fin, statut FROM action WHERE code_action = $k",
            {"k": existing_key},
        ).fetchall()[0]
        existing_row = ";".join(str(v) for v in row) + ";"
    con.execute("UPDATE " + table + " SET " + column + " = $v WHERE " + key + " = $k", {"v": other, "k": existing_key})
    a = _analyse(con, f"{header}\n{new_row}\n{existing_row}\n", kind=kind)
    assert a.errors == 0, a.problems
    ingest.commit(con, a, user=LOCAL)  # raised ConstraintException (NOT NULL) before the fix
    new_key = new_row.split(";")[0]
    assert _one(con, "SELECT " + column + " FROM " + table + " WHERE " + key + " = $k", {"k": new_key}) == default
    assert _one(con, "SELECT " + column + " FROM " + table + " WHERE " + key + " = $k", {"k": existing_key}) == other
    # re-importing the same file changes nothing
    again = _analyse(con, f"{header}\n{new_row}\n{existing_row}\n", kind=kind)
    main = again.diff.filter(pl.col("table") == table).row(0, named=True)
    assert (main["nouveaux"], main["modifiés"]) == (0, 0)
    con.close()


# ---------------------------------------------------------------- A8: contract period, QPV of another contract


def test_action_dates_years_and_qpv_checked_against_the_contract(demo_store):
    con = store.connect(demo_store)
    csv = (
        H_ACTIONS + ";date_debut;date_fin;date_decision;date_statut;quartiers;objectifs\n"
        f"2026-P-0001;CV-DEMO-VERM;{PORTEUR};Dates hors période;1.1;AAP;2026;2026;accordée;"
        "01/09/2019;30/06/2032;15/04/2040;;QN00281M, QN06081M;OBJ-CV-DEMO-BRE-T-1\n"
        f"2026-P-0002;CV-DEMO-VERM;{PORTEUR};Année fin hors période;1.1;AAP;2026;2031;accordée;;;;;QN00281M;\n"
        f"2026-P-0003;CV-DEMO-VERM;{PORTEUR};Dans les tolérances;1.1;AAP;2030;2030;accordée;"
        "01/01/2030;30/06/2031;15/12/2023;31/03/2031;QN00281M;\n"
        f"2026-P-0004;CV-DEMO-VERM;{PORTEUR};Années avant;1.1;AAP;2023;2024;accordée;;;;;;\n"
    )
    a = _analyse(con, csv, kind="actions")
    got = _problems(a)
    period = "(période du contrat : du 01/01/2024 au 31/12/2030)"
    assert (
        3,
        "annee_fin",
        "2031",
        "Année hors de la période du contrat (période du contrat : 2024–2030)",
        "erreur",
    ) in got
    assert (
        5,
        "annee_debut",
        "2023",
        "Année hors de la période du contrat (période du contrat : 2024–2030)",
        "erreur",
    ) in got
    assert (2, "date_debut", "01/09/2019", f"Date hors de la période du contrat {period}", "avertissement") in got
    assert (2, "date_fin", "30/06/2032", f"Date hors de la période du contrat {period}", "avertissement") in got
    assert (2, "date_decision", "15/04/2040", f"Date hors de la période du contrat {period}", "avertissement") in got
    assert (2, "quartiers", "QN06081M", "Le QPV QN06081M appartient au contrat CV-DEMO-BRE", "erreur") in got
    assert (
        2,
        "objectifs",
        "OBJ-CV-DEMO-BRE-T-1",
        "L'objectif OBJ-CV-DEMO-BRE-T-1 appartient au contrat CV-DEMO-BRE",
        "erreur",
    ) in got
    # the row within the tolerances has no problem; nothing blames annee_debut of row 3
    assert not [p for p in got if p[0] == 4]
    assert not [p for p in got if p[0] == 3 and p[1] == "annee_debut"]
    assert len(got) == 7
    con.close()


def test_financement_dates_and_years_against_the_period_of_the_actions_contract(demo_store):
    con = store.connect(demo_store)
    action = "A-CV-DEMO-BRE-2024-000001"
    csv = (
        "code_action;financeur;annee;montant_accorde;date_demande;date_decision;date_versement\n"
        f"{action};CAF;2024;100;15/01/2019;;01/01/2035\n"
        f"{action};Région;2024;100;15/10/2023;15/12/2023;15/06/2031\n"  # within the tolerances
        f"{action};commune;2031;100;;;\n"
    )
    got = _problems(_analyse(con, csv, kind="financements"))
    period = "(période du contrat : du 01/01/2024 au 31/12/2030)"
    assert got == {
        (2, "date_demande", "15/01/2019", f"Date hors de la période du contrat {period}", "avertissement"),
        (2, "date_versement", "01/01/2035", f"Date hors de la période du contrat {period}", "avertissement"),
        (4, "annee", "2031", "Année hors de la période du contrat (période du contrat : 2024–2030)", "erreur"),
    }
    con.close()


def test_programmation_year_date_and_qpv_of_another_contract(demo_store):
    con = store.connect(demo_store)
    csv = (
        "code_action;annee;code_contrat;libelle;nom_porteur;thematique;montant_accorde;date_decision;quartiers\n"
        "D-1;2025;CV-DEMO-VERM;Action 1;Asso A;1.1;1000;15/04/2025;QN00281M\n"
        "D-2;2031;CV-DEMO-VERM;Action 2;Asso A;1.1;1000;15/04/2035;QN08081M\n"
    )
    got = _problems(_analyse(con, csv, kind="programmation"))
    assert got == {
        (3, "annee", "2031", "Année hors de la période du contrat (période du contrat : 2024–2030)", "erreur"),
        (
            3,
            "date_decision",
            "15/04/2035",
            "Date hors de la période du contrat (période du contrat : du 01/01/2024 au 31/12/2030)",
            "avertissement",
        ),
        (3, "quartiers", "QN08081M", "Le QPV QN08081M appartient au contrat CV-DEMO-MONT", "erreur"),
    }
    con.close()


def test_objective_qpv_of_another_contract_is_an_error_before_commit(demo_store):
    con = store.connect(demo_store)
    csv = "code_objectif;code_contrat;code_qp;axe;libelle\nOBJ-X;CV-DEMO-VERM;QN06081M;Emploi;Objectif X\n"
    got = _problems(_analyse(con, csv, kind="objectifs"))
    assert (2, "code_qp", "QN06081M", "Le QPV QN06081M appartient au contrat CV-DEMO-BRE", "erreur") in got
    con.close()


# ---------------------------------------------------------------- A7 / A11: territory codes


def test_indicator_value_template_pads_and_checks_territory_codes(demo_store):
    con = store.connect(demo_store)
    head = "code_indicateur;type_territoire;code_territoire;date_valeur;valeur\n"
    bad = (
        head + "CHOM;EPCI;20007189;01/01/2023;11\nCHOM;QPV;QP002001;01/01/2023;11\n"
        "CHOM;QPV;QN99999Z;01/01/2023;11\nCHOM;commune;20004;01/01/2023;11\nCHOM;EPCI;200054782;01/01/2023;11\n"
        "CHOM;département;99;01/01/2023;11\n"
    )
    got = {(p[0], p[1], p[2], p[3]) for p in _problems(_analyse(con, bad))}
    assert got == {
        (2, "code_territoire", "20007189", "SIREN d'EPCI mal formé"),
        (3, "code_territoire", "QP002001", "Code QPV 2015 (ancienne géographie prioritaire)"),
        (4, "code_territoire", "QN99999Z", "Code QPV mal formé"),
        (5, "code_territoire", "20004", "Code commune corse en 20…"),
        (6, "code_territoire", "200054782", "SIREN d'EPCI invalide (clé de contrôle)"),
        (7, "code_territoire", "99", "Code département inconnu"),
    }
    good = (
        head + "CHOM;commune;2991;01/01/2023;12,5\nCHOM;département;2;01/01/2023;10\n"
        "CHOM;France;France;01/01/2023;10\nCHOM;EPCI;200054781;01/01/2023;9\nCHOM;QPV;qn00281m;02/01/2023;9\n"
    )
    a = _analyse(con, good, "valeurs.csv")
    assert a.errors == 0, a.problems
    ingest.commit(con, a, user=LOCAL)
    stored = set(
        con.execute(
            "SELECT type_territoire, code_territoire FROM valeur_indicateur WHERE source_fichier = 'valeurs.csv'"
        ).fetchall()
    )
    assert stored == {
        ("commune", "02991"),
        ("département", "02"),
        ("France", "FR"),
        ("EPCI", "200054781"),
        ("QPV", "QN00281M"),
    }
    con.close()


def test_insee_wide_file_recognises_qpv_2015_codes(demo_store):
    con = store.connect(demo_store)
    from datetime import date

    csv = "CODGEO;CHOM\nQP009001;40,2\nQP02A001;12\nZZ12;3\nQN00281M;5\nFrance;7\n"
    a = _analyse(con, csv, mapping={"CHOM": "CHOM"}, date_valeur=date(2018, 1, 1))
    got = {(p[0], p[2], p[3]) for p in _problems(a)}
    assert got == {
        (2, "QP009001", "Code QPV 2015 (ancienne géographie prioritaire)"),
        (3, "QP02A001", "Code QPV 2015 (ancienne géographie prioritaire)"),
        (4, "ZZ12", "Code territoire non reconnu (ni QPV 2024, ni commune, EPCI, département, France)"),
    }
    codes = set(a.loads[0].frame["code_territoire"])
    assert {"QN00281M", "FR"} <= codes
    con.close()


# ---------------------------------------------------------------- A14: French of the messages


def test_reference_messages_agree_in_gender_and_elide(demo_store):
    con = store.connect(demo_store)
    a = _analyse(con, "code_action;financeur;annee;montant_accorde\nA-NOPE;CAF;2024;10\n", kind="financements")
    row = a.problems.filter(pl.col("colonne") == "code_action").row(0, named=True)
    assert row["problème"] == "Action inconnue dans la base"
    assert row["correction attendue"] == "Un code d'action existant, ou importez d'abord le fichier des actions"
    csv = H_ACTIONS + ";objectifs\n" + f"2026-X;CV-NOPE;{PORTEUR};X;1.1;AAP;2026;2026;accordée;OBJ-NOPE\n"
    rows = {r["colonne"]: r for r in _analyse(con, csv, kind="actions").problems.iter_rows(named=True)}
    assert rows["code_contrat"]["problème"] == "Contrat inconnu dans la base"
    assert rows["objectifs"]["correction attendue"].startswith("Un code d'objectif existant")
    con.close()


def test_file_level_problems_have_no_row_and_no_double_full_stop(demo_store):
    con = store.connect(demo_store)
    a = ingest.analyse(con.cursor(), b"", "vide.csv")
    assert a.problems["ligne"].to_list() == [None]
    text = report_text(a)
    assert ".." not in text and "ligne 0" not in text and "[erreur] fichier" in text
    # a file-level problem of a whole file (INSEE date missing) comes first, without a row
    b = _analyse(con, "CODGEO;CHOM\nQN00281M;5\n", mapping={"CHOM": "CHOM"})
    assert b.problems.row(0, named=True)["ligne"] is None
    con.close()


def test_contours_notes_use_french_numbers_and_plurals(demo_store):
    import json

    con = store.connect(demo_store)
    square = [[[2.0, 48.0], [2.1, 48.0], [2.1, 48.1], [2.0, 48.0]]]
    features = [
        {"type": "Feature", "properties": {"code_qp": code}, "geometry": {"type": "Polygon", "coordinates": square}}
        for code in ("QN00281M", "QN99901M", "QN99902M")
    ]
    data = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    a = ingest.analyse(con.cursor(), data, "contours.geojson")
    assert "1 contour de quartier de la base dans ce fichier." in a.notes
    warning = a.problems.filter(pl.col("colonne") == "code_qp").row(0, named=True)
    assert warning["valeur"] == "2 quartiers, ex. QN99901M" and warning["ligne"] is None
    con.close()


def test_no_ambiguous_plural_marks_in_pipeline_messages():
    """« (s) », « (e) » and « de » before a vowel in the messages of pipeline.py (now split into the
    modules below)/spec.py."""
    import inspect
    import re

    source = "".join(
        inspect.getsource(m)
        for m in (
            pipeline,
            cells,
            detect,
            territory,
            validate,
            validate_periods,
            validate_values,
            kinds,
            template,
            insee,
            liste_qpv,
            programmation,
            contours_qpv,
        )
    )
    assert not re.search(r"[a-zé]\((?:s|e)\)[ ,]", source)  # « contour(s) », « inconnu(e) »
    assert "inconnu(e)" not in source
    for kind in TEMPLATES:
        for ref in kind.refs:
            assert isinstance(ref.feminine, bool)
    assert {r.label for k in KINDS.values() for r in k.refs if r.feminine} == {"action", "réunion", "instance"}


def test_store_integrity_would_have_refused_the_years_we_now_report(demo_store):
    """The years reported as errors are exactly those the store's integrity rules refuse."""
    con = store.connect(demo_store)
    csv = H_ACTIONS + "\n" + f"2026-Y;CV-DEMO-VERM;{PORTEUR};Y;1.1;AAP;2026;2031;accordée\n"
    a = _analyse(con, csv, kind="actions")
    assert a.errors == 1
    # the same row forced in: refused by the store
    with pytest.raises(store.IntegrityError):
        with store.transaction(con) as cur:
            cur.execute(
                "INSERT INTO action (code_action, code_contrat, id_porteur, libelle, thematique, mode_financement, "
                "annee_debut, annee_fin, statut) VALUES ('2026-Y', 'CV-DEMO-VERM', $p, 'Y', '1.1', 'AAP', 2026, 2031, "
                "'accordée')",
                {"p": PORTEUR},
            )
    con.close()


def test_duckdb_default_literals_are_parsed():
    assert pipeline._literal("'moyenne pondérée'") == "moyenne pondérée"
    assert pipeline._literal("'l''école'") == "l'école"
    assert pipeline._literal("false") is False and pipeline._literal("1") == 1
    assert pipeline._literal("CAST('f' AS BOOLEAN)") is False  # DuckDB 1.5's spelling of `false`
    assert pipeline._literal("CAST('t' AS BOOLEAN)") is True
    assert pipeline._literal("nextval('x')") is pipeline._NO_DEFAULT
    assert pipeline._literal(None) is pipeline._NO_DEFAULT
    assert isinstance(duckdb.__version__, str)


def test_amount_in_a_warning_is_written_the_french_way(demo_store):
    con = store.connect(demo_store)
    csv = (
        "code_action;financeur;annee;montant_accorde;montant_verse\nA-CV-DEMO-BRE-2024-000001;CAF;2024;10000;12500,5\n"
    )
    row = _analyse(con, csv, kind="financements").problems.row(0, named=True)
    assert (row["colonne"], row["valeur"]) == ("montant_verse", "12\u202f500,50")
    con.close()


def test_spec_descriptions_have_no_parenthesised_plurals():
    import re

    for kind in KINDS.values():
        for col in kind.columns:
            assert not re.search(r"\w\((s|e|es)\)", col.description), (kind.code, col.name, col.description)


@pytest.mark.parametrize(
    "financeur, expected",
    [
        ("ANCT", "État P147"),
        ("Communauté d'agglomération", "EPCI"),
        ("Agglo", "EPCI"),
        ("CD", "département"),
        ("Bailleurs sociaux", "bailleurs"),
        ("Caisse des dépôts", "Banque des territoires"),
        ("ARS", "État droit commun"),
        ("Éducation nationale", "État droit commun"),
    ],
)
def test_funders_named_as_in_real_extracts_are_recognised(demo_store, financeur, expected):
    con = store.connect(demo_store)
    text = f"code_action;financeur;annee;montant_accorde\nA-CV-DEMO-BRE-2024-000001;{financeur};2025;1000\n"
    analysis = ingest.analyse(con.cursor(), text.encode("utf-8"), "financements.csv")
    assert analysis.ok, analysis.problems
    assert analysis.loads[0].frame["financeur"].to_list() == [expected]


@pytest.mark.parametrize(
    "statut, expected",
    [("Classé sans suite", "abandonnée"), ("Annulé", "abandonnée"), ("Instruit", "déposée"), ("Programmé", "accordée")],
)
def test_dossier_statuses_named_as_in_dauphin_are_recognised(demo_store, statut, expected):
    con = store.connect(demo_store)
    text = (
        "Code dossier;Libellé de l'action;Code SIRET;Raison sociale;Montant engagé;Exercice;Code contrat ville;"
        f"Thème;Statut\nD2025-S-1;Atelier;77554402601284;Centre social;1 000,00;2025;CV-DEMO-VERM;1.1;{statut}\n"
    )
    analysis = ingest.analyse(con.cursor(), text.encode("utf-8"), "programmation.csv")
    assert analysis.ok, analysis.problems
    action = next(load for load in analysis.loads if load.table == "action")
    assert action.frame["statut"].to_list() == [expected]


def test_a_dauphin_extract_with_other_header_spellings_is_detected(demo_store):
    con = store.connect(demo_store)
    text = (
        "N° dossier;Nom de l'opération;SIRET;Raison sociale;Subvention 2026;Exercice;Code contrat ville;Thème\n"
        "2026-MAP-0001;Médiation sociale;77554402601284;Centre social;4 000;2026;CV-DEMO-BRE;1.1\n"
    )
    analysis = ingest.analyse(con.cursor(), text.encode("utf-8"), "extraction.csv")
    assert analysis.kind == "programmation" and analysis.ok, analysis.problems
    assert (
        analysis.mapping["Subvention 2026"] == "montant_accorde" and analysis.mapping["Nom de l'opération"] == "libelle"
    )
    funding = next(load for load in analysis.loads if load.table == "financement")
    assert funding.frame["montant_accorde"].to_list() == [4000]


def test_the_template_example_row_left_in_a_file_is_refused(empty_store):
    from cdv_core.ingest import templates

    for kind in ("contrats", "porteurs", "indicateurs"):  # kinds whose example row has no unknown reference
        data = templates.template_csv(kind) + b"\n"
        analysis = ingest.analyse(empty_store.cursor(), data, f"modele_{kind}.csv")
        assert analysis.kind == kind and analysis.errors == 1, analysis.problems
        assert analysis.problems["problème"].to_list() == ["Ligne d'exemple du modèle"]
        assert analysis.problems["ligne"].to_list() == [2]
