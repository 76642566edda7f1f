"""Validated writes of the « Jalons et actualisation 2027 » screen, each in one store transaction.

- `add_milestone`: a new jalon for a contract;
- `mark_done`: record the date a jalon was achieved;
- `freeze_baseline`: store a snapshot of a contract at a date (signature by default), never
  altered afterwards (later imports only write to the live tables).

Invalid input raises `store.IntegrityError` with every French problem found; nothing is written.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb

from cdv_core import access, fmt, store
from cdv_core.domain import model
from cdv_core.edits import typed_text
from cdv_core.queries import jalons as q

MAX_LIBELLE = 200
# A milestone may be planned up to a year before the contract starts (the first appel à projets
# is launched in the autumn before) and no later than its end.
EARLIEST_BEFORE_START = timedelta(days=366)


def _contract(cur, code_contrat: str | None) -> dict | None:
    if not code_contrat:
        return None
    rows = cur.execute(
        "SELECT code_contrat, libelle, date_debut, date_fin, date_signature FROM contrat WHERE code_contrat = $c",
        {"c": code_contrat},
    ).fetchall()
    if not rows:
        return None
    keys = ("code_contrat", "libelle", "date_debut", "date_fin", "date_signature")
    return dict(zip(keys, rows[0]))


def _check_libelle(libelle: str | None, problems: list[str], what: str) -> str:
    text = (libelle or "").strip()
    if not text:
        problems.append(f"le libellé {what} est obligatoire")
    elif len(text) > MAX_LIBELLE:
        problems.append(f"le libellé {what} dépasse {MAX_LIBELLE} caractères ({len(text)})")
    return text


def validate_milestone(
    cur: duckdb.DuckDBPyConnection,
    *,
    code_contrat: str | None,
    type_jalon: str | None,
    libelle: str | None,
    date_prevue: date | None,
    date_realisation: date | None,
    annee: int | None,
    today: date,
) -> list[str]:
    """Every problem of a new milestone, in French (empty when it can be written)."""
    problems: list[str] = []
    contrat = _contract(cur, code_contrat)
    if contrat is None:
        problems.append("choisissez un contrat existant" if not code_contrat else f"contrat « {code_contrat} » inconnu")
    if type_jalon not in model.TYPES_JALON:
        problems.append(f"type de jalon « {type_jalon} » inconnu (attendu : {', '.join(model.TYPES_JALON)})")
    _check_libelle(libelle, problems, "du jalon")
    if date_prevue is None:
        problems.append("la date prévue est obligatoire")
    elif contrat is not None:
        lo, hi = contrat["date_debut"] - EARLIEST_BEFORE_START, contrat["date_fin"]
        if not lo <= date_prevue <= hi:
            problems.append(
                f"la date prévue {fmt.day(date_prevue)} est hors de la période du contrat "
                f"({fmt.day(lo)} – {fmt.day(hi)})"
            )
    if date_realisation is not None:
        if date_realisation > today:
            problems.append(f"la date de réalisation {fmt.day(date_realisation)} est dans le futur")
        if contrat is not None and date_realisation < contrat["date_debut"] - EARLIEST_BEFORE_START:
            problems.append(f"la date de réalisation {fmt.day(date_realisation)} précède la période du contrat")
    if annee is not None and not 2014 <= annee <= 2035:
        problems.append(f"l'année {annee} n'est pas plausible (2014 à 2035)")
    return problems


# The tables a frozen reference fills (fixed names, not user input): header, then parts.
SNAPSHOT_PARTS = {
    "objectifs": "reference_gel_objectif",
    "thematiques": "reference_gel_thematique",
    "indicateurs": "reference_gel_indicateur",
}
SNAPSHOT_TABLES = frozenset({"reference_gel", *SNAPSHOT_PARTS.values()})


@store.retry_on_conflict
def add_milestone(
    con: duckdb.DuckDBPyConnection,
    *,
    user: access.User,
    code_contrat: str | None,
    type_jalon: str | None,
    libelle: str | None,
    date_prevue: date | None,
    date_realisation: date | None = None,
    annee: int | None = None,
    today: date | None = None,
    warnings: list[str] | None = None,
) -> str:
    """Validate and insert a milestone in one transaction; returns its id (`J-<contrat>-<n>`).
    A formula as title is refused; control characters are removed (said in `warnings`)."""
    today = today or date.today()
    audit = store.Audit(user.label, "Jalon ajouté", set() if code_contrat is None else {code_contrat})
    with store.transaction(con, written={"jalon"}, audit=audit) as cur:
        access.require(cur, user, access.WRITE, contrats=audit.contrats)
        problems: list[str] = []
        libelle = typed_text("libellé du jalon", libelle, problems=problems, warnings=warnings)
        problems += validate_milestone(
            cur,
            code_contrat=code_contrat,
            type_jalon=type_jalon,
            libelle=libelle,
            date_prevue=date_prevue,
            date_realisation=date_realisation,
            annee=annee,
            today=today,
        )
        if problems:
            raise store.IntegrityError(problems)
        assert date_prevue is not None  # else validate_milestone reported a problem
        text = (libelle or "").strip()  # not empty: validate_milestone refused that
        n = store.scalar(
            cur,
            """SELECT coalesce(max(TRY_CAST(regexp_extract(id_jalon, '-(\\d+)$', 1) AS INTEGER)), 0)
                                 FROM jalon WHERE code_contrat = $c""",
            {"c": code_contrat},
        )
        new_id = f"J-{code_contrat}-{n + 1:03d}"
        while store.scalar(cur, "SELECT count(*) FROM jalon WHERE id_jalon = $id", {"id": new_id}):
            n += 1  # an imported id may already use the number
            new_id = f"J-{code_contrat}-{n + 1:03d}"
        cur.execute(
            """INSERT INTO jalon (id_jalon, code_contrat, type_jalon, libelle, date_prevue, date_realisation, annee)
               VALUES ($id, $c, $t, $l, $p, $r, $a)""",
            {
                "id": new_id,
                "c": code_contrat,
                "t": type_jalon,
                "l": text,
                "p": date_prevue,
                "r": date_realisation,
                "a": annee if annee is not None else date_prevue.year,
            },
        )
        audit.detail = {"jalon": new_id, "libellé": text}
    return new_id


@store.retry_on_conflict
def mark_done(
    con: duckdb.DuckDBPyConnection,
    *,
    user: access.User,
    id_jalon: str | None,
    date_realisation: date | None,
    today: date | None = None,
) -> None:
    """Record the achievement date of a milestone (validated, one transaction)."""
    today = today or date.today()
    audit = store.Audit(user.label, "Jalon marqué réalisé", detail={"jalon": id_jalon, "réalisé le": date_realisation})
    with store.transaction(con, written={"jalon"}, audit=audit) as cur:
        audit.contrats = {
            r[0]
            for r in cur.execute("SELECT code_contrat FROM jalon WHERE id_jalon = $id", {"id": id_jalon}).fetchall()
        }
        access.require(cur, user, access.WRITE, contrats=audit.contrats)
        problems: list[str] = []
        rows = cur.execute(
            "SELECT j.date_prevue, c.date_debut FROM jalon j JOIN contrat c USING (code_contrat) "
            "WHERE j.id_jalon = $id",
            {"id": id_jalon},
        ).fetchall()
        if not rows:
            problems.append(f"jalon « {id_jalon} » introuvable" if id_jalon else "choisissez un jalon")
        if date_realisation is None:
            problems.append("la date de réalisation est obligatoire")
        elif date_realisation > today:
            problems.append(f"la date de réalisation {fmt.day(date_realisation)} est dans le futur")
        elif rows and date_realisation < rows[0][1] - EARLIEST_BEFORE_START:
            problems.append(f"la date de réalisation {fmt.day(date_realisation)} précède la période du contrat")
        if problems:
            raise store.IntegrityError(problems)
        cur.execute(
            "UPDATE jalon SET date_realisation = $r WHERE id_jalon = $id", {"r": date_realisation, "id": id_jalon}
        )


@store.retry_on_conflict
def freeze_baseline(
    con: duckdb.DuckDBPyConnection,
    *,
    user: access.User,
    code_contrat: str | None,
    date_gel: date | None = None,
    libelle: str | None = None,
    now: datetime | None = None,
    warnings: list[str] | None = None,
) -> int:
    """Store a snapshot of the contract at `date_gel` (its signature date by default); returns its id.
    A formula as title is refused; control characters are removed (said in `warnings`).

    What is stored is `queries.jalons.snapshot_frames` at that date: the same rule computes the
    « now » side of the comparison, so a difference is always a change of data, not of rule.
    """
    now = now or datetime.now().replace(microsecond=0)
    audit = store.Audit(user.label, "Référence figée", set() if code_contrat is None else {code_contrat})
    with store.transaction(con, written=SNAPSHOT_TABLES, audit=audit) as cur:
        access.require(cur, user, access.WRITE, contrats=audit.contrats)
        problems: list[str] = []
        libelle = typed_text("libellé de la référence", libelle, problems=problems, warnings=warnings)
        contrat = _contract(cur, code_contrat)
        if contrat is None:
            problems.append(
                "choisissez un contrat existant" if not code_contrat else f"contrat « {code_contrat} » inconnu"
            )
        else:
            date_gel = date_gel or contrat["date_signature"]
            if date_gel is None:
                problems.append("le contrat n'a pas de date de signature : choisissez la date de la référence")
            elif date_gel > now.date():
                problems.append(f"la date de référence {fmt.day(date_gel)} est dans le futur")
            elif date_gel < contrat["date_debut"] - EARLIEST_BEFORE_START:
                problems.append(f"la date de référence {fmt.day(date_gel)} précède la période du contrat")
        if libelle is None or not libelle.strip():
            libelle = f"Référence au {fmt.day(date_gel)}" if date_gel else ""
        text = _check_libelle(libelle, problems, "de la référence")
        if problems:
            raise store.IntegrityError(problems)
        assert code_contrat and date_gel is not None  # else a problem was reported above
        write_snapshot(cur, code_contrat=code_contrat, date_gel=date_gel, libelle=text, auteur=user.label, now=now)
        id_gel = store.scalar(cur, "SELECT max(id_gel) FROM reference_gel")
        audit.detail = {"référence": id_gel, "date": date_gel, "libellé": text}
        return id_gel


def write_snapshot(
    cur: duckdb.DuckDBPyConnection,
    *,
    code_contrat: str,
    date_gel: date,
    libelle: str,
    auteur: str | None,
    now: datetime,
    id_gel: int | None = None,
) -> int:
    """Insert the snapshot rows inside the caller's transaction (used by `freeze_baseline`)."""
    if id_gel is None:
        id_gel = int(store.scalar(cur, "SELECT coalesce(max(id_gel), 0) + 1 FROM reference_gel"))
    frames = q.snapshot_frames(cur, contrat=code_contrat, date_gel=date_gel)
    cur.execute(
        """INSERT INTO reference_gel (id_gel, code_contrat, libelle, date_gel, annee_programmation, created_at, auteur)
                   VALUES ($id, $c, $l, $d, $y, $t, $a)""",
        {"id": id_gel, "c": code_contrat, "l": libelle, "d": date_gel, "y": date_gel.year, "t": now, "a": auteur},
    )
    targets = SNAPSHOT_PARTS
    for key, table in targets.items():  # fixed table names, not user input
        frame = frames[key].with_columns(id_gel=id_gel)
        if frame.is_empty():
            continue
        cur.register("_snapshot", frame.to_arrow())
        cur.execute("INSERT INTO " + table + " BY NAME SELECT * FROM _snapshot")
        cur.unregister("_snapshot")
    return id_gel
