"""Rules over typed rows, beyond each cell's type: the template's example row left in, keys
repeated in the file, codes unknown to the store, rules across the columns of a row (`row_rules`,
which also runs the rules of `validate_periods`: periods of the contract, codes of another contract,
and of `validate_values`: a bilan's exercice, a rate's parts, femmes + hommes)."""

from __future__ import annotations

import duckdb
import polars as pl

from cdv_core import fmt, store
from cdv_core.domain import model
from cdv_core.ingest.model import ERROR, LINE, WARNING, rows_problem
from cdv_core.ingest.numbers import number_as_typed
from cdv_core.ingest.spec import TEMPLATES
from cdv_core.ingest.spec_national import PROGRAMMATION
from cdv_core.ingest.spec_types import Kind
from cdv_core.ingest.validate_periods import other_contract_problems, period_problems
from cdv_core.ingest.validate_values import bilan_problems, parts_problems, sexes_sum_problems


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
    return cur.execute("SELECT DISTINCT " + column + " AS v FROM " + table).pl()["v"].cast(pl.String)


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
        out += parts_problems(cur, frame, fichier)
    if spec.code == "valeurs_indicateurs" and "dimension" in cols:
        out += sexes_sum_problems(cur, frame, fichier)
    # periods of the contract (of the row, or of the row's action for financements)
    out += period_problems(cur, spec, frame, fichier)
    out += other_contract_problems(cur, spec, frame, fichier)
    if spec.code == "bilans":
        out += bilan_problems(cur, frame, fichier)
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
            cur.execute(
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
