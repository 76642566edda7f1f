"""`cdv_core.figures.acteurs` and `cdv_core.figures.administration`: the charts (fields, French
formats and locale), the display tables (French headers, values formatted from the query results)
and the wording of the cards and titles, singular and plural, on the demo territory."""

from __future__ import annotations

import polars as pl
import pytest

from cdv_core import access, charts, fmt
from cdv_core.access import ADMIN, local_user
from cdv_core.figures import acteurs as fig
from cdv_core.figures import administration as adm
from cdv_core.queries import acteurs as q
from cdv_core.queries import territoire
from tests.conftest import DEMO_AU, minimal_contract

YEAR = DEMO_AU.year


def _spec(chart) -> dict:
    return chart.to_dict()


def _french_locale(spec: dict) -> None:
    assert spec["config"]["locale"] == charts.FRENCH_LOCALE.to_dict()
    assert spec["config"]["locale"]["number"]["decimal"] == ","


def _tooltips(spec: dict) -> dict[str, dict]:
    return {t["field"]: t for t in spec["encoding"]["tooltip"]}


@pytest.fixture
def detail(demo_cur):
    """The demo's first actor of the directory, its detail and its QPV (what the fiche is drawn from)."""
    directory = q.directory(demo_cur, contrat=None, annee=YEAR)
    chosen = directory["id_acteur"][0]
    return (
        q.actor_detail(demo_cur, id_acteur=chosen, contrat=None),
        q.actors_by_qpv(demo_cur, contrat=None, id_acteur=chosen),
    )


# --- charts ---------------------------------------------------------------------------------------------


def test_typology_charts_count_actors_per_value_in_french(demo_cur):
    counts = q.typology_counts(demo_cur, contrat=None)
    for typologie, _title in fig.TYPOLOGIES:
        spec = _spec(fig.typology_chart(counts, typologie))
        _french_locale(spec)
        x, y = spec["encoding"]["x"], spec["encoding"]["y"]
        assert (x["field"], x["type"], x["title"]) == ("nb_acteurs", "quantitative", "Acteurs")
        assert x["axis"]["format"] == ",.0f"
        assert (y["field"], y["type"], y["sort"]) == ("valeur", "nominal", "-x")
        assert _tooltips(spec)["nb_acteurs"]["format"] == ",.0f"
        data = next(iter(spec["datasets"].values()))
        expected = counts.filter(pl.col("typologie") == typologie)
        assert sorted(r["valeur"] for r in data) == sorted(expected["valeur"].to_list())
    assert fig.typology_chart(counts, "aucune typologie") is None


def test_funding_chart_shows_cpo_and_annual_amounts_per_year(demo_cur, detail):
    spec = _spec(fig.funding_chart(detail[0]["financement"]))
    _french_locale(spec)
    enc = spec["encoding"]
    assert (enc["x"]["field"], enc["x"]["type"]) == ("annee", "ordinal")
    assert (enc["y"]["field"], enc["y"]["title"], enc["y"]["axis"]["format"]) == ("accorde", "Accordé (€)", ",.0f")
    assert enc["color"]["scale"]["domain"] == ["CPO", "annuel"]
    assert _tooltips(spec)["accorde"]["format"] == ",.0f"


def test_small_associations_chart_reads_shares_in_french_percent(demo_cur):
    small = q.small_association_summary(demo_cur, contrat=None, annee=YEAR)
    spec = _spec(fig.small_associations_chart(small["par_annee"]))
    _french_locale(spec)
    y = spec["encoding"]["y"]
    assert (y["field"], y["axis"]["format"]) == ("part", ".0%")
    assert "\u00a0%" in y["axis"]["labelExpr"]  # « 12 % », not « 12% »
    tips = _tooltips(spec)
    assert (tips["part"]["format"], tips["petites"]["format"]) == (".1%", ",.0f")
    assert spec["mark"]["type"] == "line"


# --- cards and wording ---------------------------------------------------------------------------------


def test_actor_cards_read_the_queries(demo_cur):
    headline = q.actor_counts(demo_cur, contrat=None)
    dependency = q.dependency_summary(demo_cur, contrat=None)
    small = q.small_association_summary(demo_cur, contrat=None, annee=YEAR)
    cards = fig.actor_cards(headline, dependency, small, YEAR)
    assert [c.label for c in cards] == [
        "Acteurs",
        "Sans financement",
        "QPV couverts",
        "Dépendants",
        "Petites associations",
    ]
    assert [c.value for c in cards] == [
        fmt.integer(headline["nb_acteurs"]),
        fmt.integer(headline["nb_sans_financement"]),
        fmt.integer(headline["nb_qpv_couverts"]),
        fmt.integer(dependency["nb_dependants"]),
        fmt.percent(small["part"]),
    ]
    assert f"des {fmt.integer(dependency['nb_finances'])} acteurs financés" in cards[3].help
    assert f"en {YEAR}" in cards[4].help
    sign = "+" if small["evolution"] >= 0 else "-"
    assert cards[4].delta == f"{sign}{fmt.number(abs(small['evolution']) * 100, 1)} pt sur un an"
    assert fig.actor_cards(headline, dependency, {**small, "evolution": None}, YEAR)[4].delta is None


def test_wording_for_one_and_two(demo_cur):
    headline = q.actor_counts(demo_cur, contrat=None)
    dependency = q.dependency_summary(demo_cur, contrat=None)
    small = q.small_association_summary(demo_cur, contrat=None, annee=YEAR)
    helps = [fig.actor_cards({**headline, "nb_qpv": n}, dependency, small, YEAR)[2].help for n in (1, 2)]
    assert "sur 1 QPV de la sélection" in helps[0] and "sur 2 QPV de la sélection" in helps[1]
    counts = q.roadmap_counts(demo_cur, contrat=None, donnees_au=DEMO_AU)
    assert fig.roadmap_title({**counts, "nb_en_retard": 1}).endswith("— 1 échéance dépassée")
    assert fig.roadmap_title({**counts, "nb_en_retard": 2}).endswith("— 2 échéances dépassées")
    assert fig.roadmap_title(counts).endswith(
        fmt.plural(counts["nb_en_retard"], "échéance dépassée", "échéances dépassées")
    )
    coverage = q.coverage_summary(demo_cur, contrat=None, seuil=q.SEUIL_ACTEURS_DOMAINE)
    assert fig.gaps_note(coverage) == (
        f"{fmt.integer(coverage['nb_peu_couvertes'])} priorité(s) peu couverte(s) "
        f"sur {fmt.integer(coverage['nb_priorites'])}."
    )
    assert adm.accounts_caption(0) == "Aucun compte pour l'instant."
    assert adm.accounts_caption(1).startswith("1 compte · ")
    assert adm.accounts_caption(2).startswith("2 comptes · ")


def test_cap_notes_appear_only_past_the_cap(demo_cur):
    headline = q.actor_counts(demo_cur, contrat=None)
    assert fig.directory_note(headline["nb_acteurs"], YEAR) is None  # the demo is under the cap
    over = q.DIRECTORY_CAP + headline["nb_acteurs"]
    assert fig.directory_note(over, YEAR) == (
        f"{fmt.integer(q.DIRECTORY_CAP)} premiers acteurs "
        f"sur {fmt.integer(over)} (par montant accordé en {YEAR}) ; "
        "le téléchargement contient tout."
    )
    assert fig.most_funded_note(fig.TABLE_CAP) is None
    assert fig.most_funded_note(fig.TABLE_CAP + 1) == (
        f"{fig.TABLE_CAP} premiers sur {fig.TABLE_CAP + 1} (les plus financés d'abord)."
    )
    assert fig.posts_note(fig.POSTS_CAP + 1) == (
        f"{fig.POSTS_CAP} premiers postes sur {fig.POSTS_CAP + 1} ; le téléchargement contient tout."
    )


def test_team_cards_hide_the_etp_from_a_partenaire(demo_cur):
    totals = q.posts_totals(demo_cur, contrat=None, annee=YEAR)
    labels = {k: fmt.integer(totals[k]) for k in ("nb_postes", "nb_cofinances", "nb_adultes_relais", "nb_fonjep")}
    cards = fig.team_cards(labels, totals, YEAR, publishable_only=False)
    assert [c.label for c in cards] == [
        f"Postes {YEAR}",
        "Adultes-relais",
        "Postes FONJEP",
        f"Financements des postes {YEAR}",
        "Postes cofinancés",
    ]
    assert cards[0].value == fmt.integer(totals["nb_postes"])
    assert cards[0].delta == f"{fmt.number(totals['etp'], 1)} ETP"
    assert cards[3].value == fmt.euros_compact(totals["finance"])
    assert cards[3].delta == f"dont État {fmt.euros_compact(totals['finance_etat'])}"
    assert fig.team_cards(labels, totals, YEAR, publishable_only=True)[0].delta is None


# --- tables --------------------------------------------------------------------------------------------


def test_directory_table_has_french_headers_and_formats(demo_cur):
    directory = q.directory(demo_cur, contrat=None, annee=YEAR)
    table = fig.directory_table(directory, YEAR)
    assert table.columns == [
        "Acteur",
        "Structure",
        "Mode d'intervention",
        "Domaines",
        "QPV",
        "Actions",
        f"Accordé {YEAR}",
        f"dont CPO {YEAR}",
        "Financeur principal",
        "Part du principal",
        "Instances",
        "SIRET",
        "SIRET valide",
        "RNA",
        "RNA valide",
    ]
    assert table.height == min(directory.height, q.DIRECTORY_CAP)
    first = directory.row(0, named=True)
    assert table[f"Accordé {YEAR}"][0] == fmt.euros(first["accorde_annee"])
    assert table["Part du principal"][0] == fmt.percent(first["part_financeur_principal"])
    assert set(table["SIRET valide"]) <= {"valide", "invalide", "—"}


def test_fiche_tables_and_card(demo_cur, detail):
    actor, qpv = detail
    assert fig.actions_table(actor["actions"]).columns == [
        "Action",
        "Libellé",
        "Thématique",
        "Mode",
        "Années",
        "Statut",
        "Accordé (toutes années)",
    ]
    card = fig.actor_card(actor, qpv)
    ident = actor["identite"].row(0, named=True)
    assert card.title == f"**{fmt.md(ident['nom'])}**"
    assert [line.split(" : ")[0] for line in card.lines] == ["Domaines", "SIRET", "QPV", "Instances"]
    for name in qpv.filter(pl.col("acteur_present"))["libelle"]:
        assert fmt.md(name) in card.lines[2]
    colours = fig.map_frame(qpv)
    assert (
        colours.filter(pl.col("acteur_present"))["couleur"].to_list() == [fig.HIGHLIGHT] * qpv["acteur_present"].sum()
    )
    assert set(colours["present"]) <= {"oui", "non"}


def test_committee_tables_have_french_headers(demo_cur):
    coverage = q.coverage_summary(demo_cur, contrat=None, seuil=q.SEUIL_ACTEURS_DOMAINE)
    assert fig.gaps_table(fig.weak_priorities(coverage)).columns == [
        "Quartier",
        "Axe prioritaire",
        "Domaines correspondants",
        "Acteurs",
    ]
    dependency = q.dependency_summary(demo_cur, contrat=None)
    dependants = fig.dependants(dependency)
    assert dependants.height == dependency["nb_dependants"]
    table = fig.dependency_table(dependants)
    assert table.columns == ["Acteur", "Financeur", "Part", "Accordé (toutes années)"]
    if dependants.height:
        assert table["Accordé (toutes années)"][0] == fmt.euros(dependants["total_accorde"][0])
    candidates = q.cpo_candidates(demo_cur, contrat=None, annee=YEAR)
    cpo = fig.cpo_table(candidates)
    assert cpo.columns == ["Acteur", "Structure", "Années financées", "Moyenne annuelle", "Total"]
    assert cpo["Total"].to_list() == [fmt.euros(v) for v in candidates["total_accorde"].head(fig.TABLE_CAP)]


def test_team_tables_have_french_headers_and_contract_names(demo_cur):
    names = fig.contract_names(territoire.contracts(demo_cur))
    summary = q.posts_summary(demo_cur, contrat=None, annee=YEAR)
    full = fig.summary_table(summary, publishable_only=False)
    assert full.columns == [
        "Type de poste",
        "Postes",
        "ETP",
        "Cofinancés",
        "Coût connu",
        "Financé",
        "dont État",
        "Aide de référence",
        "Financé / coût",
    ]
    assert "ETP" not in fig.summary_table(summary, publishable_only=True).columns
    posts = q.posts(demo_cur, contrat=None, annee=YEAR)
    table = fig.posts_table(posts, YEAR, names)
    assert table.columns == [
        "Type",
        "Intitulé",
        "Employeur",
        "Contrat",
        "QPV",
        "ETP",
        "Début",
        "Fin",
        "Responsabilité",
        "Élu référent",
        "Financeurs",
        f"Financé {YEAR}",
    ]
    assert table["Contrat"].to_list() == [names[c] for c in posts["code_contrat"].head(fig.POSTS_CAP)]
    assert table["Début"].to_list() == [fmt.day(d) for d in posts["date_debut"].head(fig.POSTS_CAP)]
    relay = q.relay_posts_by_qpv(demo_cur, contrat=None, annee=YEAR)
    assert fig.relay_table(relay, names).columns == ["Contrat", "QPV", "Type", "Postes", "Financé", "Aide de référence"]
    roadmap = q.roadmap(demo_cur, contrat=None, donnees_au=DEMO_AU)
    table = fig.roadmap_table(roadmap)
    assert table.columns == ["Action", "Échéance", "Statut", "Responsable", "Décision liée"]
    assert (table["Statut"] == "en retard").sum() == roadmap["en_retard"].head(fig.TABLE_CAP).sum()
    decisions = q.open_decisions(demo_cur, contrat=None, donnees_au=DEMO_AU)
    assert fig.decisions_table(decisions).columns == ["Décision", "Échéance", "Statut", "Instance", "Responsable"]
    assert fig.decisions_title(decisions) == (
        f"**Décisions de gouvernance à suivre** — {fmt.integer(decisions.height)} ouvertes"
    )


# --- administration ------------------------------------------------------------------------------------


def test_accounts_table_has_french_headers_and_role_names(empty_store):
    minimal_contract(empty_store, "CV-A")
    admin = local_user("test")
    access.add_user(empty_store, user=admin, email="admin@ville.fr", role=ADMIN, nom="Ada Admin")
    access.add_user(empty_store, user=admin, email="chef@ville.fr", role="chef_de_projet", contrats=["CV-A"])
    accounts = access.users(empty_store.cursor())
    table = adm.accounts_table(accounts)
    assert table.columns == ["Adresse", "Nom", "Rôle", "Actif", "Contrats", "Créé le", "Modifié le"]
    rows = {r["Adresse"]: r for r in table.iter_rows(named=True)}
    assert rows["admin@ville.fr"]["Contrats"] == "tous" and rows["chef@ville.fr"]["Contrats"] == "CV-A"
    assert rows["admin@ville.fr"]["Rôle"] == access.ROLES[ADMIN]
    assert rows["chef@ville.fr"]["Nom"] == ""
    assert adm.account_labels(accounts) == {
        "admin@ville.fr": "Ada Admin <admin@ville.fr>",
        "chef@ville.fr": "chef@ville.fr",
    }
