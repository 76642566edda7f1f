"""Step 4: the actions of each programmation year, their QPV and their objective."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from cdv_core.demo.common import Scale, _choice
from cdv_core.domain import model

_THEMES = {
    "1.1": ("Éducation et émancipation", 16, ["Accompagnement à la scolarité (CLAS)", "Programme de réussite éducative",
                                              "Coup de pouce lecture CP", "Mentorat et ambition scolaire",
                                              "Ateliers sciences et codage", "Aide aux devoirs par des étudiants"]),
    "1.2": ("Santé", 7, ["Médiation santé et ouverture des droits", "Point écoute santé mentale jeunes et parents",
                         "Activité physique adaptée", "Ateliers cuisine « bien manger »"]),
    "1.3": ("Éducation et émancipation", 8, ["Lieu d'accueil enfants-parents", "Café des parents",
                                             "Permanence d'accès aux droits", "Ateliers sociolinguistiques (ASL)"]),
    "1.4": ("Participation citoyenne", 7, ["Résidence d'artistes avec les habitants", "Sorties culturelles familles",
                                           "Orchestre à l'école", "Web radio jeunes"]),
    "1.5": ("Participation citoyenne", 12, ["Fête de quartier", "Accompagnement du conseil citoyen",
                                            "Fonds de participation des habitants", "Animation d'une table de quartier"]),
    "1.5a": ("Éducation et émancipation", 6, ["Accueil jeunes en soirée", "Bourse aux projets de jeunes", "BAFA citoyen"]),
    "1.5b": ("Santé", 5, ["Sport au féminin", "Boxe éducative et citoyenneté", "Apprendre à nager"]),
    "1.6": ("Lutte contre les discriminations", 3, ["Formation laïcité et valeurs de la République",
                                                    "Marche exploratoire de femmes", "Sensibilisation des employeurs"]),
    "2.1": ("Emploi et insertion", 14, ["Accompagnement renforcé vers l'emploi « aller vers »",
                                        "Permanence emploi en pied d'immeuble", "Chantier d'insertion espaces verts",
                                        "Français à visée professionnelle", "Levée des freins mobilité et garde"]),
    "2.2": ("Emploi et insertion", 3, ["Sensibilisation à l'entrepreneuriat", "Couveuse d'activités de quartier"]),
    "3.1": ("Cadre de vie", 8, ["Diagnostics en marchant et suivi GUSP", "Jardin partagé en pied d'immeuble",
                                "Repair café et atelier vélo", "Accompagnement social au relogement"]),
    "3.2": ("Sécurité et tranquillité", 6, ["Médiation sociale de jour et de soirée", "Présence éducative de rue",
                                            "Ville Vie Vacances 11-18 ans", "Chantiers éducatifs jeunes"]),
    "4.1": (None, 3, ["Coordination du contrat de ville", "Observatoire et évaluation"]),
    "4.2": (None, 2, ["Centre de ressources mutualisé", "Plateforme associative mutualisée"]),
}


def _actions(rng, contrats, quartiers, porteurs, objectifs, scale: Scale):
    ref = scale.reference_date
    qcount = quartiers.group_by("code_contrat").agg(pl.len().alias("nq")).sort("code_contrat")
    contract_start = dict(zip(contrats["code_contrat"], contrats["date_debut"]))
    rows = []
    for year in scale.years:  # a handful of years: the loop is over years, not rows
        cpo_year = (year - scale.years[0]) % 3 == 0
        lam = scale.new_actions_per_qpv_year * qcount["nq"].to_numpy() * (1.0 if cpo_year else 0.75)
        n_new = rng.poisson(lam)
        ci = np.repeat(np.arange(qcount.height), n_new)
        codes = qcount["code_contrat"].to_numpy()[ci]
        started = np.array([contract_start[c].year <= year for c in codes], dtype=bool)
        ci, codes = ci[started], codes[started]
        n = len(ci)
        mode = _choice(rng, model.MODES_FINANCEMENT, n, [60, 26 if cpo_year else 0, 5, 2])
        span = np.where(mode == "CPO", np.minimum(3, scale.years[-1] - year + 1) if year <= 2030 else 1, 1)
        span = np.minimum(span, 2030 - year + 1)
        rows.append(pl.DataFrame({"code_contrat": codes, "annee_debut": np.full(n, year),
                                  "annee_fin": year + span - 1, "mode_financement": mode,
                                  "u_porteur": rng.random(n)}))
    actions = pl.concat(rows).with_row_index("seq")
    n = actions.height
    themes = list(_THEMES)
    thematique = _choice(rng, themes, n, [_THEMES[t][1] for t in themes])
    actions = actions.with_columns(pl.Series("thematique", thematique, dtype=pl.String),
                                   pl.Series("u_title", rng.random(n)),
                                   pl.Series("u_statut", rng.random(n)),
                                   pl.Series("u_av", rng.random(n)),
                                   pl.Series("hors_qpv", rng.random(n) < 0.025),
                                   pl.Series("n_qpv_served", np.where(rng.random(n) < 0.18, 2, 1)),
                                   pl.Series("decision_offset", rng.integers(0, 100, n)))
    # Porteur: uniform among the contract's porteurs.
    p_rank = porteurs.select("code_contrat", "id_porteur", "type_structure").with_columns(
        pl.int_range(pl.len()).over("code_contrat").alias("p_i"), pl.len().over("code_contrat").alias("p_n"))
    p_n = p_rank.group_by("code_contrat").agg(pl.col("p_n").first())
    actions = (actions.join(p_n, on="code_contrat")
                      .with_columns((pl.col("u_porteur") * pl.col("p_n")).floor().cast(pl.UInt32).alias("p_i"))
                      .join(p_rank.drop("p_n").with_columns(pl.col("p_i").cast(pl.UInt32)), on=["code_contrat", "p_i"]))
    titles = pl.DataFrame([(t, i, lab) for t, (_, _, labs) in _THEMES.items() for i, lab in enumerate(labs)],
                          schema=["thematique", "i", "titre"], orient="row")
    n_titles = titles.group_by("thematique").agg(pl.len().alias("n_t"))
    actions = (actions.join(n_titles, on="thematique")
                      .with_columns((pl.col("u_title") * pl.col("n_t")).floor().cast(pl.Int64).alias("i"))
                      .join(titles, on=["thematique", "i"])
                      .sort("seq"))
    ref_year = ref.year
    past = pl.col("annee_fin") < ref_year
    current = (pl.col("annee_debut") <= ref_year) & (pl.col("annee_fin") >= ref_year)
    u = pl.col("u_statut")
    statut = (pl.when(pl.col("annee_debut") > ref_year).then(pl.lit("déposée"))
                .when(past & (u < 0.83)).then(pl.lit("réalisée"))
                .when(past & (u < 0.87)).then(pl.lit("abandonnée"))
                .when(past & (u < 0.93)).then(pl.lit("refusée"))
                .when(past).then(pl.lit("en cours"))  # period over, no final status reported
                .when(current & (u < 0.72)).then(pl.lit("en cours"))
                .when(current & (u < 0.84)).then(pl.lit("accordée"))
                .when(current & (u < 0.90)).then(pl.lit("refusée"))
                .when(current & (u < 0.93)).then(pl.lit("abandonnée"))
                .otherwise(pl.lit("déposée")))
    elapsed = ((pl.lit(ref_year) - pl.col("annee_debut")).cast(pl.Float64) + (ref.timetuple().tm_yday / 366.0)) / (
        (pl.col("annee_fin") - pl.col("annee_debut") + 1).cast(pl.Float64))
    actions = actions.with_columns(statut.alias("statut")).with_columns(
        pl.when(pl.col("statut") == "réalisée").then(1.0)
          .when(pl.col("statut") == "en cours").then((elapsed * (0.55 + 0.6 * pl.col("u_av"))).clip(0.05, 0.98))
          .when(pl.col("statut") == "abandonnée").then((pl.col("u_av") * 0.5))
          .when(pl.col("statut") == "accordée").then(0.0)
          .otherwise(None).alias("avancement"),
        pl.concat_str([pl.lit("A-"), pl.col("code_contrat"), pl.lit("-"), pl.col("annee_debut").cast(pl.String),
                       pl.lit("-"), (pl.col("seq") + 1).cast(pl.String).str.zfill(6)]).alias("code_action"),
        pl.concat_str([pl.col("titre"), pl.lit(" "), pl.col("annee_debut").cast(pl.String),
                       pl.when(pl.col("annee_fin") > pl.col("annee_debut"))
                         .then(pl.lit("-") + pl.col("annee_fin").cast(pl.String)).otherwise(pl.lit(""))]).alias("libelle"),
        pl.date(pl.col("annee_debut"), 1, 1).alias("date_debut"),
        pl.date(pl.col("annee_fin"), 12, 31).alias("date_fin"),
        pl.when(pl.col("statut") == "déposée").then(None)
          .otherwise(pl.date(pl.col("annee_debut"), 4, 1) + pl.duration(days=pl.col("decision_offset"))).alias("date_decision"),
    ).with_columns(
        # Reported status date; actions whose period ended with no final status have none.
        pl.when(past & (pl.col("statut") == "en cours")).then(None)
          .when(pl.col("statut").is_in(["réalisée", "abandonnée"])).then(pl.date(pl.col("annee_fin") + 1, 3, 31))
          .otherwise(pl.lit(ref) - pl.duration(days=pl.col("decision_offset") % 60)).alias("date_statut"),
    ).with_columns(
        pl.when(pl.col("date_statut").is_null()).then(None).otherwise(pl.col("avancement")).alias("avancement"),
        pl.when(pl.col("date_statut") > pl.lit(ref)).then(pl.lit(ref)).otherwise(pl.col("date_statut")).alias("date_statut"),
    )

    # Action ↔ quartier: the first QPV uniformly within the contract, sometimes a second one.
    q_rank = quartiers.select("code_contrat", "code_qp").with_columns(
        pl.int_range(pl.len()).over("code_contrat").cast(pl.UInt32).alias("q_i"),
        pl.len().over("code_contrat").cast(pl.UInt32).alias("q_n"))
    q_n = q_rank.group_by("code_contrat").agg(pl.col("q_n").first())
    served = (actions.filter(~pl.col("hors_qpv"))
                     .select("code_action", "code_contrat", "n_qpv_served", "seq")
                     .join(q_n, on="code_contrat")
                     .sort("seq")  # joins do not keep row order: sort before drawing
                     .with_columns(pl.Series("u_q", rng.random(actions.filter(~pl.col("hors_qpv")).height)))
                     .with_columns((pl.col("u_q") * pl.col("q_n")).floor().cast(pl.UInt32).alias("q0")))
    first = served.with_columns(pl.col("q0").alias("q_i"), pl.lit(1).alias("k"))
    second = (served.filter((pl.col("n_qpv_served") > 1) & (pl.col("q_n") > 1))
                    .with_columns(((pl.col("q0") + 1) % pl.col("q_n")).alias("q_i"), pl.lit(2).alias("k")))
    links = pl.concat([first, second]).join(q_rank.drop("q_n"), on=["code_contrat", "q_i"])
    links = links.with_columns(pl.len().over("code_action").alias("n_links")).with_columns(
        pl.when(pl.col("n_links") == 1).then(1.0)
          .when(pl.col("k") == 1).then(0.6).otherwise(0.4).alias("part"))
    action_quartier = links.select("code_action", "code_qp", "part").sort("code_action", "code_qp")

    # Action ↔ objectif: an objective of the first QPV on the action's axe, else the first of the
    # QPV, else (hors QPV, ingénierie) a transversal objective of the contract.
    axe_of = {t: a for t, (a, _, _) in _THEMES.items()}
    first_q = links.filter(pl.col("k") == 1).select("code_action", "code_qp")
    a_axe = actions.select("code_action", "code_contrat",
                           pl.col("thematique").replace_strict(axe_of, default=None).alias("axe")).join(
        first_q, on="code_action", how="left")
    obj_q = objectifs.filter(pl.col("code_qp").is_not_null())
    obj_t = objectifs.filter(pl.col("code_qp").is_null())
    same_axe = a_axe.join(obj_q.select("code_qp", "axe", "code_objectif"), on=["code_qp", "axe"]).group_by(
        "code_action").agg(pl.col("code_objectif").min())
    any_q = a_axe.join(obj_q.select("code_qp", "code_objectif"), on="code_qp").group_by("code_action").agg(
        pl.col("code_objectif").min().alias("any_q"))
    any_t = a_axe.join(obj_t.select("code_contrat", "code_objectif"), on="code_contrat").group_by(
        "code_action").agg(pl.col("code_objectif").min().alias("any_t"))
    action_objectif = (a_axe.select("code_action", "code_qp", "axe")
                       .join(same_axe, on="code_action", how="left")
                       .join(any_q, on="code_action", how="left").join(any_t, on="code_action", how="left")
                       .select("code_action",
                               pl.when(pl.col("axe").is_null() | pl.col("code_qp").is_null())
                                 .then(pl.col("any_t"))
                                 .otherwise(pl.coalesce("code_objectif", "any_q", "any_t")).alias("code_objectif"))
                       .drop_nulls().sort("code_action"))
    return actions, action_quartier, action_objectif




_ACTION_COLUMNS = ("code_action", "code_contrat", "id_porteur", "libelle", "thematique", "mode_financement",
                   "annee_debut", "annee_fin", "date_debut", "date_fin", "statut", "avancement", "hors_qpv",
                   "date_decision", "date_statut")


def generate(rng: np.random.Generator, frames: dict[str, pl.DataFrame], scale: Scale) -> dict[str, pl.DataFrame]:
    actions, action_quartier, action_objectif = _actions(rng, frames["contrat"], frames["quartier"],
                                                         frames["_porteur_contrat"], frames["objectif"], scale)
    return {"_action_detail": actions, "action": actions.select(_ACTION_COLUMNS),
            "action_quartier": action_quartier, "action_objectif": action_objectif}
