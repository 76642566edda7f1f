"""« Publication » (issue #19): the publishable figures of each demo contract and of « Tous les
contrats » as XLSX, CSV and a one-page PDF. Every cell and every line of text of every file is
scanned: no person's name held anywhere in the store, no count of people under the threshold;
spot checks against the screens' functions; the reader's périmètre; the tab on « Séance et exports »."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date

import duckdb
import openpyxl
import polars as pl
import pypdf
import pytest

from cdv_core import fmt, publication, store
from cdv_core.domain import secret
from cdv_core.queries import financements, gouvernance, indicateurs, projets
from tests.conftest import DEMO_AU, insert, run_app

CONTRATS = ("CV-DEMO-BRE", "CV-DEMO-MONT", "CV-DEMO-VERM")
SELECTIONS = (*CONTRATS, None)
PUBLISHED_LINK = "https://www.ca-breche.fr/rapport-annuel-2025.pdf"
# People the test adds to its copy of the demo (the demo itself names roles, not people).
PEOPLE = {
    "contact": "Josiane Verbeke",
    "email": "josiane.verbeke@asso-test.fr",
    "tel": "06 12 34 56 78",
    "user": "Marcel Testard",
    "user_email": "marcel.testard@ville-test.fr",
    "holder": "Rachida Ouali",
    "owner": "Gérard Lenoir",
    "editor": "Yvette Marchal",
}
# Columns of the store holding people (migrations: contacts, users, holders, owners, authors).
PERSON_COLUMNS = (
    "contact_nom",
    "contact_email",
    "contact_telephone",
    "responsable",
    "titulaire",
    "elu_referent",
    "auteur",
    "valide_par",
    "modifie_par",
)
MASKS = {"—", secret.SECONDARY}


@pytest.fixture(scope="module")
def store_path(demo_store_master, tmp_path_factory):
    """A copy of the demo with people in it: porteurs' contacts, a user, a post's holder, a
    decision's owner, and a published rapport annuel (written by a named person)."""
    import shutil

    path = tmp_path_factory.mktemp("publication") / "cdv.duckdb"
    shutil.copy(demo_store_master, path)
    con = store.connect(str(path))
    try:
        # one porteur's contact (the demo's own contacts, when it has some, are scanned for too)
        con.execute(
            """UPDATE porteur SET contact_nom = $n, contact_email = $e, contact_telephone = $t
                       WHERE id_porteur = (SELECT min(id_porteur) FROM porteur)""",
            {"n": PEOPLE["contact"], "e": PEOPLE["email"], "t": PEOPLE["tel"]},
        )
        con.execute("UPDATE poste SET titulaire = $n WHERE type_poste = 'adulte-relais'", {"n": PEOPLE["holder"]})
        con.execute(
            "UPDATE decision SET responsable = $n WHERE id_decision = (SELECT min(id_decision) FROM decision)",
            {"n": PEOPLE["owner"]},
        )
        insert(
            con,
            "utilisateur",
            [{"email": PEOPLE["user_email"], "nom": PEOPLE["user"], "role": "lecteur", "actif": True}],
        )
        # BRE's 2025 report published (the demo's row when it has one), MONT's never
        con.execute("DELETE FROM rapport_annuel WHERE code_contrat = 'CV-DEMO-BRE' AND annee = 2025")
        insert(
            con,
            "rapport_annuel",
            [
                {
                    "code_contrat": "CV-DEMO-BRE",
                    "annee": 2025,
                    "orientations": "Texte",
                    "date_publication": date(2026, 10, 1),
                    "lien_publication": PUBLISHED_LINK,
                    "modifie_par": PEOPLE["editor"],
                }
            ],
        )
        con.execute("""UPDATE rapport_annuel SET date_publication = NULL, lien_publication = NULL
                       WHERE code_contrat = 'CV-DEMO-MONT'""")
    finally:
        con.close()
    return path


@pytest.fixture(scope="module")
def cur(store_path):
    con = duckdb.connect(str(store_path), read_only=True)
    yield con.cursor()
    con.close()


@pytest.fixture(scope="module")
def names(cur) -> set[str]:
    """Every person's name (or e-mail, phone) the store holds, except words that also name a
    structure or a place (a porteur, a quartier, a contract: those may be published)."""
    columns = cur.execute(
        """SELECT table_name, column_name FROM information_schema.columns
           WHERE list_contains($cols, column_name)
             OR (table_name = 'utilisateur' AND column_name IN ('nom', 'email'))""",
        {"cols": list(PERSON_COLUMNS)},
    ).fetchall()
    found: set[str] = set()
    for table, column in columns:  # identifiers from the schema itself, never from values
        found |= {
            r[0]
            for r in cur.execute(f'SELECT DISTINCT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL').fetchall()
        }
    public = {
        r[0]
        for sql in ("SELECT nom FROM porteur", "SELECT libelle FROM quartier", "SELECT libelle FROM contrat")
        for r in cur.execute(sql).fetchall()
    }
    found = {n for n in found if len(n) >= 4 and n not in public}
    assert set(PEOPLE.values()) <= found  # the scan looks for the people added above
    return found


def _tables(cur, contrat, threshold=11, perimetre=None):
    return publication.publishable_tables(
        cur, contrat=contrat, donnees_au=DEMO_AU, threshold=threshold, perimetre=perimetre
    )


def _xlsx_cells(data: bytes) -> dict[str, list[list]]:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    return {ws.title: [list(row) for row in ws.iter_rows(values_only=True)] for ws in book.worksheets}


def _csv_cells(data: bytes) -> dict[str, list[list]]:
    out = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            text = archive.read(name).decode("utf-8-sig")
            out[name] = list(csv.reader(io.StringIO(text), delimiter=";")) if name.endswith(".csv") else [[text]]
    return out


def _pdf_text(data: bytes) -> tuple[int, str]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def _every_text(sheets: dict[str, list[list]]) -> list[str]:
    return [str(v) for rows in sheets.values() for row in rows for v in row if v is not None]


def _no_names(texts: list[str], names: set[str]) -> None:
    leaks = {n for n in names for t in texts if n in t}
    assert not leaks, leaks


def _people_cells(sheets: dict[str, list[list]], table: str, *, csv_file: bool) -> list:
    """The cells of the people-count columns of `table` in a read-back file."""
    key = publication.csv_name(table) if csv_file else table
    rows = sheets[key]
    header, body = rows[0], rows[1:]
    return [row[header.index(col)] for col in publication.PEOPLE_COUNTS[table] for row in body if col in header]


def _small_counts(cells: list, threshold: int) -> list:
    """Cells showing a count of people below the threshold (the masks excepted)."""
    small = []
    for cell in cells:
        if cell is None or cell == "" or cell in MASKS or cell == secret.mask_label(threshold):
            continue
        value = float(cell) if isinstance(cell, (int, float)) else float("".join(str(cell).split()).replace(",", "."))
        if value < threshold:
            small.append(cell)
    return small


def _indicator_small(tables: dict[str, pl.DataFrame], cur, threshold: int) -> pl.DataFrame:
    """Rows of indicators counting people whose published value (or starting point) is below the threshold."""
    dico = indicateurs.dictionary(cur, contrat=None, donnees_au=DEMO_AU, max_age_months=36)
    people = dico.filter(secret.people_count_expr(pl.col("unite"), pl.col("libelle")))["libelle"].to_list()
    frame = tables[publication.INDICATEURS].filter(pl.col("Indicateur").is_in(people))
    values = [c for c in ("Valeur", "Point de départ") if c in frame.columns]
    return frame.filter(pl.any_horizontal(pl.col(c) < threshold for c in values))


@pytest.mark.parametrize("threshold", [11, 1500])  # 1 500: populations and posts masked too
@pytest.mark.parametrize("contrat", SELECTIONS, ids=lambda c: c or "national")
def test_no_name_and_no_small_count_in_any_published_file(cur, names, contrat, threshold):
    tables = _tables(cur, contrat, threshold)
    xlsx = _xlsx_cells(publication.render(tables, "xlsx", threshold=threshold))
    csvs = _csv_cells(publication.render(tables, "csv", threshold=threshold))
    pages, pdf = _pdf_text(publication.render(tables, "pdf", threshold=threshold))
    assert pages == 1
    for texts in (_every_text(xlsx), _every_text(csvs), [pdf]):
        _no_names(texts, names)
    assert set(xlsx) == {"Lisez-moi", *tables}
    assert set(csvs) == {publication.CSV_README, *(publication.csv_name(t) for t in tables)}
    for table in publication.PEOPLE_COUNTS:
        if table not in tables:
            continue
        for sheets, csv_file in ((xlsx, False), (csvs, True)):
            cells = _people_cells(sheets, table, csv_file=csv_file)
            assert _small_counts(cells, threshold) == [], (table, csv_file)
    # the summary's counts of people
    summary = dict(zip(tables[publication.SYNTHESE]["Rubrique"], tables[publication.SYNTHESE]["Valeur"]))
    people = [v for k, v in summary.items() if k.startswith(("Habitants", "Adultes-relais"))]
    assert len(people) == 2 and _small_counts(people, threshold) == []
    assert _indicator_small(tables, cur, threshold).is_empty()
    if threshold == 1500:  # the rule did bite: something was masked
        assert secret.mask_label(threshold) in _every_text(xlsx)
    assert f"Données au {fmt.day(DEMO_AU)}" in pdf


def test_masking_uses_the_shared_rule(cur):
    """The published people counts are `secret.publishable` of the raw figures: same cells."""
    qpv = projets.qpv_overview(cur, contrat="CV-DEMO-BRE", donnees_au=DEMO_AU)
    tables = _tables(cur, "CV-DEMO-BRE", 3000)
    raw = qpv.sort("libelle").select(pl.col("population").alias("Population"))
    expected = secret.publishable(raw, threshold=3000, counts=["Population"], total_shown=True)["Population"]
    assert tables[publication.QUARTIERS]["Population"].to_list() == expected.to_list()
    assert "< 3\u202f000" in expected.to_list()
    meetings = tables[publication.GOUVERNANCE]
    assert set(
        meetings["Habitants présents"].filter(~meetings["Habitants présents"].str.contains(r"^[0-9 \u202f]+$"))
    ) <= {"< 3\u202f000"}


@pytest.mark.parametrize("contrat", SELECTIONS, ids=lambda c: c or "national")
def test_figures_are_the_screens(cur, contrat):
    tables = _tables(cur, contrat)
    year = DEMO_AU.year
    totals = financements.funding_totals(cur, contrat=contrat, annee=year)
    summary = dict(zip(tables[publication.SYNTHESE]["Rubrique"], tables[publication.SYNTHESE]["Valeur"]))
    assert summary[f"Montant accordé {year}"] == fmt.euros(totals["accorde"])
    assert summary[f"Montant versé {year}"] == fmt.euros(totals["verse"])
    by_funder = financements.funding_by_funder_year(cur, contrat=contrat)
    assert tables[publication.FINANCEURS]["Accordé (€)"].to_list() == by_funder["accorde"].to_list()
    meetings = gouvernance.yearly_meetings(cur, contrat=contrat, donnees_au=DEMO_AU)
    published = tables[publication.GOUVERNANCE]
    for row in published.head(5).iter_rows(named=True):
        screen = meetings.filter(
            (pl.col("annee") == row["Année"]) & (pl.col("type_instance") == row["Type d'instance"])
        )
        assert screen["tenues"].item() == row["Réunions tenues"]
    qpv = projets.qpv_overview(cur, contrat=contrat, donnees_au=DEMO_AU)
    if contrat is None:
        per = tables[publication.CONTRATS]
        assert per["Code contrat"].to_list() == sorted(CONTRATS)
        assert per["Accordé aux QPV (€)"].sum() == pytest.approx(qpv["accorde"].sum())
        assert per["QPV"].sum() == qpv.height
    else:
        per = tables[publication.QUARTIERS]
        assert dict(zip(per["Code QPV"], per["Accordé (€)"])) == pytest.approx(
            dict(zip(qpv["code_qp"], qpv["accorde"]))
        )
        comp = indicateurs.comparison(
            cur, code_indicateur="CHOM", contrat=contrat, reference=publication.REFERENCE, donnees_au=DEMO_AU
        )
        rows = tables[publication.INDICATEURS].filter(pl.col("Indicateur") == "Taux de chômage des 15-64 ans")
        assert dict(zip(rows["Code QPV"], rows["Valeur"])) == pytest.approx(dict(zip(comp["code_qp"], comp["valeur"])))


def test_the_published_rapport_annuel(cur):
    mine = _tables(cur, "CV-DEMO-BRE")
    stored = cur.execute("""SELECT annee, date_publication, lien_publication FROM rapport_annuel
                            WHERE code_contrat = 'CV-DEMO-BRE' AND date_publication IS NOT NULL
                            ORDER BY annee DESC""").fetchall()
    assert mine[publication.PUBLIES].select("Année du rapport", "Date de publication", "Lien").rows() == [
        (str(annee), day, link) for annee, day, link in stored
    ]
    assert stored[0] == (2025, date(2026, 10, 1), PUBLISHED_LINK)
    summary = dict(zip(mine[publication.SYNTHESE]["Rubrique"], mine[publication.SYNTHESE]["Valeur"]))
    assert summary["Rapport annuel 2025"] == f"publié le 01/10/2026 : {PUBLISHED_LINK}"
    _, text = _pdf_text(publication.render(mine, "pdf", threshold=11))
    assert publication.NOT_PUBLISHED not in text and "01/10/2026" in text
    other = _tables(cur, "CV-DEMO-MONT")
    assert other[publication.PUBLIES].is_empty()
    _, text = _pdf_text(publication.render(other, "pdf", threshold=11))
    assert publication.NOT_PUBLISHED in text
    national = _tables(cur, None)
    published = set(national[publication.PUBLIES]["Code contrat"])
    assert "CV-DEMO-BRE" in published and "CV-DEMO-MONT" not in published


def test_national_summary_of_a_restricted_reader_has_only_their_contract(cur):
    mine = "CV-DEMO-VERM"
    tables = _tables(cur, None, perimetre=(mine,))
    assert tables[publication.CONTRATS]["Code contrat"].to_list() == [mine]
    assert set(tables[publication.PUBLIES]["Code contrat"]) <= {mine}  # BRE's published report is not theirs
    alone = _tables(cur, mine)
    assert tables[publication.FINANCEURS].equals(alone[publication.FINANCEURS])
    assert tables[publication.GOUVERNANCE].equals(alone[publication.GOUVERNANCE])
    foreign = {
        r[0]
        for sql in (
            "SELECT code_contrat FROM contrat WHERE code_contrat <> $c",
            "SELECT libelle FROM contrat WHERE code_contrat <> $c",
            "SELECT code_qp FROM quartier WHERE code_contrat <> $c",
        )
        for r in cur.execute(sql, {"c": mine}).fetchall()
    }
    data = publication.publication_file(
        cur, fmt_name="xlsx", contrat=None, donnees_au=DEMO_AU, threshold=11, perimetre=(mine,)
    )
    texts = _every_text(_xlsx_cells(data))
    assert not {f for f in foreign for t in texts if f in t}


# --- the tab on « Séance et exports » ---------------------------------------------------------------


@pytest.fixture
def app_store(store_path, tmp_path, monkeypatch):
    import shutil

    from tests.conftest import ROOT

    path = tmp_path / "cdv.duckdb"
    shutil.copy(store_path, path)
    monkeypatch.setenv("CDV_STORE", str(path))
    monkeypatch.chdir(ROOT)
    return path


def test_the_tab_previews_and_downloads(app_store, names, deferred):
    at = run_app("seance", query={"contrat": "CV-DEMO-BRE"}, timeout=60)
    assert not [b for b in at.get("download_button") if "publication" in b.proto.id]  # computed when asked
    at.button(key="publication_preparer").click().run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == []
    assert any("moins de 11" in c.value and "« < 11 »" in c.value for c in at.caption)
    assert any("Rapport annuel 2025 publié le 01/10/2026" in s.value for s in at.success)
    assert [b.proto.url for b in at.get("link_button")] == [PUBLISHED_LINK]
    assert any(list(df.value.columns) == ["Rubrique", "Valeur"] for df in at.dataframe)  # the preview: the summary
    at.selectbox(key="publication_tableau").set_value(publication.QUARTIERS).run()
    preview = next(df for df in at.dataframe if "Code QPV" in df.value.columns)
    assert "Population" in preview.value.columns and len(preview.value) == 4
    buttons = {b.proto.label: b for b in at.get("download_button") if "publication" in b.proto.id}
    assert set(buttons) == {"Télécharger (Excel)", "Télécharger (CSV, zip)", "Télécharger (PDF, 1 page)"}
    xlsx = _xlsx_cells(deferred(buttons["Télécharger (Excel)"]))
    assert publication.QUARTIERS in xlsx
    _no_names(_every_text(xlsx), names)
    assert _pdf_text(deferred(buttons["Télécharger (PDF, 1 page)"]))[0] == 1


def test_the_tab_for_all_contracts(app_store):
    at = run_app("seance", query={"contrat": "tous"}, timeout=60)
    at.button(key="publication_preparer").click().run()
    assert not at.exception, at.exception
    assert any("résumé national" in c.value for c in at.caption)
    at.selectbox(key="publication_tableau").set_value(publication.CONTRATS).run()
    preview = next(df for df in at.dataframe if "Code contrat" in df.value.columns)
    assert sorted(preview.value["Code contrat"]) == sorted(CONTRATS)


def test_a_restricted_reader_downloads_only_their_contracts(app_store, deferred, monkeypatch):
    """« Tous mes contrats » for a lecteur of one contract: the national files built on click
    (on another thread, with the session's périmètre) hold that contract only."""
    import time

    from streamlit.testing.v1 import AppTest

    from cdv_core import access
    from cdv_core.access import local_user
    from tests.conftest import ROOT
    from tests.pages.test_acces_identite import AUTH_SECRETS

    mine, email = "CV-DEMO-VERM", "lecteur.publication@example.fr"
    con = store.connect(str(app_store))
    try:
        access.add_user(con, user=local_user("test"), email=email, role="lecteur", contrats=[mine])
    finally:
        con.close()
    monkeypatch.setenv("CDV_AUTH", "oidc")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.user = {"is_logged_in": True, "email": email, "exp": int(time.time()) + 3600}
    at.secrets = AUTH_SECRETS
    at.query_params["contrat"] = "tous"
    at.run()
    at.switch_page("pages/seance.py")
    at.run()
    at.button(key="publication_preparer").click().run()
    assert not at.exception, at.exception
    buttons = {b.proto.label: b for b in at.get("download_button") if "publication" in b.proto.id}
    sheets = _xlsx_cells(deferred(buttons["Télécharger (Excel)"]))
    contracts = [row[0] for row in sheets[publication.CONTRATS][1:]]
    assert contracts == [mine]
    csvs = _csv_cells(deferred(buttons["Télécharger (CSV, zip)"]))
    assert [row[0] for row in csvs[publication.csv_name(publication.CONTRATS)][1:]] == [mine]
    others = ("CV-DEMO-BRE", "CV-DEMO-MONT")
    assert not [t for t in _every_text(sheets) + _every_text(csvs) if any(o in t for o in others)]


def test_command_line(store_path, tmp_path):
    import shutil

    from cdv_core.__main__ import main

    store_path = shutil.copy(store_path, tmp_path / "cdv.duckdb")  # the module's cursor holds the other one

    out = tmp_path / "national.zip"
    assert main(["publication", "--national", "--format", "csv", "--out", str(out), "--store", str(store_path)]) == 0
    files = _csv_cells(out.read_bytes())
    assert sorted(row[0] for row in files[publication.csv_name(publication.CONTRATS)][1:]) == sorted(CONTRATS)
    pdf = tmp_path / "bre.pdf"
    assert (
        main(
            [
                "publication",
                "--contrat",
                "CV-DEMO-BRE",
                "--format",
                "pdf",
                "--out",
                str(pdf),
                "--store",
                str(store_path),
            ]
        )
        == 0
    )
    assert _pdf_text(pdf.read_bytes())[0] == 1
    assert (
        main(
            ["publication", "--contrat", "CV-INCONNU", "--format", "pdf", "--out", str(pdf), "--store", str(store_path)]
        )
        == 1
    )
