"""Validated writes of the Acteurs screen.

- `attach_contract`: attach a 2015-generation contract code (`CV049`, kept on the posts of the
  national adulte-relais list: `code_cv_2015`) to a 2024 contract, or detach it
  (`correspondance_contrat`, migration 0004). The code's posts then count in that contract
  (docs/acteurs.md, « Posts of a year »). The list itself is imported on « Mise à jour des
  données » (`cdv_core.ingest`, kind « adultes-relais »).
"""

from __future__ import annotations

import duckdb

from cdv_core import access, store


@store.retry_on_conflict
def attach_contract(
    con: duckdb.DuckDBPyConnection, *, user: access.User, code_cv_2015: str, code_contrat: str | None
) -> None:
    """Attach a 2015-generation contract code to a 2024 contract (None: detach). The posts
    carrying that code then count in the contract. One checked transaction; `user` must write
    the new contract and the one the code was attached to."""
    code = (code_cv_2015 or "").strip()
    if not code:
        raise store.IntegrityError(["Choisissez un code de contrat 2015 (par exemple CV049)."])
    audit = store.Audit(
        user.label,
        "Code 2015 rattaché" if code_contrat else "Code 2015 détaché",
        detail={"code 2015": code, "contrat": code_contrat},
    )
    with store.transaction(con, written={"correspondance_contrat"}, audit=audit) as cur:
        before = cur.execute(
            "SELECT code_contrat FROM correspondance_contrat WHERE code_cv_2015 = $code", {"code": code}
        ).fetchall()
        audit.contrats = {code_contrat, *(r[0] for r in before)} - {None}
        access.require(cur, user, access.WRITE, contrats=audit.contrats)
        cur.execute("DELETE FROM correspondance_contrat WHERE code_cv_2015 = $code", {"code": code})
        if code_contrat is not None:
            cur.execute(
                "INSERT INTO correspondance_contrat VALUES ($code, $contrat)", {"code": code, "contrat": code_contrat}
            )
