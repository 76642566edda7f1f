"""Step 5: the financing lines of each action-year, per financeur.

Money follows people. Each QPV receives a yearly État P147 envelope proportional to its population
(a per-contract rate in € per inhabitant, with a small spread between the QPV of a contract and
between years; ≈ 45 €/hab/an nationally, vocabulaire.md §2), shared among the actions granted in
that QPV that year by their size (the band of their title, the kind of porteur, the mode) and their
part in the QPV. CPO actions keep the same lines and amounts every year of the convention; AAP
grants are rounded like real ones. Actions with no QPV get a small amount, capped per département
below the « poches de pauvreté » limit. Droit commun lines (commune, EPCI, CAF, Département, …)
come alongside in proportion to the P147 line, so that P147 is about 35-50 % of the money.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cdv_core.demo.common import Scale
from cdv_core.domain import model

P147 = model.CREDITS_SPECIFIQUES

# € of P147 per inhabitant and year: one rate per contract (the spread between contracts), times a
# factor per QPV and one per QPV-year (smaller spreads within a contract).
_RATE_MEDIAN, _RATE_SIGMA, _RATE_RANGE = 42.0, 0.28, (28.0, 75.0)
_QPV_SIGMA, _QPV_RANGE = 0.08, (0.85, 1.18)
_YEAR_SIGMA, _YEAR_RANGE = 0.03, (0.95, 1.05)
_HORS_QPV_MAX = 0.018  # hors-QPV P147 per département-year, below model.HORS_QPV_MAX_SHARE (2,5 %)
_AAP_FLOOR = 0.15  # AAP actions of a QPV-year keep at least this share of its envelope
_ALONE_CAP = 3.0  # price of a QPV-year with no AAP action of its own, at most × the contract's median
_P147_SHARE = (0.36, 0.52)  # P147 / all accordé of a contract-year, steered by scaling droit commun lines

# Size of an action (relative P147 amount): the band of its title (`actions._TITLES`, from
# vocabulaire.md §2: XS < 2,5 k€, S 2,5-8 k€, M 8-20 k€, L 20-60 k€, XL > 60 k€).
_BAND = {"XS": 1.5, "S": 4.5, "S-M": 7.0, "M": 12.0, "L": 30.0, "XL": 60.0}
_TYPE_FACTOR = {
    "association sans salarié": 0.4,
    "association avec salariés": 1.0,
    "collectivité": 1.3,
    "établissement public": 1.0,
    "bailleur": 0.8,
    "entreprise": 0.8,
    "autre": 0.7,
}
_MODE_FACTOR = {"CPO": 1.7, "investissement": 1.5}

# Droit commun, per financeur: probability of a line on an action (by thématique prefix when
# listed, else `*`) and its amount as a ratio to the action's P147 amount. Calibrated so that
# P147 ≈ 35-50 % of all accordé, commune + EPCI 30-45 %, CAF 5-15 %, Département + Région 5-10 %,
# each other financeur < 5 % (vocabulaire.md §2, « Répartition par financeur »).
_DROIT_COMMUN = [  # financeur, {thématique or "*": probability}, ratio to P147
    ("commune", {"*": 0.50}, 0.70),
    ("EPCI", {"*": 0.30, "4.1": 0.9, "4.2": 0.6, "2.1": 0.5}, 0.80),
    ("CAF", {"*": 0.08, "1.1": 0.55, "1.3": 0.65, "1.5a": 0.45, "4.1": 0.0, "4.2": 0.0}, 0.60),
    ("département", {"*": 0.08, "3.2": 0.45, "1.3": 0.3, "2.1": 0.25}, 0.55),
    ("région", {"*": 0.03, "2.1": 0.35, "2.2": 0.35, "1.4": 0.2}, 0.6),
    ("État droit commun", {"*": 0.04, "1.1": 0.12, "1.2": 0.15, "1.4": 0.15, "2.1": 0.12}, 0.5),
    ("bailleurs", {"*": 0.02, "3.1": 0.40, "3.2": 0.25}, 0.6),
    ("FSE+", {"*": 0.0, "2.1": 0.07}, 1.2),
    ("Banque des territoires", {"*": 0.0, "4.2": 0.12, "2.2": 0.08}, 1.2),
    ("autres", {"*": 0.04}, 0.4),
]
_DC_SIGMA = 0.45  # spread of one droit-commun line around its ratio
_DC_CONTRACT_SIGMA = 0.12  # spread of a contract's droit-commun effort


def _round_grant(x: pl.Expr) -> pl.Expr:
    """Amounts as real grants are written: to 100 € below 10 000 €, to 500 € above, at least 500 €."""
    return (pl.when(x >= 10_000).then((x / 500).round(0) * 500).otherwise((x / 100).round(0) * 100)).clip(500, None)


def _lognormal_clipped(rng, n: int, median: float, sigma: float, bounds: tuple[float, float]) -> np.ndarray:
    return np.clip(median * rng.lognormal(0.0, sigma, n), *bounds)


def _weights(rng, actions: pl.DataFrame) -> pl.DataFrame:
    """One row per action: its relative size `w` and whether it has a P147 line."""
    n = actions.height
    collectivite = (actions["type_structure"] == "collectivité").to_numpy()
    has_p147 = rng.random(n) < np.where(collectivite, 0.75, 0.95)
    return actions.select(
        "code_action",
        (
            pl.col("taille").replace_strict(_BAND, return_dtype=pl.Float64)
            * pl.col("type_structure").replace_strict(_TYPE_FACTOR, default=1.0, return_dtype=pl.Float64)
            * pl.col("mode_financement").replace_strict(_MODE_FACTOR, default=1.0, return_dtype=pl.Float64)
            * pl.Series(rng.lognormal(0.0, 0.35, n))
        ).alias("w"),
        pl.Series("has_p147", has_p147),
    )


def _p147(rng, ay: pl.DataFrame, links: pl.DataFrame, quartiers: pl.DataFrame, contrats: pl.DataFrame) -> pl.DataFrame:
    """P147 basis of each action-year (`base`, the amount granted when the action-year is granted
    and has a P147 line, else the amount the action would have had)."""
    years = sorted(ay["annee"].unique().to_list())
    codes = contrats["code_contrat"].to_numpy()
    rate = dict(zip(codes, _lognormal_clipped(rng, len(codes), _RATE_MEDIAN, _RATE_SIGMA, _RATE_RANGE)))
    q = quartiers.with_row_index("qid").select("qid", "code_contrat", pl.col("population").cast(pl.Float64))
    qid = quartiers.select("code_qp").with_row_index("qid")
    links = (
        links.join(ay.select("code_action", "aid").unique(), on="code_action")
        .join(qid, on="code_qp")
        .select("aid", "qid", "part")
    )
    q = q.with_columns(
        pl.col("code_contrat").replace_strict(rate, default=_RATE_MEDIAN).alias("rate"),
        pl.Series("q_f", _lognormal_clipped(rng, q.height, 1.0, _QPV_SIGMA, _QPV_RANGE)),
    )
    qy = (
        q.join(pl.DataFrame({"annee": years}, schema={"annee": pl.Int64}), how="cross")
        .sort("qid", "annee")
        .with_columns(pl.Series("y_f", _lognormal_clipped(rng, q.height * len(years), 1.0, _YEAR_SIGMA, _YEAR_RANGE)))
        .with_columns((pl.col("population") * pl.col("rate") * pl.col("q_f") * pl.col("y_f")).alias("env"))
        .select("qid", "code_contrat", "annee", "env")
    )

    # Granted action-year links to a QPV, priced at the QPV-year's envelope per unit of weight
    # (weights counted by part, as the screens count money per QPV).
    g = (
        ay.filter(pl.col("granted") & pl.col("has_p147"))
        .join(links, on="aid")
        .select("aid", "annee", "qid", "part", "w", "cpo", pl.len().over("aid", "annee").alias("n_q"))
    )
    qy = qy.join(
        g.group_by("qid", "annee").agg((pl.col("w") * pl.col("part")).sum().alias("wp")),
        on=["qid", "annee"],
        how="left",
    ).with_columns((pl.col("env") / pl.col("wp")).alias("price"))
    qy = qy.with_columns(pl.col("price").median().over("code_contrat", "annee").alias("c_med"))
    g = g.join(qy.select("qid", "annee", "env", "price", "c_med"), on=["qid", "annee"])
    # Fixed amounts first. An action shared by two QPV takes the lower price of the two (so it
    # never carries into a small QPV more than that QPV's price), or the price of a QPV that has no
    # single-QPV AAP action that year (so that QPV still gets its envelope). A CPO keeps one amount
    # over its years: the price of its first year, or the highest price of a year where its QPV
    # depends on it alone. Both are then scaled down, one factor per action, where they would take
    # more than the envelope (less a floor left to the AAP actions).
    single_aap = ~pl.col("cpo") & (pl.col("n_q") == 1)
    g = g.with_columns(single_aap.any().over("qid", "annee").alias("has_aap"))
    fixed = ~single_aap
    # (A QPV with one or two actions a year cannot receive its envelope without implausible
    # grants: the price of a QPV alone is capped at `_ALONE_CAP` times the contract's median.)
    alone = pl.when(~pl.col("has_aap")).then(pl.min_horizontal("price", _ALONE_CAP * pl.col("c_med")))
    cpo = (
        g.filter(pl.col("cpo"))
        .group_by("aid", "qid")
        .agg(
            pl.max_horizontal(pl.col("price").sort_by("annee").first(), alone.max()).alias("p_cpo"),
            (~pl.col("has_aap")).any().alias("alone"),
            pl.col("w").first(),
        )
        .group_by("aid")
        .agg(
            (
                pl.col("w").first() * pl.coalesce(pl.col("p_cpo").filter(pl.col("alone")).min(), pl.col("p_cpo").min())
            ).alias("x_cpo")
        )
    )
    g = g.join(cpo, on="aid", how="left").with_columns(
        pl.when(pl.col("cpo"))
        .then(pl.col("x_cpo"))
        .when(fixed)
        .then(pl.col("w") * pl.coalesce(alone.min().over("aid", "annee"), pl.col("price").min().over("aid", "annee")))
        .alias("x")
    )
    per_qy = g.group_by("qid", "annee").agg((pl.col("x") * pl.col("part")).sum().alias("s"))
    room = pl.when(pl.col("has_aap")).then(1 - _AAP_FLOOR).otherwise(1.0)
    cap = (
        g.join(per_qy, on=["qid", "annee"])
        .with_columns(pl.min_horizontal(1.0, room * pl.col("env") / pl.col("s")).fill_nan(1.0).alias("f"))
        .group_by("aid")
        .agg(pl.col("f").min().alias("f"))
    )
    g = g.join(cap, on="aid", how="left").with_columns((pl.col("x") * pl.col("f").fill_null(1.0)).alias("x"))
    # The AAP actions of one QPV share what is left of the envelope, by weight.
    left = g.group_by("qid", "annee").agg(
        (pl.col("env").first() - (pl.col("x") * pl.col("part")).sum()).alias("left"),
        pl.col("w").filter(single_aap).sum().alias("w_aap"),
    )
    g = g.join(left, on=["qid", "annee"]).with_columns(
        pl.when(single_aap).then(pl.col("w") * pl.col("left") / pl.col("w_aap")).otherwise(pl.col("x")).alias("x")
    )
    # A QPV-year with no AAP action of its own and short of its envelope: its shared AAP actions
    # (one year only, so nothing steady to keep) are raised, at most fourfold.
    shared_aap = ~pl.col("cpo") & (pl.col("n_q") > 1)
    short = (
        g.group_by("qid", "annee")
        .agg(
            (0.85 * pl.col("env").first() - (pl.col("x") * pl.col("part")).sum()).alias("gap"),
            (pl.col("x") * pl.col("part")).filter(shared_aap).sum().alias("raisable"),
            pl.col("has_aap").first(),
        )
        .filter(~pl.col("has_aap") & (pl.col("gap") > 0) & (pl.col("raisable") > 0))
        .select("qid", "annee", (1 + pl.col("gap") / pl.col("raisable")).clip(1.0, 4.0).alias("raise"))
    )
    raise_ = g.filter(shared_aap).join(short, on=["qid", "annee"]).group_by("aid", "annee").agg(pl.col("raise").min())
    g = g.join(raise_, on=["aid", "annee"], how="left").with_columns(
        (pl.col("x") * pl.col("raise").fill_null(1.0)).alias("x")
    )
    granted = g.group_by("aid", "annee").agg(pl.col("x").first().alias("granted_amount"))

    # What any other action-year would have had: its weight at the median price of its QPV, at most
    # twice the contract's (a QPV with few actions has a high price per weight), or half the
    # contract's for hors-QPV actions.
    q_price = qy.group_by("qid", "code_contrat").agg(pl.col("price").median())
    c_price = q_price.group_by("code_contrat").agg(pl.col("price").median().alias("c_price"))
    fallback = float(c_price.select(pl.col("c_price").median()).item() or 1000.0)
    a_price = (
        links.join(q_price, on="qid", how="left")
        .group_by("aid")
        .agg((pl.col("part") * pl.col("price")).sum().alias("a_price"))
    )
    ay = (
        ay.join(a_price, on="aid", how="left")
        .join(c_price, on="code_contrat", how="left")
        .with_columns(pl.col("c_price").fill_null(fallback))
        .with_columns(
            pl.when(pl.col("hors_qpv_link"))
            .then(0.5 * pl.col("c_price"))
            .otherwise(
                pl.min_horizontal(
                    2 * pl.col("c_price"),
                    pl.coalesce(pl.when(pl.col("a_price") > 0).then(pl.col("a_price")), "c_price"),
                )
            )
            .alias("unit")
        )
        .join(granted, on=["aid", "annee"], how="left")
        .with_columns(pl.coalesce("granted_amount", pl.col("w") * pl.col("unit")).alias("base"))
    )

    # Hors-QPV P147 kept under the cap in each département-year: one factor per département over
    # all years, so CPO amounts stay steady.
    dep = dict(zip(contrats["code_contrat"], contrats["insee_dep"]))
    ay = ay.with_columns(pl.col("code_contrat").replace_strict(dep, default=None).alias("dep"))
    in_qpv = (
        ay.filter(pl.col("granted") & pl.col("has_p147") & ~pl.col("hors_qpv_link"))
        .group_by("dep", "annee")
        .agg(pl.col("base").sum().alias("qpv"))
    )
    hors = (
        ay.filter(pl.col("granted") & pl.col("has_p147") & pl.col("hors_qpv_link"))
        .group_by("dep", "annee")
        .agg(pl.col("base").sum().alias("hors"))
    )
    factor = (
        hors.join(in_qpv, on=["dep", "annee"], how="left")
        .with_columns((_HORS_QPV_MAX * pl.col("qpv").fill_null(0) / pl.col("hors")).alias("f"))
        .group_by("dep")
        .agg(pl.col("f").min().clip(None, 1.0).alias("dep_f"))
    )
    return ay.join(factor, on="dep", how="left").with_columns(
        pl.when(pl.col("hors_qpv_link"))
        .then(pl.col("base") * pl.col("dep_f").fill_null(1.0))
        .otherwise(pl.col("base"))
        .alias("base")
    )


def _steer(lines: pl.DataFrame, keys: list[str], scaled: pl.Expr, clip: tuple[float, float]) -> pl.DataFrame:
    """Scale the droit commun lines selected by `scaled`, one factor per `keys` group, so that
    P147 makes `_P147_SHARE` of what the group's granted lines (all of them) add up to."""
    lo, hi = _P147_SHARE
    dc = pl.col("financeur") != P147
    sums = (
        lines.filter(pl.col("granted"))
        .group_by(keys)
        .agg(
            pl.col("amount").filter(~dc).sum().alias("p"),
            pl.col("amount").filter(dc & ~scaled).sum().alias("d_fixed"),
            pl.col("amount").filter(dc & scaled).sum().alias("d_scaled"),
        )
    )
    share = pl.col("p") / (pl.col("p") + pl.col("d_fixed") + pl.col("d_scaled"))
    wanted = pl.when(share < lo).then(pl.col("p") * (1 - lo) / lo).when(share > hi).then(pl.col("p") * (1 - hi) / hi)
    factor = sums.select(
        *keys, ((wanted - pl.col("d_fixed")) / pl.col("d_scaled")).clip(*clip).fill_nan(None).alias("steer")
    )
    return (
        lines.join(factor, on=keys, how="left", maintain_order="left")
        .with_columns(
            pl.when(dc & scaled & pl.col("steer").is_not_null())
            .then(pl.col("amount") * pl.col("steer"))
            .otherwise(pl.col("amount"))
            .alias("amount")
        )
        .drop("steer")
    )


def _steer_droit_commun(lines: pl.DataFrame) -> pl.DataFrame:
    """Bring P147 within `_P147_SHARE` of what each contract-year grants: first the CPO of each
    contract on their own, one factor over all years (so they stay steady), then the AAP actions
    of each contract-year."""
    cpo = _steer(lines.with_columns(pl.col("granted") & pl.col("cpo")), ["code_contrat"], pl.col("cpo"), (0.25, 4.0))
    cpo = cpo.with_columns(lines["granted"])
    return _steer(cpo, ["code_contrat", "annee"], ~pl.col("cpo"), (0.2, 6.0))


def _financements(
    rng, actions: pl.DataFrame, links: pl.DataFrame, quartiers: pl.DataFrame, contrats: pl.DataFrame, scale: Scale
) -> pl.DataFrame:
    ref = scale.reference_date
    actions = (
        actions.join(_weights(rng, actions), on="code_action")
        .sort("code_action")
        .with_row_index("aid")
        .with_columns(
            (pl.col("mode_financement") == "CPO").alias("cpo"),
            ~pl.col("code_action").is_in(links["code_action"].unique().implode()).alias("hors_qpv_link"),
        )
    )
    ay = (
        actions.select(
            "aid",
            "code_action",
            "code_contrat",
            "annee_debut",
            "annee_fin",
            "statut",
            "date_decision",
            "thematique",
            "type_structure",
            "w",
            "has_p147",
            "cpo",
            "hors_qpv_link",
        )
        .with_columns(pl.int_ranges("annee_debut", pl.col("annee_fin") + 1).alias("annee"))
        .explode("annee")
        .with_columns(
            (~pl.col("statut").is_in(["refusée", "déposée"]) & (pl.col("annee") <= ref.year)).alias("granted")
        )
    )
    ay = _p147(rng, ay, links, quartiers, contrats)

    # Lines per action (drawn once per action: a CPO keeps its financeurs and amounts every year).
    a = actions.select("code_action", "code_contrat", "thematique", "type_structure", "has_p147", "cpo")
    n = a.height
    theme = a["thematique"].to_numpy()
    collectivite = (a["type_structure"] == "collectivité").to_numpy()
    cpo = a["cpo"].to_numpy()
    c_codes = contrats["code_contrat"].to_numpy()
    effort = dict(zip(c_codes, rng.lognormal(0.0, _DC_CONTRACT_SIGMA, len(c_codes))))
    c_effort = a["code_contrat"].replace_strict(effort, default=1.0, return_dtype=pl.Float64).to_numpy()
    parts = [
        pl.DataFrame(
            {
                "code_action": a["code_action"],
                "financeur": P147,
                "ratio": 1.0,
                "present": a["has_p147"],
                "dem_u": rng.uniform(0.75, 1.0, n),
            }
        )
    ]
    for financeur, probs, ratio in _DROIT_COMMUN:  # a handful of financeurs
        prob = (
            pl.Series(theme)
            .replace_strict({k: v for k, v in probs.items() if k != "*"}, default=probs["*"], return_dtype=pl.Float64)
            .to_numpy()
        )
        r = np.full(n, ratio)
        if financeur == "commune":  # a commune carrying the action puts its own money in it
            prob, r = np.where(collectivite, 0.95, prob), np.where(collectivite, 1.2, r)
        if financeur in ("commune", "EPCI"):  # a CPO is nearly always co-signed by the commune or EPCI
            prob = np.where(cpo, np.maximum(prob, 0.8 if financeur == "commune" else 0.5), prob)
        present = rng.random(n) < prob
        if financeur == "commune":  # no P147: the commune pays
            present |= ~a["has_p147"].to_numpy()
            r = np.where(a["has_p147"].to_numpy(), r, 1.2)
        mult = c_effort if financeur in ("commune", "EPCI") else 1.0
        parts.append(
            pl.DataFrame(
                {
                    "code_action": a["code_action"],
                    "financeur": financeur,
                    "ratio": r * mult * rng.lognormal(-(_DC_SIGMA**2) / 2, _DC_SIGMA, n),
                    "present": present,
                    "dem_u": rng.uniform(0.72, 1.0, n),
                }
            )
        )
    per_action = pl.concat(parts).filter(pl.col("present")).drop("present")

    lines = (
        ay.select(
            "code_action",
            "code_contrat",
            "annee",
            "annee_debut",
            "statut",
            "base",
            "cpo",
            "granted",
            pl.col("date_decision").alias("action_decision"),
        )
        .join(per_action, on="code_action")
        .sort("code_action", "annee", "financeur")
        .with_columns((pl.col("base") * pl.col("ratio")).alias("amount"))
    )
    lines = _steer_droit_commun(lines)
    m = lines.height
    lines = lines.with_columns(
        pl.Series("u_paid", rng.random(m)),
        pl.Series("pay_delay", rng.integers(20, 110, m)),
        pl.Series("dem_delay", rng.integers(0, 45, m)),
        pl.Series("dec_delay", rng.integers(0, 90, m)),
    )
    raw = _round_grant(pl.col("amount"))
    lines = lines.with_columns(raw.alias("accorde_raw")).with_columns(
        # A request above what is granted, written to the ten euros.
        pl.max_horizontal((pl.col("accorde_raw") / pl.col("dem_u") / 10).round(0) * 10, "accorde_raw").alias("demande")
    )
    refused = pl.col("statut") == "refusée"
    pending = pl.col("statut") == "déposée"
    decision = (
        pl.when(pending)
        .then(None)
        .when(pl.col("annee") == pl.col("annee_debut"))
        .then(pl.col("action_decision"))
        .otherwise(pl.date(pl.col("annee"), 2, 15) + pl.duration(days=pl.col("dec_delay")))
    )
    lines = lines.with_columns(decision.alias("date_decision")).with_columns(
        pl.when(pl.col("date_decision") > pl.lit(ref))
        .then(None)
        .otherwise(pl.col("date_decision"))
        .alias("date_decision")
    )
    accorde = (
        pl.when(pending | pl.col("date_decision").is_null())
        .then(None)
        .when(refused)
        .then(0.0)
        .otherwise(pl.col("accorde_raw"))
    )
    payable = pl.col("date_decision").is_not_null() & (
        pl.col("date_decision") + pl.duration(days=pl.col("pay_delay")) <= pl.lit(ref)
    )
    u = pl.col("u_paid")
    # A few lines paid above what was granted (the screens' « versé > accordé » warning): about
    # one in a hundred, and at least one per contract.
    candidate = payable & ~pending & ~refused & (pl.col("accorde_raw") > 0) & (u >= 0.085)
    overpaid = candidate & ((u < 0.095) | (u == pl.when(candidate).then(u).min().over("code_contrat")))
    verse = (
        pl.when(pending | refused | pl.col("date_decision").is_null())
        .then(None)
        .when(~payable)
        .then(0.0)
        .when(u < 0.035)
        .then(0.0)  # granted, never paid
        .when(u < 0.085)
        .then((pl.col("accorde_raw") * 0.08).round(0) * 10)  # advance only
        .when(overpaid)
        .then((pl.col("accorde_raw") * 0.105).round(0) * 10)  # versé > accordé (warning)
        .otherwise(pl.col("accorde_raw"))
    )
    lines = lines.with_columns(accorde.alias("montant_accorde"), verse.alias("montant_verse")).with_columns(
        pl.col("demande").alias("montant_demande"),
        (pl.date(pl.col("annee") - 1, 11, 1) + pl.duration(days=pl.col("dem_delay"))).alias("date_demande"),
        pl.when(pl.col("montant_verse") > 0)
        .then(pl.col("date_decision") + pl.duration(days=pl.col("pay_delay")))
        .otherwise(None)
        .alias("date_versement"),
    )
    return lines.select(
        "code_action",
        "financeur",
        "annee",
        "montant_demande",
        "montant_accorde",
        "montant_verse",
        "date_demande",
        "date_decision",
        "date_versement",
    ).sort("code_action", "annee", "financeur")


def generate(rng: np.random.Generator, frames: dict[str, pl.DataFrame], scale: Scale) -> dict[str, pl.DataFrame]:
    return {
        "financement": _financements(
            rng, frames["_action_detail"], frames["action_quartier"], frames["quartier"], frames["contrat"], scale
        )
    }
