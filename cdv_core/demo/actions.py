"""Step 4: the actions of each programmation year, their QPV and their objective."""

from __future__ import annotations

import numpy as np
import polars as pl

from cdv_core.demo.common import Scale

_THEMES = {  # thématique P147: axe of the projet de quartier, weight among the actions
    "1.1": ("Éducation et émancipation", 16),
    "1.2": ("Santé", 7),
    "1.3": ("Éducation et émancipation", 8),
    "1.4": ("Participation citoyenne", 7),
    "1.5": ("Participation citoyenne", 12),
    "1.5a": ("Éducation et émancipation", 6),
    "1.5b": ("Santé", 5),
    "1.6": ("Lutte contre les discriminations", 3),
    "2.1": ("Emploi et insertion", 14),
    "2.2": ("Emploi et insertion", 3),
    "3.1": ("Cadre de vie", 8),
    "3.2": ("Sécurité et tranquillité", 6),
    "4.1": (None, 3),
    "4.2": (None, 2),
}

# Action titles (vocabulaire.md §2) with who carries them. Kinds are those of porteurs.KIND_TYPE
# (AB association sans salarié, AS association employeuse, FEM association de femmes, EPI épicerie
# solidaire, CS centre social, RQ régie, MED
# médiation/prévention, INS insertion, CIE compagnie, CLUB/CLUBB club employeur/bénévole, SAN
# santé, EPCI, VILLE, CCAS, CDE caisse des écoles, EPLE collège/lycée, ML mission locale/PLIE, BS
# bailleur, ENT entreprise, AUT fondation). title: (thématique, weight in it, size band, ★ often in CPO, funding
# « fonctionnement » when carried by a collectivité, {kind: weight}, fallback kind when the
# contract has none of those).
_TITLES = {
    "Accompagnement à la scolarité (CLAS)": ("1.1", 3, "S", True, False, {"CS": 3, "AS": 2}, "CS"),
    "Programme de réussite éducative": ("1.1", 2, "XL", True, True, {"CDE": 3, "CCAS": 2, "VILLE": 2}, "VILLE"),
    "Coup de pouce lecture CP": ("1.1", 1, "XS", False, False, {"AS": 2, "CS": 1}, "AS"),
    "Mentorat et ambition scolaire": ("1.1", 1, "S", False, False, {"AS": 2, "AUT": 1}, "AS"),
    "Ateliers sciences et codage": ("1.1", 1, "S", False, False, {"AS": 2, "CS": 1}, "AS"),
    "Aide aux devoirs par des étudiants": ("1.1", 1, "XS", False, False, {"AB": 3, "CS": 1}, "AB"),
    "École ouverte et vacances apprenantes": ("1.1", 1, "S", False, False, {"EPLE": 1}, "CS"),
    "Médiation santé et ouverture des droits": ("1.2", 2, "M", True, False, {"SAN": 3, "AS": 2, "MED": 1}, "AS"),
    "Point écoute santé mentale jeunes et parents": ("1.2", 2, "S", False, False, {"SAN": 2, "AS": 2}, "AS"),
    "Activité physique adaptée": ("1.2", 1, "S", False, False, {"CLUB": 3, "CLUBB": 1, "SAN": 1}, "AS"),
    "Ateliers cuisine « bien manger »": ("1.2", 2, "XS", False, False, {"CS": 3, "EPI": 2, "AB": 1}, "CS"),
    "Coordination de l'atelier santé ville": ("1.2", 1, "L", False, True, {"VILLE": 3, "EPCI": 1, "CCAS": 1}, "VILLE"),
    "Lieu d'accueil enfants-parents": ("1.3", 2, "S", False, False, {"CS": 1}, "CS"),
    "Café des parents": ("1.3", 2, "XS", False, False, {"CS": 3, "FEM": 1, "AB": 1}, "CS"),
    "Permanence d'accès aux droits": ("1.3", 2, "S", True, False, {"CS": 2, "AS": 2}, "CS"),
    "Ateliers sociolinguistiques (ASL)": ("1.3", 2, "S-M", True, False, {"CS": 2, "AS": 2}, "CS"),
    "Ateliers d'inclusion numérique": ("1.3", 1, "S", False, False, {"CS": 2, "AS": 1}, "CS"),
    "Écrivain public": ("1.3", 1, "XS", False, False, {"AB": 1}, "AB"),
    "Résidence d'artistes avec les habitants": ("1.4", 2, "M", False, False, {"CIE": 1}, "AS"),
    "Sorties culturelles familles": ("1.4", 2, "XS", False, False, {"CS": 3, "AB": 1}, "CS"),
    "Orchestre à l'école": ("1.4", 1, "M", False, False, {"CIE": 2, "AS": 1}, "AS"),
    "Web radio jeunes": ("1.4", 1, "S", False, False, {"CIE": 2, "CS": 1}, "CS"),
    "Fête de quartier": ("1.5", 3, "S", False, False, {"AB": 2, "CS": 1, "AS": 1, "VILLE": 1}, "AB"),
    "Accompagnement du conseil citoyen": ("1.5", 2, "S", False, False, {"CS": 2, "AS": 1}, "CS"),
    "Fonds de participation des habitants": ("1.5", 2, "S", False, False, {"CS": 1}, "CS"),
    "Animation d'une table de quartier": ("1.5", 2, "S", False, False, {"CS": 1}, "CS"),
    "Animation résidentielle par l'amicale de locataires": ("1.5", 2, "XS", False, False, {"AB": 1}, "AB"),
    "Média de quartier participatif": ("1.5", 1, "S", False, False, {"CIE": 1, "AS": 1}, "AS"),
    "Repas partagé entre voisins": ("1.5", 2, "XS", False, False, {"AB": 1}, "AB"),
    "Accueil jeunes en soirée": ("1.5a", 2, "M", False, True, {"CS": 2, "VILLE": 1}, "CS"),
    "Bourse aux projets de jeunes": ("1.5a", 1, "XS", False, False, {"AS": 1, "VILLE": 1, "AUT": 1}, "AS"),
    "BAFA citoyen": ("1.5a", 1, "S", False, False, {"AS": 1, "CS": 1}, "AS"),
    "Sport au féminin": ("1.5b", 2, "S", False, False, {"CLUB": 2, "CLUBB": 2, "FEM": 1}, "CS"),
    "Boxe éducative et citoyenneté": ("1.5b", 2, "S", False, False, {"CLUB": 2, "CLUBB": 1}, "AS"),
    "Apprendre à nager": ("1.5b", 2, "S", False, False, {"CLUB": 2, "VILLE": 1}, "VILLE"),
    "Aménagement d'un terrain multisports": ("1.5b", 1, "M", False, False, {"VILLE": 1}, "VILLE"),
    "Tournoi sportif de quartier": ("1.5b", 2, "XS", False, False, {"CLUBB": 2, "AB": 1}, "AB"),
    "Formation laïcité et valeurs de la République": ("1.6", 1, "XS", False, False, {"AS": 1}, "AS"),
    "Marche exploratoire de femmes": ("1.6", 1, "S", False, False, {"FEM": 3, "AS": 1, "VILLE": 1}, "AS"),
    "Sensibilisation des employeurs": ("1.6", 1, "S", False, False, {"AS": 1, "INS": 1}, "AS"),
    "Permanence droits des femmes": ("1.6", 1, "S", False, False, {"FEM": 2, "AS": 1}, "AS"),
    "Femmes vers l'emploi et la mobilité": ("1.6", 1, "S", False, False, {"FEM": 2, "INS": 1}, "INS"),
    "Accompagnement renforcé vers l'emploi « aller vers »": (
        "2.1",
        3,
        "M",
        True,
        False,
        {"INS": 3, "ML": 2, "AS": 1},
        "INS",
    ),
    "Permanence emploi en pied d'immeuble": ("2.1", 2, "S", False, False, {"CS": 2, "ML": 1}, "CS"),
    "Chantier d'insertion espaces verts": ("2.1", 2, "M", True, False, {"INS": 2, "RQ": 2}, "INS"),
    "Français à visée professionnelle": ("2.1", 2, "S", False, False, {"AS": 2, "INS": 1}, "AS"),
    "Levée des freins mobilité et garde": ("2.1", 2, "S", False, False, {"AS": 2, "INS": 1}, "AS"),
    "Remobilisation des jeunes « invisibles »": ("2.1", 2, "M", False, False, {"ML": 2, "INS": 1}, "ML"),
    "Job dating de quartier": ("2.1", 1, "XS", False, False, {"VILLE": 1, "EPCI": 1, "ML": 1}, "VILLE"),
    "Sensibilisation à l'entrepreneuriat": ("2.2", 2, "S", False, False, {"AS": 2, "ENT": 1}, "AS"),
    "Couveuse d'activités de quartier": ("2.2", 1, "S-M", False, False, {"ENT": 2, "AS": 1}, "AS"),
    "Diagnostics en marchant et suivi GUSP": ("3.1", 2, "S", False, False, {"VILLE": 2, "EPCI": 1}, "VILLE"),
    "Jardin partagé en pied d'immeuble": ("3.1", 2, "XS", False, False, {"AB": 2, "CS": 1}, "AB"),
    "Repair café et atelier vélo": ("3.1", 2, "S", False, False, {"AS": 2, "AB": 1}, "AS"),
    "Épicerie solidaire et paniers de légumes": ("3.1", 1, "M", False, False, {"EPI": 1}, "CS"),
    "Accompagnement social au relogement": ("3.1", 2, "M", False, False, {"BS": 2, "AS": 1}, "BS"),
    "Entretien et veille technique des espaces extérieurs": ("3.1", 2, "M", True, False, {"RQ": 1}, "INS"),
    "Chantier éducatif peinture des halls": ("3.1", 1, "S", False, False, {"BS": 1}, "BS"),
    "Sensibilisation au tri et aux encombrants": ("3.1", 1, "XS", False, False, {"BS": 1, "RQ": 1}, "BS"),
    "Végétalisation participative d'un square": ("3.1", 1, "M", False, False, {"VILLE": 2, "BS": 1}, "VILLE"),
    "Médiation sociale de jour et de soirée": ("3.2", 3, "L", True, False, {"MED": 1}, "MED"),
    "Présence éducative de rue": ("3.2", 2, "M", False, False, {"MED": 2, "AS": 1}, "MED"),
    "Ville Vie Vacances 11-18 ans": ("3.2", 2, "XS", False, False, {"CS": 2, "VILLE": 1}, "CS"),
    "Chantiers éducatifs jeunes": ("3.2", 2, "S", False, False, {"MED": 1, "AS": 1, "BS": 1}, "MED"),
    "Prévention des rixes et du harcèlement": ("3.2", 1, "S", False, False, {"MED": 1, "AS": 1}, "MED"),
    "Coordination du contrat de ville": ("4.1", 2, "L", False, True, {"EPCI": 3, "VILLE": 1}, "VILLE"),
    "Observatoire et évaluation": ("4.1", 1, "M", False, True, {"EPCI": 3, "VILLE": 1}, "VILLE"),
    "Centre de ressources mutualisé": ("4.2", 1, "M", False, False, {"AS": 1, "EPCI": 1}, "AS"),
    "Plateforme associative mutualisée": ("4.2", 1, "M", False, False, {"AS": 1}, "AS"),
}
_INVESTISSEMENT = ("Aménagement d'un terrain multisports", "Végétalisation participative d'un square")
# New actions per inhabitant of a QPV and year (a CPO year; 0,75 × in the others): ~ 1 action in
# force per 250 inhabitants at demo scale (vocabulaire.md §2: Amiens ≈ 250 actions/year for
# 31 500 inhabitants); the national scale keeps its ~ 25 000-50 000 new actions a year.
_INHABITANTS_PER_ACTION = {"demo": 250.0, "national": 140.0}
_MIN_NEW_PER_QPV = 4  # even the smallest QPV has a few new actions every year
# Share of CPO among employer associations' actions of a CPO year: ★ titles, else by size.
_CPO_SHARE_STAR, _CPO_SHARE_SIZE = 0.85, {"XS": 0.0, "S": 0.05, "S-M": 0.4, "M": 0.5, "L": 0.6, "XL": 0.6}


def _pick(frame: pl.DataFrame, rng, weight: str, by: str = "seq") -> pl.DataFrame:
    """One row per `by`: a weighted random draw among its rows (exponential race, `prio` first).
    `frame` comes in a deterministic order (joins with `maintain_order`)."""
    key = -np.log(1.0 - rng.random(frame.height)) / frame[weight].to_numpy() + 1e6 * frame["prio"].to_numpy()
    return (
        frame.with_columns(pl.Series("key", key))
        .filter(pl.col("key") == pl.col("key").min().over(by))
        .unique(by, keep="first", maintain_order=True)
    )


def _carriers(rng, actions: pl.DataFrame, porteurs: pl.DataFrame) -> pl.DataFrame:
    """The porteur of each action: first its kind, among the title's kinds present in the contract
    (else the title's fallback kind), then a porteur of that kind, preferring one of the action's
    quartier and the « bigger » porteurs (a random capacity), so some carry several actions."""
    kinds = pl.DataFrame(
        [(t, k, float(w), 0) for t, spec in _TITLES.items() for k, w in spec[5].items()]
        + [(t, spec[6], 1.0, 1) for t, spec in _TITLES.items() if spec[6] not in spec[5]],
        schema=["titre", "genre", "w", "prio"],
        orient="row",
    )
    present = porteurs.select("code_contrat", "genre").unique().sort("code_contrat", "genre")
    cand = (
        actions.select("seq", "code_contrat", "titre")
        .join(kinds, on="titre", maintain_order="left_right")
        .join(present, on=["code_contrat", "genre"], maintain_order="left_right")
    )
    genre = _pick(cand, rng, "w").select("seq", "genre")
    p = porteurs.select("code_contrat", "genre", "id_porteur", pl.col("code_qp").alias("home"), "type_structure").sort(
        "id_porteur"
    )
    p = p.with_columns(pl.Series("cap", rng.lognormal(0.0, 0.4, p.height)))
    cand = (
        actions.select("seq", "code_contrat", "code_qp")
        .join(genre, on="seq", maintain_order="left_right")
        .join(p, on=["code_contrat", "genre"], maintain_order="left_right")
        .with_columns(
            pl.lit(0).alias("prio"),
            (
                pl.col("cap")
                * pl.when(pl.col("home") == pl.col("code_qp"))
                .then(2.5)
                .when(pl.col("home").is_null())
                .then(1.0)
                .otherwise(0.25)
            ).alias("w"),
        )
    )
    return _pick(cand, rng, "w").select("seq", "id_porteur", "genre", "type_structure")


def _actions(rng, contrats, quartiers, porteurs, objectifs, scale: Scale):
    ref = scale.reference_date
    q = (
        quartiers.select("code_contrat", "code_qp", "population")
        .sort("code_qp")
        .join(contrats.select("code_contrat", pl.col("date_debut").dt.year().alias("y0")), on="code_contrat")
        .sort("code_qp")
    )
    per_inhabitant = 1.0 / _INHABITANTS_PER_ACTION[scale.name]
    rows = []
    for year in scale.years:  # a handful of years: the loop is over years, not rows
        cpo_year = (year - scale.years[0]) % 3 == 0
        lam = q["population"].to_numpy() * per_inhabitant * (1.0 if cpo_year else 0.75)
        n_new = np.maximum(rng.poisson(lam), _MIN_NEW_PER_QPV) * (q["y0"].to_numpy() <= year)
        qi = np.repeat(np.arange(q.height), n_new)
        n = len(qi)
        span = (min(3, scale.years[-1] - year + 1) if year <= 2030 else 1) if cpo_year else 1
        span = min(span, 2030 - year + 1)
        rows.append(
            pl.DataFrame(
                {
                    "code_contrat": q["code_contrat"].to_numpy()[qi],
                    "code_qp": q["code_qp"].to_numpy()[qi],
                    "annee_debut": np.full(n, year),
                    "cpo_span": np.full(n, span),
                    "cpo_year": np.full(n, cpo_year),
                }
            )
        )
    actions = pl.concat(rows).with_row_index("seq")
    n = actions.height
    titles = pl.DataFrame(
        [
            (
                t,
                spec[0],
                _THEMES[spec[0]][1] * spec[1] / sum(x[1] for x in _TITLES.values() if x[0] == spec[0]),
                spec[2],
                spec[3],
                spec[4],
            )
            for t, spec in _TITLES.items()
        ],
        schema=["titre", "thematique", "p", "taille", "star", "fonct"],
        orient="row",
    )
    ti = rng.choice(titles.height, size=n, p=(titles["p"] / titles["p"].sum()).to_numpy())
    actions = pl.concat([actions, titles.drop("p")[ti]], how="horizontal").with_columns(
        pl.Series("u_statut", rng.random(n)),
        pl.Series("u_av", rng.random(n)),
        pl.Series("hors_qpv", rng.random(n) < 0.025),
        pl.Series("n_qpv_served", np.where(rng.random(n) < 0.18, 2, 1)),
        pl.Series("decision_offset", rng.integers(0, 100, n)),
        pl.Series("u_mode", rng.random(n)),
    )
    actions = actions.join(_carriers(rng, actions, porteurs), on="seq").sort("seq")
    # A porteur does not file the same action twice in a year.
    actions = actions.unique(["id_porteur", "titre", "annee_debut"], keep="first", maintain_order=True)
    # Mode: CPO only for employer associations (in the years CPO are signed), « fonctionnement »
    # for the big lines of collectivités, investissement for works, else the yearly call (AAP).
    u = pl.col("u_mode")
    employer = pl.col("type_structure") == "association avec salariés"
    cpo_p = pl.when(pl.col("star")).then(_CPO_SHARE_STAR).otherwise(pl.col("taille").replace_strict(_CPO_SHARE_SIZE))
    mode = (
        pl.when(pl.col("titre").is_in(_INVESTISSEMENT))
        .then(pl.lit("investissement"))
        .when(pl.col("cpo_year") & employer & (u < cpo_p))
        .then(pl.lit("CPO"))
        .when(pl.col("fonct") & pl.col("type_structure").is_in(["collectivité", "établissement public"]) & (u < 0.6))
        .then(pl.lit("subvention de fonctionnement"))
        .when(employer & (u > 0.96))
        .then(pl.lit("subvention de fonctionnement"))
        .otherwise(pl.lit("AAP"))
    )
    actions = actions.with_columns(mode.alias("mode_financement")).with_columns(
        (
            pl.col("annee_debut")
            + pl.when(pl.col("mode_financement") == "CPO").then(pl.col("cpo_span")).otherwise(1)
            - 1
        ).alias("annee_fin")
    )
    ref_year = ref.year
    past = pl.col("annee_fin") < ref_year
    current = (pl.col("annee_debut") <= ref_year) & (pl.col("annee_fin") >= ref_year)
    u = pl.col("u_statut")
    statut = (
        pl.when(pl.col("annee_debut") > ref_year)
        .then(pl.lit("déposée"))
        .when(past & (u < 0.83))
        .then(pl.lit("réalisée"))
        .when(past & (u < 0.87))
        .then(pl.lit("abandonnée"))
        .when(past & (u < 0.93))
        .then(pl.lit("refusée"))
        .when(past)
        .then(pl.lit("en cours"))  # period over, no final status reported
        .when(current & (u < 0.72))
        .then(pl.lit("en cours"))
        .when(current & (u < 0.84))
        .then(pl.lit("accordée"))
        .when(current & (u < 0.90))
        .then(pl.lit("refusée"))
        .when(current & (u < 0.93))
        .then(pl.lit("abandonnée"))
        .otherwise(pl.lit("déposée"))
    )
    elapsed = ((pl.lit(ref_year) - pl.col("annee_debut")).cast(pl.Float64) + (ref.timetuple().tm_yday / 366.0)) / (
        (pl.col("annee_fin") - pl.col("annee_debut") + 1).cast(pl.Float64)
    )
    actions = (
        actions.with_columns(statut.alias("statut"))
        .with_columns(
            pl.when(pl.col("statut") == "réalisée")
            .then(1.0)
            .when(pl.col("statut") == "en cours")
            .then((elapsed * (0.55 + 0.6 * pl.col("u_av"))).clip(0.05, 0.98))
            .when(pl.col("statut") == "abandonnée")
            .then(pl.col("u_av") * 0.5)
            .when(pl.col("statut") == "accordée")
            .then(0.0)
            .otherwise(None)
            .alias("avancement"),
            pl.concat_str(
                [
                    pl.lit("A-"),
                    pl.col("code_contrat"),
                    pl.lit("-"),
                    pl.col("annee_debut").cast(pl.String),
                    pl.lit("-"),
                    pl.col("seq").rank("ordinal").over("code_contrat").cast(pl.String).str.zfill(6),
                ]
            ).alias("code_action"),  # numbered within each contract
            pl.concat_str(
                [
                    pl.col("titre"),
                    pl.lit(" "),
                    pl.col("annee_debut").cast(pl.String),
                    pl.when(pl.col("annee_fin") > pl.col("annee_debut"))
                    .then(pl.lit("-") + pl.col("annee_fin").cast(pl.String))
                    .otherwise(pl.lit("")),
                ]
            ).alias("libelle"),
            pl.date(pl.col("annee_debut"), 1, 1).alias("date_debut"),
            pl.date(pl.col("annee_fin"), 12, 31).alias("date_fin"),
            pl.when(pl.col("statut") == "déposée")
            .then(None)
            .otherwise(pl.date(pl.col("annee_debut"), 4, 1) + pl.duration(days=pl.col("decision_offset")))
            .alias("date_decision"),
        )
        .with_columns(
            # Reported status date; actions whose period ended with no final status have none.
            pl.when(past & (pl.col("statut") == "en cours"))
            .then(None)
            .when(pl.col("statut").is_in(["réalisée", "abandonnée"]))
            .then(pl.date(pl.col("annee_fin") + 1, 3, 31))
            .otherwise(pl.lit(ref) - pl.duration(days=pl.col("decision_offset") % 60))
            .alias("date_statut"),
        )
        .with_columns(
            pl.when(pl.col("date_statut").is_null()).then(None).otherwise(pl.col("avancement")).alias("avancement"),
            pl.when(pl.col("date_statut") > pl.lit(ref))
            .then(pl.lit(ref))
            .otherwise(pl.col("date_statut"))
            .alias("date_statut"),
        )
    )

    # Action ↔ quartier: the QPV it was drawn for (population-weighted), sometimes a second one.
    q_rank = (
        quartiers.sort("code_qp")
        .select("code_contrat", "code_qp")
        .with_columns(
            pl.int_range(pl.len()).over("code_contrat").cast(pl.UInt32).alias("q_i"),
            pl.len().over("code_contrat").cast(pl.UInt32).alias("q_n"),
        )
    )
    served = (
        actions.filter(~pl.col("hors_qpv"))
        .select("code_action", "code_contrat", "code_qp", "n_qpv_served", "seq")
        .join(q_rank.drop("code_contrat"), on="code_qp")
        .sort("seq")
        .with_columns(pl.col("q_i").alias("q0"))
    )
    first = served.with_columns(pl.lit(1).alias("k")).drop("code_qp")
    second = (
        served.filter((pl.col("n_qpv_served") > 1) & (pl.col("q_n") > 1))
        .with_columns(((pl.col("q0") + 1) % pl.col("q_n")).alias("q_i"), pl.lit(2).alias("k"))
        .drop("code_qp")
    )
    links = pl.concat([first, second]).join(q_rank.drop("q_n"), on=["code_contrat", "q_i"])
    links = links.with_columns(pl.len().over("code_action").alias("n_links")).with_columns(
        pl.when(pl.col("n_links") == 1).then(1.0).when(pl.col("k") == 1).then(0.6).otherwise(0.4).alias("part")
    )
    action_quartier = links.select("code_action", "code_qp", "part").sort("code_action", "code_qp")

    # Action ↔ objectif: an objective of the first QPV on the action's axe, else the first of the
    # QPV, else (hors QPV, ingénierie) a transversal objective of the contract.
    axe_of = {t: a for t, (a, _) in _THEMES.items()}
    first_q = links.filter(pl.col("k") == 1).select("code_action", "code_qp")
    a_axe = actions.select(
        "code_action", "code_contrat", pl.col("thematique").replace_strict(axe_of, default=None).alias("axe")
    ).join(first_q, on="code_action", how="left")
    obj_q = objectifs.filter(pl.col("code_qp").is_not_null())
    obj_t = objectifs.filter(pl.col("code_qp").is_null())
    same_axe = (
        a_axe.join(obj_q.select("code_qp", "axe", "code_objectif"), on=["code_qp", "axe"])
        .group_by("code_action")
        .agg(pl.col("code_objectif").min())
    )
    any_q = (
        a_axe.join(obj_q.select("code_qp", "code_objectif"), on="code_qp")
        .group_by("code_action")
        .agg(pl.col("code_objectif").min().alias("any_q"))
    )
    any_t = (
        a_axe.join(obj_t.select("code_contrat", "code_objectif"), on="code_contrat")
        .group_by("code_action")
        .agg(pl.col("code_objectif").min().alias("any_t"))
    )
    action_objectif = (
        a_axe.select("code_action", "code_qp", "axe")
        .join(same_axe, on="code_action", how="left")
        .join(any_q, on="code_action", how="left")
        .join(any_t, on="code_action", how="left")
        .select(
            "code_action",
            pl.when(pl.col("axe").is_null() | pl.col("code_qp").is_null())
            .then(pl.col("any_t"))
            .otherwise(pl.coalesce("code_objectif", "any_q", "any_t"))
            .alias("code_objectif"),
        )
        .drop_nulls()
        .sort("code_action")
    )
    return actions, action_quartier, action_objectif


_ACTION_COLUMNS = (
    "code_action",
    "code_contrat",
    "id_porteur",
    "libelle",
    "thematique",
    "mode_financement",
    "annee_debut",
    "annee_fin",
    "date_debut",
    "date_fin",
    "statut",
    "avancement",
    "hors_qpv",
    "date_decision",
    "date_statut",
)


def generate(rng: np.random.Generator, frames: dict[str, pl.DataFrame], scale: Scale) -> dict[str, pl.DataFrame]:
    porteurs = frames["_porteur_contrat"]
    actions, action_quartier, action_objectif = _actions(
        rng, frames["contrat"], frames["quartier"], porteurs, frames["objectif"], scale
    )
    # A porteur is a structure that carries at least one action of the programmation: the
    # structures of the universe no action went to are left out of the store.
    porteurs = porteurs.filter(pl.col("id_porteur").is_in(actions["id_porteur"].implode()))
    return {
        "_action_detail": actions,
        "action": actions.select(_ACTION_COLUMNS),
        "action_quartier": action_quartier,
        "action_objectif": action_objectif,
        "_porteur_contrat": porteurs,
        "porteur": porteurs.drop("code_contrat", "genre", "code_qp"),
    }
