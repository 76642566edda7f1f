"""Rules over typed rows, beyond each cell's type: the template's example row left in, keys
repeated in the file, codes unknown to the store, rules across the columns of a row, periods of
the contract, codes of another contract, a bilan's exercice, a rate's parts, femmes + hommes."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from cdv_core import fmt, store
from cdv_core.domain import gaps, model
from cdv_core.ingest.clean import number_as_typed
from cdv_core.ingest.model import ERROR, LINE, WARNING, rows_problem
from cdv_core.ingest.spec import PROGRAMMATION, TEMPLATES, Kind


def example_rows(spec: Kind, frame: pl.DataFrame, fichier: str) -> list[pl.DataFrame]:
    """A row identical to the template's example row, in every column the file has, was left
    there by mistake: importing it would create « CV-075-PARIS » and the like."""
    if spec not in (*TEMPLATES, PROGRAMMATION):
        return []
    cols = [c for c in spec.columns if c.example and c.name in frame.columns]
    if len(cols) < 2:
        return []
    same = pl.all_horizontal([pl.col(c.name).cast(pl.String).str.strip_chars() == c.example for c in cols])
    rows = frame.filter(same.fill_null(False))
    if rows.is_empty():
        return []
    return [
        rows_problem(
            rows,
            fichier,
            cols[0].name,
            pl.col(cols[0].name),
            "Ligne d'exemple du modèle",
            "Supprimez cette ligne : elle vient du modèle téléchargé, ce ne sont pas vos données",
        )
    ]


def duplicates(typed: pl.DataFrame, key: tuple[str, ...], fichier: str) -> list[pl.DataFrame]:
    present = [k for k in key if k in typed.columns]
    if len(present) != len(key):
        return []
    dup = typed.filter(pl.struct(list(key)).is_duplicated() & pl.all_horizontal(pl.col(k).is_not_null() for k in key))
    if dup.is_empty():
        return []
    return [
        rows_problem(
            dup,
            fichier,
            " + ".join(key),
            pl.concat_str([pl.col(k).cast(pl.String) for k in key], separator=" / "),
            "Clé en double dans le fichier",
            "Une seule ligne par " + " + ".join(key),
        )
    ]


def store_values(cur: duckdb.DuckDBPyConnection, table: str, column: str) -> pl.Series:
    assert table in store.table_names(cur)
    cols = {
        r[0]
        for r in cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = $t", {"t": table}
        ).fetchall()
    }
    assert column in cols
    return cur.sql("SELECT DISTINCT " + column + " AS v FROM " + table).pl()["v"].cast(pl.String)


def reference_problems(
    cur, spec: Kind, typed: pl.DataFrame, fichier: str, also_known: dict[str, pl.Series] | None = None
) -> list[pl.DataFrame]:
    out = []
    for ref in spec.refs:
        if ref.column not in typed.columns:
            continue
        known = store_values(cur, ref.table, ref.table_column)
        if also_known and ref.column in also_known:
            known = pl.concat([known, also_known[ref.column].cast(pl.String)])
        values = typed.select(LINE, pl.col(ref.column))
        if values.schema[ref.column] == pl.List(pl.String):
            values = values.explode(ref.column)
        values = values.drop_nulls(ref.column)
        bad = values.filter(~pl.col(ref.column).is_in(known.implode()))
        if bad.height:
            unknown = "inconnue" if ref.feminine else "inconnu"
            of = "d'" if ref.label[0] in "aeiouyéèêàâîô" else "de "
            out.append(
                rows_problem(
                    bad,
                    fichier,
                    ref.column,
                    pl.col(ref.column),
                    f"{ref.label.capitalize()} {unknown} dans la base",
                    f"Un code {of}{ref.label} existant, ou importez d'abord le fichier des {ref.label}s",
                )
            )
    return out


def row_rules(cur, spec: Kind, frame: pl.DataFrame, fichier: str) -> list[pl.DataFrame]:
    """Rules across columns of a row, and dates inside the contract's period."""
    out = []

    def flag(
        cond: pl.Expr,
        colonne: str,
        value: pl.Expr,
        msg: str,
        expected: str,
        severity: str = ERROR,
        source: pl.DataFrame | None = None,
    ):
        src = frame if source is None else source
        bad = src.filter(cond.fill_null(False))
        if bad.height:
            out.append(rows_problem(bad, fichier, colonne, value, msg, expected, severity))

    cols = set(frame.columns)
    if {"date_debut", "date_fin"} <= cols:
        flag(
            pl.col("date_fin") < pl.col("date_debut"),
            "date_fin",
            pl.col("date_fin").dt.strftime("%d/%m/%Y"),
            "Date de fin antérieure à la date de début",
            "Une date de fin après la date de début",
        )
    if {"annee_debut", "annee_fin"} <= cols:
        flag(
            pl.col("annee_fin") < pl.col("annee_debut"),
            "annee_fin",
            number_as_typed(pl.col("annee_fin")),
            "Dernière année antérieure à la première",
            "annee_fin ≥ annee_debut",
        )
    if {"montant_verse", "montant_accorde"} <= cols:
        flag(
            pl.col("montant_verse") > pl.col("montant_accorde"),
            "montant_verse",
            fmt.number_expr(pl.col("montant_verse"), 2),
            "Montant versé supérieur au montant accordé",
            "Vérifiez les montants (avertissement seulement)",
            WARNING,
        )
    if {"nb_habitants", "nb_participants"} <= cols:
        flag(
            pl.col("nb_habitants") > pl.col("nb_participants"),
            "nb_habitants",
            number_as_typed(pl.col("nb_habitants")),
            "Plus d'habitants que de participants",
            "nb_habitants ≤ nb_participants",
        )
    if {"date_signature", "date_fin"} <= cols:
        flag(
            pl.col("date_signature") > pl.col("date_fin"),
            "date_signature",
            pl.col("date_signature").dt.strftime("%d/%m/%Y"),
            "Signature après la fin du contrat",
            "Une date de signature dans la période",
        )
    if {"valeur_cible_intermediaire", "date_cible_intermediaire"} & cols:
        m = {
            c: pl.col(c) if c in cols else pl.lit(None)
            for c in ("valeur_cible_intermediaire", "date_cible_intermediaire", "date_reference", "date_cible")
        }
        flag(
            m["valeur_cible_intermediaire"].is_null() != m["date_cible_intermediaire"].is_null(),
            "date_cible_intermediaire",
            fmt.day_expr(m["date_cible_intermediaire"], missing="—"),
            "Cible intermédiaire sans sa date, ou date sans valeur",
            "Une valeur et une date, ou aucune des deux",
        )
        flag(
            (m["date_cible_intermediaire"] <= m["date_reference"]) | (m["date_cible_intermediaire"] >= m["date_cible"]),
            "date_cible_intermediaire",
            fmt.day_expr(m["date_cible_intermediaire"]),
            "Cible intermédiaire hors de la période de la cible",
            "Une date après la date de référence et avant l'échéance de la cible",
        )
    if spec.code == "valeurs_indicateurs" and {"numerateur", "denominateur"} & cols:
        out += _parts_problems(cur, frame, fichier)
    if spec.code == "valeurs_indicateurs" and "dimension" in cols:
        out += sexes_sum_problems(cur, frame, fichier)
    # periods of the contract (of the row, or of the row's action for financements)
    out += _period_problems(cur, spec, frame, fichier)
    out += _other_contract_problems(cur, spec, frame, fichier)
    if spec.code == "bilans":
        out += _bilan_problems(cur, frame, fichier)
    if spec.code == "porteurs":
        for column, shape, msg, expected, severity in _CONTACT_SHAPES:  # two columns
            if column in cols:
                flag(
                    ~pl.col(column).str.strip_chars().str.contains(f"^(?:{shape})$"),
                    column,
                    pl.col(column),
                    msg,
                    expected,
                    severity,
                )
    if spec.code == "reunions":
        per = frame.join(
            cur.sql(
                "SELECT i.code_instance, c.date_debut AS _debut, c.date_fin AS _fin "
                "FROM instance i JOIN contrat c USING (code_contrat)"
            ).pl(),
            on="code_instance",
            how="inner",
        )
        flag(
            (pl.col("date_reunion") < pl.col("_debut")) | (pl.col("date_reunion") > pl.col("_fin")),
            "date_reunion",
            pl.col("date_reunion").dt.strftime("%d/%m/%Y"),
            "Date hors de la période du contrat",
            "Une date entre le début et la fin du contrat",
            source=per,
        )
    return out


# A porteur's contact (« porteurs » template), as the form checks it (edits.bilans.validate_contact):
# an address that is not one is an error (the reminders would bounce), a phone number that does
# not look French only a warning (abroad, an extension).
_CONTACT_SHAPES = (
    (
        "contact_email",
        model.CONTACT_EMAIL_SHAPE,
        "Adresse électronique mal formée",
        "Une adresse nom@domaine.fr (les relances l'utilisent)",
        ERROR,
    ),
    (
        "contact_telephone",
        model.CONTACT_TELEPHONE_SHAPE,
        "Numéro de téléphone non français ou incomplet",
        "Un numéro à 10 chiffres, ex. 01 23 45 67 89 (avertissement seulement)",
        WARNING,
    ),
)


def _bilan_problems(cur, frame: pl.DataFrame, fichier: str) -> list[pl.DataFrame]:
    """The form's rules (edits.bilans.validate_bilan): a bilan's exercice is one of its action's
    years with an amount granted (else no bilan is owed), its date is neither in the future nor
    before the exercice (errors); a bilan received during its exercice is suspicious (warning: a
    date typed wrong, or an interim report)."""
    if not {"code_action", "annee"} <= set(frame.columns):
        return []
    years = cur.sql("SELECT code_action, annee_debut AS _debut, annee_fin AS _fin FROM action").pl()
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
    granted = cur.sql("SELECT DISTINCT code_action, annee FROM financement WHERE montant_accorde > 0").pl()
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


def _parts_problems(cur, frame: pl.DataFrame, fichier: str) -> list[pl.DataFrame]:
    """A rate's numerator and denominator (`gaps.rate_scale`): both or neither, a denominator
    above 0, no parts for a suppressed value or for an indicator that is not a ratio, a % whose
    numerator does not exceed its denominator, and the value equal to numerator / denominator ×
    the unit's scale (within `PARTS_TOLERANCE`)."""
    rows = frame.with_columns(
        *(pl.lit(None, dtype=pl.Float64).alias(c) for c in ("numerateur", "denominateur") if c not in frame.columns)
    )
    units = cur.sql("SELECT code_indicateur, unite AS _unite FROM indicateur").pl()
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


def _period_problems(cur, spec: Kind, frame: pl.DataFrame, fichier: str) -> list[pl.DataFrame]:
    if spec.code not in _PERIOD_KINDS:
        return []
    years = [c for c in PERIOD_YEAR_COLUMNS if c in frame.columns]
    dates = [c for c in PERIOD_DATE_SLACK_YEARS if c in frame.columns]
    if spec.code == "financements":
        if "code_action" not in frame.columns:
            return []
        periods = cur.sql(
            "SELECT a.code_action, c.date_debut AS _debut, c.date_fin AS _fin "
            "FROM action a JOIN contrat c USING (code_contrat)"
        ).pl()
        on = "code_action"
    else:
        if "code_contrat" not in frame.columns:
            return []
        periods = cur.sql("SELECT code_contrat, date_debut AS _debut, date_fin AS _fin FROM contrat").pl()
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


def _other_contract_problems(cur, spec: Kind, frame: pl.DataFrame, fichier: str) -> list[pl.DataFrame]:
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
        owners = cur.sql("SELECT " + key + " AS _code, code_contrat AS _contrat FROM " + table).pl()
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


SEXES_SUM_TOLERANCE = 0.5  # a count: femmes + hommes equal the total, to the unit


def sexes_sum_problems(cur, frame: pl.DataFrame, fichier: str, *, column_of: str | None = None) -> list[pl.DataFrame]:
    """For an indicator summed over territories (a count), the femmes and hommes of a value given
    in the file with its total add up to it: a warning on the total's line when they do not (a
    secret category leaves the sum unchecked). `column_of`: the frame's column naming the file's
    column of each value (an INSEE file: its variable), else « valeur »."""
    summed = cur.sql("SELECT code_indicateur FROM indicateur WHERE agregation = 'somme'").pl()
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
