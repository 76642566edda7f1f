"""Rules over the values a file reports, against what the store knows: a bilan's exercice and
date of reception (`bilan_problems`), a rate's numerator and denominator (`parts_problems`),
femmes + hommes against the total of a count (`sexes_sum_problems`)."""

from __future__ import annotations

from datetime import date

import polars as pl

from cdv_core import fmt
from cdv_core.domain import gaps, model
from cdv_core.ingest.model import ERROR, LINE, WARNING, rows_problem
from cdv_core.ingest.numbers import number_as_typed


def bilan_problems(cur, frame: pl.DataFrame, fichier: str) -> list[pl.DataFrame]:
    """The form's rules (edits.bilans.validate_bilan): a bilan's exercice is one of its action's
    years with an amount granted (else no bilan is owed), its date is neither in the future nor
    before the exercice (errors); a bilan received during its exercice is suspicious (warning: a
    date typed wrong, or an interim report)."""
    if not {"code_action", "annee"} <= set(frame.columns):
        return []
    years = cur.execute("SELECT code_action, annee_debut AS _debut, annee_fin AS _fin FROM action").pl()
    rows = frame.join(years, on="code_action", how="inner")  # unknown actions: their own error
    out = []
    outside = rows.filter(((pl.col("annee") < pl.col("_debut")) | (pl.col("annee") > pl.col("_fin"))).fill_null(False))
    if outside.height:
        out.append(
            rows_problem(
                outside,
                fichier,
                "annee",
                number_as_typed(pl.col("annee")),
                pl.format("Exercice hors des années de l'action ({}–{})", pl.col("_debut"), pl.col("_fin")),
                pl.format("Une année de {} à {}", pl.col("_debut"), pl.col("_fin")),
                ERROR,
            )
        )
    granted = cur.execute("SELECT DISTINCT code_action, annee FROM financement WHERE montant_accorde > 0").pl()
    owed_nothing = rows.join(outside, on=LINE, how="anti").join(granted, on=["code_action", "annee"], how="anti")
    if owed_nothing.height:
        out.append(
            rows_problem(
                owed_nothing,
                fichier,
                "annee",
                number_as_typed(pl.col("annee")),
                "Aucun montant accordé à cette action pour cet exercice : pas de bilan attendu",
                "Un exercice où l'action a reçu une subvention (montant accordé)",
            )
        )
    if "date_reception" in frame.columns:
        dated = frame.filter(pl.col("date_reception").is_not_null())
        for cond, msg in (
            (pl.col("date_reception") > pl.lit(date.today()), "Date de réception dans le futur"),
            (pl.col("date_reception").dt.year() < pl.col("annee"), "Date de réception antérieure à l'exercice"),
        ):
            bad = dated.filter(cond.fill_null(False))
            if bad.height:
                out.append(
                    rows_problem(
                        bad,
                        fichier,
                        "date_reception",
                        pl.col("date_reception").dt.strftime("%d/%m/%Y"),
                        msg,
                        "La date à laquelle le bilan est arrivé, après la fin de l'exercice",
                    )
                )
        early = frame.filter((pl.col("date_reception").dt.year() == pl.col("annee")).fill_null(False))
        if early.height:
            out.append(
                rows_problem(
                    early,
                    fichier,
                    "date_reception",
                    pl.col("date_reception").dt.strftime("%d/%m/%Y"),
                    "Bilan reçu avant la fin de l'exercice",
                    "Une date après le 31 décembre de l'exercice ; vérifiez la date et l'exercice "
                    "(avertissement seulement)",
                    WARNING,
                )
            )
    return out


PARTS_TOLERANCE = 0.051  # in the indicator's unit: a value published with one decimal


def parts_problems(cur, frame: pl.DataFrame, fichier: str) -> list[pl.DataFrame]:
    """A rate's numerator and denominator (`gaps.rate_scale`): both or neither, a denominator
    above 0, no parts for a suppressed value or for an indicator that is not a ratio, a % whose
    numerator does not exceed its denominator, and the value equal to numerator / denominator ×
    the unit's scale (within `PARTS_TOLERANCE`)."""
    rows = frame.with_columns(
        *(pl.lit(None, dtype=pl.Float64).alias(c) for c in ("numerateur", "denominateur") if c not in frame.columns)
    )
    units = cur.execute("SELECT code_indicateur, unite AS _unite FROM indicateur").pl()
    scales = {u: gaps.rate_scale(u) for u in units["_unite"].unique().to_list()}  # a handful of units
    rows = rows.join(units, on="code_indicateur", how="left").with_columns(
        pl.col("_unite").replace_strict(scales, default=None, return_dtype=pl.Float64).alias("_echelle")
    )
    n, d = pl.col("numerateur"), pl.col("denominateur")
    parts = n.is_not_null() & d.is_not_null()
    computed = n / d * pl.col("_echelle")
    checks = [
        (
            n.is_null() != d.is_null(),
            "numerateur",
            pl.format("{} / {}", number_as_typed(n).fill_null("—"), number_as_typed(d).fill_null("—")),
            "Numérateur et dénominateur vont ensemble",
            "Les deux, ou aucun des deux",
        ),
        (
            parts & (d <= 0),
            "denominateur",
            number_as_typed(d),
            "Dénominateur nul ou négatif",
            "Un dénominateur supérieur à 0",
        ),
        (
            parts & pl.col("valeur").is_null(),
            "numerateur",
            number_as_typed(n),
            "Numérateur et dénominateur d'une valeur secrète",
            "Aucun des deux : ils révéleraient la valeur",
        ),
        (
            parts & pl.col("_unite").is_not_null() & pl.col("_echelle").is_null(),
            "numerateur",
            pl.col("_unite"),
            "Cet indicateur n'est pas un taux : pas de numérateur ni de dénominateur",
            "Laissez-les vides (ils ne valent que pour un %, un ‰ ou un nombre pour N habitants)",
        ),
        (
            parts & (pl.col("_unite") == "%") & (n > d),
            "numerateur",
            pl.format("{} / {}", number_as_typed(n), number_as_typed(d)),
            "Numérateur supérieur au dénominateur d'un pourcentage",
            "Un numérateur au plus égal au dénominateur",
        ),
        (
            parts & (d > 0) & pl.col("valeur").is_not_null() & ((pl.col("valeur") - computed).abs() > PARTS_TOLERANCE),
            "valeur",
            number_as_typed(pl.col("valeur")),
            "La valeur ne correspond pas au numérateur divisé par le dénominateur",
            pl.format(
                "{} (numérateur / dénominateur × {})", fmt.number_expr(computed, 1), number_as_typed(pl.col("_echelle"))
            ),
        ),
    ]
    out = []
    for cond, colonne, value, msg, expected in checks:  # a handful of rules, each over all rows
        bad = rows.filter(cond.fill_null(False))
        if bad.height:
            out.append(
                rows_problem(
                    bad,
                    fichier,
                    colonne,
                    value,
                    pl.lit(msg),
                    expected if isinstance(expected, pl.Expr) else pl.lit(expected),
                    ERROR,
                )
            )
    return out


SEXES_SUM_TOLERANCE = 0.5  # a count: femmes + hommes equal the total, to the unit


def sexes_sum_problems(cur, frame: pl.DataFrame, fichier: str, *, column_of: str | None = None) -> list[pl.DataFrame]:
    """For an indicator summed over territories (a count), the femmes and hommes of a value given
    in the file with its total add up to it: a warning on the total's line when they do not (a
    secret category leaves the sum unchecked). `column_of`: the frame's column naming the file's
    column of each value (an INSEE file: its variable), else « valeur »."""
    summed = cur.execute("SELECT code_indicateur FROM indicateur WHERE agregation = 'somme'").pl()
    key = ["code_indicateur", "type_territoire", "code_territoire", "date_valeur"]
    sexes = (
        frame.filter(pl.col("dimension") == model.DIMENSION_SEXE)
        .join(summed, on="code_indicateur", how="semi")
        .group_by(key)
        .agg(
            pl.col("valeur").sum().alias("_somme"),
            pl.len().alias("_n"),
            pl.col("valeur").is_null().any().alias("_secret"),
        )
        .filter((pl.col("_n") == len(model.SEXES)) & ~pl.col("_secret"))
    )
    bad = (
        frame.filter(pl.col("dimension").is_null() & pl.col("valeur").is_not_null())
        .join(sexes, on=key, how="inner")
        .filter((pl.col("valeur") - pl.col("_somme")).abs() > SEXES_SUM_TOLERANCE)
    )
    if bad.is_empty():
        return []
    problem = rows_problem(
        bad,
        fichier,
        "valeur",
        number_as_typed(pl.col("valeur")),
        "Femmes et hommes ne font pas le total de cette valeur",
        "Vérifiez les valeurs par sexe et l'ensemble (avertissement seulement)",
        WARNING,
    )
    return [problem if column_of is None else problem.with_columns(bad[column_of].alias("colonne"))]
