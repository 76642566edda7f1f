"""Demo data for « Acteurs et ingénierie »: typologies of the porteurs, actors without funding,
their QPV and seats in instances, the team's posts (with adultes-relais, FONJEP and co-funded
posts) and the roadmap. Vectorised; deterministic for a given generator."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from cdv_core.demo.porteurs import de
from cdv_core.queries.acteurs import MODES_INTERVENTION, MONTANT_ADULTE_RELAIS_2023, MONTANT_FONJEP

# thématique P147 of an action → domain of its porteur
_DOMAINE_THEMATIQUE = {
    "1.1": "éducation",
    "1.2": "santé",
    "1.3": "action sociale",
    "1.4": "culture",
    "1.5": "animation",
    "1.5a": "animation",
    "1.5b": "sport",
    "1.6": "accès aux droits",
    "2.1": "emploi-insertion",
    "2.2": "emploi-insertion",
    "3.1": "cadre de vie",
    "3.2": "prévention",
    "4.1": "participation",
    "4.2": "action sociale",
}
_EXTRA_DOMAINES = ("médiation", "participation", "transition écologique", "animation", "accès aux droits", "prévention")
# mode d'intervention weights per structure type (installé, intervient, en proximité)
_MODE_WEIGHTS = {
    "association sans salarié": (0.70, 0.20, 0.10),
    "association avec salariés": (0.45, 0.40, 0.15),
    "collectivité": (0.20, 0.60, 0.20),
    "établissement public": (0.35, 0.35, 0.30),
    "bailleur": (0.80, 0.20, 0.00),
    "entreprise": (0.20, 0.40, 0.40),
    "autre": (0.30, 0.40, 0.30),
}
# actors recorded without funding: (name template, type, mode, domains)
_SANS_FINANCEMENT = [
    (
        "Collectif d'habitants {dq}",
        "association sans salarié",
        "installé dans le quartier",
        ("participation", "cadre de vie"),
    ),
    (
        "Amicale des locataires {dq}",
        "association sans salarié",
        "installé dans le quartier",
        ("cadre de vie", "animation"),
    ),
    ("Service jeunesse {dc}", "collectivité", "intervient sur le quartier", ("animation", "prévention")),
    ("Maison France services {dc}", "collectivité", "en proximité", ("accès aux droits",)),
    ("Centre médico-social {dc}", "établissement public", "en proximité", ("santé", "action sociale")),
    ("Agence France Travail {dc}", "établissement public", "en proximité", ("emploi-insertion",)),
    ("Collège Germaine-Vauquelin {dc}", "établissement public", "intervient sur le quartier", ("éducation",)),
    ("Police municipale {dc}", "collectivité", "intervient sur le quartier", ("prévention", "médiation")),
]
# Kinds of porteurs (porteurs.KIND_TYPE) that employ adultes-relais, with their weight.
_AR_EMPLOYERS = {
    "MED": 4.0,
    "CS": 3.0,
    "RQ": 2.0,
    "AS": 1.0,
    "INS": 1.0,
    "FEM": 1.0,
    "SAN": 1.0,
    "CLUB": 0.5,
    "CIE": 0.3,
    "EPI": 0.3,
    "VILLE": 3.0,
    "CCAS": 1.0,
    "EPCI": 0.5,
}
_FEUILLE = [
    "Préparer la programmation de l'appel à projets",
    "Mettre à jour le tableau de bord des indicateurs",
    "Animer le réseau des adultes-relais",
    "Organiser la revue annuelle des projets de quartier",
    "Rédiger le rapport annuel",
    "Préparer l'actualisation 2027",
    "Renouveler les conventions CPO",
    "Former les porteurs à la saisie des bilans",
    "Organiser une rencontre des conseils citoyens",
]


def generate(rng: np.random.Generator, frames: dict[str, pl.DataFrame], scale) -> dict[str, pl.DataFrame]:
    contrats, quartiers, porteurs, actions = frames["contrat"], frames["quartier"], frames["porteur"], frames["action"]
    aq, instances = frames["action_quartier"], frames["instance"]
    ref_year = scale.reference_date.year

    # --- typologies of the porteurs ----------------------------------------------------------
    n = porteurs.height
    u = rng.random(n)
    types = list(_MODE_WEIGHTS)
    w = np.array([_MODE_WEIGHTS[t] for t in types])[
        porteurs["type_structure"].replace_strict({t: i for i, t in enumerate(types)}, return_dtype=pl.Int64).to_numpy()
    ]
    cum = w.cumsum(axis=1)
    mode_idx = (u[:, None] > cum).sum(axis=1).clip(0, 2)
    acteur_p = porteurs.select(pl.col("id_porteur").alias("id_acteur")).with_columns(
        pl.Series("mode_intervention", np.array(MODES_INTERVENTION)[mode_idx])
    )
    # The (at most 3) domains of a porteur's most frequent thématiques.
    dom_p = (
        actions.select(
            pl.col("id_porteur").alias("id_acteur"),
            pl.col("thematique").replace_strict(_DOMAINE_THEMATIQUE).alias("domaine"),
        )
        .group_by("id_acteur", "domaine")
        .agg(pl.len().alias("n"))
        .sort(["id_acteur", "n", "domaine"], descending=[False, True, False])
        .filter(pl.int_range(pl.len()).over("id_acteur") < 3)
        .select("id_acteur", "domaine")
    )
    extra = (
        porteurs.select(pl.col("id_porteur").alias("id_acteur"))
        .with_columns(
            pl.Series("domaine", np.array(_EXTRA_DOMAINES)[rng.integers(0, len(_EXTRA_DOMAINES), n)]),
            pl.Series("keep", rng.random(n) < 0.35),
        )
        .filter("keep")
        .drop("keep")
    )
    dom_p = pl.concat([dom_p, extra]).unique(maintain_order=True)

    # --- actors without funding: a few per contract, each in one QPV of it ------------------
    q_first = (
        quartiers.sort("code_qp")
        .group_by("code_contrat", maintain_order=True)
        .agg(pl.col("code_qp"), pl.col("libelle").first().alias("q"), pl.col("lib_com").first().alias("c"))
    )
    q_first = contrats.select("code_contrat").join(q_first, on="code_contrat").sort("code_contrat")
    k = 6 if scale.name == "demo" else 3
    ci = np.repeat(np.arange(q_first.height), k)
    if scale.name == "demo":
        ti = np.tile(np.arange(k), q_first.height)
    else:  # k distinct templates per contract (the first k of a random order), so no name repeats
        order = np.argsort(rng.random((q_first.height, len(_SANS_FINANCEMENT))), axis=1)
        ti = order[:, :k].ravel()
    tpl = pl.DataFrame(
        [(i, *t[:3]) for i, t in enumerate(_SANS_FINANCEMENT)],
        schema=["ti", "tpl", "type_structure", "mode_intervention"],
        orient="row",
    )
    # Polars joins do not keep row order: every frame is sorted before row order matters.
    nf = (
        pl.DataFrame({"k": np.arange(len(ci)), "ci": ci, "ti": ti, "u": rng.random(len(ci))})
        .join(q_first.with_row_index("ci").with_columns(pl.col("ci").cast(pl.Int64)), on="ci")
        .join(tpl.with_columns(pl.col("ti").cast(pl.Int64)), on="ti")
        .sort("k")
        .with_columns(
            pl.col("code_qp").list.get((pl.col("u") * pl.col("code_qp").list.len()).floor().cast(pl.Int64)).alias("qp"),
            pl.format("ACT-{}-{}", "code_contrat", pl.int_range(pl.len()).over("code_contrat") + 1).alias("id_acteur"),
            pl.col("tpl")
            .str.replace("{dq}", de(pl.col("q").str.split(" - ").list.first()), literal=True)
            .str.replace("{dc}", de(pl.col("c")), literal=True)
            .alias("nom"),
        )
    )
    acteur_nf = nf.select(
        "id_acteur",
        "code_contrat",
        "nom",
        "type_structure",
        "mode_intervention",
        pl.lit(None, dtype=pl.String).alias("siret"),
        pl.lit(None, dtype=pl.String).alias("rna"),
    )
    dom_map = pl.DataFrame(
        [(i, d) for i, t in enumerate(_SANS_FINANCEMENT) for d in t[3]], schema=["ti", "domaine"], orient="row"
    ).with_columns(pl.col("ti").cast(pl.Int64))
    dom_nf = nf.select("id_acteur", "ti").join(dom_map, on="ti").select("id_acteur", "domaine")
    aqx_nf = nf.select("id_acteur", pl.col("qp").alias("code_qp"))
    # Porteurs « en proximité » of a contract also act, without action there, in another of its QPV.
    main_contract = actions.group_by("id_porteur").agg(pl.col("code_contrat").first())
    prox = (
        acteur_p.filter(pl.col("mode_intervention") == "en proximité")
        .join(main_contract.rename({"id_porteur": "id_acteur"}), on="id_acteur")
        .join(q_first.select("code_contrat", "code_qp"), on="code_contrat")
        .sort("id_acteur")
    )
    prox = prox.with_columns(pl.Series("u", rng.random(prox.height))).with_columns(
        pl.col("code_qp").list.get((pl.col("u") * pl.col("code_qp").list.len()).floor().cast(pl.Int64)).alias("code_qp")
    )
    aqx = pl.concat([aqx_nf, prox.select("id_acteur", "code_qp")]).unique(maintain_order=True)

    # --- seats in instances ------------------------------------------------------------------
    actor_qp = pl.concat(
        [
            actions.select("code_action", pl.col("id_porteur").alias("id_acteur"))
            .join(aq, on="code_action")
            .select("id_acteur", "code_qp"),
            aqx,
        ]
    ).unique()
    qpv_seats = actor_qp.join(
        instances.filter(pl.col("code_qp").is_not_null()).select("code_instance", "code_qp", "type_instance"),
        on="code_qp",
    ).sort("id_acteur", "code_instance")
    qpv_seats = qpv_seats.filter(pl.Series(rng.random(qpv_seats.height) < 0.30)).with_columns(
        pl.when(pl.col("type_instance") == "conseil citoyen")
        .then(pl.lit("collège des acteurs locaux"))
        .otherwise(pl.lit("membre"))
        .alias("role")
    )
    all_types = pl.concat(
        [
            porteurs.select(pl.col("id_porteur").alias("id_acteur"), "type_structure"),
            acteur_nf.select("id_acteur", "type_structure"),
        ]
    )
    actor_contract = pl.concat(
        [main_contract.rename({"id_porteur": "id_acteur"}), acteur_nf.select("id_acteur", "code_contrat")]
    )
    big = (
        actor_contract.join(all_types, on="id_acteur")
        .filter(pl.col("type_structure").is_in(["bailleur", "collectivité", "établissement public"]))
        .join(
            instances.filter(pl.col("type_instance").is_in(["COPIL", "comité des financeurs"])).select(
                "code_instance", "code_contrat"
            ),
            on="code_contrat",
        )
        .sort("id_acteur", "code_instance")
    )
    big = big.filter(pl.Series(rng.random(big.height) < 0.5)).with_columns(pl.lit("partenaire").alias("role"))
    seats = pl.concat(
        [qpv_seats.select("id_acteur", "code_instance", "role"), big.select("id_acteur", "code_instance", "role")]
    ).unique(["id_acteur", "code_instance"], maintain_order=True)

    acteur = pl.concat(
        [
            acteur_p.with_columns(
                *(
                    pl.lit(None, dtype=pl.String).alias(c)
                    for c in ("code_contrat", "nom", "type_structure", "siret", "rna")
                )
            ),
            acteur_nf,
        ],
        how="diagonal",
    ).select("id_acteur", "code_contrat", "nom", "type_structure", "siret", "rna", "mode_intervention")
    postes, financement_poste = _postes(
        rng, contrats, quartiers, frames["_porteur_contrat"], ref_year, scale.name == "demo"
    )
    return {
        "acteur": acteur,
        "acteur_domaine": pl.concat([dom_p, dom_nf]).unique(maintain_order=True),
        "acteur_quartier": aqx,
        "acteur_instance": seats,
        "poste": postes,
        "financement_poste": financement_poste,
        "feuille_de_route": _feuille(rng, contrats, postes, frames, scale),
    }


def _postes(rng, contrats, quartiers, porteurs, ref_year, demo: bool):
    """Per contract: a chef de projet co-funded by the EPCI (or commune) and the State, a chargé de
    mission, a délégué du préfet; per QPV one or two adultes-relais; one FONJEP post in most
    contracts; a médiateur co-funded by the commune and the bailleurs in some."""
    first_year = contrats["date_debut"].dt.year().min()
    years = list(range(max(first_year, 2024), ref_year + 1))
    c = contrats.select("code_contrat", "type_signataire", "insee_dep", "date_debut")
    ref = c.with_columns(pl.format("Collectivité signataire ({})", "code_contrat").alias("employeur"))
    # Employers of posts: associations with employees (FONJEP, adultes-relais) and collectivités.
    assoc = (
        porteurs.filter(pl.col("type_structure") == "association avec salariés")
        .select("id_porteur", "nom", "siret", "code_contrat", "genre", "code_qp")
        .sort("id_porteur")
    )
    assoc = assoc.with_columns(
        pl.int_range(pl.len()).over("code_contrat").alias("a_i"), pl.len().over("code_contrat").alias("a_n")
    )
    fixed = pl.concat(
        [
            ref.select(
                "code_contrat",
                pl.lit("chef de projet politique de la ville").alias("type_poste"),
                pl.lit("Chef de projet contrat de ville").alias("intitule"),
                "employeur",
                pl.lit(1.0).alias("etp"),
                pl.lit("pilotage").alias("niveau_responsabilite"),
                pl.lit(62_000.0).alias("cout_annuel"),
                pl.lit("CP").alias("suffix"),
            ),
            ref.select(
                "code_contrat",
                pl.lit("chargé de mission").alias("type_poste"),
                pl.lit("Chargé de mission cohésion sociale").alias("intitule"),
                "employeur",
                pl.lit(0.8).alias("etp"),
                pl.lit("coordination").alias("niveau_responsabilite"),
                pl.lit(42_000.0).alias("cout_annuel"),
                pl.lit("CM").alias("suffix"),
            ),
            ref.select(
                "code_contrat",
                pl.lit("délégué du préfet").alias("type_poste"),
                pl.lit("Délégué du préfet").alias("intitule"),
                pl.format("Préfecture ({})", "insee_dep").alias("employeur"),
                pl.lit(1.0).alias("etp"),
                pl.lit("coordination").alias("niveau_responsabilite"),
                pl.lit(None, dtype=pl.Float64).alias("cout_annuel"),
                pl.lit("DP").alias("suffix"),
            ),
        ]
    ).with_columns(
        pl.lit(None, dtype=pl.String).alias("code_qp"),
        pl.lit(None, dtype=pl.String).alias("id_employeur"),
        pl.lit(None, dtype=pl.String).alias("siret_employeur"),
    )
    # Adultes-relais: 1 or 2 per QPV. Employers as in the 2023 posts (adulte-relais-2023.json):
    # ~15 % communes, CCAS or EPCI, the others associations with employees, médiation first.
    nq = quartiers.height
    n_ar = 1 + (rng.random(nq) < 0.4).astype(int)
    qi = np.repeat(np.arange(nq), n_ar)
    ar = quartiers.select("code_qp", "code_contrat")[qi].with_columns(
        pl.Series("cost", rng.integers(33_000, 38_000, len(qi))),
        pl.Series("k", np.arange(len(qi))),
        pl.Series("by_collectivite", rng.random(len(qi)) < 0.15),
    )
    employers = (
        porteurs.filter(pl.col("genre").is_in(list(_AR_EMPLOYERS)))
        .select(
            "id_porteur",
            "nom",
            "siret",
            "code_contrat",
            "genre",
            pl.col("code_qp").alias("home"),
            (pl.col("type_structure") == "collectivité").alias("collectivite"),
        )
        .with_columns(pl.col("genre").replace_strict(_AR_EMPLOYERS, return_dtype=pl.Float64).alias("w"))
    )
    cand = (
        ar.join(employers, on="code_contrat")
        .with_columns(
            pl.when(pl.col("collectivite") == pl.col("by_collectivite")).then(0).otherwise(1).alias("prio"),
            (pl.col("w") * pl.when(pl.col("home") == pl.col("code_qp")).then(3.0).otherwise(1.0)).alias("w"),
        )
        .sort("k", "id_porteur")
    )
    cand = cand.with_columns(pl.Series("key", -np.log(1.0 - rng.random(cand.height))) / pl.col("w"))
    ar = (
        ar.join(
            cand.sort("k", "prio", "key").unique("k", keep="first").select("k", "id_porteur", "nom", "siret"),
            on="k",
            how="left",
        )
        .sort("k")
        .select(
            "code_contrat",
            "code_qp",
            pl.lit("adulte-relais").alias("type_poste"),
            pl.lit("Adulte-relais médiateur social").alias("intitule"),
            pl.col("nom").alias("employeur"),
            pl.col("id_porteur").alias("id_employeur"),
            pl.col("siret").alias("siret_employeur"),
            pl.lit(1.0).alias("etp"),
            pl.lit("opérationnel").alias("niveau_responsabilite"),
            pl.col("cost").cast(pl.Float64).alias("cout_annuel"),
            pl.lit("AR").alias("suffix"),
        )
    )
    # FONJEP: one post in ~70 % of the contracts; médiateur in ~50 %.
    cc = c.join(assoc.filter(pl.col("a_i") == 0), on="code_contrat").sort("code_contrat")
    fonjep = cc.filter(pl.Series(rng.random(cc.height) < (1.0 if demo else 0.7))).select(
        "code_contrat",
        pl.lit(None, dtype=pl.String).alias("code_qp"),
        pl.lit("poste FONJEP").alias("type_poste"),
        pl.lit("Animateur de réseau associatif (FONJEP)").alias("intitule"),
        pl.col("nom").alias("employeur"),
        pl.col("id_porteur").alias("id_employeur"),
        pl.col("siret").alias("siret_employeur"),
        pl.lit(1.0).alias("etp"),
        pl.lit("opérationnel").alias("niveau_responsabilite"),
        pl.lit(36_000.0).alias("cout_annuel"),
        pl.lit("FJ").alias("suffix"),
    )
    with_med = rng.random(ref.height) < 0.5
    if demo:  # the demo always shows a co-funded médiateur
        with_med[:2] = True
    med = ref.filter(pl.Series(with_med)).select(
        "code_contrat",
        pl.lit(None, dtype=pl.String).alias("code_qp"),
        pl.lit("médiateur").alias("type_poste"),
        pl.lit("Médiateur de tranquillité résidentielle").alias("intitule"),
        "employeur",
        pl.lit(None, dtype=pl.String).alias("id_employeur"),
        pl.lit(None, dtype=pl.String).alias("siret_employeur"),
        pl.lit(1.0).alias("etp"),
        pl.lit("opérationnel").alias("niveau_responsabilite"),
        pl.lit(40_000.0).alias("cout_annuel"),
        pl.lit("MED").alias("suffix"),
    )
    posts = pl.concat([fixed.select(ar.columns), ar, fonjep, med]).with_columns(
        pl.format(
            "POSTE-{}-{}{}", "code_contrat", "suffix", pl.int_range(pl.len()).over("code_contrat", "suffix") + 1
        ).alias("id_poste")
    )
    posts = posts.join(c.select("code_contrat", "date_debut"), on="code_contrat").with_columns(
        pl.col("date_debut").alias("date_debut"),
        pl.when(pl.col("type_poste") == "adulte-relais")
        .then(pl.date(2026, 12, 31))
        .otherwise(pl.lit(None, dtype=pl.Date))
        .alias("date_fin"),
        pl.when(pl.col("type_poste") == "chef de projet politique de la ville")
        .then(pl.lit("Adjoint au maire chargé de la politique de la ville"))
        .alias("elu_referent"),
        pl.lit("saisie").alias("source"),
    )
    # Funding lines per year: State reference amounts, co-funding of the chef de projet and médiateur.
    py = posts.join(c.select("code_contrat", "type_signataire"), on="code_contrat").join(
        pl.DataFrame({"annee": years}, schema={"annee": pl.Int32}), how="cross"
    )

    def line(type_poste: str, financeur: pl.Expr, montant: pl.Expr) -> pl.DataFrame:
        return py.filter(pl.col("type_poste") == type_poste).select(
            "id_poste", financeur.alias("financeur"), "annee", montant.cast(pl.Float64).alias("montant")
        )

    lines = pl.concat(
        [
            line("adulte-relais", pl.lit("État P147"), pl.lit(MONTANT_ADULTE_RELAIS_2023)),
            line("poste FONJEP", pl.lit("État P147"), pl.lit(MONTANT_FONJEP)),
            line("chef de projet politique de la ville", pl.lit("État P147"), pl.lit(25_000.0)),
            line(
                "chef de projet politique de la ville",
                pl.when(pl.col("type_signataire") == "commune").then(pl.lit("commune")).otherwise(pl.lit("EPCI")),
                pl.lit(37_000.0),
            ),
            line("chargé de mission", pl.lit("EPCI"), pl.col("cout_annuel") * pl.col("etp")),
            line("médiateur", pl.lit("commune"), pl.lit(24_000.0)),
            line("médiateur", pl.lit("bailleurs"), pl.lit(16_000.0)),
        ]
    )
    return posts.drop("suffix"), lines


def _feuille(rng, contrats, postes, frames, scale) -> pl.DataFrame:
    """5 to 8 roadmap items per contract, owned by the chef de projet or the chargé de mission,
    due between 2025 and 2027; past items mostly done, some late; some implement a decision."""
    ref = scale.reference_date
    nc = contrats.height
    k = rng.integers(5, 9, nc)
    ci = np.repeat(np.arange(nc), k)
    m = len(ci)
    due = np.datetime64(date(2025, 1, 15)) + rng.integers(0, 3 * 365, m).astype("timedelta64[D]")
    past = due < np.datetime64(ref)
    u = rng.random(m)
    statut = np.where(
        past,
        np.where(u < 0.7, "faite", np.where(u < 0.9, "en cours", "à faire")),
        np.where(u < 0.4, "en cours", np.where(u < 0.95, "à faire", "faite")),
    )
    owners = postes.filter(pl.col("type_poste").is_in(["chef de projet politique de la ville", "chargé de mission"]))
    owners = (
        owners.select("code_contrat", "id_poste", "intitule")
        .sort("id_poste")
        .with_columns(pl.int_range(pl.len()).over("code_contrat").alias("o_i"))
    )
    decisions = (
        frames["decision"]
        .join(frames["reunion"].select("id_reunion", "code_instance"), on="id_reunion")
        .join(frames["instance"].select("code_instance", "code_contrat"), on="code_instance")
        .select("code_contrat", "id_decision")
        .sort("id_decision")
        .with_columns(
            pl.int_range(pl.len()).over("code_contrat").alias("d_i"), pl.len().over("code_contrat").alias("d_n")
        )
    )
    d_n = decisions.group_by("code_contrat").agg(pl.col("d_n").first())
    items = (
        pl.DataFrame(
            {
                "k": np.arange(m),
                "code_contrat": contrats["code_contrat"].to_numpy()[ci],
                "libelle": np.array(_FEUILLE)[rng.integers(0, len(_FEUILLE), m)],
                "date_echeance": due,
                "statut": statut,
                "o_i": rng.integers(0, 2, m),
                "u_d": rng.random(m),
                "link": rng.random(m) < 0.3,
            }
        )
        .with_columns(pl.col("date_echeance").cast(pl.Date))
        .join(owners, on=["code_contrat", "o_i"], how="left")
        .join(d_n, on="code_contrat", how="left")
        .with_columns((pl.col("u_d") * pl.col("d_n")).floor().cast(pl.UInt32).alias("d_i"))
        .join(decisions.select("code_contrat", "d_i", "id_decision"), on=["code_contrat", "d_i"], how="left")
        .sort("k")
        .with_columns(
            pl.when(pl.col("link")).then(pl.col("id_decision")).alias("id_decision"),
            pl.format(
                "FDR-{}-{}", "code_contrat", pl.int_range(pl.len()).over("code_contrat").cast(pl.String).str.zfill(2)
            ).alias("id_item"),
        )
        .unique(["code_contrat", "libelle"], keep="first", maintain_order=True)
    )
    return items.select(
        "id_item",
        "code_contrat",
        "libelle",
        pl.col("intitule").alias("responsable"),
        "id_poste",
        "date_echeance",
        "statut",
        "id_decision",
    )
