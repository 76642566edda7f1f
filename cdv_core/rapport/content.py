"""The rapport annuel's draft as data (décret n° 2015-1118, issue #19): sections of paragraphs,
key figures and tables, in the décret's order, for one contract, one year (the exercice the
report describes) and one « données au » date.

Every figure is taken from the query functions the screens use (Projets de quartier,
Indicateurs, Actions et financements, Gouvernance, Jalons) with the same arguments, and
formatted with `cdv_core.fmt` or the screens' own display tables: nothing is computed a second
time here. The team's texts (table `rapport_annuel`) are placed where they belong; a missing
one reads « [À rédiger par l'équipe] ». The DOCX and PDF renderers (`rapport.docx`,
`rapport.pdf`) only lay these objects out.

What is « of the year » and what is « at données au »: actions, funding, meetings and
participation are those of the exercice `annee`; statuses, indicators and residents' bodies are
read at `donnees_au`, as the screens show them on that date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb
import polars as pl

from cdv_core import fmt
from cdv_core.domain import model, progress
from cdv_core.figures import financements as fig_fin
from cdv_core.figures import indicateurs as fig_ind
from cdv_core.queries import financements as fin
from cdv_core.queries import gouvernance as gouv
from cdv_core.queries import indicateurs as ind
from cdv_core.queries import jalons, overview, projets, territoire

DRAFT_LABEL = "Projet de rapport annuel — document de travail"
PLACEHOLDER = "[À rédiger par l'équipe]"
REFERENCE = "EPCI"  # the reference territory of the gaps: the Indicateurs screen's default

# The décret's structure: (key, heading). The tests and both renderers read this order.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("orientations", "1. Orientations du contrat et priorités de l'année"),
    ("evolution", "2. Évolution des quartiers au regard des objectifs des projets de quartier"),
    ("actions", "3. Actions de l'année et leur financement (crédits spécifiques et droit commun)"),
    ("gouvernance", "4. Gouvernance et participation des habitants"),
    ("perspectives", "5. Perspectives"),
    ("annexes", "Annexes : contributions des conseils citoyens"),
)
SECTION_TITLES: tuple[str, ...] = tuple(title for _, title in SECTIONS)

# The texts the team writes (rapport_annuel's columns) → (label in the form, what to write).
TEXTS: dict[str, tuple[str, str]] = {
    "orientations": (
        "Orientations du contrat et priorités de l'année",
        "Rappelez les orientations du contrat et les priorités retenues pour l'année.",
    ),
    "evolution": (
        "Analyse de l'évolution des quartiers",
        "Commentez l'évolution de chaque quartier au regard des objectifs de son projet de quartier.",
    ),
    "participation": (
        "Gouvernance et participation des habitants",
        "Décrivez la vie des instances et la participation des habitants (conseils citoyens, tables de quartier).",
    ),
    "perspectives": ("Perspectives", "Présentez les perspectives et les évolutions envisagées pour l'année suivante."),
}
FIGURE_HEADERS: tuple[str, ...] = ("Chiffre clé", "Valeur", "Précision")  # a block of key figures as a table
MILESTONE_ROWS = 12  # upcoming milestones listed in « Perspectives »


class ReportError(ValueError):
    """The draft cannot be made for this contract and year (French message)."""


# --- the draft's building blocks --------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    label: str
    value: str  # as printed (French format)
    note: str | None = None


@dataclass(frozen=True)
class Figures:
    items: tuple[Figure, ...]


@dataclass(frozen=True)
class Paragraph:
    text: str
    team: bool = False  # the team's text (or its placeholder)
    placeholder: bool = False  # « [À rédiger par l'équipe] »: printed in italics


@dataclass(frozen=True)
class Subheading:
    text: str


@dataclass(frozen=True)
class Table:
    title: str | None
    frame: pl.DataFrame  # strings only, French headers
    empty: str = "Aucune ligne."


Block = Figures | Paragraph | Subheading | Table


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    blocks: tuple[Block, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Report:
    code_contrat: str
    contrat: str  # the contract's libellé
    annee: int
    donnees_au: date
    sections: tuple[Section, ...]

    @property
    def title(self) -> str:
        return f"Rapport annuel {self.annee} du contrat de ville"

    @property
    def subtitle(self) -> str:
        return f"Exercice {self.annee} · données au {fmt.day(self.donnees_au)}"


# --- reads of the rapport_annuel tables (migration 0015) --------------------------------------


def team_texts(cur: duckdb.DuckDBPyConnection, *, contrat: str, annee: int) -> dict:
    """The team's texts of (contrat, annee) — keys of `TEXTS` (None when not written) — and who
    last changed them (`modifie_par`, `modifie_le`)."""
    rows = cur.execute(
        """SELECT orientations, evolution, participation, perspectives, modifie_par, modifie_le
           FROM rapport_annuel WHERE code_contrat = $c AND annee = $a
           ORDER BY modifie_le DESC NULLS LAST LIMIT 1""",
        {"c": contrat, "a": annee},
    ).fetchall()
    keys = (*TEXTS, "modifie_par", "modifie_le")
    return dict(zip(keys, rows[0])) if rows else dict.fromkeys(keys)


def report_cycle(cur: duckdb.DuckDBPyConnection, *, contrat: str, annee: int, donnees_au: date) -> dict:
    """The report's own cycle as recorded by `donnees_au` (rapport_annuel's life-cycle columns, its
    votes and the conseils citoyens' contributions; a step dated later had not happened then, as
    in `gouvernance.annual_obligations`): `envoi`, `publication`, `lien`, `votes`, `contributions`."""
    params = {"c": contrat, "a": annee, "au": donnees_au}
    row = cur.execute(
        """SELECT max(date_envoi_conseils) FILTER (WHERE date_envoi_conseils <= $au),
                  max(date_publication) FILTER (WHERE date_publication <= $au),
                  max(lien_publication) FILTER (WHERE date_publication <= $au)
           FROM rapport_annuel WHERE code_contrat = $c AND annee = $a""",
        params,
    ).fetchall()[0]
    votes = cur.execute(
        """SELECT assemblee, code_collectivite, libelle_collectivite, date_vote, reference_deliberation
           FROM rapport_annuel_vote WHERE code_contrat = $c AND annee = $a AND date_vote <= $au
           ORDER BY date_vote, assemblee, code_collectivite""",
        parameters=params,
    ).pl()
    contributions = cur.execute(
        """SELECT conseil, date_reception, texte FROM rapport_annuel_contribution
           WHERE code_contrat = $c AND annee = $a AND date_reception <= $au ORDER BY date_reception, conseil""",
        parameters=params,
    ).pl()
    return {"envoi": row[0], "publication": row[1], "lien": row[2], "votes": votes, "contributions": contributions}


def report_years(cur: duckdb.DuckDBPyConnection, *, contrat: str, donnees_au: date) -> list[int]:
    """The years a report may describe: the contract's years up to the year of `donnees_au`."""
    rows = cur.execute(
        "SELECT year(date_debut), year(date_fin) FROM contrat WHERE code_contrat = $c", {"c": contrat}
    ).fetchall()
    if not rows:
        return []
    first, last = rows[0]
    return list(range(first, min(last, donnees_au.year) + 1))


# --- helpers ----------------------------------------------------------------------------------


def _team(text: str | None, key: str) -> tuple[Paragraph, ...]:
    """The team's text as paragraphs (one per block of lines), or the placeholder with its hint."""
    parts = [p.strip() for p in (text or "").replace("\r\n", "\n").split("\n\n") if p.strip()]
    if not parts:
        return (Paragraph(f"{PLACEHOLDER} {TEXTS[key][1]}", team=True, placeholder=True),)
    return tuple(Paragraph(p, team=True) for p in parts)


def _strings(frame: pl.DataFrame) -> pl.DataFrame:
    """Every cell as text (« — » when empty), for the renderers: numbers in French (« 1 234 »,
    « 12,5 »), dates « 31/03/2024 », years as they are written."""

    def text(name: str, dtype) -> pl.Expr:
        col = pl.col(name)
        if dtype.is_integer() and not name.startswith(("Année", "Exercice")):
            col = fmt.number_expr(col, 0)
        elif dtype.is_float():
            col = fmt.number_expr(col, 1)
        elif dtype == pl.Date:
            col = fmt.day_expr(col)
        return col.cast(pl.String).fill_null("—").alias(name)

    return frame.select(text(name, dtype) for name, dtype in frame.schema.items())


def _contract(cur, contrat: str, perimetre: tuple[str, ...] | None) -> dict:
    found = territoire.contracts(cur, perimetre=perimetre).filter(pl.col("code_contrat") == contrat)
    if found.is_empty():
        raise ReportError(f"Contrat « {contrat} » inconnu (ou hors de votre périmètre).")
    return found.row(0, named=True)


# --- the sections -----------------------------------------------------------------------------


def _orientations(cur, contrat: dict, au: date, qpv: pl.DataFrame, texts: dict, perimetre) -> Section:
    code = contrat["code_contrat"]
    figures = territoire.territory_figures(cur, contrat=code, perimetre=perimetre)
    transversal = (
        progress.objective_progress(cur, contrat=code, donnees_au=au, perimetre=perimetre)
        .filter(pl.col("code_qp").is_null())
        .sort("axe", "libelle")
        .select(pl.col("libelle").alias("Objectif"), pl.col("axe").alias("Axe"), pl.col("statut").alias("Statut"))
    )
    return Section(
        "orientations",
        SECTION_TITLES[0],
        (
            *_team(texts.get("orientations"), "orientations"),
            Figures(
                (
                    Figure("Contrat", contrat["libelle"]),
                    Figure("Période", f"{fmt.day(contrat['date_debut'])} – {fmt.day(contrat['date_fin'])}"),
                    Figure("Signature", fmt.day(contrat["date_signature"])),
                    Figure("Quartiers prioritaires", fmt.integer(figures["quartiers"])),
                    Figure("Habitants des QPV", fmt.integer(figures["population"])),
                    Figure(
                        "Projets de quartier enregistrés",
                        fmt.integer(qpv["projet"].is_not_null().sum()),
                        f"sur {fmt.plural(qpv.height, 'quartier')}",
                    ),
                )
            ),
            Table(
                "Objectifs du socle transversal du contrat",
                _strings(transversal),
                "Aucun objectif transversal enregistré.",
            ),
        ),
    )


def _indicator_rows(cur, code: str, au: date, qpv: pl.DataFrame, perimetre) -> dict[str, pl.DataFrame]:
    """Per QPV: its indicators (those of its objectives, `projets.qpv_indicators`) as the
    Indicateurs screen compares them (`indicateurs.comparison` + `figures.indicateurs.comparison_table`,
    reference territory `REFERENCE`): one display row per indicator."""
    linked = {
        q: projets.qpv_indicators(cur, code_qp=q, donnees_au=au, perimetre=perimetre)
        .unique("code_indicateur", keep="first", maintain_order=True)
        .select("code_indicateur", "indicateur", "unite")
        for q in qpv["code_qp"].to_list()
    }
    wanted = (
        pl.concat(list(linked.values())).unique("code_indicateur", keep="first", maintain_order=True)
        if linked
        else pl.DataFrame()
    )
    shown: dict[str, list[pl.DataFrame]] = {q: [] for q in linked}
    reference = ind.REFERENCE_TYPES[REFERENCE]
    for code_indicateur, libelle, unite in wanted.iter_rows():  # one query per indicator, as the screen
        frame = ind.comparison(
            cur, code_indicateur=code_indicateur, contrat=code, reference=REFERENCE, donnees_au=au, perimetre=perimetre
        )
        for q in shown:
            if code_indicateur not in linked[q]["code_indicateur"].to_list():
                continue
            row = frame.filter(pl.col("code_qp") == q)
            table = fig_ind.comparison_table(row, unite=unite)
            shown[q].append(
                table.select(
                    pl.lit(libelle).alias("Indicateur"),
                    pl.lit(fmt.day(row["date_valeur"][0]) if row.height else "—").alias("Millésime"),
                    pl.col("Valeur"),
                    pl.col("Territoire de référence").alias(f"{reference} (même année)"),
                    pl.col("Écart"),
                    pl.col("Point de départ"),
                    pl.col("Tendance"),
                    pl.col("Cible"),
                )
            )
    return {q: _strings(pl.concat(tables)) if tables else pl.DataFrame() for q, tables in shown.items()}


def _evolution(cur, code: str, au: date, rows: pl.DataFrame, texts: dict, perimetre) -> Section:
    counts = projets.status_counts(rows)
    blocks: list[Block] = [
        *_team(texts.get("evolution"), "evolution"),
        Paragraph(
            f"Situation des quartiers au {fmt.day(au)}, selon la règle de l'écran « Projets de quartier » ; "
            f"indicateurs comparés à l'{ind.REFERENCE_TYPES[REFERENCE]} de chaque quartier, même année "
            "(écran « Indicateurs »)."
        ),
        Figures(
            (
                Figure("Quartiers prioritaires", fmt.integer(rows.height)),
                *(Figure(s.capitalize(), fmt.plural(counts[s], "quartier")) for s in counts),
            )
        ),
    ]
    indicators = _indicator_rows(cur, code, au, rows, perimetre)
    for qpv in rows.iter_rows(named=True):  # the contract's QPV (1 to 10): one subsection each
        q = qpv["code_qp"]
        blocks.append(Subheading(f"{qpv['libelle']} ({q}, {qpv['lib_com']})"))
        blocks.append(
            Figures(
                (
                    Figure(
                        "Statut",
                        qpv["statut"],
                        projets.since_text(qpv["statut"], qpv["depuis"], qpv["depuis_premier"])
                        if qpv["depuis"] is not None
                        else None,
                    ),
                    Figure("Objectifs", fmt.integer(qpv["n_objectifs"] or 0)),
                    Figure("Réalisé / attendu", f"{fmt.percent(qpv['realise'], 0)} / {fmt.percent(qpv['attendu'], 0)}"),
                    Figure("Actions (toutes années)", fmt.integer(qpv["n_actions"] or 0)),
                    Figure("Montant accordé (part du quartier, toutes années)", fmt.euros(qpv["accorde"])),
                    Figure("Habitants", fmt.integer(qpv["population"])),
                )
            )
        )
        blocks.append(Paragraph(qpv["motif"] or ""))
        if qpv["projet"]:
            blocks.append(
                Paragraph(
                    f"Projet de quartier : {qpv['projet']}" + (f". Enjeux : {qpv['enjeux']}" if qpv["enjeux"] else "")
                )
            )
        objectives = (
            projets.qpv_objectives(cur, code_qp=q, donnees_au=au, perimetre=perimetre)
            .filter(pl.col("portee") == "quartier")
            .sort("code_objectif")
        )
        blocks.append(
            Table(
                "Objectifs du projet de quartier",
                _strings(
                    objectives.select(
                        pl.col("libelle").alias("Objectif"),
                        pl.col("axe").alias("Axe"),
                        pl.col("statut").alias("Statut"),
                        fmt.percent_expr(pl.col("realise"), 0, missing="—").alias("Réalisé"),
                        fmt.percent_expr(pl.col("attendu"), 0, missing="—").alias("Attendu"),
                        pl.col("motif").alias("Pourquoi"),
                    )
                ),
                "Aucun objectif propre au quartier enregistré.",
            )
        )
        blocks.append(
            Table(
                f"Indicateurs : valeur, écart à l'{ind.REFERENCE_TYPES[REFERENCE]} et cible",
                indicators.get(q, pl.DataFrame()),
                "Aucun indicateur n'est rattaché aux objectifs de ce quartier.",
            )
        )
    return Section("evolution", SECTION_TITLES[1], tuple(blocks))


def _nature(financeur: pl.Expr) -> pl.Expr:
    return (
        pl.when(financeur == model.CREDITS_SPECIFIQUES)
        .then(pl.lit("crédits spécifiques"))
        .otherwise(pl.lit("droit commun"))
    )


def _actions(cur, code: str, annee: int, perimetre) -> Section:
    counts = fin.action_counts(cur, contrat=code, annee=annee, perimetre=perimetre)
    totals = fin.funding_totals(cur, contrat=code, annee=annee, perimetre=perimetre)
    funders = (
        fin.funding_by_funder_year(cur, contrat=code, annee=annee, perimetre=perimetre)
        .with_columns((pl.col("financeur") != model.CREDITS_SPECIFIQUES).alias("_dc"))
        .sort("_dc", pl.col("accorde").neg(), "financeur")
    )
    themes = fin.funding_by_thematique(cur, contrat=code, annee=annee, perimetre=perimetre)
    actions = fig_fin.actions_table(fin.action_rows(cur, contrat=code, annee=annee, perimetre=perimetre)).filter(
        pl.col("Statut") != "refusée"
    )
    share = totals["part_p147"]
    return Section(
        "actions",
        SECTION_TITLES[2],
        (
            Paragraph(
                f"Actions de l'exercice {annee} (annuelles, ou pluriannuelles le couvrant ; actions refusées "
                f"exclues) et lignes de financement de l'exercice, comme l'écran « Actions et financements ». "
                f"Crédits spécifiques : {model.CREDITS_SPECIFIQUES} ; droit commun : tous les autres financeurs."
            ),
            Figures(
                (
                    Figure(f"Actions {annee}", fmt.integer(counts["actions"])),
                    Figure("Porteurs", fmt.integer(counts["porteurs"])),
                    Figure("Montant demandé", fmt.euros(totals["demande"])),
                    Figure(
                        "Montant accordé",
                        fmt.euros(totals["accorde"]),
                        f"{fmt.percent(totals['taux_accord'])} du demandé"
                        if totals["taux_accord"] is not None
                        else None,
                    ),
                    Figure(
                        "Montant versé",
                        fmt.euros(totals["verse"]),
                        f"{fmt.percent(totals['taux_versement'])} de l'accordé"
                        if totals["taux_versement"] is not None
                        else None,
                    ),
                    Figure(
                        "Crédits spécifiques accordés",
                        fmt.euros(totals["p147_accorde"]),
                        f"{fmt.percent(share)} de l'accordé" if share is not None else None,
                    ),
                    Figure(
                        "Droit commun accordé",
                        fmt.euros(totals["droit_commun_accorde"]),
                        f"{fmt.percent(totals['part_droit_commun'])} de l'accordé" if share is not None else None,
                    ),
                    Figure(
                        "Crédits P147 en CPO",
                        fmt.percent(totals["part_cpo"]),
                        f"cible nationale ≥ {fmt.percent(model.CPO_TARGET_SHARE, 0)}",
                    ),
                )
            ),
            Table(
                f"Financements {annee} par financeur",
                _strings(
                    funders.select(
                        pl.col("financeur").alias("Financeur"),
                        _nature(pl.col("financeur")).alias("Nature"),
                        fmt.euros_expr(pl.col("demande"), missing="—").alias("Demandé"),
                        fmt.euros_expr(pl.col("accorde"), missing="—").alias("Accordé"),
                        fmt.euros_expr(pl.col("verse"), missing="—").alias("Versé"),
                    )
                ),
                "Aucun financement enregistré.",
            ),
            Table(
                f"Financements {annee} par thématique",
                _strings(
                    themes.select(
                        pl.col("thematique_libelle").alias("Thématique"),
                        pl.col("actions").alias("Actions"),
                        fmt.euros_expr(pl.col("accorde"), missing="—").alias("Accordé"),
                        fmt.euros_expr(pl.col("verse"), missing="—").alias("Versé"),
                    )
                ),
                "Aucun financement enregistré.",
            ),
            Table(
                f"Actions {annee}",
                _strings(
                    actions.select(
                        pl.col("Action"),
                        pl.col("Porteur"),
                        pl.col("Thématique"),
                        pl.col("Statut"),
                        pl.col("QPV"),
                        fmt.euros_expr(pl.col("Accordé (€)"), missing="—").alias("Accordé"),
                        pl.col("Financeurs"),
                    )
                ),
                "Aucune action sur cet exercice.",
            ),
        ),
    )


def _gouvernance(cur, code: str, annee: int, au: date, texts: dict, perimetre) -> Section:
    yearly = gouv.yearly_meetings(cur, contrat=code, donnees_au=au, perimetre=perimetre).filter(
        pl.col("annee") == annee
    )
    people = gouv.participation_by_type(cur, contrat=code, donnees_au=au, perimetre=perimetre).filter(
        pl.col("annee") == annee
    )
    order = {t: i for i, t in enumerate(model.TYPES_INSTANCE)}
    by_type = (
        yearly.join(people.drop("annee"), on="type_instance", how="left")
        .filter((pl.col("tenues") > 0) | (pl.col("attendues") > 0))
        .sort(pl.col("type_instance").replace_strict(order, default=99))
    )
    bodies = gouv.residents_bodies(cur, contrat=code, donnees_au=au, perimetre=perimetre).sort("quartier")
    residents = gouv.residents_summary(bodies)
    obligations = gouv.annual_obligations(cur, contrat=code, donnees_au=au, perimetre=perimetre).filter(
        pl.col("annee") == annee
    )
    ob = obligations.row(0, named=True) if obligations.height else {}
    cycle = report_cycle(cur, contrat=code, annee=annee, donnees_au=au)
    habitants = people.filter(pl.col("type_instance").is_in(list(model.RESIDENT_BODIES)))
    blocks: list[Block] = [
        *_team(texts.get("participation"), "participation"),
        Figures(
            (
                Figure(
                    f"Réunions tenues en {annee}",
                    fmt.integer(yearly["tenues"].sum()),
                    f"pour {fmt.integer(yearly['attendues'].sum())} attendues selon la cadence des instances",
                ),
                Figure(
                    f"Réunions des conseils citoyens et tables de quartier en {annee}",
                    fmt.integer(habitants["reunions_tenues"].sum()),
                ),
                Figure(f"Habitants présents aux réunions tenues en {annee}", fmt.integer(people["habitants"].sum())),
                Figure(
                    "Quartiers avec un conseil citoyen actif",
                    fmt.integer(residents["conseil_citoyen_actif"]),
                    f"sur {fmt.plural(residents['qpv'], 'quartier')}, au {fmt.day(au)}",
                ),
            )
        ),
        Table(
            f"Instances et réunions {annee}",
            _strings(
                by_type.select(
                    pl.col("type_instance").alias("Instance"),
                    pl.col("tenues").alias("Réunions tenues"),
                    pl.col("attendues").alias("Attendues"),
                    pl.col("annulees_reportees").alias("Annulées ou reportées"),
                    pl.col("participants").alias("Participants"),
                    pl.col("habitants").alias("Habitants présents"),
                    fmt.number_expr(pl.col("habitants_par_reunion"), 1).alias("Habitants par réunion"),
                )
            ),
            "Aucune instance attendue ni réunie cette année.",
        ),
        Table(
            f"Instances d'habitants par quartier (au {fmt.day(au)})",
            _strings(
                bodies.select(
                    pl.col("quartier").alias("Quartier"),
                    pl.when(~pl.col("a_conseil_citoyen"))
                    .then(pl.lit("aucun"))
                    .when(pl.col("conseil_citoyen_actif"))
                    .then(pl.lit("actif"))
                    .otherwise(pl.lit("inactif"))
                    .alias("Conseil citoyen"),
                    fmt.day_expr(pl.col("derniere_reunion_cc")).alias("Dernière réunion du conseil citoyen"),
                    pl.when(pl.col("instance_habitants_active"))
                    .then(pl.lit("oui"))
                    .otherwise(pl.lit("non"))
                    .alias("Instance d'habitants active"),
                )
            ),
            "Aucun quartier.",
        ),
        Subheading(f"Obligations annuelles et cycle du rapport {annee}"),
        Figures(
            (
                Figure("COPIL tenus", fmt.integer(ob.get("copil_tenus")), ob.get("copil_statut")),
                Figure(
                    "Revue annuelle des projets de quartier",
                    fmt.integer(ob.get("revues_tenues")),
                    ob.get("revue_statut"),
                ),
                Figure("Projet de rapport transmis aux conseils citoyens", fmt.day(cycle["envoi"])),
                Figure(
                    "Consultation des conseils citoyens",
                    fmt.day(ob.get("date_consultation")),
                    "réalisée, sinon prévue (jalon)",
                ),
                Figure("Vote du rapport", fmt.day(ob.get("date_vote")), "réalisé, sinon prévu (jalon)"),
                Figure(
                    "Rapport annuel",
                    ob.get("rapport_statut") or "—",
                    f"consultation au moins {gouv.RAPPORT_DELAI_MOIS} mois avant le vote",
                ),
                Figure(
                    "Contributions des conseils citoyens reçues",
                    fmt.integer(cycle["contributions"].height),
                    "reproduites en annexe",
                ),
            )
        ),
        Table(
            f"Délibérations sur le rapport {annee}",
            _strings(
                cycle["votes"].select(
                    pl.col("assemblee").alias("Assemblée"),
                    pl.coalesce(pl.col("libelle_collectivite"), pl.col("code_collectivite")).alias("Collectivité"),
                    fmt.day_expr(pl.col("date_vote")).alias("Date du vote"),
                    pl.col("reference_deliberation").alias("Délibération"),
                )
            ),
            "Aucun vote enregistré.",
        ),
    ]
    return Section("gouvernance", SECTION_TITLES[3], tuple(blocks))


def _perspectives(cur, code: str, annee: int, au: date, texts: dict, perimetre) -> Section:
    countdown = overview.actualisation(cur, contrat=code, donnees_au=au, perimetre=perimetre)
    upcoming = (
        jalons.milestones(cur, contrat=code, donnees_au=au, perimetre=perimetre)
        .filter((pl.col("statut") != "réalisé") & (pl.col("date_prevue") > date(annee, 12, 31)))
        .head(MILESTONE_ROWS)
    )
    return Section(
        "perspectives",
        SECTION_TITLES[4],
        (
            *_team(texts.get("perspectives"), "perspectives"),
            Figures(
                (
                    Figure(
                        "Actualisation du contrat",
                        fmt.long_day(countdown["date"]),
                        f"J-{fmt.integer(countdown['jours'])} au {fmt.day(au)}"
                        if countdown["jours"] >= 0
                        else "échéance dépassée",
                    ),
                )
            ),
            Table(
                "Prochains jalons du contrat",
                _strings(
                    upcoming.select(
                        pl.col("libelle").alias("Jalon"),
                        pl.col("type_jalon").alias("Type"),
                        fmt.day_expr(pl.col("date_prevue")).alias("Date prévue"),
                        pl.col("statut").alias("Statut"),
                    )
                ),
                "Aucun jalon à venir enregistré.",
            ),
        ),
    )


def _annexes(cur, code: str, annee: int, au: date) -> Section:
    contributions = report_cycle(cur, contrat=code, annee=annee, donnees_au=au)["contributions"]
    if contributions.is_empty():
        return Section(
            "annexes",
            SECTION_TITLES[5],
            (Paragraph(f"Aucune contribution des conseils citoyens n'est enregistrée pour le rapport {annee}."),),
        )
    blocks: list[Block] = []
    for conseil, recue, texte in contributions.iter_rows():  # a few contributions, annexed as written
        blocks.append(Subheading(f"{conseil} — contribution reçue le {fmt.day(recue)}"))
        blocks.extend(Paragraph(p.strip()) for p in texte.replace("\r\n", "\n").split("\n\n") if p.strip())
    return Section("annexes", SECTION_TITLES[5], tuple(blocks))


def build(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str,
    annee: int,
    donnees_au: date,
    perimetre: tuple[str, ...] | None = None,
) -> Report:
    """The draft of `contrat`'s rapport annuel for the exercice `annee`, figures at `donnees_au`.
    ReportError (French) for a contract unknown or outside `perimetre`, or a year the contract
    does not cover or that has not started at `donnees_au`."""
    found = _contract(cur, contrat, perimetre)
    years = report_years(cur, contrat=contrat, donnees_au=donnees_au)
    if annee not in years:
        span = f"{years[0]} à {years[-1]}" if years else "aucune"
        raise ReportError(
            f"Année {annee} hors du contrat « {contrat} » à la date du {fmt.day(donnees_au)} "
            f"(années possibles : {span})."
        )
    texts = team_texts(cur, contrat=contrat, annee=annee)
    # the Projets de quartier screen's rows, in alphabetical order (a report reads by name)
    qpv = projets.qpv_overview(cur, contrat=contrat, donnees_au=donnees_au, perimetre=perimetre).sort(
        "libelle", "code_qp"
    )
    sections = (
        _orientations(cur, found, donnees_au, qpv, texts, perimetre),
        _evolution(cur, contrat, donnees_au, qpv, texts, perimetre),
        _actions(cur, contrat, annee, perimetre),
        _gouvernance(cur, contrat, annee, donnees_au, texts, perimetre),
        _perspectives(cur, contrat, annee, donnees_au, texts, perimetre),
        _annexes(cur, contrat, annee, donnees_au),
    )
    return Report(contrat, found["libelle"], annee, donnees_au, sections)
