"""Statistical secret: what a partenaire sees and what a publishable export contains.

Two rules, applied to the frames a view or an export shows:

- **No names of people.** Columns holding a person's name (a decision's owner, a post's
  holder, an elected referent, a roadmap item's owner) are removed (`remove_names`).
- **Small counts of people are masked** (`mask_counts`): a count of people below the threshold
  (`CDV_SEUIL_SECRET`, default 11; zero included) shows as « < 11 ». *Secondary masking*, as
  INSEE practises it: when a group of cells adds up to a total shown on the same view and exactly
  one of its cells is masked, the smallest other cell of the group is masked as well (it reads
  « secret »: it is not below the threshold), so that the masked value cannot be recovered by
  subtracting the shown cells from the total; a group with no other cell to mask has its total
  masked instead (`masked_total`).

Counts of people: meeting participants and residents present, posts of the team (a post is a
person), indicator values counting people (`is_people_count`). Amounts in euros, rates, ratios
and counts of things (meetings, actions, instances) are not masked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import overload

import polars as pl

from cdv_core import fmt

DEFAULT_THRESHOLD = 11
SECONDARY = "secret"  # a cell (or total) masked only so that a small count cannot be recovered

# Columns (store names and French table headers) that hold the name of a person.
PERSON_NAME_COLUMNS = frozenset(
    {
        "responsable",
        "Responsable",
        "titulaire",
        "Titulaire",
        "elu_referent",
        "Élu référent",
        # a porteur's contact (migration 0016): a person, for the team's reminders only
        "contact_nom",
        "contact_email",
        "contact_telephone",
        "Contact",
        "Adresse électronique",
        "Téléphone",
    }
)
# Indicator units that count people whatever the label.
_PEOPLE_UNITS = frozenset(
    {"personnes", "habitants", "bénéficiaires", "demandeurs", "élèves", "ménages", "jeunes", "familles", "allocataires"}
)
# Units of a plain count: people unless the label names things (checked on its first word).
_COUNT_UNITS = frozenset({"nb", "nombre", "effectif"})
_THINGS = (
    r"(?i)^\s*(nombre\s+(de|d')\s*)?(réunions?|séances?|logements?|établissements?|actions?|"
    r"structures?|associations?|équipements?|projets?|dossiers?|jours?|entreprises?|"
    r"places?|postes?\s+de\s+travail|lieux?|commerces?|instances?)\b"
)


def mask_label(threshold: int) -> str:
    """How a masked count reads: « < 11 »."""
    return f"< {fmt.integer(threshold)}"


def people_count_expr(unite: pl.Expr, libelle: pl.Expr) -> pl.Expr:
    """Whether an indicator's values are counts of people, from its unit and label. A unit naming
    people (« personnes », « habitants »…) is; a plain count unit (« nb ») is, unless the label
    begins with things that are not people (« Réunions… », « Logements… »): when in doubt, the
    count is masked. Rates, amounts, ratios and durations (%, €, « pour 10 000 hab. », jours) are not."""
    unit = unite.fill_null("").str.strip_chars().str.to_lowercase()
    return unit.is_in(list(_PEOPLE_UNITS)) | (
        unit.is_in(list(_COUNT_UNITS)) & ~libelle.fill_null("").str.contains(_THINGS)
    )


def is_people_count(unite: str | None, libelle: str | None = None) -> bool:
    """`people_count_expr` for one indicator."""
    return bool(pl.select(people_count_expr(pl.lit(unite, dtype=pl.String), pl.lit(libelle, dtype=pl.String))).item())


def suppress_small_people_values(
    frame: pl.DataFrame,
    *,
    threshold: int,
    values: Sequence[str],
    derived: Sequence[str] = (),
    unit: str = "unite",
    label: str = "indicateur",
) -> pl.DataFrame:
    """Views listing indicator values per QPV with no total of them (a QPV's indicators, the
    evolution since a baseline): on a row of an indicator counting people where one of `values`
    is below the threshold, every value of the row and what is computed from them (`derived`)
    are left out — the primary secret; with no total shown, no secondary masking is needed."""
    small = pl.any_horizontal([pl.col(c) < threshold for c in values]).fill_null(False)
    hit = people_count_expr(pl.col(unit), pl.col(label)) & small
    return frame.with_columns([pl.when(hit).then(None).otherwise(pl.col(c)).alias(c) for c in (*values, *derived)])


def mask_value(value: int | float | None, threshold: int) -> str:
    """One count of people shown alone (a KPI card): « < 11 » below the threshold."""
    if value is None:
        return "—"
    return mask_label(threshold) if value < threshold else fmt.integer(value)


def _flags(col: str, threshold: int, by: Sequence[str], total_shown: bool) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(small cell, cell masked for the secondary rule, masked group total) expressions for count
    column `col` over groups `by`."""
    value = pl.col(col)
    primary = value.is_not_null() & (value < threshold)
    if not total_shown:
        return primary, pl.lit(False), pl.lit(False)
    over = list(by) or ["__secret_all"]
    n_primary = primary.cast(pl.Int32).sum().over(over)
    candidate = value.is_not_null() & ~primary
    # rank of the value among the group's unmasked cells, ties broken by the row order
    rank = pl.when(candidate).then(value).rank("ordinal").over(over)
    secondary = (n_primary == 1) & candidate & (rank == 1)
    lone = (n_primary == 1) & (candidate.cast(pl.Int32).sum().over(over) == 0)
    return primary, secondary, lone | (value.sum().over(over) < threshold)


def mask_counts(
    frame: pl.DataFrame, counts: Sequence[str], *, threshold: int, total_shown: bool = False, by: Sequence[str] = ()
) -> pl.DataFrame:
    """`frame` with each column of `counts` (counts of people) as display text: French integers,
    « < 11 » below `threshold`, « — » when missing; rows, their order and other columns unchanged.

    `total_shown`: the view or export also shows the total of these rows (per group of the `by`
    columns, or of the whole frame): apply secondary masking so that no masked cell can be
    recovered from the total; show that total with `masked_total` on the same raw frame."""
    # a column already masked (text) is left as it is
    counts = [c for c in counts if c in frame.columns and frame.schema[c].is_numeric()]
    if not counts:
        return frame
    work = frame.with_columns(pl.lit(0).alias("__secret_all")) if total_shown and not by else frame
    label = mask_label(threshold)
    shown = []
    for col in counts:
        small, secondary, _ = _flags(col, threshold, by, total_shown)
        shown.append(
            pl.when(pl.col(col).is_null())
            .then(pl.lit("—"))
            .when(small)
            .then(pl.lit(label))
            .when(secondary)
            .then(pl.lit(SECONDARY))
            .otherwise(fmt.number_expr(pl.col(col)))
            .alias(col)
        )
    return work.with_columns(shown).select(frame.columns)


@overload
def masked_total(frame: pl.DataFrame, col: str, *, threshold: int) -> str: ...
@overload
def masked_total(frame: pl.DataFrame, col: str, *, threshold: int, by: Sequence[str]) -> str | pl.DataFrame: ...


def masked_total(frame: pl.DataFrame, col: str, *, threshold: int, by: Sequence[str] = ()) -> str | pl.DataFrame:
    """The total of count column `col` over the raw `frame` (the one given to `mask_counts` with
    `total_shown=True`), masked when it is below `threshold` or when it would reveal the group's
    only masked cell. Without `by`: one display string; with `by`: a frame of `by` + `col`."""
    work = frame.with_columns(pl.lit(0).alias("__secret_all")) if not by else frame
    *_, total_masked = _flags(col, threshold, by, True)
    keys = list(by) or ["__secret_all"]
    totals = (
        work.with_columns(total_masked.alias("__masked"))
        .group_by(keys, maintain_order=True)
        .agg(pl.col(col).sum(), pl.col("__masked").any())
    )
    totals = totals.with_columns(
        pl.when(pl.col(col) < threshold)
        .then(pl.lit(mask_label(threshold)))
        .when(pl.col("__masked"))
        .then(pl.lit(SECONDARY))
        .otherwise(fmt.number_expr(pl.col(col)))
        .alias(col)
    )
    if not by:
        return totals[col][0] if totals.height else mask_label(threshold)
    return totals.select(*by, col)


def remove_names(frame: pl.DataFrame, names: Sequence[str] | None = None) -> pl.DataFrame:
    """`frame` without the columns holding names of people (`names`, default the known ones)."""
    drop = PERSON_NAME_COLUMNS if names is None else set(names)
    return frame.drop([c for c in frame.columns if c in drop])


def publishable(
    frame: pl.DataFrame,
    *,
    threshold: int,
    counts: Sequence[str] = (),
    names: Sequence[str] | None = None,
    total_shown: bool = False,
    by: Sequence[str] = (),
) -> pl.DataFrame:
    """The publishable version of a frame: names removed (the given columns and the known ones),
    counts of people masked (with secondary masking when a total is shown)."""
    frame = remove_names(frame, sorted(PERSON_NAME_COLUMNS | set(names or ())))
    return mask_counts(frame, counts, threshold=threshold, total_shown=total_shown, by=by)


SUPPRESSED_MOTIF = "secret statistique (moins de {seuil} personnes)"
SECONDARY_MOTIF = "secret statistique (masquage secondaire)"


def suppress(
    frame: pl.DataFrame,
    col: str,
    *,
    threshold: int,
    derived: Sequence[str] = (),
    total_shown: bool = False,
    by: Sequence[str] = (),
) -> pl.DataFrame:
    """`frame` with the small counts of people of numeric column `col` suppressed the way the store
    keeps INSEE's secret: the value NULL, `secret` « s » and a French `motif` (when the frame has
    those columns), and every column of `derived` (computed from the value: gaps, trends) NULL
    too, so that the pages and charts that already leave suppressed values out leave these out.
    `total_shown`/`by`: secondary masking, as in `mask_counts`."""
    if col not in frame.columns or not frame.schema[col].is_numeric():
        return frame
    work = frame.with_columns(pl.lit(0).alias("__secret_all")) if total_shown and not by else frame
    small, secondary, _ = _flags(col, threshold, by, total_shown)
    work = work.with_columns(small.alias("__small"), secondary.alias("__secondary"))
    hidden = pl.col("__small") | pl.col("__secondary")
    updates = [pl.when(hidden).then(None).otherwise(pl.col(c)).alias(c) for c in (col, *derived) if c in frame.columns]
    if "secret" in frame.columns:
        updates.append(pl.when(hidden).then(pl.lit("s")).otherwise(pl.col("secret")).alias("secret"))
    if "motif" in frame.columns:
        updates.append(
            pl.when(pl.col("__small"))
            .then(pl.lit(SUPPRESSED_MOTIF.format(seuil=fmt.integer(threshold))))
            .when(pl.col("__secondary"))
            .then(pl.lit(SECONDARY_MOTIF))
            .otherwise(pl.col("motif"))
            .alias("motif")
        )
    return work.with_columns(updates).select(frame.columns)


# Columns of the indicator frames (`queries.indicateurs.comparison`) computed from a QPV's value
# or from its baseline: suppressed with them.
FROM_VALUE = ("ecart", "evolution", "tendance", "tendance_libelle")
FROM_BASE = ("ecart_base", "valeur_reference_territoire_base", "evolution", "tendance", "tendance_libelle")


def publishable_comparison(comparison: pl.DataFrame, *, threshold: int) -> pl.DataFrame:
    """The comparison frame of one indicator counting people (`queries.indicateurs.comparison`,
    `is_people_count`) as published: QPV values, baselines and targets below the threshold
    suppressed like INSEE's secret (with what is computed from them), and the values get
    secondary masking, since their sum (the selection's aggregate) is shown beside them."""
    shown = suppress(comparison, "valeur", threshold=threshold, derived=FROM_VALUE, total_shown=True)
    for col, derived in (("valeur_base", FROM_BASE), ("valeur_cible", ())):  # no secret/motif of their own
        shown = suppress(shown.drop("secret", "motif"), col, threshold=threshold, derived=derived).with_columns(
            shown.select("secret", "motif")
        )
    return shown


def publishable_aggregate(aggregate: pl.DataFrame, *, comparison: pl.DataFrame, threshold: int) -> pl.DataFrame:
    """The selection's aggregate of one indicator counting people (`queries.indicateurs.aggregate`)
    as published: the value at the comparison's vintage is left out when its sum would reveal a
    masked QPV value (`masked_total` over the raw `comparison`)."""
    if comparison.is_empty():
        return aggregate
    known = comparison.filter(pl.col("valeur").is_not_null())
    total = masked_total(known, "valeur", threshold=threshold)
    if total.replace("\u202f", "").isdigit():
        return aggregate
    vintage = comparison["date_valeur"].max()
    return aggregate.with_columns(
        pl.when(pl.col("date_valeur") == vintage).then(None).otherwise(pl.col("valeur")).alias("valeur")
    )
