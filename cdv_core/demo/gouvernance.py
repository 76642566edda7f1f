"""Step 7: governance instances, their meetings, decisions and the decisions' actions."""

from __future__ import annotations

import numpy as np
import polars as pl

from cdv_core.demo.common import Scale, _as_date, _choice, _days, _rank_within
from cdv_core.domain import model

_INSTANCES_CONTRAT = [  # type, libellé, cadence, participants (lo, hi), habitants (lo, hi)
    ("COPIL", "Comité de pilotage", 12, (25, 60), (2, 6)),
    ("COTECH", "Comité technique", 4, (10, 25), (0, 2)),
    ("comité des financeurs", "Comité des financeurs", 12, (8, 15), (0, 0)),
    ("équipe projet", "Équipe projet", 1, (2, 8), (0, 0)),
]
_INSTANCES_QPV = [
    ("conseil citoyen", "Conseil citoyen", 3, (10, 25), (6, 12), 1.0),
    ("table de quartier", "Table de quartier", 1, (10, 30), (8, 25), 0.3),
    ("revue de projet de quartier", "Revue de projet de quartier", 12, (8, 15), (2, 5), 0.6),
]
_DECISIONS = ["Lancer l'appel à projets avec les priorités validées", "Réorienter les crédits vers la santé mentale",
              "Organiser un diagnostic en marchant", "Relancer les porteurs sans bilan financier",
              "Préparer la revue annuelle des indicateurs", "Ouvrir une CPO pour la médiation sociale",
              "Associer le conseil citoyen au rapport annuel", "Mettre à jour le tableau de bord des indicateurs",
              "Étudier le renforcement des permanences emploi", "Instruire les demandes de subvention reçues"]
_OWNERS = ["Chef de projet politique de la ville", "Délégué(e) du préfet", "Direction de l'éducation",
           "CCAS", "Bailleur social", "Service des sports", "Chargé(e) de mission emploi", "DDETS"]



def _gouvernance(rng, contrats, quartiers, actions, scale: Scale):
    ref = scale.reference_date
    c_rows = [(c, None, t, lab, cad, *p, *h) for c in contrats["code_contrat"] for (t, lab, cad, p, h) in _INSTANCES_CONTRAT]
    inst_c = pl.DataFrame(c_rows, schema={"code_contrat": pl.String, "code_qp": pl.String, "type_instance": pl.String,
                                          "lab": pl.String, "cadence_mois": pl.Int64, "p_lo": pl.Int64, "p_hi": pl.Int64,
                                          "h_lo": pl.Int64, "h_hi": pl.Int64}, orient="row")
    q_frames = []
    for t, lab, cad, p, h, share in _INSTANCES_QPV:
        keep = rng.random(quartiers.height) < share
        q = quartiers.filter(pl.Series(keep))
        q_frames.append(q.select("code_contrat", "code_qp", pl.lit(t).alias("type_instance"),
                                 (pl.lit(lab + " ") + pl.col("libelle")).alias("lab"),
                                 pl.lit(cad, dtype=pl.Int64).alias("cadence_mois"),
                                 pl.lit(p[0], dtype=pl.Int64).alias("p_lo"), pl.lit(p[1], dtype=pl.Int64).alias("p_hi"),
                                 pl.lit(h[0], dtype=pl.Int64).alias("h_lo"), pl.lit(h[1], dtype=pl.Int64).alias("h_hi")))
    inst = pl.concat([inst_c, *q_frames])
    inst = (inst.join(contrats.select("code_contrat", "date_debut", "libelle"), on="code_contrat")
                .with_columns(
                    pl.concat_str([pl.lit("I-"), pl.col("code_qp").fill_null(pl.col("code_contrat")), pl.lit("-"),
                                   pl.col("type_instance").replace_strict(
                                       {t: t[:4].upper().replace("É", "E").replace(" ", "") for t in model.TYPES_INSTANCE})
                                   ]).alias("code_instance"),
                    pl.when(pl.col("code_qp").is_null())
                      .then(pl.col("lab") + pl.lit(" — ") + pl.col("libelle").str.replace(r"^Contrat de ville (de la |de |du )?", ""))
                      .otherwise(pl.col("lab")).alias("libelle_instance"),
                    pl.col("date_debut").alias("date_creation"))
                .sort("code_instance"))
    ni = inst.height
    # Some instances stop meeting: they are the late ones (at least one in the demo).
    stop_late = rng.random(ni) < 0.15
    if scale.name == "demo":
        stop_late[inst["type_instance"].to_numpy() == "COTECH"] = False
        stop_late[np.flatnonzero(inst["type_instance"].to_numpy() == "COTECH")[-1]] = True
    cad = inst["cadence_mois"].to_numpy()
    stop_days = np.where(stop_late, _days(ref) - (cad * 30.4 + 60 + rng.integers(30, 200, ni)).astype(int), 10**6)
    start = inst["date_creation"].cast(pl.Int32).to_numpy().astype(np.int64) + rng.integers(10, 60, ni)
    horizon = _days(scale.meetings_until)
    n_slots = np.maximum(1, ((horizon - start) / (cad * 30.44)).astype(int) + 1)
    ii = np.repeat(np.arange(ni), n_slots)
    k = pl.Series(ii).cum_count().to_numpy() - np.repeat(np.cumsum(n_slots) - n_slots, n_slots) - 1
    day = (start[ii] + (k * cad[ii] * 30.44).astype(int) + rng.integers(-10, 11, len(ii))).clip(start[ii], None)
    keep = (day <= horizon) & ((day <= stop_days[ii]) | (day > _days(ref)))
    ii, k, day = ii[keep], k[keep], day[keep]
    m = len(ii)
    u = rng.random(m)
    future = day > _days(ref)
    statut = np.where(future, "prévue", np.where(u < 0.88, "tenue", np.where(u < 0.95, "annulée", "reportée")))
    participants = rng.integers(inst["p_lo"].to_numpy()[ii], inst["p_hi"].to_numpy()[ii] + 1)
    habitants = np.minimum(rng.integers(inst["h_lo"].to_numpy()[ii], inst["h_hi"].to_numpy()[ii] + 1), participants)
    held = statut == "tenue"
    reunion = pl.DataFrame({
        "id_reunion": pl.select(pl.format("R-{}-{}", pl.Series(inst["code_instance"].to_numpy()[ii], dtype=pl.String),
                                          pl.Series(k + 1).cast(pl.String).str.zfill(3))).to_series(),
        "code_instance": inst["code_instance"].to_numpy()[ii],
        "date_reunion": _as_date(day),
        "statut": statut,
        "nb_participants": pl.Series(np.where(held, participants, -1)).replace(-1, None),
        "nb_habitants": pl.Series(np.where(held, habitants, -1)).replace(-1, None),
        "objet": pl.Series(inst["type_instance"].to_numpy()[ii]).replace_strict(
            {"COPIL": "Orientations et programmation", "COTECH": "Instruction des demandes",
             "comité des financeurs": "Arbitrage des cofinancements", "équipe projet": "Suivi courant",
             "conseil citoyen": "Réunion plénière", "table de quartier": "Actions collectives",
             "revue de projet de quartier": "Revue annuelle des indicateurs"}, default="Réunion"),
        "lien_compte_rendu": None,
    }).with_columns(pl.col("lien_compte_rendu").cast(pl.String)).sort("id_reunion")
    instance = inst.select("code_instance", "code_contrat", "code_qp", "type_instance",
                           pl.col("libelle_instance").alias("libelle"), "cadence_mois", "date_creation")

    # Decisions of the held deciding meetings.
    deciding = (reunion.join(instance.select("code_instance", "type_instance", "code_contrat"), on="code_instance")
                       .filter((pl.col("statut") == "tenue") & pl.col("type_instance").is_in(
                           ["COPIL", "COTECH", "comité des financeurs", "revue de projet de quartier"]))
                       .sort("id_reunion"))
    nd = rng.integers(1, 4, deciding.height)
    di = np.repeat(np.arange(deciding.height), nd)
    nd_total = len(di)
    due = (deciding["date_reunion"].cast(pl.Int32).to_numpy().astype(np.int64)[di] + rng.integers(30, 180, nd_total)) if nd_total else np.array([], dtype=int)
    overdue = due < _days(ref)
    u = rng.random(nd_total)
    dstat = np.where(overdue, np.where(u < 0.8, "faite", np.where(u < 0.87, "en cours", np.where(u < 0.95, "à faire", "abandonnée"))),
                     np.where(u < 0.5, "à faire", np.where(u < 0.9, "en cours", "faite")))
    decision = pl.DataFrame({
        "id_decision": pl.select(pl.format("D-{}-{}", deciding["id_reunion"].gather(di).str.slice(2),
                                           pl.Series(_rank_within(di)).cast(pl.String))).to_series(),
        "id_reunion": deciding["id_reunion"].to_numpy()[di],
        "libelle": _choice(rng, _DECISIONS, nd_total),
        "responsable": _choice(rng, _OWNERS, nd_total),
        "date_echeance": _as_date(due),
        "statut": dstat,
        "code_contrat": deciding["code_contrat"].to_numpy()[di],
    })
    linked = decision.filter(pl.Series(rng.random(nd_total) < 0.3))
    act_by_contract = actions.select("code_contrat", "code_action").with_columns(
        pl.int_range(pl.len()).over("code_contrat").cast(pl.UInt32).alias("a_i"),
        pl.len().over("code_contrat").cast(pl.UInt32).alias("a_n"))
    a_n = act_by_contract.group_by("code_contrat").agg(pl.col("a_n").first())
    decision_action = (linked.join(a_n, on="code_contrat")
                             .sort("id_decision")
                             .with_columns(pl.Series("u", rng.random(linked.height)))
                             .with_columns((pl.col("u") * pl.col("a_n")).floor().cast(pl.UInt32).alias("a_i"))
                             .join(act_by_contract.drop("a_n"), on=["code_contrat", "a_i"])
                             .select("id_decision", "code_action").sort("id_decision"))
    return instance, reunion, decision.drop("code_contrat").sort("id_decision"), decision_action




def generate(rng: np.random.Generator, frames: dict[str, pl.DataFrame], scale: Scale) -> dict[str, pl.DataFrame]:
    instance, reunion, decision, decision_action = _gouvernance(rng, frames["contrat"], frames["quartier"],
                                                                frames["action"], scale)
    return {"instance": instance, "reunion": reunion, "decision": decision, "decision_action": decision_action}
