"""Validated writes of the rapport annuel's life cycle (issue #19, migration 0015), each in one
store transaction, for a writer of the contract (`access.WRITE`):

- `set_envoi`: the date the draft was sent to the conseils citoyens (None: clear it);
- `add_contribution` / `remove_contribution`: a contribution of a conseil citoyen (annexed to the
  report as written);
- `add_vote` / `remove_vote`: the vote of an assembly — the EPCI (SIREN) or a commune (INSEE
  code) — with its date and the deliberation's reference;
- `set_publication`: the date and the https link of the published report (None: clear both).

Order rules (also store integrity rules, `store._INTEGRITY_RULES`): a contribution needs the
sending and is not before it; a vote is not before the sending; the publication needs a vote and
is not before the first one; no date is in the future (today's date, not « données au »).
What « produit » then means is `queries.gouvernance.annual_obligations`' rule.

A row of `rapport_annuel` may already hold the team's texts (`orientations`…, written elsewhere):
these functions insert the row when absent, else update only the life-cycle columns.
Invalid input raises `store.IntegrityError` with every French problem found; nothing is written.
"""

from __future__ import annotations

import re
from datetime import date, datetime

import duckdb

from cdv_core import access, fmt, store
from cdv_core.domain import identifiers
from cdv_core.edits import typed_text

ASSEMBLEES: tuple[str, ...] = ("EPCI", "commune")
MAX_CONSEIL = 200
MAX_TEXTE = 20_000  # characters of a contribution (a few pages, annexed as written)
MAX_REFERENCE = 50  # « DEL-2026-045 »
MAX_LIBELLE = 200
MAX_LIEN = 500
_INSEE = re.compile(r"(\d{5}|2[AB]\d{3})")
_LIEN = re.compile(r"https://[^\s/?#]+\.[^\s/?#]+(?:[/?#]\S*)?")


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


def _contract(cur, code_contrat: str | None, annee, problems: list[str]) -> dict | None:
    """The contract (with its communes and EPCI SIRENs), or a French problem; the year must be
    one of the contract's years."""
    if not code_contrat:
        problems.append("choisissez un contrat")
        return None
    rows = cur.execute(
        "SELECT libelle, date_debut, date_fin, type_signataire, siren_signataire FROM contrat WHERE code_contrat = $c",
        {"c": code_contrat},
    ).fetchall()
    if not rows:
        problems.append(f"contrat « {code_contrat} » inconnu")
        return None
    libelle, debut, fin, type_signataire, siren = rows[0]
    if annee is None or isinstance(annee, bool) or not isinstance(annee, int):
        problems.append("l'année du rapport est obligatoire")
    elif not debut.year <= annee <= fin.year:
        problems.append(f"l'année {annee} est hors de la période du contrat ({debut.year} – {fin.year})")
    communes = dict(
        cur.execute(
            """SELECT DISTINCT insee_com, lib_com FROM quartier WHERE code_contrat = $c""", {"c": code_contrat}
        ).fetchall()
    )
    epci = {
        r[0]
        for r in cur.execute(
            "SELECT DISTINCT siren_epci FROM quartier WHERE code_contrat = $c AND siren_epci IS NOT NULL",
            {"c": code_contrat},
        ).fetchall()
    }
    if siren and type_signataire in ("EPCI", "EPT"):
        epci.add(siren)
    return {"libelle": libelle, "communes": communes, "epci": epci, "signataire": (type_signataire, siren)}


def _day(value, what: str, today: date, problems: list[str], *, annee=None) -> date | None:
    """A date not in the future and not before the year the report describes."""
    if value is None:
        problems.append(f"la date {what} est obligatoire")
        return None
    if isinstance(value, datetime) or not isinstance(value, date):
        problems.append(f"la date {what} n'est pas une date (reçu : « {value} »)")
        return None
    if value > today:
        problems.append(f"la date {what} ({fmt.day(value)}) est dans le futur")
    if isinstance(annee, int) and value < date(annee, 1, 1):
        problems.append(f"la date {what} ({fmt.day(value)}) précède l'année du rapport ({annee})")
    return value


def _cycle(cur, code_contrat: str, annee: int) -> dict:
    """The recorded steps of one report: sending, first contribution, first vote, publication."""
    envoi, publication = (
        cur.execute(
            "SELECT date_envoi_conseils, date_publication FROM rapport_annuel WHERE code_contrat = $c AND annee = $a",
            {"c": code_contrat, "a": annee},
        ).fetchall()
        or [(None, None)]
    )[0]
    premier_vote, nb_votes = cur.execute(
        "SELECT min(date_vote), count(*) FROM rapport_annuel_vote WHERE code_contrat = $c AND annee = $a",
        {"c": code_contrat, "a": annee},
    ).fetchall()[0]
    premiere_contribution, nb_contributions = cur.execute(
        "SELECT min(date_reception), count(*) FROM rapport_annuel_contribution WHERE code_contrat = $c AND annee = $a",
        {"c": code_contrat, "a": annee},
    ).fetchall()[0]
    return {
        "envoi": envoi,
        "publication": publication,
        "premier_vote": premier_vote,
        "nb_votes": nb_votes,
        "premiere_contribution": premiere_contribution,
        "nb_contributions": nb_contributions,
    }


def _upsert(cur, code_contrat: str, annee: int, values: dict, user: access.User) -> None:
    """Write the life-cycle columns `values` of the report's row: insert the row when absent,
    else update only these columns (the team's texts in the same row are left as they are)."""
    params = {
        "c": code_contrat,
        "a": annee,
        "u": user.label,
        "t": _now(),
        "envoi": values.get("date_envoi_conseils"),
        "pub": values.get("date_publication"),
        "lien": values.get("lien_publication"),
    }
    exists = store.scalar(
        cur,
        "SELECT count(*) FROM rapport_annuel WHERE code_contrat = $c AND annee = $a",
        {"c": code_contrat, "a": annee},
    )
    if not exists:
        if all(v is None for v in values.values()):
            return  # clearing a step of a report never recorded: nothing to write
        # modifie_par / modifie_le say who last wrote the team's texts (edits.rapport_textes): a
        # step of the cycle leaves them alone (the log of writes records it)
        cur.execute(
            """INSERT INTO rapport_annuel (code_contrat, annee, date_envoi_conseils, date_publication,
                                                   lien_publication)
                       VALUES ($c, $a, $envoi, $pub, $lien)""",
            {k: params[k] for k in ("c", "a", "envoi", "pub", "lien")},
        )
    elif "date_envoi_conseils" in values:
        cur.execute(
            """UPDATE rapport_annuel SET date_envoi_conseils = $envoi
                       WHERE code_contrat = $c AND annee = $a""",
            {k: params[k] for k in ("c", "a", "envoi")},
        )
    else:
        cur.execute(
            """UPDATE rapport_annuel SET date_publication = $pub, lien_publication = $lien
                       WHERE code_contrat = $c AND annee = $a""",
            {k: params[k] for k in ("c", "a", "pub", "lien")},
        )


def _audit(user: access.User, operation: str, code_contrat: str | None, annee, **detail) -> store.Audit:
    return store.Audit(
        user.label, operation, set() if code_contrat is None else {code_contrat}, {"rapport": annee, **detail}
    )


# --- sending to the conseils citoyens -----------------------------------------------------------


@store.retry_on_conflict
def set_envoi(
    con: duckdb.DuckDBPyConnection,
    *,
    user: access.User,
    code_contrat: str | None,
    annee: int | None,
    date_envoi: date | None,
    today: date | None = None,
) -> None:
    """Record (or, with None, clear) the date the draft report was sent to the conseils citoyens.
    Refused after a recorded vote or contribution (the sending comes first), and cleared only
    while no contribution is recorded."""
    today = today or date.today()
    audit = _audit(user, "Rapport annuel : envoi aux conseils citoyens", code_contrat, annee, envoi=date_envoi)
    with store.transaction(con, written={"rapport_annuel"}, audit=audit) as cur:
        access.require(cur, user, access.WRITE, contrats=audit.contrats)
        problems: list[str] = []
        contrat = _contract(cur, code_contrat, annee, problems)
        if date_envoi is not None:
            _day(date_envoi, "d'envoi aux conseils citoyens", today, problems, annee=annee)
        if contrat is not None and code_contrat and isinstance(annee, int) and not problems:
            cycle = _cycle(cur, code_contrat, annee)
            if date_envoi is None and cycle["nb_contributions"]:
                problems.append(
                    "des contributions des conseils citoyens sont enregistrées : retirez-les avant d'effacer l'envoi"
                )
            if date_envoi is not None and cycle["premier_vote"] is not None and date_envoi > cycle["premier_vote"]:
                problems.append(
                    f"l'envoi aux conseils citoyens ({fmt.day(date_envoi)}) ne peut pas suivre "
                    f"le premier vote ({fmt.day(cycle['premier_vote'])})"
                )
            if (
                date_envoi is not None
                and cycle["premiere_contribution"] is not None
                and date_envoi > cycle["premiere_contribution"]
            ):
                problems.append(
                    f"l'envoi aux conseils citoyens ({fmt.day(date_envoi)}) ne peut pas suivre la première "
                    f"contribution reçue ({fmt.day(cycle['premiere_contribution'])})"
                )
        if problems:
            raise store.IntegrityError(problems)
        assert code_contrat and annee is not None  # else _contract reported a problem
        _upsert(cur, code_contrat, annee, {"date_envoi_conseils": date_envoi}, user)


# --- contributions of the conseils citoyens -----------------------------------------------------


@store.retry_on_conflict
def add_contribution(
    con: duckdb.DuckDBPyConnection,
    *,
    user: access.User,
    code_contrat: str | None,
    annee: int | None,
    conseil: str | None,
    date_reception: date | None,
    texte: str | None,
    today: date | None = None,
    warnings: list[str] | None = None,
) -> None:
    """Record a conseil citoyen's contribution (its text as written, ≤ `MAX_TEXTE` characters),
    received on or after the sending of the draft."""
    today = today or date.today()
    audit = _audit(
        user, "Rapport annuel : contribution reçue", code_contrat, annee, conseil=conseil, recue=date_reception
    )
    with store.transaction(con, written={"rapport_annuel_contribution"}, audit=audit) as cur:
        access.require(cur, user, access.WRITE, contrats=audit.contrats)
        problems: list[str] = []
        conseil = typed_text("conseil citoyen", conseil, problems=problems, warnings=warnings)
        texte = typed_text("texte de la contribution", texte, problems=problems, warnings=warnings)
        contrat = _contract(cur, code_contrat, annee, problems)
        conseil = (conseil or "").strip()
        texte = (texte or "").strip()
        if not conseil:
            problems.append("le nom du conseil citoyen est obligatoire")
        elif len(conseil) > MAX_CONSEIL:
            problems.append(f"le nom du conseil citoyen dépasse {MAX_CONSEIL} caractères ({len(conseil)})")
        if not texte:
            problems.append("le texte de la contribution est obligatoire")
        elif len(texte) > MAX_TEXTE:
            problems.append(
                f"le texte de la contribution dépasse {fmt.integer(MAX_TEXTE)} caractères ({fmt.integer(len(texte))})"
            )
        _day(date_reception, "de réception", today, problems, annee=annee)
        if contrat is not None and code_contrat and isinstance(annee, int) and isinstance(date_reception, date):
            envoi = _cycle(cur, code_contrat, annee)["envoi"]
            if envoi is None:
                problems.append("enregistrez d'abord l'envoi du projet de rapport aux conseils citoyens")
            elif date_reception < envoi:
                problems.append(
                    f"la contribution ({fmt.day(date_reception)}) ne peut pas précéder l'envoi aux "
                    f"conseils citoyens ({fmt.day(envoi)})"
                )
            elif store.scalar(
                cur,
                """SELECT count(*) FROM rapport_annuel_contribution WHERE code_contrat = $c
                                        AND annee = $a AND conseil = $k AND date_reception = $d""",
                {"c": code_contrat, "a": annee, "k": conseil, "d": date_reception},
            ):
                problems.append(
                    f"une contribution de « {conseil} » reçue le {fmt.day(date_reception)} est déjà enregistrée"
                )
        if problems:
            raise store.IntegrityError(problems)
        cur.execute(
            """INSERT INTO rapport_annuel_contribution (code_contrat, annee, conseil, date_reception, texte,
                                                                modifie_par, modifie_le)
                       VALUES ($c, $a, $k, $d, $x, $u, $t)""",
            {
                "c": code_contrat,
                "a": annee,
                "k": conseil,
                "d": date_reception,
                "x": texte,
                "u": user.label,
                "t": _now(),
            },
        )


@store.retry_on_conflict
def remove_contribution(
    con: duckdb.DuckDBPyConnection,
    *,
    user: access.User,
    code_contrat: str | None,
    annee: int | None,
    conseil: str | None,
    date_reception: date | None,
) -> None:
    """Remove a recorded contribution (identified by its conseil and reception date)."""
    audit = _audit(
        user, "Rapport annuel : contribution retirée", code_contrat, annee, conseil=conseil, recue=date_reception
    )
    with store.transaction(con, written={"rapport_annuel_contribution"}, audit=audit) as cur:
        access.require(cur, user, access.WRITE, contrats=audit.contrats)
        params = {"c": code_contrat, "a": annee, "k": conseil, "d": date_reception}
        where = "code_contrat = $c AND annee = $a AND conseil = $k AND date_reception = $d"
        if not store.scalar(cur, "SELECT count(*) FROM rapport_annuel_contribution WHERE " + where, params):
            raise store.IntegrityError(
                [
                    f"contribution de « {conseil} » du {fmt.day(date_reception)} introuvable"
                    if conseil and date_reception
                    else "choisissez une contribution"
                ]
            )
        cur.execute("DELETE FROM rapport_annuel_contribution WHERE " + where, params)


# --- votes of the assemblies --------------------------------------------------------------------


def _check_collectivite(assemblee, code: str, contrat: dict | None, problems: list[str]) -> str | None:
    """The code of the voting assembly (SIREN of an EPCI, INSEE code of a commune of the contract);
    returns the commune's name when known."""
    if assemblee not in ASSEMBLEES:
        problems.append(f"assemblée « {assemblee} » inconnue (attendu : {' ou '.join(ASSEMBLEES)})")
        return None
    if assemblee == "EPCI":
        if not identifiers.siren_valid(code):
            problems.append(f"SIREN de l'EPCI « {code} » invalide (9 chiffres, clé de contrôle)")
        elif contrat is not None and contrat["epci"] and code not in contrat["epci"]:
            problems.append(f"l'EPCI {code} n'est pas celui du contrat ({', '.join(sorted(contrat['epci']))})")
        return None
    if not _INSEE.fullmatch(code):
        problems.append(f"code INSEE de la commune « {code} » invalide (5 caractères : 75056, 2A004)")
        return None
    if contrat is not None and contrat["communes"] and code not in contrat["communes"]:
        problems.append(f"la commune {code} n'a pas de quartier dans le contrat")
        return None
    return contrat["communes"].get(code) if contrat is not None else None


@store.retry_on_conflict
def add_vote(
    con: duckdb.DuckDBPyConnection,
    *,
    user: access.User,
    code_contrat: str | None,
    annee: int | None,
    assemblee: str | None,
    code_collectivite: str | None,
    date_vote: date | None,
    reference_deliberation: str | None = None,
    libelle_collectivite: str | None = None,
    today: date | None = None,
    warnings: list[str] | None = None,
) -> None:
    """Record an assembly's vote of the report: the EPCI (its SIREN) or a commune of the contract
    (its INSEE code), on a date not before the sending to the conseils citoyens, with the
    deliberation's reference. One vote per assembly and report."""
    today = today or date.today()
    code = (code_collectivite or "").strip().upper()
    audit = _audit(
        user,
        "Rapport annuel : vote enregistré",
        code_contrat,
        annee,
        assemblee=assemblee,
        collectivite=code,
        vote=date_vote,
    )
    with store.transaction(con, written={"rapport_annuel_vote"}, audit=audit) as cur:
        access.require(cur, user, access.WRITE, contrats=audit.contrats)
        problems: list[str] = []
        reference = typed_text(
            "référence de la délibération", reference_deliberation, problems=problems, warnings=warnings
        )
        libelle = typed_text("nom de la collectivité", libelle_collectivite, problems=problems, warnings=warnings)
        reference = (reference or "").strip() or None
        libelle = (libelle or "").strip() or None
        contrat = _contract(cur, code_contrat, annee, problems)
        if not code:
            problems.append("le code de la collectivité (SIREN de l'EPCI ou code INSEE de la commune) est obligatoire")
            commune = None
        else:
            commune = _check_collectivite(assemblee, code, contrat, problems)
        if reference is not None and len(reference) > MAX_REFERENCE:
            problems.append(f"la référence de la délibération dépasse {MAX_REFERENCE} caractères ({len(reference)})")
        if libelle is not None and len(libelle) > MAX_LIBELLE:
            problems.append(f"le nom de la collectivité dépasse {MAX_LIBELLE} caractères ({len(libelle)})")
        _day(date_vote, "du vote", today, problems, annee=annee)
        if contrat is not None and code_contrat and isinstance(annee, int) and isinstance(date_vote, date):
            envoi = _cycle(cur, code_contrat, annee)["envoi"]
            if envoi is not None and date_vote < envoi:
                problems.append(
                    f"le vote ({fmt.day(date_vote)}) ne peut pas précéder l'envoi aux conseils citoyens "
                    f"({fmt.day(envoi)})"
                )
            if store.scalar(
                cur,
                """SELECT count(*) FROM rapport_annuel_vote WHERE code_contrat = $c AND annee = $a
                                      AND assemblee = $s AND code_collectivite = $k""",
                {"c": code_contrat, "a": annee, "s": assemblee, "k": code},
            ):
                problems.append(
                    f"le vote de {'l’EPCI' if assemblee == 'EPCI' else 'la commune'} {code} "
                    f"sur le rapport {annee} est déjà enregistré"
                )
        if problems:
            raise store.IntegrityError(problems)
        assert contrat is not None  # else _contract reported a problem
        if libelle is None:
            libelle = (
                f"Commune de {commune}"
                if assemblee == "commune" and commune
                else f"EPCI ({contrat['libelle']})"
                if assemblee == "EPCI"
                else None
            )
        cur.execute(
            """INSERT INTO rapport_annuel_vote (code_contrat, annee, assemblee, code_collectivite,
                                                        libelle_collectivite, date_vote, reference_deliberation,
                                                        modifie_par, modifie_le)
                       VALUES ($c, $a, $s, $k, $l, $d, $r, $u, $t)""",
            {
                "c": code_contrat,
                "a": annee,
                "s": assemblee,
                "k": code,
                "l": libelle,
                "d": date_vote,
                "r": reference,
                "u": user.label,
                "t": _now(),
            },
        )


@store.retry_on_conflict
def remove_vote(
    con: duckdb.DuckDBPyConnection,
    *,
    user: access.User,
    code_contrat: str | None,
    annee: int | None,
    assemblee: str | None,
    code_collectivite: str | None,
) -> None:
    """Remove a recorded vote; refused while the publication would then precede the first vote
    (or have no vote at all)."""
    audit = _audit(
        user, "Rapport annuel : vote retiré", code_contrat, annee, assemblee=assemblee, collectivite=code_collectivite
    )
    with store.transaction(con, written={"rapport_annuel_vote"}, audit=audit) as cur:
        access.require(cur, user, access.WRITE, contrats=audit.contrats)
        params = {"c": code_contrat, "a": annee, "s": assemblee, "k": code_collectivite}
        where = "code_contrat = $c AND annee = $a AND assemblee = $s AND code_collectivite = $k"
        if (
            code_contrat is None
            or annee is None
            or not store.scalar(cur, "SELECT count(*) FROM rapport_annuel_vote WHERE " + where, params)
        ):
            raise store.IntegrityError(
                [
                    f"vote {assemblee} {code_collectivite} sur le rapport {annee} introuvable"
                    if code_collectivite
                    else "choisissez un vote"
                ]
            )
        cur.execute("DELETE FROM rapport_annuel_vote WHERE " + where, params)
        cycle = _cycle(cur, code_contrat, annee)
        if cycle["publication"] is not None and (
            cycle["premier_vote"] is None or cycle["publication"] < cycle["premier_vote"]
        ):
            raise store.IntegrityError(
                [
                    f"le rapport est publié le {fmt.day(cycle['publication'])} : sans ce vote, "
                    "la publication précéderait le vote ; retirez d'abord la publication"
                ]
            )


# --- publication --------------------------------------------------------------------------------


@store.retry_on_conflict
def set_publication(
    con: duckdb.DuckDBPyConnection,
    *,
    user: access.User,
    code_contrat: str | None,
    annee: int | None,
    date_publication: date | None,
    lien_publication: str | None,
    today: date | None = None,
) -> None:
    """Record the publication of the voted report (date on or after the first vote, https link);
    with `date_publication` None, clear the publication (date and link)."""
    today = today or date.today()
    lien = (lien_publication or "").strip() or None
    audit = _audit(user, "Rapport annuel : publication", code_contrat, annee, publication=date_publication, lien=lien)
    with store.transaction(con, written={"rapport_annuel"}, audit=audit) as cur:
        access.require(cur, user, access.WRITE, contrats=audit.contrats)
        problems: list[str] = []
        contrat = _contract(cur, code_contrat, annee, problems)
        if date_publication is None:
            lien = None
        else:
            _day(date_publication, "de publication", today, problems, annee=annee)
            if lien is None:
                problems.append("le lien du rapport publié est obligatoire (https://…)")
            elif len(lien) > MAX_LIEN:
                problems.append(f"le lien dépasse {MAX_LIEN} caractères ({len(lien)})")
            elif not _LIEN.fullmatch(lien):
                problems.append(f"le lien « {lien} » n'est pas une adresse https:// valide")
            if contrat is not None and code_contrat and isinstance(annee, int) and isinstance(date_publication, date):
                premier = _cycle(cur, code_contrat, annee)["premier_vote"]
                if premier is None:
                    problems.append("enregistrez d'abord le vote du rapport : on publie un rapport voté")
                elif date_publication < premier:
                    problems.append(
                        f"la publication ({fmt.day(date_publication)}) ne peut pas précéder le premier "
                        f"vote ({fmt.day(premier)})"
                    )
        if problems:
            raise store.IntegrityError(problems)
        assert code_contrat and annee is not None  # else _contract reported a problem
        _upsert(cur, code_contrat, annee, {"date_publication": date_publication, "lien_publication": lien}, user)
