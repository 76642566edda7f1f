"""The rapport annuel's draft (issue #19, part 1): the DOCX read back with python-docx has the
décret's headings in order and every figure equal to the screen function's figure for the same
contract, year and « données au »; the team's texts land in their section; the PDF reads; the
command line writes it and refuses in French; the texts' write refuses in French; the tab of
« Jalons et actualisation 2027 » shows the form and the buttons."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from datetime import date, datetime

import polars as pl
import pytest
from docx import Document

from cdv_core import access, fmt, rapport, store
from cdv_core.domain import model
from cdv_core.edits import rapport_textes
from cdv_core.figures import indicateurs as fig_ind
from cdv_core.queries import financements as fin
from cdv_core.queries import gouvernance as gouv
from cdv_core.queries import indicateurs as ind
from cdv_core.queries import projets
from cdv_core.rapport import content
from tests.conftest import DEMO_AU, ROOT, insert, run_app

CONTRAT, ANNEE = "CV-DEMO-VERM", 2025
ADMIN = access.local_user("Équipe test")


def _read(data: bytes) -> list[dict]:
    """The DOCX as its Heading 1 sections, in order: each with its title and its items
    ("h2", text) / ("p", text) / ("table", rows of cell texts, header first)."""
    doc = Document(io.BytesIO(data))
    sections: list[dict] = [{"title": None, "items": []}]  # the cover
    for part in doc.iter_inner_content():
        if hasattr(part, "rows"):
            sections[-1]["items"].append(("table", [tuple(c.text for c in row.cells) for row in part.rows]))
        elif part.style.name == "Heading 1":
            sections.append({"title": part.text, "items": []})
        elif part.style.name == "Heading 2":
            sections[-1]["items"].append(("h2", part.text))
        elif part.text:
            sections[-1]["items"].append(("p", part.text))
    return sections


def _figures(items: list) -> dict[str, str]:
    """Label → value of every key-figures table (« Chiffre clé », « Valeur ») of `items`."""
    found = {}
    for kind, value in items:
        if kind == "table" and value[0][:2] == content.FIGURE_HEADERS[:2]:
            found |= {row[0]: row[1] for row in value[1:]}
    return found


def _by_qpv(items: list) -> dict[str, list]:
    """The items under each Heading 2 (a QPV's subsection) of section 2."""
    out, current = {}, None
    for kind, value in items:
        if kind == "h2":
            current = value
            out[current] = []
        elif current is not None:
            out[current].append((kind, value))
    return out


@pytest.fixture
def docx_demo(demo_cur) -> list[dict]:
    return _read(rapport.draft(demo_cur, contrat=CONTRAT, annee=ANNEE, donnees_au=DEMO_AU, format="docx"))


def test_headings_follow_the_decret_and_the_cover_says_what_it_is(docx_demo, demo_cur):
    assert [s["title"] for s in docx_demo[1:]] == list(rapport.SECTION_TITLES)
    assert rapport.SECTION_TITLES[0].startswith("1. Orientations") and rapport.SECTION_TITLES[-1].startswith("Annexes")
    cover = " ".join(v for k, v in docx_demo[0]["items"] if k == "p")
    assert "Contrat de ville de la CA du Pays de Vermandie (démo)" in cover
    assert f"Rapport annuel {ANNEE}" in cover and "données au 15/11/2026" in cover
    assert content.DRAFT_LABEL in cover
    # each of the four places of the team's texts without a stored text says what to write
    stored = content.team_texts(demo_cur, contrat=CONTRAT, annee=ANNEE)
    placeholders = [
        s["title"] for s in docx_demo[1:] if any(k == "p" and v.startswith(content.PLACEHOLDER) for k, v in s["items"])
    ]
    where = {"orientations": 0, "evolution": 1, "participation": 3, "perspectives": 4}
    assert placeholders == [rapport.SECTION_TITLES[i] for k, i in where.items() if not stored[k]]


def test_every_figure_is_the_screens_figure(docx_demo, demo_cur):
    sections = {s["title"]: s["items"] for s in docx_demo[1:]}
    orientations, evolution, actions, gouvernance, _perspectives, annexes = (
        sections[t] for t in rapport.SECTION_TITLES
    )

    # « Projets de quartier »: QPV count, statuses, objectives
    rows = projets.qpv_overview(demo_cur, contrat=CONTRAT, donnees_au=DEMO_AU)
    assert rows.height == 6
    assert _figures(orientations)["Quartiers prioritaires"] == fmt.integer(rows.height)
    assert _figures(evolution)["Quartiers prioritaires"] == fmt.integer(rows.height)
    counts = projets.status_counts(rows)
    for status, n in counts.items():
        assert _figures(evolution)[status.capitalize()] == fmt.plural(n, "quartier")
    qpv_items = _by_qpv(evolution)
    assert len(qpv_items) == rows.height
    checked_indicators = 0
    for qpv in rows.iter_rows(named=True):
        heading = f"{qpv['libelle']} ({qpv['code_qp']}, {qpv['lib_com']})"
        items = qpv_items[heading]
        figures = _figures(items)
        assert figures["Statut"] == qpv["statut"]
        assert figures["Objectifs"] == fmt.integer(qpv["n_objectifs"])
        assert figures["Montant accordé (part du quartier, toutes années)"] == fmt.euros(qpv["accorde"])
        tables = [v for k, v in items if k == "table" and v[0][:2] != content.FIGURE_HEADERS[:2]]
        objectives = tables[0]
        expected = projets.qpv_objectives(demo_cur, code_qp=qpv["code_qp"], donnees_au=DEMO_AU).filter(
            pl.col("portee") == "quartier"
        )
        assert {(r[0], r[2]) for r in objectives[1:]} == set(expected.select("libelle", "statut").iter_rows())
        # « Indicateurs »: value, EPCI of the same year, gap, as the screen's comparison table
        indicators = {r[0]: r for r in tables[1][1:]}
        header = tables[1][0]
        linked = (
            projets.qpv_indicators(demo_cur, code_qp=qpv["code_qp"], donnees_au=DEMO_AU)
            .unique("code_indicateur")
            .select("code_indicateur", "indicateur", "unite")
        )
        assert set(indicators) == set(linked["indicateur"])
        for code, libelle, unite in linked.iter_rows():
            frame = ind.comparison(
                demo_cur, code_indicateur=code, contrat=CONTRAT, reference="EPCI", donnees_au=DEMO_AU
            )
            screen = (
                fig_ind.comparison_table(frame, unite=unite)
                .filter(frame["code_qp"] == qpv["code_qp"])
                .row(0, named=True)
            )
            row = dict(zip(header, indicators[libelle]))
            assert row["Valeur"] == screen["Valeur"]
            assert row["EPCI (même année)"] == screen["Territoire de référence"]
            assert row["Écart"] == screen["Écart"]
            assert row["Point de départ"] == screen["Point de départ"]
            assert row["Cible"] == screen["Cible"]
            checked_indicators += 1
    assert checked_indicators >= 10

    # « Actions et financements », exercice 2025
    totals = fin.funding_totals(demo_cur, contrat=CONTRAT, annee=ANNEE)
    counts = fin.action_counts(demo_cur, contrat=CONTRAT, annee=ANNEE)
    figures = _figures(actions)
    assert totals["p147_accorde"] > 0 and totals["droit_commun_accorde"] > 0
    assert figures["Crédits spécifiques accordés"] == fmt.euros(totals["p147_accorde"])
    assert figures["Droit commun accordé"] == fmt.euros(totals["droit_commun_accorde"])
    assert figures["Montant accordé"] == fmt.euros(totals["accorde"])
    assert figures[f"Actions {ANNEE}"] == fmt.integer(counts["actions"])
    by_funder = {r[0]: r for r in next(v for k, v in actions if k == "table" and v[0][0] == "Financeur")[1:]}
    screen = fin.funding_by_funder_year(demo_cur, contrat=CONTRAT, annee=ANNEE)
    assert set(by_funder) == set(screen["financeur"])
    for financeur, accorde in screen.select("financeur", "accorde").iter_rows():
        nature = "crédits spécifiques" if financeur == model.CREDITS_SPECIFIQUES else "droit commun"
        assert by_funder[financeur][1:4:2] == (nature, fmt.euros(accorde))
    listed = next(v for k, v in actions if k == "table" and v[0][0] == "Action")
    assert len(listed) - 1 == counts["actions"]

    # « Gouvernance », meetings of 2025
    yearly = gouv.yearly_meetings(demo_cur, contrat=CONTRAT, donnees_au=DEMO_AU).filter(pl.col("annee") == ANNEE)
    held = int(yearly["tenues"].sum())
    assert held > 0
    assert _figures(gouvernance)[f"Réunions tenues en {ANNEE}"] == fmt.integer(held)
    obligations = (
        gouv.annual_obligations(demo_cur, contrat=CONTRAT, donnees_au=DEMO_AU)
        .filter(pl.col("annee") == ANNEE)
        .row(0, named=True)
    )
    assert _figures(gouvernance)["Rapport annuel"] == obligations["rapport_statut"]
    assert _figures(gouvernance)["Vote du rapport"] == fmt.day(obligations["date_vote"])
    assert _figures(gouvernance)["Consultation des conseils citoyens"] == fmt.day(obligations["date_consultation"])
    people = gouv.participation_by_type(demo_cur, contrat=CONTRAT, donnees_au=DEMO_AU).filter(pl.col("annee") == ANNEE)
    assert _figures(gouvernance)[f"Habitants présents aux réunions tenues en {ANNEE}"] == fmt.integer(
        people["habitants"].sum()
    )

    # the annexes: the conseils citoyens' contributions as stored (the demo's cycle may have some)
    stored = demo_cur.execute(
        "SELECT conseil, date_reception FROM rapport_annuel_contribution "
        "WHERE code_contrat = $c AND annee = $a ORDER BY date_reception, conseil",
        {"c": CONTRAT, "a": ANNEE},
    ).fetchall()
    assert _figures(gouvernance)["Contributions des conseils citoyens reçues"] == fmt.integer(len(stored))
    if stored:
        assert [v for k, v in annexes if k == "h2"] == [f"{c} — contribution reçue le {fmt.day(d)}" for c, d in stored]
    else:
        assert annexes == [
            ("p", f"Aucune contribution des conseils citoyens n'est enregistrée pour le rapport {ANNEE}.")
        ]


def test_team_texts_are_saved_and_reused_in_their_sections(demo_store):
    con = store.connect(demo_store)
    try:
        # the report's cycle (written elsewhere) already has the row: only the texts change
        for table in ("rapport_annuel", "rapport_annuel_contribution", "rapport_annuel_vote"):  # a known state
            con.execute("DELETE FROM " + table + " WHERE code_contrat = $c AND annee = $a", {"c": CONTRAT, "a": ANNEE})
        insert(
            con, "rapport_annuel", [{"code_contrat": CONTRAT, "annee": ANNEE, "date_envoi_conseils": date(2026, 4, 1)}]
        )
        insert(
            con,
            "rapport_annuel_contribution",
            [
                {
                    "code_contrat": CONTRAT,
                    "annee": ANNEE,
                    "conseil": "Conseil citoyen des Provinces",
                    "date_reception": date(2026, 4, 20),
                    "texte": "Nous demandons plus d'actions jeunesse.\n\nEt un local.",
                }
            ],
        )
        insert(
            con,
            "rapport_annuel_vote",
            [
                {
                    "code_contrat": CONTRAT,
                    "annee": ANNEE,
                    "assemblee": "EPCI",
                    "code_collectivite": "200000001",
                    "libelle_collectivite": "CA du Pays de Vermandie",
                    "date_vote": date(2026, 6, 30),
                    "reference_deliberation": "DEL-2026-045",
                }
            ],
        )
        warnings: list[str] = []
        rapport_textes.save_texts(
            con,
            user=ADMIN,
            code_contrat=CONTRAT,
            annee=ANNEE,
            orientations="Priorité à l'emploi des femmes.\n\nEt à la santé\x07.",
            perspectives="Préparer l'actualisation 2027.",
            warnings=warnings,
        )
        assert any("caractère" in w for w in warnings)  # the BEL removed, said
        rapport_textes.save_texts(
            con,
            user=ADMIN,
            code_contrat=CONTRAT,
            annee=ANNEE,
            orientations="Priorité à l'emploi des femmes.\n\nEt à la santé.",
            participation="Les conseils citoyens se sont réunis.",
            perspectives="Préparer l'actualisation 2027.",
        )
        cur = con.cursor()
        rows = cur.execute(
            "SELECT date_envoi_conseils, orientations, evolution, modifie_par FROM rapport_annuel "
            "WHERE code_contrat = $c AND annee = $a",
            {"c": CONTRAT, "a": ANNEE},
        ).fetchall()
        assert rows == [(date(2026, 4, 1), "Priorité à l'emploi des femmes.\n\nEt à la santé.", None, ADMIN.label)]
        data = rapport.draft(cur, contrat=CONTRAT, annee=ANNEE, donnees_au=DEMO_AU, format="docx")
    finally:
        con.close()
    sections = {s["title"]: [v for k, v in s["items"] if k == "p"] for s in _read(data)[1:]}
    orientations, evolution, _a, gouvernance, perspectives, annexes = (sections[t] for t in rapport.SECTION_TITLES)
    assert orientations[:2] == ["Priorité à l'emploi des femmes.", "Et à la santé."]
    assert evolution[0].startswith(content.PLACEHOLDER)  # not written: still to write
    assert gouvernance[0] == "Les conseils citoyens se sont réunis."
    assert perspectives[0] == "Préparer l'actualisation 2027."
    assert annexes == ["Nous demandons plus d'actions jeunesse.", "Et un local."]
    doc = _read(data)
    gouv_items = doc[4]["items"]
    assert _figures(gouv_items)["Projet de rapport transmis aux conseils citoyens"] == "01/04/2026"
    assert _figures(gouv_items)["Contributions des conseils citoyens reçues"] == "1"
    votes = next(v for k, v in gouv_items if k == "table" and v[0][0] == "Assemblée")
    assert votes[1] == ("EPCI", "CA du Pays de Vermandie", "30/06/2026", "DEL-2026-045")
    assert ("h2", "Conseil citoyen des Provinces — contribution reçue le 20/04/2026") in doc[6]["items"]


def test_save_texts_refuses_in_french_and_writes_nothing(demo_store):
    con = store.connect(demo_store)
    try:
        insert(
            con,
            "utilisateur",
            [
                {
                    "email": "lecteur@cdv.test",
                    "nom": "Lecteur",
                    "role": "lecteur",
                    "actif": True,
                    "cree_le": datetime(2026, 1, 1),
                }
            ],
        )
        insert(con, "utilisateur_contrat", [{"email": "lecteur@cdv.test", "code_contrat": CONTRAT}])
        before = store.store_version(con.cursor())
        texts = "SELECT * EXCLUDE (modifie_le) FROM rapport_annuel ORDER BY code_contrat, annee"
        texts_before = con.execute(texts).fetchall()
        rows = con.execute("SELECT count(*) FROM rapport_annuel").fetchall()[0][0]
        reader = access.User(email="lecteur@cdv.test", nom="Lecteur", role="lecteur", contrats=(CONTRAT,))
        with pytest.raises(access.AccessDenied, match=r"Écriture refusée : le rôle « .* » ne permet pas"):
            rapport_textes.save_texts(con, user=reader, code_contrat=CONTRAT, annee=ANNEE, orientations="Texte")
        too_long = "a" * (rapport_textes.MAX_TEXT + 1)
        with pytest.raises(store.IntegrityError) as refused:
            rapport_textes.save_texts(con, user=ADMIN, code_contrat=CONTRAT, annee=ANNEE, perspectives=too_long)
        assert "le texte « Perspectives » dépasse 20\u202f000 caractères (20\u202f001)" in refused.value.problems
        with pytest.raises(store.IntegrityError) as refused:
            rapport_textes.save_texts(con, user=ADMIN, code_contrat="CV-INCONNU", annee=2019, evolution="=1+1")
        problems = " ; ".join(refused.value.problems)
        assert "contrat « CV-INCONNU » inconnu" in problems and "formule" in problems
        with pytest.raises(store.IntegrityError, match="l'année 2031 est hors de la période du contrat"):
            rapport_textes.save_texts(con, user=ADMIN, code_contrat=CONTRAT, annee=2031, evolution="Texte")
        cur = con.cursor()
        assert store.store_version(cur) == before
        assert cur.execute("SELECT count(*) FROM rapport_annuel").fetchall()[0][0] == rows
        assert cur.execute(texts).fetchall() == texts_before
    finally:
        con.close()


def test_report_refuses_a_year_outside_the_contract(demo_cur):
    with pytest.raises(rapport.ReportError, match=r"Année 2027 hors du contrat .* \(années possibles : 2024 à 2026\)"):
        rapport.build(demo_cur, contrat=CONTRAT, annee=2027, donnees_au=DEMO_AU)
    with pytest.raises(rapport.ReportError, match="hors de votre périmètre"):
        rapport.build(demo_cur, contrat=CONTRAT, annee=ANNEE, donnees_au=DEMO_AU, perimetre=("CV-DEMO-BRE",))


def test_the_pdf_reads_with_its_headings(demo_cur):
    from pypdf import PdfReader

    data = rapport.draft(demo_cur, contrat="CV-DEMO-MONT", annee=ANNEE, donnees_au=DEMO_AU, format="pdf")
    reader = PdfReader(io.BytesIO(data))
    text = re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))
    for title in rapport.SECTION_TITLES:
        assert title in text
    assert content.DRAFT_LABEL in text and "données au 15/11/2026" in text
    top = [item.title for item in reader.outline if not isinstance(item, list)]
    assert top == list(rapport.SECTION_TITLES)


def test_command_line_writes_the_draft_and_refuses_in_french(demo_store, tmp_path):
    out = tmp_path / "sortie" / "rapport.docx"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cdv_core",
            "rapport",
            "--contrat",
            CONTRAT,
            "--annee",
            str(ANNEE),
            "--format",
            "docx",
            "--out",
            str(out),
            "--store",
            str(demo_store),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Projet de rapport annuel 2025 (DOCX) écrit dans" in done.stdout
    assert [s["title"] for s in _read(out.read_bytes())[1:]] == list(rapport.SECTION_TITLES)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cdv_core",
            "rapport",
            "--contrat",
            "CV-INCONNU",
            "--annee",
            "2025",
            "--format",
            "pdf",
            "--out",
            str(tmp_path / "x.pdf"),
            "--store",
            str(demo_store),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 1
    assert "Contrat « CV-INCONNU » inconnu. Contrats disponibles :" in done.stderr
    assert not (tmp_path / "x.pdf").exists()


def test_the_tab_shows_the_form_and_the_buttons(app_env, deferred):
    at = run_app("jalons", query={"contrat": "CV-DEMO-MONT"})
    assert not at.exception
    assert at.selectbox(key="rapport_doc_annee").value == 2025
    keys = {t.key for t in at.text_area}
    assert {f"rapport_doc_{k}_CV-DEMO-MONT_2025" for k in content.TEXTS} <= keys
    buttons = {b.proto.id.rsplit("-", 1)[-1]: b for b in at.get("download_button")}
    assert buttons["rapport_doc_docx"].proto.label == "Télécharger le projet (Word)"
    assert buttons["rapport_doc_pdf"].proto.label == "Télécharger le projet (PDF)"
    at.text_area(key="rapport_doc_perspectives_CV-DEMO-MONT_2025").input("Ouvrir une maison du projet.")
    at.button(key="rapport_doc_submit").click().run()
    assert not at.exception and not at.error
    assert any("Textes du rapport annuel 2025 enregistrés." in s.value for s in at.success)
    buttons = {b.proto.id.rsplit("-", 1)[-1]: b for b in at.get("download_button")}
    perspectives = _read(deferred(buttons["rapport_doc_docx"]))[5]
    assert perspectives["title"] == rapport.SECTION_TITLES[4]
    assert ("p", "Ouvrir une maison du projet.") in perspectives["items"]


def test_the_tab_asks_for_one_contract(app_env):
    at = run_app("jalons", query={"contrat": "tous"})
    assert not at.exception
    assert any("Choisissez un contrat" in i.value for i in at.info)
    assert not [b for b in at.get("download_button") if "rapport_doc" in b.proto.id]


def test_a_reader_sees_the_texts_without_the_form(app_env, monkeypatch):
    import time

    from streamlit.testing.v1 import AppTest

    from tests.pages.test_acces_identite import AUTH_SECRETS

    con = store.connect(app_env)
    try:
        access.add_user(con, user=ADMIN, email="lecteur@cdv.test", role="lecteur", contrats=["CV-DEMO-MONT"])
        rapport_textes.save_texts(
            con,
            user=ADMIN,
            code_contrat="CV-DEMO-MONT",
            annee=2025,
            orientations="Des orientations écrites par l'équipe.",
        )
    finally:
        con.close()
    monkeypatch.setenv("CDV_AUTH", "oidc")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.user = {"is_logged_in": True, "email": "lecteur@cdv.test", "exp": int(time.time()) + 3600}
    at.secrets = AUTH_SECRETS
    at.query_params["contrat"] = "CV-DEMO-MONT"
    at.run()
    at.switch_page("pages/jalons.py")
    at.run()
    assert not at.exception
    assert not [t for t in at.text_area if t.key.startswith("rapport_doc_")]
    shown = " ".join(m.value for m in at.get("markdown"))
    assert "Des orientations écrites par l'équipe." in shown and "À rédiger par l'équipe" in shown
    assert {b.proto.id.rsplit("-", 1)[-1] for b in at.get("download_button")} >= {"rapport_doc_docx", "rapport_doc_pdf"}
