"""Step 7: governance instances, their meetings, decisions and the decisions' actions.

Meetings follow the year of a real contrat de ville (vocabulaire.md §4 and §6): COTECH
d'instruction in January-March, comité des financeurs in February-March, COPIL de programmation
in March-May and COPIL d'orientations in September-October, revue de projet de quartier before
the summer, the conseils citoyens quarterly (one of their sessions gives the avis on the previous
year's rapport annuel), équipe projet and tables de quartier monthly. Past meetings are mostly
held, some cancelled, some postponed and then held (or cancelled) a few weeks later.

The events a milestone stands for (signature, COPIL de programmation, revue annuelle,
consultation of the conseils citoyens) are meetings here (`EVENEMENTS`), and the working frame
`_evenement` gives, per contract, event and year, the first scheduled date and the first held
one: the jalons step reads its dates from it, so that the Jalons and Gouvernance screens tell
one story.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from cdv_core.demo.common import Scale, _as_date, _choice, _days, _rank_within
from cdv_core.domain import model

_INSTANCES_CONTRAT = [  # type, libellé, cadence, participants (lo, hi), habitants (lo, hi)
    ("COPIL", "Comité de pilotage", 6, (25, 60), (2, 6)),
    ("COTECH", "Comité technique", 4, (10, 25), (0, 2)),
    ("comité des financeurs", "Comité des financeurs", 12, (8, 15), (0, 0)),
    ("équipe projet", "Équipe projet", 1, (2, 8), (0, 0)),
]
_INSTANCES_QPV = [
    ("conseil citoyen", "Conseil citoyen", 3, (10, 25), (6, 12), 1.0),
    ("table de quartier", "Table de quartier", 1, (10, 30), (8, 25), 0.3),
    ("revue de projet de quartier", "Revue de projet de quartier", 12, (8, 15), (2, 5), 0.6),
]

# The milestones that are meetings: type_jalon → (type_instance, objet of the meeting; {annee} is
# the jalon's year). A meeting realises the jalon of its contract with the same objet.
EVENEMENTS: dict[str, tuple[str, str]] = {
    "signature": ("COPIL", "Signature du contrat de ville"),
    "programmation": ("COPIL", "COPIL de programmation {annee}"),
    "revue annuelle": ("revue de projet de quartier", "Revue annuelle des indicateurs {annee}"),
    "consultation conseils citoyens": ("conseil citoyen", "Avis sur le rapport annuel {annee}"),
}
# When each contract consults its conseils citoyens on the rapport annuel (year N+1) and votes it.
SAISONS_RAPPORT = ("printemps", "automne")

# The calendar of a year: type_instance, season of the contract (None: every contract), event
# (type_jalon, None for an ordinary meeting), first day (month, day), last day, objet ({y}: the
# year, {n}: the next year). The event's year is the meeting's, except the consultation on the
# rapport annuel of the previous year.
_CALENDRIER = [
    ("COTECH", None, None, (1, 10), (2, 15), "Instruction des demandes de l'appel à projets {y}"),
    ("COTECH", None, None, (3, 1), (3, 25), "Avis sur la programmation {y} avant le COPIL"),
    ("COTECH", None, None, (6, 1), (6, 30), "Suivi de la programmation et des bilans intermédiaires"),
    ("COTECH", None, None, (9, 1), (9, 25), "Bilan {y} et préparation des orientations {n}"),
    ("comité des financeurs", None, None, (2, 15), (3, 20), "Arbitrage des cofinancements {y}"),
    (
        "COPIL",
        None,
        "programmation",
        (3, 25),
        (5, 31),
        "COPIL de programmation {y} : validation des projets et des cofinancements",
    ),
    ("COPIL", None, None, (9, 20), (10, 20), "Bilan {y} et orientations de l'appel à projets {n}"),
    (
        "revue de projet de quartier",
        None,
        "revue annuelle",
        (4, 15),
        (6, 20),
        "Revue annuelle des indicateurs {y} : avancement du projet de quartier",
    ),
    ("conseil citoyen", None, None, (1, 25), (2, 25), "Réunion plénière"),
    (
        "conseil citoyen",
        "printemps",
        "consultation conseils citoyens",
        (4, 1),
        (4, 30),
        "Avis sur le rapport annuel {p} du contrat de ville",
    ),
    ("conseil citoyen", "automne", None, (4, 1), (4, 30), "Réunion plénière de printemps"),
    ("conseil citoyen", None, None, (6, 1), (6, 30), "Préparation des projets de l'été"),
    ("conseil citoyen", "printemps", None, (9, 1), (9, 30), "Rentrée : bilan de l'été et projets"),
    (
        "conseil citoyen",
        "automne",
        "consultation conseils citoyens",
        (9, 1),
        (9, 30),
        "Avis sur le rapport annuel {p} du contrat de ville",
    ),
    ("conseil citoyen", None, None, (11, 20), (12, 15), "Bilan de l'année et propositions"),
    *[
        ("équipe projet", None, None, (m, 1), (m, 28), "Suivi courant : porteurs, bilans, paiements")
        for m in range(1, 13)
        if m != 8
    ],
    *[
        ("table de quartier", None, None, (m, 1), (m, 28), "Actions collectives et interpellations")
        for m in range(1, 13)
        if m not in (7, 8)
    ],
]
# Share of the past meetings held, cancelled (the rest is postponed, then rescheduled).
_TENUE, _ANNULEE = 0.88, 0.05
_REPORT_DAYS = (14, 42)

_DECISIONS = [
    "Lancer l'appel à projets avec les priorités validées",
    "Réorienter les crédits vers la santé mentale",
    "Organiser un diagnostic en marchant",
    "Relancer les porteurs sans bilan financier",
    "Préparer la revue annuelle des indicateurs",
    "Ouvrir une CPO pour la médiation sociale",
    "Associer le conseil citoyen au rapport annuel",
    "Mettre à jour le tableau de bord des indicateurs",
    "Étudier le renforcement des permanences emploi",
    "Instruire les demandes de subvention reçues",
]
_OWNERS = [
    "Chef de projet politique de la ville",
    "Délégué(e) du préfet",
    "Direction de l'éducation",
    "CCAS",
    "Bailleur social",
    "Service des sports",
    "Chargé(e) de mission emploi",
    "DDETS",
]


def _instances(rng, contrats, quartiers) -> pl.DataFrame:
    """Every instance of every contract: four contract-wide ones, the QPV ones (a conseil citoyen
    in each QPV, tables de quartier in some, a revue de projet de quartier in most — at least one
    per contract, since the revue annuelle of the contract is made of them)."""
    c_rows = [
        (c, None, t, lab, cad, *p, *h) for c in contrats["code_contrat"] for (t, lab, cad, p, h) in _INSTANCES_CONTRAT
    ]
    inst_c = pl.DataFrame(
        c_rows,
        schema={
            "code_contrat": pl.String,
            "code_qp": pl.String,
            "type_instance": pl.String,
            "lab": pl.String,
            "cadence_mois": pl.Int64,
            "p_lo": pl.Int64,
            "p_hi": pl.Int64,
            "h_lo": pl.Int64,
            "h_hi": pl.Int64,
        },
        orient="row",
    )
    first_qpv = quartiers.select(pl.col("code_qp").rank("ordinal").over("code_contrat") == 1).to_series().to_numpy()
    q_frames = []
    for t, lab, cad, p, h, share in _INSTANCES_QPV:
        keep = rng.random(quartiers.height) < share
        if t == "revue de projet de quartier":
            keep |= first_qpv
        q = quartiers.filter(pl.Series(keep))
        q_frames.append(
            q.select(
                "code_contrat",
                "code_qp",
                pl.lit(t).alias("type_instance"),
                (pl.lit(lab + " ") + pl.col("libelle")).alias("lab"),
                pl.lit(cad, dtype=pl.Int64).alias("cadence_mois"),
                pl.lit(p[0], dtype=pl.Int64).alias("p_lo"),
                pl.lit(p[1], dtype=pl.Int64).alias("p_hi"),
                pl.lit(h[0], dtype=pl.Int64).alias("h_lo"),
                pl.lit(h[1], dtype=pl.Int64).alias("h_hi"),
            )
        )
    inst = pl.concat([inst_c, *q_frames])
    return (
        inst.join(contrats.select("code_contrat", "date_debut", "date_signature", "libelle"), on="code_contrat")
        .with_columns(
            pl.concat_str(
                [
                    pl.lit("I-"),
                    pl.col("code_qp").fill_null(pl.col("code_contrat")),
                    pl.lit("-"),
                    pl.col("type_instance").replace_strict(
                        {t: t[:4].upper().replace("É", "E").replace(" ", "") for t in model.TYPES_INSTANCE}
                    ),
                ]
            ).alias("code_instance"),
            pl.when(pl.col("code_qp").is_null())
            .then(
                pl.col("lab")
                + pl.lit(" — ")
                + pl.col("libelle").str.replace(r"^Contrat de ville (de la |de |du )?", "")
            )
            .otherwise(pl.col("lab"))
            .alias("libelle_instance"),
            pl.col("date_debut").alias("date_creation"),
        )
        .sort("code_instance")
    )


def _calendar(years: range) -> pl.DataFrame:
    rows = []
    for y in years:
        for t, saison, event, lo, hi, objet in _CALENDRIER:
            annee = y - 1 if event == "consultation conseils citoyens" else y
            rows.append((t, saison, event, annee, date(y, *lo), date(y, *hi), objet.format(y=y, n=y + 1, p=y - 1)))
    return pl.DataFrame(
        rows,
        schema={
            "type_instance": pl.String,
            "saison": pl.String,
            "evenement": pl.String,
            "annee": pl.Int64,
            "lo": pl.Date,
            "hi": pl.Date,
            "objet": pl.String,
        },
        orient="row",
    )


def _gouvernance(rng, contrats, quartiers, actions, scale: Scale):
    ref = _days(scale.reference_date)
    horizon = _days(scale.meetings_until)
    inst = _instances(rng, contrats, quartiers)
    ni = inst.height
    saison = pl.DataFrame(
        {"code_contrat": contrats["code_contrat"], "saison": _choice(rng, SAISONS_RAPPORT, contrats.height).astype(str)}
    )
    # Some instances stop meeting some months before « données au »: they are the late ones (at
    # least one COTECH in the demo); their planned meetings stay on the calendar.
    stop_late = rng.random(ni) < 0.15
    if scale.name == "demo":
        stop_late[inst["type_instance"].to_numpy() == "COTECH"] = False
        stop_late[np.flatnonzero(inst["type_instance"].to_numpy() == "COTECH")[-1]] = True
    cad = inst["cadence_mois"].to_numpy()
    stop_day = np.where(stop_late, ref - (cad * 30.4 + 60 + rng.integers(30, 200, ni)).astype(int), 10**6)
    start = inst["date_creation"].cast(pl.Int32).to_numpy().astype(np.int64) + rng.integers(5, 30, ni)
    inst = inst.with_columns(
        pl.Series("i", np.arange(ni)),
        pl.Series("start", start),
        pl.Series("stop_day", stop_day),
        pl.col("date_debut").dt.year().cast(pl.Int64).alias("annee_debut"),
    ).join(saison, on="code_contrat", maintain_order="left")

    # The year's calendar for each instance, then the COPIL's session where the contract is signed.
    cal = _calendar(range(2024, scale.meetings_until.year + 1))
    slots = (
        inst.select("i", "code_contrat", "type_instance", "saison", "annee_debut")
        .join(cal.rename({"saison": "saison_cal"}), on="type_instance")
        .filter(pl.col("saison_cal").is_null() | (pl.col("saison_cal") == pl.col("saison")))
        .sort("i", "lo", "objet")
    )
    u = rng.random(slots.height)
    lo = slots["lo"].cast(pl.Int32).to_numpy().astype(np.int64)
    hi = slots["hi"].cast(pl.Int32).to_numpy().astype(np.int64)
    slots = slots.with_columns(pl.Series("day", lo + (u * (hi - lo + 1)).astype(np.int64)))
    # A contract has no rapport annuel for the years before it started: that session is ordinary.
    no_report = (pl.col("evenement") == "consultation conseils citoyens") & (pl.col("annee") < pl.col("annee_debut"))
    slots = slots.with_columns(
        pl.when(no_report).then(None).otherwise(pl.col("evenement")).alias("evenement"),
        pl.when(no_report).then(pl.lit("Réunion plénière")).otherwise(pl.col("objet")).alias("objet"),
    )
    # (a store keeps no meeting before the contract starts: a contract signed earlier has none)
    signature = inst.filter(
        (pl.col("type_instance") == "COPIL") & (pl.col("date_signature") >= pl.col("date_debut"))
    ).select(
        "i",
        pl.lit("signature").alias("evenement"),
        pl.col("date_signature").dt.year().cast(pl.Int64).alias("annee"),
        pl.lit(EVENEMENTS["signature"][1]).alias("objet"),
        pl.col("date_signature").cast(pl.Int32).cast(pl.Int64).alias("day"),
    )
    cols = ["i", "evenement", "annee", "objet", "day"]
    slots = pl.concat([slots.select(cols), signature.select(cols)])
    i = slots["i"].to_numpy()
    day = slots["day"].to_numpy()
    is_sign = (slots["evenement"] == "signature").fill_null(False).to_numpy()
    keep = (day <= horizon) & (is_sign | (day >= start[i])) & (is_sign | (day <= stop_day[i]) | (day > ref))
    slots = slots.filter(pl.Series(keep))
    i, day = slots["i"].to_numpy(), slots["day"].to_numpy()
    is_sign = (slots["evenement"] == "signature").fill_null(False).to_numpy()
    u = rng.random(slots.height)
    statut = np.where(
        day > ref,
        "prévue",
        np.where(is_sign | (u < _TENUE), "tenue", np.where(u < _TENUE + _ANNULEE, "annulée", "reportée")),
    )
    # A postponed meeting is followed by its rescheduled session (cancelled after all when the
    # instance stopped meeting meanwhile).
    postponed = slots.filter(pl.Series(statut == "reportée"))
    pi = postponed["i"].to_numpy()
    pday = postponed["day"].to_numpy() + rng.integers(*_REPORT_DAYS, postponed.height)
    pu = rng.random(postponed.height)
    pstatut = np.where(pday > ref, "prévue", np.where((pday > stop_day[pi]) | (pu >= 0.92), "annulée", "tenue"))
    meetings = pl.concat(
        [
            slots.with_columns(pl.Series("statut", statut)),
            postponed.with_columns(pl.Series("day", pday), pl.Series("statut", pstatut)),
        ]
    )
    meetings = meetings.sort("i", "day", "objet").with_columns((pl.int_range(pl.len()).over("i") + 1).alias("k"))
    ii = meetings["i"].to_numpy()
    held = (meetings["statut"] == "tenue").to_numpy()
    participants = rng.integers(inst["p_lo"].to_numpy()[ii], inst["p_hi"].to_numpy()[ii] + 1)
    habitants = np.minimum(rng.integers(inst["h_lo"].to_numpy()[ii], inst["h_hi"].to_numpy()[ii] + 1), participants)
    meetings = meetings.with_columns(
        pl.Series("code_instance", inst["code_instance"].to_numpy()[ii], dtype=pl.String),
        pl.Series("code_contrat", inst["code_contrat"].to_numpy()[ii], dtype=pl.String),
        _as_date(meetings["day"]).alias("date_reunion"),
        pl.Series("nb_participants", np.where(held, participants, -1)).replace(-1, None),
        pl.Series("nb_habitants", np.where(held, habitants, -1)).replace(-1, None),
    )
    meetings = meetings.with_columns(
        pl.format("R-{}-{}", pl.col("code_instance"), pl.col("k").cast(pl.String).str.zfill(3)).alias("id_reunion")
    )
    reunion = meetings.select(
        "id_reunion",
        "code_instance",
        "date_reunion",
        "statut",
        "nb_participants",
        "nb_habitants",
        "objet",
        pl.lit(None, dtype=pl.String).alias("lien_compte_rendu"),
    ).sort("id_reunion")
    # The events the jalons stand for: first scheduled date, first held one (None: not held yet).
    evenement = (
        meetings.filter(pl.col("evenement").is_not_null())
        .group_by("code_contrat", pl.col("evenement").alias("type_jalon"), "annee")
        .agg(
            pl.col("date_reunion").min().alias("date_prevue"),
            pl.col("date_reunion").filter(pl.col("statut") == "tenue").min().alias("date_realisation"),
        )
        .sort("code_contrat", "type_jalon", "annee")
    )
    instance = inst.select(
        "code_instance",
        "code_contrat",
        "code_qp",
        "type_instance",
        pl.col("libelle_instance").alias("libelle"),
        "cadence_mois",
        "date_creation",
    )

    # Decisions of the held deciding meetings.
    deciding = (
        reunion.join(instance.select("code_instance", "type_instance", "code_contrat"), on="code_instance")
        .filter(
            (pl.col("statut") == "tenue")
            & pl.col("type_instance").is_in(["COPIL", "COTECH", "comité des financeurs", "revue de projet de quartier"])
        )
        .sort("id_reunion")
    )
    nd = rng.integers(1, 4, deciding.height)
    di = np.repeat(np.arange(deciding.height), nd)
    nd_total = len(di)
    due = (
        (deciding["date_reunion"].cast(pl.Int32).to_numpy().astype(np.int64)[di] + rng.integers(30, 180, nd_total))
        if nd_total
        else np.array([], dtype=int)
    )
    overdue = due < ref
    u = rng.random(nd_total)
    dstat = np.where(
        overdue,
        np.where(u < 0.8, "faite", np.where(u < 0.87, "en cours", np.where(u < 0.95, "à faire", "abandonnée"))),
        np.where(u < 0.5, "à faire", np.where(u < 0.9, "en cours", "faite")),
    )
    decision = pl.DataFrame(
        {
            "id_decision": pl.select(
                pl.format(
                    "D-{}-{}",
                    deciding["id_reunion"].gather(di).str.slice(2),
                    pl.Series(_rank_within(di)).cast(pl.String),
                )
            ).to_series(),
            "id_reunion": deciding["id_reunion"].to_numpy()[di],
            "libelle": _choice(rng, _DECISIONS, nd_total),
            "responsable": _choice(rng, _OWNERS, nd_total),
            "date_echeance": _as_date(due),
            "statut": dstat,
            "code_contrat": deciding["code_contrat"].to_numpy()[di],
        }
    )
    linked = decision.filter(pl.Series(rng.random(nd_total) < 0.3))
    act_by_contract = actions.select("code_contrat", "code_action").with_columns(
        pl.int_range(pl.len()).over("code_contrat").cast(pl.UInt32).alias("a_i"),
        pl.len().over("code_contrat").cast(pl.UInt32).alias("a_n"),
    )
    a_n = act_by_contract.group_by("code_contrat").agg(pl.col("a_n").first())
    decision_action = (
        linked.join(a_n, on="code_contrat")
        .sort("id_decision")
        .with_columns(pl.Series("u", rng.random(linked.height)))
        .with_columns((pl.col("u") * pl.col("a_n")).floor().cast(pl.UInt32).alias("a_i"))
        .join(act_by_contract.drop("a_n"), on=["code_contrat", "a_i"])
        .select("id_decision", "code_action")
        .sort("id_decision")
    )
    return (
        instance,
        reunion,
        decision.drop("code_contrat").sort("id_decision"),
        decision_action,
        evenement,
        saison.sort("code_contrat"),
    )


def generate(rng: np.random.Generator, frames: dict[str, pl.DataFrame], scale: Scale) -> dict[str, pl.DataFrame]:
    instance, reunion, decision, decision_action, evenement, saison = _gouvernance(
        rng, frames["contrat"], frames["quartier"], frames["action"], scale
    )
    return {
        "instance": instance,
        "reunion": reunion,
        "decision": decision,
        "decision_action": decision_action,
        "_evenement": evenement,
        "_saison_rapport": saison,
    }
