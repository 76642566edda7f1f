"""The rapport annuel's life cycle (issue #19 part 2): draft sent to the conseils citoyens →
contributions → votes of the EPCI and communes → publication.

- every combination of recorded steps and jalons for one year on a hand-built store: the rule
  (`gouvernance.annual_obligations`), the 2027 checklist item and the Jalons screen's table
  agree, and name the missing step (an oracle written from the combination itself);
- the validated writes (`edits.rapport`) refuse bad input in French and write nothing, keep the
  team's texts of the same row, and the store's integrity rules hold;
- the demo: same statuts as its jalons alone give, a report left unpublished, the store sound;
- the Jalons tab on the demo in AppTest, with a write through its form.
"""

from __future__ import annotations

import inspect
import itertools
from datetime import date, timedelta

import duckdb
import polars as pl
import pytest

from cdv_core import access, store
from cdv_core.domain.cadence import add_months
from cdv_core.edits import rapport as edits
from cdv_core.figures import jalons as fig_jalons
from cdv_core.queries import gouvernance as gouv
from cdv_core.queries import jalons as q
from tests.conftest import DEMO_AU, insert, minimal_contract, run_app

LOCAL = access.local_user("test")
AU = date(2025, 12, 1)
TODAY = date(2026, 1, 15)
VOTE = date(2025, 6, 30)  # the first recorded vote of the 2024 report
SECOND_VOTE = date(2025, 7, 10)  # a commune, ten days later
JALON_CONSULTATION = date(2025, 5, 15)
JALON_VOTE = date(2025, 7, 15)  # the planned vote jalon: a different day than the recorded votes
PUBLICATION = date(2025, 8, 20)
# The sending: 46 days before the first vote, exactly one month before (30/05: still in time), one
# day too late (but a month before the SECOND vote: only the first one counts).
ENVOI = {"absent": None, "tôt": date(2025, 5, 15), "limite": date(2025, 5, 30), "tard": date(2025, 5, 31)}
EPCI_SIREN = "200099018"


def _combinations():
    for envoi, votes, publie, jalons, contributions in itertools.product(
        ENVOI, (0, 1, 2), (False, True), (False, True), (0, 1)
    ):
        if publie and votes == 0:  # a publication needs a vote (store rule)
            continue
        if contributions and envoi == "absent":  # a contribution needs the sending (store rule)
            continue
        yield envoi, votes, publie, jalons, contributions


COMBINATIONS = list(_combinations())


def _expected(envoi: str, votes: int, jalons: bool) -> tuple[str, str]:
    """(statut, missing steps) stated from the combination (independent of the code)."""
    consult_day = ENVOI[envoi] if envoi != "absent" else (JALON_CONSULTATION if jalons else None)
    consult_done = envoi != "absent"
    vote_day = VOTE if votes else (JALON_VOTE if jalons else None)
    vote_done = votes > 0
    if consult_day is None or vote_day is None:
        statut = "non renseignée"
        late = False
    else:
        limit = add_months(vote_day, -1)
        late = consult_day > limit
        if late:
            statut = "non respectée" if (vote_done or consult_done) else "délai prévu insuffisant"
        elif vote_done and consult_done:
            statut = "respectée"
        elif not consult_done and limit < AU:
            statut = "non respectée"
        elif vote_day > AU:
            statut = "à venir"
        else:
            statut = "en cours"
    steps = []
    if consult_day is None:
        steps.append("conseils citoyens non consultés")
    elif late:
        steps.append(
            "consultation moins d'un mois avant le vote"
            if consult_done
            else "consultation prévue moins d'un mois avant le vote"
        )
    elif not consult_done:
        steps.append("consultation prévue non réalisée")
    if not vote_done:
        steps.append("vote non réalisé")
    return statut, ", ".join(steps)


@pytest.fixture
def cycle_store(empty_store):
    minimal_contract(empty_store, "CV-T")
    return empty_store


def _build(con, envoi: str, votes: int, publie: bool, jalons: bool, contributions: int) -> None:
    for table in ("jalon", "rapport_annuel", "rapport_annuel_vote", "rapport_annuel_contribution"):
        con.execute("DELETE FROM " + table)
    if jalons:
        insert(
            con,
            "jalon",
            [
                {
                    "id_jalon": "J-C",
                    "code_contrat": "CV-T",
                    "type_jalon": "consultation conseils citoyens",
                    "libelle": "Rapport 2024 soumis",
                    "date_prevue": JALON_CONSULTATION,
                    "date_realisation": None,
                    "annee": 2024,
                },
                {
                    "id_jalon": "J-V",
                    "code_contrat": "CV-T",
                    "type_jalon": "rapport annuel",
                    "libelle": "Rapport 2024 voté",
                    "date_prevue": JALON_VOTE,
                    "date_realisation": None,
                    "annee": 2024,
                },
            ],
        )
    if ENVOI[envoi] is not None or publie:
        insert(
            con,
            "rapport_annuel",
            [
                {
                    "code_contrat": "CV-T",
                    "annee": 2024,
                    "date_envoi_conseils": ENVOI[envoi],
                    "date_publication": PUBLICATION if publie else None,
                    "lien_publication": "https://www.exemple.fr/rapport-2024.pdf" if publie else None,
                    "orientations": "Texte de l'équipe",
                }
            ],
        )
    if votes:
        rows = [
            {
                "code_contrat": "CV-T",
                "annee": 2024,
                "assemblee": "EPCI",
                "code_collectivite": EPCI_SIREN,
                "libelle_collectivite": "CA Test",
                "date_vote": VOTE,
                "reference_deliberation": "DEL-2025-001",
            },
            {
                "code_contrat": "CV-T",
                "annee": 2024,
                "assemblee": "commune",
                "code_collectivite": "75118",
                "libelle_collectivite": "Commune de Paris",
                "date_vote": SECOND_VOTE,
                "reference_deliberation": "DEL-2025-002",
            },
        ]
        insert(con, "rapport_annuel_vote", rows[:votes])
    if contributions:
        insert(
            con,
            "rapport_annuel_contribution",
            [
                {
                    "code_contrat": "CV-T",
                    "annee": 2024,
                    "conseil": "Conseil citoyen",
                    "date_reception": ENVOI[envoi] + timedelta(days=5),
                    "texte": "Nous demandons plus d'activités.",
                }
            ],
        )


def test_every_combination_of_missing_steps_agrees(cycle_store):
    con = cycle_store
    assert len(COMBINATIONS) == 70
    seen = set()
    for envoi, votes, publie, jalons, contributions in COMBINATIONS:
        combo = f"envoi {envoi}, {votes} vote(s), publié {publie}, jalons {jalons}, {contributions} contribution(s)"
        _build(con, envoi, votes, publie, jalons, contributions)
        assert store.integrity_errors(con.cursor()) == [], combo
        statut, manque = _expected(envoi, votes, jalons)
        row = (
            gouv.annual_obligations(con.cursor(), contrat="CV-T", donnees_au=AU)
            .filter(pl.col("annee") == 2024)
            .row(0, named=True)
        )
        assert row["rapport_statut"] == statut, combo
        # the cycle's own columns
        assert row["nb_votes"] == votes and row["nb_contributions"] == contributions, combo
        assert row["date_vote"] == (VOTE if votes else JALON_VOTE if jalons else None), combo
        assert row["date_publication"] == (PUBLICATION if publie else None), combo
        # the checklist item: « produit » exactly when « respectée », the missing step named
        item = q._item_rapports(con.cursor(), "CV-T", AU).row(0, named=True)  # the checklist's own item
        if seen == set():  # and once through the whole checklist
            items = q.readiness_by_contract(con.cursor(), contrat="CV-T", donnees_au=AU, max_age_months=24)
            assert items.filter(pl.col("critere") == "rapports").select("ok", "preuve").row(0) == (
                item["ok"],
                item["preuve"],
            )
        assert item["ok"] == (statut == "respectée"), f"{combo}: {item['preuve']}"
        if statut == "respectée":
            assert item["preuve"] == "1 rapport annuel produit sur 1 échu.", combo
        else:
            assert item["preuve"] == f"0 rapport annuel produit sur 1 échu ; 2024 : {manque}.", combo
        # the Jalons screen: same statut, same missing step, publication shown but not required
        screen = q.rapports_annuels(con.cursor(), contrat="CV-T", donnees_au=AU).filter(pl.col("annee") == 2024)
        assert screen["rapport_statut"].item() == statut and screen["manque"].item() == manque, combo
        table = fig_jalons.rapport_cycle_table(screen).row(0, named=True)
        assert table["Statut"] == statut and table["Étape manquante"] == (manque or "—"), combo
        assert table["Publication"] == ("publié le 20/08/2025" if publie else "non publié"), combo
        if votes == 2:
            assert table["Vote(s)"] == "CA Test (30/06/2025), Commune de Paris (10/07/2025)", combo
        elif votes == 0:
            assert table["Vote(s)"] == ("prévu le 15/07/2025 (jalon)" if jalons else "—"), combo
        if envoi == "absent":
            assert table["Envoi aux conseils citoyens"] == ("prévu le 15/05/2025 (jalon)" if jalons else "—"), combo
        else:
            assert table["Envoi aux conseils citoyens"] == ENVOI[envoi].strftime("%d/%m/%Y"), combo
        assert table["Contributions reçues"] == (
            "aucune"
            if not contributions
            else f"1 contribution, première le {(ENVOI[envoi] + timedelta(days=5)):%d/%m/%Y}"
        )
        seen.add(statut)
    # (« délai prévu insuffisant » and « à venir » need planned dates only:
    # tests/queries/test_jalons_checklist_rapport.py)
    assert seen == {"respectée", "non respectée", "non renseignée", "en cours"}


def test_the_first_vote_decides_and_publication_is_not_required(cycle_store):
    con = cycle_store
    # sent 31/05, first vote 30/06 (too late), second 10/07 (would have been in time): not respected
    _build(con, "tard", 2, True, False, 0)
    row = (
        gouv.annual_obligations(con.cursor(), contrat="CV-T", donnees_au=AU)
        .filter(pl.col("annee") == 2024)
        .row(0, named=True)
    )
    assert row["rapport_statut"] == "non respectée" and row["ecart_jours"] == 30
    assert row["dernier_vote"] == SECOND_VOTE and row["source_vote"] == "rapport"
    # in time, voted, not published: « respectée » all the same
    _build(con, "tôt", 1, False, True, 1)
    row = (
        gouv.annual_obligations(con.cursor(), contrat="CV-T", donnees_au=AU)
        .filter(pl.col("annee") == 2024)
        .row(0, named=True)
    )
    assert row["rapport_statut"] == "respectée" and row["date_publication"] is None
    assert row["source_consultation"] == "rapport" and row["date_vote"] == VOTE


# --- the validated writes ---------------------------------------------------------------------


def _counts(con) -> tuple:
    return tuple(
        store.scalar(con.cursor(), "SELECT count(*) FROM " + t)
        for t in ("rapport_annuel", "rapport_annuel_vote", "rapport_annuel_contribution")
    )


def _refused(fn, con, *fragments, **kwargs) -> None:
    before = _counts(con)
    with pytest.raises(store.IntegrityError) as err:
        if "today" in inspect.signature(fn).parameters:
            kwargs["today"] = TODAY
        fn(con, user=LOCAL, **kwargs)
    message = str(err.value)
    assert message.startswith("Écriture refusée, rien n'a été modifié"), message
    for fragment in fragments:
        assert fragment in message, message
    assert _counts(con) == before


def test_writes_follow_the_order_and_keep_the_texts(cycle_store):
    con = cycle_store
    common = {"code_contrat": "CV-T", "annee": 2024}
    # the team's texts are already in the row (written by the draft's screen)
    insert(
        con,
        "rapport_annuel",
        [
            {
                "code_contrat": "CV-T",
                "annee": 2024,
                "orientations": "Nos orientations",
                "perspectives": "Nos perspectives",
            }
        ],
    )
    edits.set_envoi(con, user=LOCAL, date_envoi=date(2025, 5, 2), today=TODAY, **common)
    edits.add_contribution(
        con,
        user=LOCAL,
        conseil="Conseil citoyen Goutte d'Or",
        date_reception=date(2025, 5, 20),
        texte="Nous souhaitons être associés plus tôt.",
        today=TODAY,
        **common,
    )
    edits.add_vote(
        con,
        user=LOCAL,
        assemblee="EPCI",
        code_collectivite=EPCI_SIREN,
        libelle_collectivite="CA Test",
        date_vote=date(2025, 6, 30),
        reference_deliberation="DEL-2025-045",
        today=TODAY,
        **common,
    )
    edits.add_vote(
        con,
        user=LOCAL,
        assemblee="commune",
        code_collectivite="75118",
        date_vote=date(2025, 7, 3),
        reference_deliberation="DEL-2025-046",
        today=TODAY,
        **common,
    )
    edits.set_publication(
        con,
        user=LOCAL,
        date_publication=date(2025, 7, 1),  # between the two votes
        lien_publication="https://www.exemple.fr/rapport-annuel-2024.pdf",
        today=TODAY,
        **common,
    )
    row = con.execute(
        "SELECT orientations, perspectives, date_envoi_conseils, date_publication, modifie_par FROM rapport_annuel"
    ).fetchall()
    # modifie_par tells who wrote the texts: the cycle's steps leave it (the log of writes has them)
    assert row == [("Nos orientations", "Nos perspectives", date(2025, 5, 2), date(2025, 7, 1), None)]
    assert con.execute("SELECT libelle_collectivite FROM rapport_annuel_vote ORDER BY date_vote").fetchall() == [
        ("CA Test",),
        ("Commune de Paris",),
    ]
    obligations = gouv.annual_obligations(con.cursor(), contrat="CV-T", donnees_au=AU).filter(pl.col("annee") == 2024)
    assert obligations["rapport_statut"].item() == "respectée"
    assert obligations["assemblees"].item() == "CA Test (30/06/2025), Commune de Paris (03/07/2025)"
    assert store.integrity_errors(con.cursor()) == []

    # order rules, in French, nothing written
    _refused(
        edits.add_vote,
        con,
        "le vote (01/05/2025) ne peut pas précéder l'envoi aux conseils citoyens (02/05/2025)",
        assemblee="commune",
        code_collectivite="75118",
        date_vote=date(2025, 5, 1),
        **common,
    )
    _refused(
        edits.add_contribution,
        con,
        "ne peut pas précéder l'envoi aux conseils citoyens",
        conseil="Conseil citoyen",
        date_reception=date(2025, 4, 1),
        texte="Avis",
        **common,
    )
    _refused(
        edits.set_publication,
        con,
        "la publication (29/06/2025) ne peut pas précéder le premier vote (30/06/2025)",
        date_publication=date(2025, 6, 29),
        lien_publication="https://www.exemple.fr/r.pdf",
        **common,
    )
    _refused(edits.set_envoi, con, "ne peut pas suivre le premier vote", date_envoi=date(2025, 7, 1), **common)
    _refused(edits.set_envoi, con, "retirez-les avant d'effacer l'envoi", date_envoi=None, **common)
    _refused(edits.set_envoi, con, "est dans le futur", date_envoi=TODAY + timedelta(days=1), **common)
    _refused(
        edits.add_vote,
        con,
        "dans le futur",
        assemblee="EPCI",
        code_collectivite=EPCI_SIREN,
        date_vote=TODAY + timedelta(days=1),
        code_contrat="CV-T",
        annee=2025,
    )
    _refused(
        edits.add_vote,
        con,
        "déjà enregistré",
        assemblee="commune",
        code_collectivite="75118",
        date_vote=date(2025, 7, 5),
        **common,
    )
    # bad identifiers, assemblies, links, lengths, years, contracts
    _refused(
        edits.add_vote,
        con,
        "SIREN de l'EPCI « 200099019 » invalide",
        assemblee="EPCI",
        code_collectivite="200099019",
        date_vote=date(2025, 7, 1),
        **common,
    )
    _refused(
        edits.add_vote,
        con,
        "la commune 69123 n'a pas de quartier dans le contrat",
        assemblee="commune",
        code_collectivite="69123",
        date_vote=date(2025, 7, 1),
        **common,
    )
    _refused(
        edits.add_vote,
        con,
        "code INSEE de la commune « 7511 » invalide",
        assemblee="commune",
        code_collectivite="7511",
        date_vote=date(2025, 7, 1),
        **common,
    )
    _refused(
        edits.add_vote,
        con,
        "assemblée « région » inconnue",
        assemblee="région",
        code_collectivite="11",
        date_vote=date(2025, 7, 1),
        **common,
    )
    _refused(
        edits.set_publication,
        con,
        "n'est pas une adresse https:// valide",
        date_publication=date(2025, 8, 2),
        lien_publication="http://www.exemple.fr/r.pdf",
        **common,
    )
    _refused(
        edits.set_publication,
        con,
        "le lien du rapport publié est obligatoire",
        date_publication=date(2025, 8, 2),
        lien_publication="  ",
        **common,
    )
    _refused(
        edits.add_contribution,
        con,
        f"dépasse {edits.MAX_TEXTE:,} caractères".replace(",", "\u202f"),
        conseil="Conseil citoyen",
        date_reception=date(2025, 5, 21),
        texte="x" * (edits.MAX_TEXTE + 1),
        **common,
    )
    _refused(
        edits.add_contribution,
        con,
        "le texte de la contribution est obligatoire",
        conseil="Conseil citoyen",
        date_reception=date(2025, 5, 21),
        texte="  ",
        **common,
    )
    _refused(
        edits.add_contribution,
        con,
        "enregistrez d'abord l'envoi",
        conseil="Conseil citoyen",
        date_reception=date(2025, 5, 21),
        texte="Avis",
        code_contrat="CV-T",
        annee=2025,
    )
    _refused(
        edits.set_envoi,
        con,
        "l'année 2031 est hors de la période du contrat",
        date_envoi=date(2025, 5, 1),
        code_contrat="CV-T",
        annee=2031,
    )
    _refused(
        edits.set_envoi, con, "contrat « CV-X » inconnu", date_envoi=date(2025, 5, 1), code_contrat="CV-X", annee=2024
    )
    _refused(
        edits.add_contribution,
        con,
        "formule",
        conseil='=HYPERLINK("x")',
        date_reception=date(2025, 5, 21),
        texte="Avis",
        **common,
    )
    # removing the first vote would leave the publication (01/07) before the new first vote (03/07)
    _refused(
        edits.remove_vote,
        con,
        "retirez d'abord la publication",
        assemblee="EPCI",
        code_collectivite=EPCI_SIREN,
        **common,
    )
    # a publication without any recorded vote
    _refused(
        edits.set_publication,
        con,
        "enregistrez d'abord le vote",
        date_publication=date(2025, 8, 2),
        lien_publication="https://www.exemple.fr/r.pdf",
        code_contrat="CV-T",
        annee=2025,
    )

    # removals in order: publication, votes, contributions, then the sending
    edits.set_publication(con, user=LOCAL, date_publication=None, lien_publication=None, today=TODAY, **common)
    edits.remove_vote(con, user=LOCAL, assemblee="EPCI", code_collectivite=EPCI_SIREN, **common)
    edits.remove_contribution(
        con, user=LOCAL, conseil="Conseil citoyen Goutte d'Or", date_reception=date(2025, 5, 20), **common
    )
    edits.set_envoi(con, user=LOCAL, date_envoi=None, today=TODAY, **common)
    assert con.execute(
        "SELECT orientations, date_envoi_conseils, date_publication, lien_publication FROM rapport_annuel"
    ).fetchall() == [("Nos orientations", None, None, None)]
    assert _counts(con) == (1, 1, 0)
    assert store.integrity_errors(con.cursor()) == []


def test_writes_require_the_right_to_write(cycle_store):
    reader = access.User(email="lecteur@exemple.fr", role="lecteur", contrats=("CV-T",))
    with pytest.raises(access.AccessDenied):
        edits.set_envoi(
            cycle_store, user=reader, code_contrat="CV-T", annee=2024, date_envoi=date(2025, 5, 1), today=TODAY
        )
    assert _counts(cycle_store) == (0, 0, 0)


def test_store_rules_catch_what_an_import_could_bring(cycle_store):
    con = cycle_store
    insert(
        con,
        "rapport_annuel",
        [
            {
                "code_contrat": "CV-T",
                "annee": 2024,
                "date_envoi_conseils": date(2025, 6, 1),
                "date_publication": date(2025, 5, 1),
                "lien_publication": "ftp://x",
            },
            {"code_contrat": "CV-T", "annee": 2024},
        ],
    )
    insert(
        con,
        "rapport_annuel_vote",
        [
            {
                "code_contrat": "CV-T",
                "annee": 2024,
                "assemblee": "région",
                "code_collectivite": "11",
                "date_vote": date(2025, 5, 20),
            }
        ],
    )
    insert(
        con,
        "rapport_annuel_contribution",
        [{"code_contrat": "CV-Z", "annee": 2024, "conseil": "C", "date_reception": date(2025, 5, 1), "texte": "t"}],
    )
    problems = " | ".join(store.integrity_errors(con.cursor()))
    for fragment in (
        "rapport annuel CV-T 2024 : présent plusieurs fois",
        "contribution au rapport annuel CV-Z 2024 : contrat inconnu",
        "assemblée « région » inconnue",
        "le 20/05/2025 : avant l'envoi aux conseils citoyens (01/06/2025)",
        "publication du rapport annuel CV-T 2024 le 01/05/2025 : avant le premier vote (20/05/2025)",
        "la date et le lien (https://…) vont ensemble",
    ):
        assert fragment in problems, problems


# --- the demo ---------------------------------------------------------------------------------


def test_demo_cycle_keeps_the_statuts_of_its_jalons(demo_store):
    con = duckdb.connect(str(demo_store))
    try:
        assert store.integrity_errors(con.cursor()) == []
        cols = ["code_contrat", "annee", "rapport_statut", "date_consultation", "date_vote", "ecart_jours"]
        with_cycle = gouv.annual_obligations(con.cursor(), contrat=None, donnees_au=DEMO_AU)
        recorded = with_cycle.filter(pl.col("nb_votes") > 0)
        assert recorded.height >= 3 and set(recorded["rapport_statut"]) == {"respectée"}
        assert (recorded["source_vote"] == "rapport").all() and (recorded["source_consultation"] == "rapport").all()
        # one contract's latest voted report is not published: « non publié » shows
        assert recorded.filter(pl.col("date_publication").is_null()).height >= 1
        assert recorded.filter(pl.col("date_publication").is_not_null()).height >= 1
        assert with_cycle.filter(pl.col("nb_contributions") > 0).height >= 1
        for table in ("rapport_annuel_vote", "rapport_annuel_contribution", "rapport_annuel"):
            con.execute("DELETE FROM " + table)
        jalons_only = gouv.annual_obligations(con.cursor(), contrat=None, donnees_au=DEMO_AU)
        assert with_cycle.select(cols).equals(jalons_only.select(cols))
    finally:
        con.close()


def test_demo_votes_have_valid_identifiers(demo_cur):
    from cdv_core.domain import identifiers

    votes = q.rapport_votes(demo_cur, contrat=None)
    assert votes.height
    for row in votes.iter_rows(named=True):
        if row["assemblee"] == "EPCI":
            assert identifiers.siren_valid(row["code_collectivite"]), row
        assert row["reference_deliberation"].startswith(f"DEL-{row['date_vote'].year}-"), row


# --- the page ---------------------------------------------------------------------------------


def _no_failure(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_jalons_tab_shows_the_cycle_and_records_the_sending(app_env):
    at = run_app("jalons", query={"contrat": "CV-DEMO-VERM"})
    _no_failure(at)
    table = next(d.value for d in at.dataframe if "Envoi aux conseils citoyens" in d.value.columns)
    rows = {r["Exercice"]: r for r in table.to_dict("records")}
    assert rows[2024]["Statut"] == "respectée" and rows[2024]["Publication"].startswith("publié le ")
    assert rows[2025]["Publication"] == "non publié" and rows[2025]["Statut"] == "respectée"
    assert "CA du Pays de Vermandie" in rows[2025]["Vote(s)"]
    assert rows[2026]["Étape manquante"] == "consultation prévue non réalisée, vote non réalisé"
    captions = " ".join(c.value for c in at.caption)
    assert "La publication est suivie mais n'est pas exigée" in captions
    # the Frise tab no longer carries its own rapport table: one table on the page
    assert sum("Statut" in d.value.columns and "Exercice" in d.value.columns for d in at.dataframe) == 1
    # an envoi after the first vote is refused in French; a valid one is recorded and shown
    assert at.selectbox(key="rapport_cycle_annee").value == 2025
    at.date_input(key="rapport_cycle_envoi_date").set_value(date(2026, 7, 20))
    at.button(key="rapport_cycle_envoi_submit").click()
    at.run()
    assert any("ne peut pas suivre le premier vote" in e.value for e in at.error), [e.value for e in at.error]
    at.date_input(key="rapport_cycle_envoi_date").set_value(date(2026, 3, 20))
    at.button(key="rapport_cycle_envoi_submit").click()
    at.run()
    _no_failure(at)
    assert any("Envoi du rapport 2025 aux conseils citoyens enregistré (20/03/2026)" in s.value for s in at.success)
    table = next(d.value for d in at.dataframe if "Envoi aux conseils citoyens" in d.value.columns)
    assert {r["Exercice"]: r for r in table.to_dict("records")}[2025]["Envoi aux conseils citoyens"] == "20/03/2026"


def test_jalons_tab_all_contracts_counts(app_env):
    at = run_app("jalons", query={"contrat": "tous"})
    _no_failure(at)
    table = next(d.value for d in at.dataframe if "Exercice" in d.value.columns)
    assert all(c == "Exercice" or c.startswith("Contrats : ") for c in table.columns)
    assert not [b for b in at.button if b.key and b.key.startswith("rapport_cycle_")]
