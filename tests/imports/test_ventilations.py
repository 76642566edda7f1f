"""Breakdowns of indicator values by sexe and âge (issue #20): imported from the « valeurs
d'indicateurs » template (columns sexe / tranche_age) and from INSEE wide files whose variables
carry them (DEFM_F, DEFM_15_24…), checked, stored apart from the totals, rolled back, exported
back in the template, kept in their contract's scope."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from cdv_core import access, ingest, store
from cdv_core.access import User, local_user
from cdv_core.ingest import clean, templates
from cdv_core.ingest.kinds import insee
from tests.conftest import insert

pytestmark = pytest.mark.both_backends
LOCAL = local_user("test")
HEADER = "code_indicateur;type_territoire;code_territoire;date_valeur;valeur;sexe;tranche_age\n"


def _qpv(con, contrat: str = "CV-DEMO-VERM") -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT code_qp FROM quartier WHERE code_contrat = $c ORDER BY 1", {"c": contrat}
        ).fetchall()
    ]


def _problems(analysis, severity: str = "erreur") -> list[tuple[int, str, str]]:
    return analysis.problems.filter(pl.col("gravité") == severity).select("ligne", "colonne", "problème").rows()


def _detail(con, qp: str) -> list[tuple]:
    return con.execute(
        "SELECT dimension, modalite, valeur, secret FROM valeur_indicateur_detail "
        "WHERE code_indicateur = 'DEFM' AND code_territoire = $q AND date_valeur = DATE '2026-03-31' "
        "ORDER BY dimension = 'âge', modalite",
        {"q": qp},
    ).fetchall()


@pytest.mark.parametrize(
    "raw, band",
    [
        ("15-24", "15 à 24 ans"),
        ("15 à 24 ans", "15 à 24 ans"),
        ("15_24", "15 à 24 ans"),
        ("026-049", "26 à 49 ans"),
        ("<26", "moins de 26 ans"),
        ("-26", "moins de 26 ans"),
        ("Moins de 26 ans", "moins de 26 ans"),
        ("50+", "50 ans et plus"),
        ("50 ans et plus", "50 ans et plus"),
        ("50 ans ou plus", "50 ans et plus"),
        ("50P", "50 ans et plus"),
        ("jeunes", None),
        ("26", None),
    ],
)
def test_age_bands_are_read_in_their_usual_spellings(raw, band):
    assert pl.select(clean.age_band(pl.lit(raw))).item() == band


def test_a_values_file_with_sexes_and_ages_is_stored_apart_from_its_totals(demo_store):
    con = store.connect(demo_store)
    try:
        qp = _qpv(con)[0]
        body = (
            f"DEFM;QPV;{qp};31/03/2026;412;;\n"
            f"DEFM;QPV;{qp};31/03/2026;203;F;\n"
            f"DEFM;QPV;{qp};31/03/2026;209;Hommes;\n"
            f"DEFM;QPV;{qp};31/03/2026;61;;<26\n"
            f"DEFM;QPV;{qp};31/03/2026;247;;26-49\n"
            f"DEFM;QPV;{qp};31/03/2026;104;;50 ans et plus\n"
        )
        analysis = ingest.analyse(con.cursor(), (HEADER + body).encode(), "valeurs_ventilees.csv")
        assert analysis.ok and analysis.problems.is_empty(), analysis.problems
        assert [load.table for load in analysis.loads] == ["valeur_indicateur", "valeur_indicateur_detail"]
        before = store.scalar(con, "SELECT count(*) FROM valeur_indicateur")
        id_import = ingest.commit(con, analysis, user=LOCAL)
        assert store.scalar(con, "SELECT count(*) FROM valeur_indicateur") == before + 1
        assert _detail(con, qp) == [
            ("sexe", "femmes", 203.0, None),
            ("sexe", "hommes", 209.0, None),
            ("âge", "26 à 49 ans", 247.0, None),
            ("âge", "50 ans et plus", 104.0, None),
            ("âge", "moins de 26 ans", 61.0, None),
        ]
        assert store.integrity_errors(con.cursor()) == []
        # the current data, exported in the template, reads back as the same rows: nothing changes
        current = templates.current_frame(con.cursor(), kind="valeurs_indicateurs", contrat="CV-DEMO-VERM")
        mine = current.filter(
            (pl.col("code_territoire") == qp)
            & (pl.col("code_indicateur") == "DEFM")
            & (pl.col("date_valeur") == "31/03/2026")
        )
        assert mine.select("valeur", "sexe", "tranche_age").rows() == [
            ("412", None, None),
            ("203", "femmes", None),
            ("209", "hommes", None),
            ("247", None, "26 à 49 ans"),
            ("104", None, "50 ans et plus"),
            ("61", None, "moins de 26 ans"),
        ]
        again = ingest.analyse(con.cursor(), templates.tables.to_csv_bytes(current), "donnees_actuelles.csv")
        assert again.ok, again.problems
        assert again.diff["nouveaux"].sum() == 0
        changed = again.changes.filter((pl.col("état") == "modifié") & (pl.col("colonne") != "source_fichier"))
        assert changed.is_empty(), changed
        # the import's breakdowns go with its rollback
        ingest.rollback(con, id_import, user=LOCAL)
        assert _detail(con, qp) == []
        assert store.scalar(con, "SELECT count(*) FROM valeur_indicateur") == before
    finally:
        con.close()


def test_a_breakdown_file_is_checked_line_by_line(demo_store):
    con = store.connect(demo_store)
    try:
        qp = _qpv(con)[0]
        body = (
            f"DEFM;QPV;{qp};31/03/2026;412;;\n"
            f"DEFM;QPV;{qp};31/03/2026;203;femmes;\n"
            f"DEFM;QPV;{qp};31/03/2026;200;femme;\n"  # the same category twice
            f"DEFM;QPV;{qp};31/03/2026;209;M;\n"  # « M »: masculin or madame?
            f"DEFM;QPV;{qp};31/03/2026;61;;jeunes\n"  # not an age band
            f"DEFM;QPV;{qp};31/03/2026;61;;49-26\n"  # an empty band
            f"DEFM;QPV;{qp};31/03/2026;30;F;<26\n"
        )  # two breakdowns on one line
        analysis = ingest.analyse(con.cursor(), (HEADER + body).encode(), "valeurs_ventilees.csv")
        assert _problems(analysis) == [
            (
                3,
                "code_indicateur + type_territoire + code_territoire + date_valeur + ventilation",
                "Clé en double dans le fichier",
            ),
            (
                4,
                "code_indicateur + type_territoire + code_territoire + date_valeur + ventilation",
                "Clé en double dans le fichier",
            ),
            (5, "sexe", "Sexe non reconnu"),
            (6, "tranche_age", "Tranche d'âge non reconnue"),
            (7, "tranche_age", "Tranche d'âge vide"),
            (8, "tranche_age", "Une ligne ventilée à la fois par sexe et par âge"),
        ]
        with pytest.raises(ingest.ImportRefused):
            ingest.commit(con, analysis, user=LOCAL)
        assert (
            store.scalar(con, "SELECT count(*) FROM valeur_indicateur_detail WHERE date_valeur = DATE '2026-03-31'")
            == 0
        )
    finally:
        con.close()


def test_femmes_and_hommes_of_a_count_add_up_to_its_total(demo_store):
    con = store.connect(demo_store)
    try:
        qp, other = _qpv(con)[:2]
        body = (
            f"DEFM;QPV;{qp};31/03/2026;412;;\n"
            f"DEFM;QPV;{qp};31/03/2026;203;F;\n"
            f"DEFM;QPV;{qp};31/03/2026;200;H;\n"  # 403, not 412
            f"DEFM;QPV;{other};31/03/2026;300;;\n"
            f"DEFM;QPV;{other};31/03/2026;s;F;\n"  # a secret category: not checked
            f"DEFM;QPV;{other};31/03/2026;297;H;\n"
            f"CHOM;QPV;{qp};31/03/2026;18,3;;\n"  # a rate: women and men do not add up
            f"CHOM;QPV;{qp};31/03/2026;17,0;F;\n"
            f"CHOM;QPV;{qp};31/03/2026;19,5;H;\n"
        )
        analysis = ingest.analyse(con.cursor(), (HEADER + body).encode(), "valeurs_ventilees.csv")
        assert analysis.ok
        assert _problems(analysis, "avertissement") == [
            (2, "valeur", "Femmes et hommes ne font pas le total de cette valeur")
        ]
    finally:
        con.close()


def test_an_insee_file_maps_its_suffixed_variables_to_breakdowns(demo_store):
    con = store.connect(demo_store)
    try:
        a, b = _qpv(con)[:2]
        text = (
            "CODGEO;DEFM;DEFM_F;DEFM_H;DEFM_MOINS26;DEFM_26_49;DEFM_50P;AUTRE\n"
            f"{a};412;203;209;61;247;104;1\n{b};300;150;149;40;200;60;2\n"
        )
        analysis = ingest.analyse(
            con.cursor(), text.encode(), "insee_defm.csv", kind="insee", date_valeur=date(2026, 3, 31)
        )
        assert analysis.mapping["DEFM_F"] == "DEFM — femmes" and analysis.mapping["DEFM_50P"] == "DEFM — 50 ans et plus"
        assert analysis.unmapped == ["AUTRE"]
        assert _problems(analysis, "avertissement") == [
            (1, "AUTRE", "Variable non associée à un indicateur, ignorée"),
            (3, "DEFM", "Femmes et hommes ne font pas le total de cette valeur"),
        ]  # 150 + 149 ≠ 300
        assert analysis.ok
        assert "DEFM — hommes" in ingest.mapping_targets(("DEFM",), analysis.mapping)
        assert "DEFM — 26 à 49 ans" in ingest.mapping_targets(("DEFM",), analysis.mapping)
        ingest.commit(con, analysis, user=LOCAL)
        assert _detail(con, a) == [
            ("sexe", "femmes", 203.0, None),
            ("sexe", "hommes", 209.0, None),
            ("âge", "26 à 49 ans", 247.0, None),
            ("âge", "50 ans et plus", 104.0, None),
            ("âge", "moins de 26 ans", 61.0, None),
        ]
        # a variable the user maps by hand to a category, or to nothing readable
        chosen = ingest.analyse(
            con.cursor(),
            b"CODGEO;DE_FEM;DE_X\n" + f"{a};205;1\n".encode(),
            "insee2.csv",
            kind="insee",
            date_valeur=date(2026, 3, 31),
            mapping={"DE_FEM": "DEFM — femmes", "DE_X": "DEFM — adultes"},
        )
        assert chosen.mapping == {"CODGEO": "code_territoire", "DE_FEM": "DEFM — femmes"}
        assert [load.table for load in chosen.loads] == ["valeur_indicateur_detail"]
    finally:
        con.close()


def test_breakdowns_stay_in_their_contract_and_their_rules(demo_store):
    con = store.connect(demo_store)
    try:
        qp = _qpv(con, "CV-DEMO-VERM")[0]
        elsewhere = store.scalar(con, "SELECT min(code_contrat) FROM contrat WHERE code_contrat <> 'CV-DEMO-VERM'")
        analysis = ingest.analyse(con.cursor(), (HEADER + f"DEFM;QPV;{qp};31/03/2026;203;F;\n").encode(), "f.csv")
        access.add_user(con, user=LOCAL, email="cdp@exemple.fr", role="chef_de_projet", contrats=[elsewhere])
        outsider = User(email="cdp@exemple.fr", role="chef_de_projet", contrats=(elsewhere,))
        with pytest.raises(access.AccessDenied, match=r"CV-DEMO-VERM|Vermandie"):
            ingest.commit(con, analysis, user=outsider)
        assert access.is_contract_table("valeur_indicateur_detail")
        # the store's rules hold for rows written by any path
        insert(
            con,
            "valeur_indicateur_detail",
            [
                {
                    "code_indicateur": "DEFM",
                    "type_territoire": "QPV",
                    "code_territoire": qp,
                    "date_valeur": date(2026, 3, 31),
                    "dimension": "sexe",
                    "modalite": "femmes",
                    "valeur": 203.0,
                },
                {
                    "code_indicateur": "DEFM",
                    "type_territoire": "QPV",
                    "code_territoire": qp,
                    "date_valeur": date(2026, 3, 31),
                    "dimension": "sexe",
                    "modalite": "femmes",
                    "valeur": 204.0,
                },
                {
                    "code_indicateur": "DEFM",
                    "type_territoire": "QPV",
                    "code_territoire": qp,
                    "date_valeur": date(2026, 3, 31),
                    "dimension": "âge",
                    "modalite": "jeunes",
                    "valeur": 10.0,
                },
                {
                    "code_indicateur": "DEFM",
                    "type_territoire": "QPV",
                    "code_territoire": qp,
                    "date_valeur": date(2026, 3, 31),
                    "dimension": "sexe",
                    "modalite": "hommes",
                    "valeur": None,
                },
                {
                    "code_indicateur": "NOPE",
                    "type_territoire": "QPV",
                    "code_territoire": qp,
                    "date_valeur": date(2026, 3, 31),
                    "dimension": "sexe",
                    "modalite": "hommes",
                    "valeur": 1.0,
                },
            ],
        )
        errors = store.integrity_errors(con.cursor())
        day = f"DEFM {qp} du 31/03/2026"
        assert f"valeur {day} (sexe : femmes) : présente plusieurs fois" in errors
        assert any(e.startswith(f"valeur {day} (âge : jeunes) : ventilation inconnue") for e in errors)
        assert f"valeur {day} (sexe : hommes) : une valeur, ou la raison de son absence (nd, ns, s, so)" in errors
        assert "valeur NOPE (ventilation) : indicateur inconnu" in errors
    finally:
        con.close()


def test_the_template_documents_the_breakdown_columns():
    example = templates.example_frame("valeurs_indicateurs")
    assert {"sexe", "tranche_age"} <= set(example.columns)
    assert example.row(0, named=True)["sexe"] == "" and example.row(0, named=True)["tranche_age"] == ""
    described = (
        templates.description_frame("valeurs_indicateurs").filter(pl.col("colonne") == "sexe").row(0, named=True)
    )
    assert described["valeurs permises"] == "femmes, hommes"
    assert insee.split_target("DEFM — 15-24") == ("DEFM", "âge", "15 à 24 ans")
    assert insee.split_target("DEFM") == ("DEFM", None, None)
    assert insee.split_target("DEFM — adultes") is None
