"""National adulte-relais lists as a file kind of the import pipeline: a GISPRO extract (cp1252,
`;`, « N° poste », « Raison sociale longue », « Mt engagé », amounts like « 22 555,73 € ») is
recognised and its posts imported; the open-data JSON array is read; re-import changes nothing;
rollback restores; the upload happens on « Mise à jour des données »."""

from __future__ import annotations

import json
from decimal import Decimal

import polars as pl
import pytest

from cdv_core import ingest, store
from cdv_core.access import local_user
from cdv_core.ingest import reading
from cdv_core.ingest.model import ERROR, ReadError
from tests.conftest import REFERENCE, ROOT, minimal_contract, run_app
from tests.imports.test_bad_files import checksums

LOCAL = local_user("test")
KIND = "adultes-relais"
GISPRO = ROOT / "tests" / "fixtures" / "gispro_adultes_relais_2024.csv"
OPEN_DATA = REFERENCE / "adulte-relais-2023.json"
BOOKKEEPING = (
    "import_log",
    "import_annulation",
    "import_correspondance",
    "store_meta",
    "journal_ecriture",
    "_annulation_tables",
)

pytestmark = pytest.mark.both_backends


def _data(con) -> dict:
    return {t: v for t, v in checksums(con).items() if t not in BOOKKEEPING}


def _funding(con) -> dict[str, Decimal]:
    return dict(con.execute("SELECT id_poste, montant FROM financement_poste ORDER BY 1").fetchall())


def test_the_fixture_is_a_gispro_extract():
    raw = GISPRO.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    header = raw.decode("cp1252").splitlines()[0]
    assert header.split(";")[:1] == ["N° poste"] and "Raison sociale longue" in header and "Mt engagé" in header


def test_a_gispro_extract_is_recognised_and_its_posts_imported(empty_store):
    minimal_contract(empty_store)
    analysis = ingest.analyse(empty_store.cursor(), GISPRO.read_bytes(), GISPRO.name)
    assert analysis.kind == KIND, analysis.problems
    assert analysis.ok, analysis.problems.filter(pl.col("gravité") == ERROR)
    assert (analysis.encoding, analysis.separator) == ("Windows-1252", "point-virgule")
    assert analysis.mapping == {
        "N° poste": "id_poste",
        "Année": "annee",
        "Code CV": "code_cv",
        "Département": "insee_dep",
        "Région": "insee_reg",
        "Siret": "code_tiers",
        "Raison sociale longue": "raison_sociale",
        "Mt engagé": "montant",
    }
    assert not analysis.unmapped and analysis.nb_lignes == 6
    counts = analysis.diff.select("table", "nouveaux").rows()
    assert counts == [("poste", 5), ("financement_poste", 5)]  # 6 lines, one an exact copy
    ingest.commit(empty_store, analysis, user=LOCAL)
    assert _funding(empty_store) == {
        "06921R001000": Decimal("22555.73"),
        "06921R001000-2": Decimal("22555.73"),  # « 22 555,73 € »
        "06922R000401": Decimal("11277.87"),
        "06923R001101": Decimal("22555.73"),
        "08920R000503": Decimal("22555.73"),
    }
    posts = {
        r[0]: r[1:]
        for r in empty_store.execute(
            "SELECT id_poste, type_poste, employeur, siret_employeur, code_cv_2015, insee_dep, source, code_contrat "
            "FROM poste"
        ).fetchall()
    }
    assert posts["06921R001000-2"] == (
        "adulte-relais",
        "COMITE REGIONAL UFOLEP RHONE ALPES",
        "43525312500031",
        "CV246",
        "69",
        "adultes-relais 2024",
        None,
    )
    assert posts["08920R000503"][2] == "01545063800125"  # the zero Excel stripped, restored
    assert posts["06923R001101"][1:4] == ("RÉGIE DE QUARTIER MERMOZ", "77554402601284", None)  # cp1252 read
    assert empty_store.execute("SELECT DISTINCT financeur, annee FROM financement_poste").fetchall() == [
        ("État P147", 2024)
    ]
    assert empty_store.execute("SELECT type_import FROM import_log").fetchall() == [(KIND,)]


def test_reimport_changes_nothing_and_rollback_restores(empty_store):
    con = empty_store
    minimal_contract(con)
    empty = _data(con)
    first = ingest.analyse(con.cursor(), GISPRO.read_bytes(), GISPRO.name)
    id1 = ingest.commit(con, first, user=LOCAL)
    after_first = _data(con)
    again = ingest.analyse(con.cursor(), GISPRO.read_bytes(), GISPRO.name)
    assert again.diff.select("nouveaux", "modifiés", "inchangés").rows() == [(0, 0, 5), (0, 0, 5)]
    id2 = ingest.commit(con, again, user=LOCAL)
    assert _data(con) == after_first
    # a later list: one amount changed, one post more; a user attached a post meanwhile
    text = GISPRO.read_bytes().decode("cp1252").replace("11277,87 €", "22555,73 €")
    text += "06924R000201;2024;CV246;69;84;31538511200026;CIDFF DU RHÔNE;22555,73 €\r\n"
    con.execute("UPDATE poste SET code_contrat = 'CV-T' WHERE id_poste = '06923R001101'")
    attached = _data(con)
    later = ingest.analyse(con.cursor(), text.encode("cp1252"), "gispro_2024_v2.csv")
    counts = {r[0]: r[1:] for r in later.diff.select("table", "nouveaux", "modifiés", "inchangés").rows()}
    assert counts == {"poste": (1, 0, 5), "financement_poste": (1, 1, 4)}
    id3 = ingest.commit(con, later, user=LOCAL)
    assert _funding(con)["06922R000401"] == Decimal("22555.73")
    assert con.execute("SELECT code_contrat FROM poste WHERE id_poste = '06923R001101'").fetchall() == [("CV-T",)]
    ingest.rollback(con, id3, user=LOCAL)
    assert _data(con) == attached
    assert _funding(con)["06922R000401"] == Decimal("11277.87")
    con.execute("UPDATE poste SET code_contrat = NULL WHERE id_poste = '06923R001101'")
    for id_import in (id2, id1):  # the latest first
        ingest.rollback(con, id_import, user=LOCAL)
    assert _data(con) == empty


@pytest.mark.parametrize(
    "amount", ["22 555,73", "22\u00a0555,73 €", "22\u202f555,73", "22555,73 €", "22555.73", "22 555,73 EUR"]
)
def test_a_french_amount_is_read_exactly_not_emptied(empty_store, amount):
    """The former parser of the list turned « 22 555,73 » into an empty value."""
    text = f"id_poste;code_tiers;raison_sociale;annee;montant\nA1;77554402601284;CENTRE SOCIAL;2023;{amount}\n"
    analysis = ingest.analyse(empty_store.cursor(), text.encode("utf-8"), "ar.csv")
    assert analysis.kind == KIND and analysis.ok, analysis.problems
    funding = next(load for load in analysis.loads if load.table == "financement_poste").frame
    assert funding["montant"].to_list() == [22555.73]


def test_json_records_are_read_as_text_cells():
    data = json.dumps(
        [
            {"id_poste": "A1", "montant": 22555.73, "annee": 2023},
            {"id_poste": "B1", "code_cv": None, "annee": 2023, "insee_dep": "2A"},
        ]
    ).encode()
    raw = reading.read_bytes(data, "ar.json")
    columns = ["_ligne", "id_poste", "montant", "annee", "code_cv", "insee_dep"]
    assert sorted(raw.frame.columns) == sorted(columns)
    assert raw.frame.select(columns).rows() == [
        (1, "A1", "22555.73", "2023", None, None),
        (2, "B1", None, "2023", None, "2A"),
    ]
    assert raw.encoding_label == "UTF-8" and raw.separator_label == "sans objet"
    for bad, why in (
        (b"[]", "aucun enregistrement"),
        (b'[{"a": {"b": 1}}]', "imbriquées"),
        (b"[1, 2]", "tableau d'objets"),
    ):
        with pytest.raises(ReadError, match=why):
            reading.read_bytes(bad, "x.json")


@pytest.mark.skipif(
    not OPEN_DATA.exists(),
    reason="../shared/reference/adulte-relais-2023.json absent (données de référence non disponibles)",
)
def test_the_open_data_json_is_recognised(empty_store):
    records = json.loads(OPEN_DATA.read_text(encoding="utf-8"))
    analysis = ingest.analyse(empty_store.cursor(), OPEN_DATA.read_bytes(), OPEN_DATA.name)
    assert analysis.kind == KIND and analysis.ok, analysis.problems.filter(pl.col("gravité") == ERROR)
    assert analysis.nb_lignes == len(records) and analysis.encoding == "UTF-8"
    funding = next(load for load in analysis.loads if load.table == "financement_poste").frame
    assert funding.height == len(records)
    assert funding["montant"].sum() == pytest.approx(sum(r["montant"] for r in records), abs=0.01)


def test_the_page_imports_a_gispro_extract_and_rolls_it_back(app_env):
    at = run_app("mise_a_jour")
    at.file_uploader(key="maj_fichier_0").set_value((GISPRO.name, GISPRO.read_bytes(), "text/csv")).run()
    assert not at.exception, at.exception
    assert any("Liste nationale des adultes-relais" in m.value for m in at.markdown)
    kpis = {m.label: m.value for m in at.metric}
    assert kpis["Erreurs"] == "0" and kpis["Lignes lues"] == "6"
    diff = next(d.value for d in at.dataframe if "nouveaux" in d.value.columns).set_index("table")
    assert diff.loc["poste", "nouveaux"] == 5
    at.button(key="maj_valider").click().run()
    assert not at.exception, at.exception
    assert any("validé" in s.value for s in at.success)
    con = store.connect(app_env)
    try:
        assert store.scalar(con, "SELECT count(*) FROM poste WHERE source = 'adultes-relais 2024'") == 5
        id_import = store.scalar(con, "SELECT max(id_import) FROM import_log WHERE type_import = $k", {"k": KIND})
    finally:
        con.close()
    at.selectbox(key="maj_annuler_id").set_value(id_import).run()
    at.checkbox(key="maj_annuler_ok").check().run()
    at.button(key="maj_annuler").click().run()
    assert not at.exception, at.exception
    con = store.connect(app_env)
    try:
        assert store.scalar(con, "SELECT count(*) FROM poste WHERE source = 'adultes-relais 2024'") == 0
    finally:
        con.close()
