"""Validated figures: what a séance (or a rapport annuel) presented stays as it was shown.

A chef de projet or an administrator validates a set of figures for one contract and one
period (a range of years): who, when, each figure as displayed (section, label, value, note),
how the figures were built (so they can be rebuilt the same way) and, per table, a digest of
the contract's rows of that period.

    id_validation = validate(con, user=user, code_contrat="CV-001", annees=(2026, 2026),
                             sections=sections, libelle="Séance du 12/03/2026 — COPIL", scope=scope)
    compare(cur, id_validation, settings=settings)      # validated value beside today's value
    affected_validations(cur, analysis.loads)          # the validations an import would touch

**When does an import touch a validation?** When one of the rows it adds, changes (old or new
values) or deletes belongs to the validation's contract and to a year of its period. The
contract of a row is that of its action, quartier, instance or meeting; its years
(`_PERIODS`):

- financement: its `annee`; action: `annee_debut` to `annee_fin`, and its links to QPV and
  objectives the years of their action;
- valeur_indicateur: the year of `date_valeur` (values of a QPV; those of communes, EPCI and
  France belong to no contract);
- réunion: the year of `date_reunion`; décision: from the year of its meeting on (an open
  decision is counted every year after);
- jalon: its `annee`, else the year of `date_prevue`;
- bilan d'un porteur (`bilan_action`): its `annee` (the exercice it accounts for), in the
  contract of its action;
- rapport annuel, its votes and contributions: its `annee` (the year the report describes);
- contrat, quartier, projet de quartier, objectif, cible, instance: no year — every validated
  period of their contract;
- porteurs and the indicator catalogue (common to every contract): never.

Such an import is refused (`ValidatedFiguresChanged`, nothing written) unless confirmed, and the
confirmation requires the right to validate those contracts (`access.VALIDATE`). The rollback of
an import is checked the same way, on the rows it would remove, replace or restore. The rule is
deliberately wide (a row of the period may not change any figure shown): `compare` then says
which figures did change, recomputed by the séance's own functions.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from datetime import date, datetime

import duckdb
import polars as pl

from cdv_core import access, fmt, seance, store
from cdv_core.edits import typed_text
from cdv_core.ingest.diff import rollback_touched, touched
from cdv_core.ingest.model import Load
from cdv_core.settings import Settings

TABLES = frozenset({"validation", "validation_chiffre"})


class ValidatedFiguresChanged(store.WriteRefused):
    """An import would change rows of a validated period and was not confirmed: nothing written."""


# table → (joins from its rows `r`, contract, first year, last year); NULL year: open on that side
_PERIODS: dict[str, tuple[str, str, str, str]] = {
    "contrat": ("", "r.code_contrat", "NULL", "NULL"),
    "quartier": ("", "r.code_contrat", "NULL", "NULL"),
    "objectif": ("", "r.code_contrat", "NULL", "NULL"),
    "instance": ("", "r.code_contrat", "NULL", "NULL"),
    "projet_quartier": ("LEFT JOIN quartier q ON q.code_qp = r.code_qp", "q.code_contrat", "NULL", "NULL"),
    "cible_indicateur": ("LEFT JOIN quartier q ON q.code_qp = r.code_qp", "q.code_contrat", "NULL", "NULL"),
    "action": ("", "r.code_contrat", "r.annee_debut", "r.annee_fin"),
    "action_quartier": (
        "LEFT JOIN action a ON a.code_action = r.code_action",
        "a.code_contrat",
        "a.annee_debut",
        "a.annee_fin",
    ),
    "action_objectif": (
        "LEFT JOIN action a ON a.code_action = r.code_action",
        "a.code_contrat",
        "a.annee_debut",
        "a.annee_fin",
    ),
    "financement": ("LEFT JOIN action a ON a.code_action = r.code_action", "a.code_contrat", "r.annee", "r.annee"),
    "bilan_action": ("LEFT JOIN action a ON a.code_action = r.code_action", "a.code_contrat", "r.annee", "r.annee"),
    "valeur_indicateur": (
        "LEFT JOIN quartier q ON r.type_territoire = 'QPV' AND q.code_qp = r.code_territoire",
        "q.code_contrat",
        "year(r.date_valeur)",
        "year(r.date_valeur)",
    ),
    "valeur_indicateur_detail": (
        "LEFT JOIN quartier q ON r.type_territoire = 'QPV' AND q.code_qp = r.code_territoire",
        "q.code_contrat",
        "year(r.date_valeur)",
        "year(r.date_valeur)",
    ),
    "reunion": (
        "LEFT JOIN instance i ON i.code_instance = r.code_instance",
        "i.code_contrat",
        "year(r.date_reunion)",
        "year(r.date_reunion)",
    ),
    "decision": (
        (
            "LEFT JOIN reunion m ON m.id_reunion = r.id_reunion "
            "LEFT JOIN instance i ON i.code_instance = m.code_instance"
        ),
        "i.code_contrat",
        "year(m.date_reunion)",
        "NULL",
    ),
    "jalon": ("", "r.code_contrat", "coalesce(r.annee, year(r.date_prevue))", "coalesce(r.annee, year(r.date_prevue))"),
    "rapport_annuel": ("", "r.code_contrat", "r.annee", "r.annee"),
    "rapport_annuel_vote": ("", "r.code_contrat", "r.annee", "r.annee"),
    "rapport_annuel_contribution": ("", "r.code_contrat", "r.annee", "r.annee"),
}
_OVERLAP = "({first} IS NULL OR {first} <= {fin}) AND ({last} IS NULL OR {last} >= {debut})"


def _rows_of_period(table: str, rel: str, *, select: str, contrat: str, debut: str, fin: str, join: str = "") -> str:
    """SELECT `select` over the rows of `rel` (a SELECT of rows of `table`) of contract `contrat`
    whose years meet `debut`..`fin` (SQL expressions: parameters, or columns of `join`)."""
    joins, contract, first, last = _PERIODS[table]
    return f"SELECT {select} FROM ({rel}) r {joins} {join} WHERE {contract} = {contrat} AND " + _OVERLAP.format(
        first=first, last=last, debut=debut, fin=fin
    )


def _digests(cur: duckdb.DuckDBPyConnection, code_contrat: str, debut: int, fin: int) -> dict[str, list[int]]:
    """Per table, the number and an order-free hash of the contract's rows of the period."""
    found = {}
    for table in sorted(_PERIODS):
        store.check_identifier(table)
        count, total = cur.execute(
            "SELECT count(*), coalesce(sum(hash(x)), 0) FROM ("
            + _rows_of_period(table, f"SELECT * FROM {table}", select="r.*", contrat="$c", debut="$d", fin="$f")
            + ") x",
            {"c": code_contrat, "d": debut, "f": fin},
        ).fetchall()[0]
        found[table] = [int(count), int(total)]
    return found


def _portee(sections: tuple[seance.Section, ...], scope: seance.Scope | None) -> str | None:
    """How the figures were built (JSON), for `compare` to rebuild them the same way."""
    if scope is None:
        return None
    s = scope.settings
    return json.dumps(
        {
            "sections": [section.key for section in sections],
            "donnees_au": scope.donnees_au.isoformat(),
            "code_qp": scope.code_qp,
            "reglages": {
                "unpaid_months": s.unpaid_months,
                "cadence_tolerance_days": s.cadence_tolerance_days,
                "indicator_max_age_months": s.indicator_max_age_months,
            },
        },
        ensure_ascii=False,
    )


@store.retry_on_conflict
def validate(
    con: duckdb.DuckDBPyConnection,
    *,
    user: access.User,
    code_contrat: str,
    annees: tuple[int, int],
    sections: Iterable[seance.Section],
    libelle: str,
    id_reunion: str | None = None,
    scope: seance.Scope | None = None,
    warnings: list[str] | None = None,
) -> int:
    """Keep the figures of `sections` as shown, validated by `user` for `code_contrat` and the
    years `annees` (first, last); `scope`: how they were built (`seance.Scope`), so that
    `compare` can rebuild them. Requires the right to validate that contract. Returns the id.
    A title that a spreadsheet would run as a formula is refused; control characters are
    removed from it (said in `warnings`)."""
    sections = tuple(sections)
    figures = [(s.key, s.title, f.label, f.value, f.note) for s in sections for f in s.figures]
    debut, fin = int(annees[0]), int(annees[-1])
    problems: list[str] = []
    libelle = typed_text("libellé de la validation", libelle, problems=problems, warnings=warnings) or ""
    if not figures:
        problems.append("aucun chiffre à valider")
    if not libelle.strip():
        problems.append("indiquez ce qui est validé (par exemple « Séance du 12/03/2026 — COPIL »)")
    if fin < debut:
        problems.append(f"période {debut}-{fin} incohérente")
    audit = store.Audit(user.label, f"Chiffres validés : {libelle.strip()}", contrats={code_contrat})
    with store.transaction(con, written=TABLES, audit=audit) as cur:
        access.require(cur, user, access.VALIDATE, contrats={code_contrat})
        if problems:
            raise store.IntegrityError(problems)
        id_validation = int(store.scalar(cur, "SELECT coalesce(max(id_validation), 0) + 1 FROM validation"))
        cur.execute(
            "INSERT INTO validation VALUES ($id, $c, $d, $f, $l, $r, $p, $e, $u, $t, $v)",
            {
                "id": id_validation,
                "c": code_contrat,
                "d": debut,
                "f": fin,
                "l": libelle.strip(),
                "r": id_reunion,
                "p": _portee(sections, scope),
                "e": json.dumps(_digests(cur, code_contrat, debut, fin)),
                "u": user.label,
                "t": datetime.now(),
                "v": store.store_version(cur),
            },
        )
        rows = pl.DataFrame(figures, schema=["section", "titre_section", "libelle", "valeur", "note"], orient="row")
        cur.register("_chiffres", rows.with_row_index("ordre", offset=1).to_arrow())
        cur.execute(
            "INSERT INTO validation_chiffre SELECT $id, ordre, section, titre_section, libelle, valeur, note "
            "FROM _chiffres",
            {"id": id_validation},
        )
        cur.unregister("_chiffres")
        audit.detail = {
            "id_validation": id_validation,
            "periode": _period_text(debut, fin),
            "chiffres": len(figures),
            "id_reunion": id_reunion,
        }
    return id_validation


def _period_text(debut: int, fin: int) -> str:
    return str(debut) if debut == fin else f"{debut}-{fin}"


def validations(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """The validations of a contract (None: of every contract of the périmètre), latest first:
    id, contract, period, what, who, when, number of figures."""
    return cur.execute(
        """SELECT v.id_validation, v.code_contrat, v.annee_debut, v.annee_fin,
                  CASE WHEN v.annee_debut = v.annee_fin THEN CAST(v.annee_debut AS VARCHAR)
                       ELSE v.annee_debut || '-' || v.annee_fin END AS periode,
                  v.libelle, v.id_reunion, v.valide_par, v.valide_le,
                  (SELECT count(*) FROM validation_chiffre x WHERE x.id_validation = v.id_validation) AS chiffres
           FROM validation v
           WHERE ($contrat IS NULL OR v.code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, v.code_contrat))
           ORDER BY v.valide_le DESC, v.id_validation DESC""",
        parameters={"contrat": contrat, "perimetre": None if perimetre is None else list(perimetre)},
    ).pl()


def _one(cur: duckdb.DuckDBPyConnection, id_validation: int, perimetre: tuple[str, ...] | None) -> dict:
    found = validations(cur, contrat=None, perimetre=perimetre).filter(pl.col("id_validation") == id_validation)
    if found.is_empty():
        raise store.StoreError(f"Validation n° {id_validation} introuvable ou hors de votre périmètre.")
    row = found.row(0, named=True)
    row["portee"], row["empreintes"] = cur.execute(
        "SELECT portee, empreintes FROM validation WHERE id_validation = $id", {"id": id_validation}
    ).fetchall()[0]
    return row


def compare(
    cur: duckdb.DuckDBPyConnection, id_validation: int, *, settings: Settings, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """Each validated figure beside its value now: section, libelle, valeur_validee,
    valeur_actuelle (None when it cannot be rebuilt, or no longer exists) and modifie. The
    current values are rebuilt by the séance's own functions (`seance.build_agenda`) with the
    validation's contract, sections, « données au », QPV and settings."""
    v = _one(cur, id_validation, perimetre)
    shown = cur.execute(
        "SELECT section, titre_section, libelle, valeur FROM validation_chiffre WHERE id_validation = $id "
        "ORDER BY ordre",
        parameters={"id": id_validation},
    ).pl()
    now: dict[tuple[str, str], str] = {}
    if v["portee"]:
        portee = json.loads(v["portee"])
        scope = seance.Scope(
            v["code_contrat"],
            date.fromisoformat(portee["donnees_au"]),
            dataclasses.replace(settings, **portee["reglages"]),
            portee["code_qp"],
        )
        keys = tuple(k for k in portee["sections"] if k in seance.SECTIONS)
        now = {(s.key, f.label): f.value for s in seance.build_agenda(cur, keys, scope) for f in s.figures}
    current = [now.get((s, label)) for s, label in zip(shown["section"], shown["libelle"])]
    return (
        shown.select(pl.col("titre_section").alias("section"), "libelle", pl.col("valeur").alias("valeur_validee"))
        .with_columns(pl.Series("valeur_actuelle", current, dtype=pl.String))
        .with_columns(
            (pl.col("valeur_actuelle").is_null() | (pl.col("valeur_actuelle") != pl.col("valeur_validee"))).alias(
                "modifie"
            )
        )
    )


def changed_tables(
    cur: duckdb.DuckDBPyConnection, id_validation: int, *, perimetre: tuple[str, ...] | None = None
) -> list[str]:
    """The tables whose rows of the validation's contract and period changed since it (digests)."""
    v = _one(cur, id_validation, perimetre)
    then = json.loads(v["empreintes"] or "{}")
    now = _digests(cur, v["code_contrat"], v["annee_debut"], v["annee_fin"])
    return [table for table in sorted(now) if table in then and then[table] != now[table]]


def _affected(cur: duckdb.DuckDBPyConnection, rows, perimetre: tuple[str, ...] | None) -> pl.DataFrame:
    """The validations met by `rows`, an iterable of (table, SELECT of whole rows of that table),
    read lazily (the import's staging lives while it is read)."""
    every = validations(cur, contrat=None, perimetre=perimetre)
    if every.is_empty():
        return every
    hits: set[int] = set()
    for table, rel in rows():
        if table in _PERIODS:
            sql = _rows_of_period(
                table,
                rel,
                select="DISTINCT v.id_validation",
                contrat="v.code_contrat",
                debut="v.annee_debut",
                fin="v.annee_fin",
                join="CROSS JOIN validation v",
            )
            hits |= {r[0] for r in cur.execute(sql).fetchall()}
    return every.filter(pl.col("id_validation").is_in(sorted(hits)))


def affected_validations(
    cur: duckdb.DuckDBPyConnection,
    loads: list[Load],
    *,
    replace_scope: bool = False,
    perimetre: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """The validations (as `validations`) whose contract and period the rows this import would
    add, change or delete belong to (the rule of the module docstring). Nothing is written."""
    # a load of common data (porteurs…) touches none: not staged again (an action's cascade is)
    return _affected(
        cur,
        lambda: touched(cur, [load for load in loads if load.table in _PERIODS], replace_scope=replace_scope),
        perimetre,
    )


def affected_by_rollback(
    cur: duckdb.DuckDBPyConnection, *, id_import: int, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """The validations the rollback of import `id_import` would touch: the rows it would
    remove, replace or restore (same rule). Nothing is written."""
    return _affected(cur, lambda: rollback_touched(cur, id_import), perimetre)


def describe(affected: pl.DataFrame, *, what: str = "Cet import") -> list[str]:
    """One French sentence per validation an import (or, `what`, its rollback) would touch."""
    return [
        f"{what} modifie des chiffres validés le {fmt.day(row['valide_le'])} par {row['valide_par']} "
        f"({row['libelle']} ; contrat {row['code_contrat']}, période {row['periode']})."
        for row in affected.iter_rows(named=True)
    ]


def check_import(
    cur: duckdb.DuckDBPyConnection, loads: list[Load], *, user: access.User, replace_scope: bool, confirmed: bool
) -> list[int]:
    """Inside an import's transaction, before it writes: the ids of the validations it touches.
    Refused (`ValidatedFiguresChanged`) unless `confirmed`, and the confirmation requires the
    right to validate their contracts (access.AccessDenied otherwise)."""
    if "validation" not in store.table_names(cur):  # a store before migration 0008 (some tests build one)
        return []
    return _confirm(
        cur,
        affected_validations(cur, loads, replace_scope=replace_scope),
        user=user,
        confirmed=confirmed,
        what="Cet import",
        how="l'import (case « Je confirme » ou option --confirmer-chiffres-valides)",
    )


def check_rollback(cur: duckdb.DuckDBPyConnection, id_import: int, *, user: access.User, confirmed: bool) -> list[int]:
    """`check_import` for the rollback of import `id_import`."""
    if "validation" not in store.table_names(cur):
        return []
    return _confirm(
        cur,
        affected_by_rollback(cur, id_import=id_import),
        user=user,
        confirmed=confirmed,
        what="Annuler cet import",
        how="l'annulation (case « Je confirme : annuler malgré les chiffres validés »)",
    )


def _confirm(cur, affected: pl.DataFrame, *, user: access.User, confirmed: bool, what: str, how: str) -> list[int]:
    if affected.is_empty():
        return []
    if not confirmed:
        raise ValidatedFiguresChanged(
            " ".join(describe(affected, what=what)) + f" Un chef de projet ou un administrateur doit confirmer {how}. "
            "Rien n'a été modifié."
        )
    access.require(cur, user, access.VALIDATE, contrats=set(affected["code_contrat"]))
    return affected["id_validation"].to_list()


__all__ = [
    "TABLES",
    "ValidatedFiguresChanged",
    "affected_by_rollback",
    "affected_validations",
    "changed_tables",
    "check_import",
    "check_rollback",
    "compare",
    "describe",
    "validate",
    "validations",
]
