"""Rules of the contract over typed rows: the years and dates of actions, programmation and
financements inside the contract's period (`period_problems`), the QPV and objectives of a row
belonging to the row's contract (`other_contract_problems`)."""

from __future__ import annotations

import polars as pl

from cdv_core.ingest.model import ERROR, LINE, WARNING, rows_problem
from cdv_core.ingest.numbers import number_as_typed
from cdv_core.ingest.spec_types import Kind

# Dates of actions and financements checked against the contract's period, with a slack in
# years (before the start, after the end): a request or a decision often precedes the period
# (call for projects of year N-1), a payment, a status point or the end of an action often
# follows it (balance paid in N+1). Outside → warning (the store accepts it). Years (annee…)
# outside the period → error: the store's integrity rules refuse them anyway.
PERIOD_YEAR_COLUMNS = ("annee_debut", "annee_fin", "annee")


PERIOD_DATE_SLACK_YEARS: dict[str, tuple[int, int]] = {
    "date_debut": (0, 0),
    "date_fin": (0, 1),
    "date_statut": (0, 1),
    "date_decision": (1, 0),
    "date_demande": (1, 0),
    "date_versement": (0, 1),
}


_PERIOD_KINDS = ("actions", "programmation", "financements")


def period_problems(cur, spec: Kind, frame: pl.DataFrame, fichier: str) -> list[pl.DataFrame]:
    if spec.code not in _PERIOD_KINDS:
        return []
    years = [c for c in PERIOD_YEAR_COLUMNS if c in frame.columns]
    dates = [c for c in PERIOD_DATE_SLACK_YEARS if c in frame.columns]
    if spec.code == "financements":
        if "code_action" not in frame.columns:
            return []
        periods = cur.execute(
            "SELECT a.code_action, c.date_debut AS _debut, c.date_fin AS _fin "
            "FROM action a JOIN contrat c USING (code_contrat)"
        ).pl()
        on = "code_action"
    else:
        if "code_contrat" not in frame.columns:
            return []
        periods = cur.execute("SELECT code_contrat, date_debut AS _debut, date_fin AS _fin FROM contrat").pl()
        on = "code_contrat"
    rows = (
        frame.select(LINE, pl.col(on).cast(pl.String), *years, *dates)
        .join(periods, on=on, how="inner")
        .with_columns(pl.col("_debut").dt.year().alias("_an_debut"), pl.col("_fin").dt.year().alias("_an_fin"))
    )
    out = []
    year_period = pl.format("période du contrat : {}–{}", pl.col("_an_debut"), pl.col("_an_fin"))
    for c in years:
        bad = rows.filter(((pl.col(c) < pl.col("_an_debut")) | (pl.col(c) > pl.col("_an_fin"))).fill_null(False))
        if bad.height:
            out.append(
                rows_problem(
                    bad,
                    fichier,
                    c,
                    number_as_typed(pl.col(c)),
                    pl.format("Année hors de la période du contrat ({})", year_period),
                    pl.format("Une année de {} à {}", pl.col("_an_debut"), pl.col("_an_fin")),
                    ERROR,
                )
            )
    day = "%d/%m/%Y"
    date_period = pl.format(
        "période du contrat : du {} au {}", pl.col("_debut").dt.strftime(day), pl.col("_fin").dt.strftime(day)
    )
    for c in dates:
        before, after = PERIOD_DATE_SLACK_YEARS[c]
        low = pl.col("_debut").dt.offset_by(f"-{before}y") if before else pl.col("_debut")
        high = pl.col("_fin").dt.offset_by(f"{after}y") if after else pl.col("_fin")
        plausible = pl.col(c).dt.year().is_between(1990, 2100)  # the others already have their error
        bad = rows.filter((plausible & ((pl.col(c) < low) | (pl.col(c) > high))).fill_null(False))
        if bad.height:
            slack = (
                f" (tolérance : {before} an avant le début)"
                if before
                else f" (tolérance : {after} an après la fin)"
                if after
                else ""
            )
            out.append(
                rows_problem(
                    bad,
                    fichier,
                    c,
                    pl.col(c).dt.strftime(day),
                    pl.format("Date hors de la période du contrat ({})", date_period),
                    pl.lit(
                        "Une date dans la période du contrat" + slack + " ; vérifiez la date (avertissement seulement)"
                    ),
                    WARNING,
                )
            )
    return out


# (column of the file, store table, its key, French label) of the codes that must belong to the
# row's contract
_SAME_CONTRACT = (
    ("quartiers", "quartier", "code_qp", "le QPV"),
    ("code_qp", "quartier", "code_qp", "le QPV"),
    ("objectifs", "objectif", "code_objectif", "l'objectif"),
)


_SAME_CONTRACT_KINDS = ("actions", "programmation", "objectifs", "instances", "projets_quartier")


def other_contract_problems(cur, spec: Kind, frame: pl.DataFrame, fichier: str) -> list[pl.DataFrame]:
    """A QPV (or an objective) of another contract than the row's: an error, with both contracts."""
    if spec.code not in _SAME_CONTRACT_KINDS or "code_contrat" not in frame.columns:
        return []
    out = []
    for column, table, key, label in _SAME_CONTRACT:
        if column not in frame.columns:
            continue
        values = frame.select(LINE, pl.col("code_contrat").cast(pl.String), pl.col(column).alias("_code"))
        if isinstance(values.schema["_code"], pl.List):
            values = values.explode("_code")
        owners = cur.execute("SELECT " + key + " AS _code, code_contrat AS _contrat FROM " + table).pl()
        bad = (
            values.drop_nulls("_code")
            .join(owners, on="_code", how="inner")
            .filter(pl.col("_contrat") != pl.col("code_contrat"))
        )
        if bad.height:
            out.append(
                rows_problem(
                    bad,
                    fichier,
                    column,
                    pl.col("_code"),
                    pl.format(
                        label[0].upper() + label[1:] + " {} appartient au contrat {}",
                        pl.col("_code"),
                        pl.col("_contrat"),
                    ),
                    pl.format("Un code du contrat {} (celui de la ligne)", pl.col("code_contrat")),
                    ERROR,
                )
            )
    return out
