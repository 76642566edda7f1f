"""Step 11: the life cycle of the rapport annuel of each contract and past year (issue #19).

For every report the milestones say was voted (jalon « rapport annuel » realised) or sent to the
conseils citoyens: the draft sent on the day the consultation jalon was realised (none when it was not),
one to three contributions of the contract's conseils citoyens a couple of weeks later, the vote
of the signatory (the EPCI by its SIREN, or the commune) on the vote jalon's day, then one or two
communes of the contract a few days later, and the publication three to six weeks after the last
vote. The same dates as the jalons: the rapport annuel's statut (`annual_obligations`) is the
one the jalons alone give. The most recently voted report is left unpublished (« non publié »).
The team's texts: a few French paragraphs per voted report (`_TEXTS`), drawn last.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl

from cdv_core.demo.common import Scale

AUTEUR = "démonstration"
_CONTRIBUTIONS = (
    "Le conseil citoyen salue le maintien des permanences d'accès aux droits et demande qu'elles soient "
    "ouvertes le samedi matin.",
    "Les habitants regrettent que la rénovation des halls d'immeubles ait pris du retard et souhaitent un "
    "calendrier précis pour l'année prochaine.",
    "Nous demandons que les actions de soutien scolaire soient mieux connues des familles : un affichage dans "
    "les écoles et au centre social serait utile.",
    "Le conseil citoyen constate une amélioration de la tranquillité publique autour de la place du marché, "
    "mais la situation reste difficile le soir près de la gare.",
    "Les chiffres de l'emploi des jeunes nous inquiètent : nous proposons un forum des métiers organisé avec "
    "les associations du quartier.",
    "Nous souhaitons être associés plus tôt à la programmation des actions, dès le lancement de l'appel à projets.",
    "Le rapport devrait mieux présenter les actions de santé : le bus santé a été très apprécié et doit être "
    "reconduit.",
    "Les habitants demandent davantage d'activités pour les adolescents pendant les vacances scolaires, en "
    "particulier en août.",
)


# The team's texts of a voted report (cdv_core/rapport/ puts them in the draft); a report not yet
# voted has its orientations only, the rest still « à rédiger ». Drawn last: the cycle's dates
# above do not move.
_TEXTS: dict[str, tuple[str, ...]] = {
    "orientations": (
        "Le contrat poursuit ses trois orientations : l'emploi des jeunes et des femmes, la réussite éducative "
        "dès la petite enfance, et la tranquillité des espaces publics. L'année {annee} a donné la priorité à "
        "l'insertion professionnelle et à la présence d'adultes dans les quartiers le soir.",
        "Les orientations du contrat restent celles signées en 2024. En {annee}, le comité de pilotage a retenu "
        "deux priorités : l'accès aux droits et à la santé, et la rénovation des équipements de proximité.",
        "Pour {annee}, les partenaires ont concentré les crédits sur l'éducation et l'emploi, en cohérence avec "
        "les projets de quartier, et ont renforcé la coordination avec les services de droit commun.",
    ),
    "evolution": (
        "Les indicateurs d'emploi progressent lentement, plus vite pour les hommes que pour les femmes ; "
        "l'écart avec l'EPCI reste important. Les résultats scolaires sont stables.",
        "La situation des quartiers évolue peu sur un an, comme attendu : les écarts avec le territoire de "
        "référence se resserrent pour la santé et se maintiennent pour les revenus.",
        "Deux quartiers sont à surveiller : le chômage des jeunes y reste au-dessus de la trajectoire prévue. "
        "Les autres avancent conformément à leur projet de quartier.",
    ),
    "participation": (
        "Les conseils citoyens se sont réunis régulièrement et ont été associés à la programmation. Les tables "
        "de quartier ont permis de recueillir la parole d'habitants peu présents dans les instances.",
        "La participation des habitants a progressé : davantage de réunions publiques et une présence plus "
        "forte des jeunes, grâce aux permanences tenues en pied d'immeuble.",
    ),
    "perspectives": (
        "L'année prochaine prépare l'actualisation de 2027 : bilan des projets de quartier, renouvellement des "
        "conventions pluriannuelles d'objectifs et mise à jour des cibles.",
        "Les partenaires s'engagent à mobiliser davantage le droit commun pour l'emploi et la santé, et à "
        "associer les conseils citoyens à l'évaluation à mi-parcours.",
    ),
}


def _with_texts(rng: np.random.Generator, rapport: pl.DataFrame, *, voted: pl.DataFrame) -> pl.DataFrame:
    done = pl.struct("code_contrat", "annee").is_in(
        voted.select(pl.struct("code_contrat", "annee")).to_series().implode()
    )
    drawn = {
        column: pl.lit(pl.Series(rng.integers(0, len(texts), rapport.height))).replace_strict(
            dict(enumerate(texts)), return_dtype=pl.String
        )
        for column, texts in _TEXTS.items()
    }
    return rapport.with_columns(
        drawn["orientations"]
        .str.replace_all("{annee}", pl.col("annee").cast(pl.String), literal=True)
        .alias("orientations"),
        *(pl.when(done).then(drawn[column]).alias(column) for column in ("evolution", "participation", "perspectives")),
    )


def _collectivite(libelle: pl.Expr) -> pl.Expr:
    """« Contrat de ville de la CA du Pays de Vermandie (démo) » → « CA du Pays de Vermandie »."""
    return libelle.str.replace(r"^Contrat de ville (de la |de l'|du |des |de |d')", "").str.replace(r" \(démo\)$", "")


def generate(rng: np.random.Generator, frames: dict[str, pl.DataFrame], scale: Scale) -> dict[str, pl.DataFrame]:
    ref = scale.reference_date
    stamp = datetime(ref.year, ref.month, ref.day, 9, 0)
    jalon = frames["jalon"]
    voted = (
        jalon.filter(pl.col("type_jalon") == "rapport annuel", pl.col("date_realisation").is_not_null())
        .group_by("code_contrat", "annee")
        .agg(pl.col("date_realisation").min().alias("vote"))
    )
    consulted = (
        jalon.filter(pl.col("type_jalon") == "consultation conseils citoyens")
        .group_by("code_contrat", "annee")
        .agg(pl.col("date_realisation").min().alias("envoi"))
    )
    # the voted reports, and those sent to the conseils citoyens but not voted yet
    reports = (
        voted.join(consulted, on=["code_contrat", "annee"], how="full", coalesce=True)
        .filter(pl.col("vote").is_not_null() | pl.col("envoi").is_not_null())
        .join(
            frames["contrat"].select("code_contrat", "libelle", "type_signataire", "siren_signataire"),
            on="code_contrat",
        )
        .sort("code_contrat", "annee")
    )
    if reports.is_empty():
        return {}
    n = reports.height

    # --- votes: the signatory on the vote jalon's day, then 1 or 2 communes a few days later
    communes = (
        frames["quartier"].select("code_contrat", "insee_com", "lib_com").unique().sort("code_contrat", "insee_com")
    )
    main_commune = communes.group_by("code_contrat", maintain_order=True).first()
    is_epci = pl.col("type_signataire").is_in(["EPCI", "EPT"])
    signatory = (
        reports.filter(pl.col("vote").is_not_null())
        .join(main_commune, on="code_contrat", how="left")
        .select(
            "code_contrat",
            "annee",
            pl.when(is_epci).then(pl.lit("EPCI")).otherwise(pl.lit("commune")).alias("assemblee"),
            pl.when(is_epci).then(pl.col("siren_signataire")).otherwise(pl.col("insee_com")).alias("code_collectivite"),
            pl.when(is_epci)
            .then(_collectivite(pl.col("libelle")))
            .otherwise(pl.lit("Commune de ") + pl.col("lib_com"))
            .alias("libelle_collectivite"),
            pl.col("vote").alias("date_vote"),
        )
    )
    epci_reports = reports.filter(is_epci, pl.col("vote").is_not_null()).select("code_contrat", "annee", "vote")
    others = epci_reports.join(communes, on="code_contrat")
    if others.height:
        others = (
            others.with_columns(
                pl.Series("tirage", rng.random(others.height)), pl.Series("jours", rng.integers(3, 21, others.height))
            )
            .with_columns(pl.col("tirage").rank("ordinal").over("code_contrat", "annee").alias("rang"))
            .join(
                epci_reports.select(
                    "code_contrat", "annee", pl.Series("combien", rng.integers(1, 3, epci_reports.height))
                ),
                on=["code_contrat", "annee"],
            )
            .filter(pl.col("rang") <= pl.col("combien"))
            .select(
                "code_contrat",
                "annee",
                pl.lit("commune").alias("assemblee"),
                pl.col("insee_com").alias("code_collectivite"),
                (pl.lit("Commune de ") + pl.col("lib_com")).alias("libelle_collectivite"),
                (pl.col("vote") + pl.duration(days=pl.col("jours"))).alias("date_vote"),
            )
            .filter(pl.col("date_vote") <= pl.lit(ref))
        )
    votes = pl.concat([signatory, others], how="vertical_relaxed").sort(
        "code_contrat", "annee", "date_vote", "assemblee", "code_collectivite"
    )
    votes = votes.with_columns(
        pl.format(
            "DEL-{}-{}",
            pl.col("date_vote").dt.year(),
            pl.Series(rng.integers(1, 181, votes.height)).cast(pl.String).str.zfill(3),
        ).alias("reference_deliberation"),
        pl.lit(AUTEUR).alias("modifie_par"),
        pl.lit(stamp).alias("modifie_le"),
    )

    # --- contributions: 1 to 3 conseils citoyens, 10 to 30 days after the sending (before the vote)
    conseils = (
        frames["instance"]
        .filter(pl.col("type_instance") == "conseil citoyen")
        .select("code_contrat", pl.col("libelle").alias("conseil"))
        .unique()
        .sort("code_contrat", "conseil")
    )
    sent = reports.filter(pl.col("envoi").is_not_null()).select("code_contrat", "annee", "envoi", "vote")
    contributions = sent.join(conseils, on="code_contrat")
    if contributions.height:
        m = contributions.height
        contributions = (
            contributions.with_columns(
                pl.Series("tirage", rng.random(m)),
                pl.Series("jours", rng.integers(10, 31, m)),
                pl.Series("phrase", rng.integers(0, len(_CONTRIBUTIONS), m)),
            )
            .with_columns(pl.col("tirage").rank("ordinal").over("code_contrat", "annee").alias("rang"))
            .join(
                sent.select("code_contrat", "annee", pl.Series("combien", rng.integers(1, 4, sent.height))),
                on=["code_contrat", "annee"],
            )
            .filter(pl.col("rang") <= pl.col("combien"))
            .select(
                "code_contrat",
                "annee",
                "conseil",
                pl.min_horizontal(
                    pl.col("envoi") + pl.duration(days=pl.col("jours")), pl.col("vote"), pl.lit(ref)
                ).alias("date_reception"),  # vote: null when not voted
                pl.col("phrase").replace_strict(dict(enumerate(_CONTRIBUTIONS)), return_dtype=pl.String).alias("texte"),
                pl.lit(AUTEUR).alias("modifie_par"),
                pl.lit(stamp).alias("modifie_le"),
            )
            .sort("code_contrat", "annee", "date_reception", "conseil")
        )

    # --- the report's row: the sending, the publication 3 to 6 weeks after the last vote
    last = votes.group_by("code_contrat", "annee").agg(pl.col("date_vote").max().alias("dernier_vote"))
    latest = (
        reports.filter(pl.col("vote").is_not_null())
        .sort("vote", "code_contrat")
        .tail(1)
        .select("code_contrat", "annee")
    )
    rapport = (
        reports.join(last, on=["code_contrat", "annee"], how="left")
        .with_columns(pl.Series("delai", rng.integers(21, 43, n)))
        .join(latest.with_columns(pl.lit(True).alias("dernier")), on=["code_contrat", "annee"], how="left")
        .with_columns((pl.col("dernier_vote") + pl.duration(days=pl.col("delai"))).alias("publie"))
        .with_columns(
            pl.when((pl.col("publie") <= pl.lit(ref)) & pl.col("dernier").is_null())
            .then(pl.col("publie"))
            .alias("date_publication")
        )
        .select(
            "code_contrat",
            "annee",
            pl.col("envoi").alias("date_envoi_conseils"),
            "date_publication",
            pl.when(pl.col("date_publication").is_not_null())
            .then(
                pl.format(
                    "https://www.{}.fr/politique-de-la-ville/rapport-annuel-{}.pdf",
                    pl.col("code_contrat").str.to_lowercase(),
                    pl.col("annee"),
                )
            )
            .alias("lien_publication"),
            pl.lit(AUTEUR).alias("modifie_par"),
            pl.lit(stamp).alias("modifie_le"),
        )
    )
    rapport = _with_texts(
        rng, rapport, voted=reports.filter(pl.col("vote").is_not_null()).select("code_contrat", "annee")
    )
    out = {
        "rapport_annuel": rapport,
        "rapport_annuel_vote": votes.select(
            "code_contrat",
            "annee",
            "assemblee",
            "code_collectivite",
            "libelle_collectivite",
            "date_vote",
            "reference_deliberation",
            "modifie_par",
            "modifie_le",
        ),
        "rapport_annuel_contribution": contributions,
    }
    return {table: frame for table, frame in out.items() if frame.height}
