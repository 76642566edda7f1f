"""How an action's money is split between the QPV it serves, and what « hors QPV » means.

One rule for every screen (Projets de quartier, Actions et financements, séance, exports):

- **Allocation share** of each (action, QPV) link, summing to 1 per action: a given
  `action_quartier.part` is kept, missing parts share what is left equally (everything equally
  when no part is given), then the shares are normalised so that an action is never counted
  more or less than once. Example: parts (0,6, NULL, NULL) → 0,6 / 0,2 / 0,2.
- **Hors QPV**: an action linked to no QPV (no `action_quartier` row). Its money is in no QPV
  total, so « sum over QPV + hors QPV = all » holds on every screen. The `action.hors_qpv`
  flag (« poche de pauvreté ») is a declaration: the 2,5 % cap counts the unlinked actions that
  carry it (`financements.hors_qpv_by_departement`), an unlinked action without it is a missing
  QPV link; `overview.soft_check_warnings` reports actions whose flag disagrees with their links.
"""

from __future__ import annotations

# The share expression over one link `aq` and its action's statistics `st` (known = sum of the
# given parts, n_null = number of missing parts).
_SHARE = """coalesce(aq.part, greatest(1 - st.known, 0) / st.n_null)
             / (st.known + CASE WHEN st.n_null > 0 THEN greatest(1 - st.known, 0) ELSE 0 END)"""

# Which actions' links to compute (fixed fragments, chosen by name; never built from values).
# Every scope selects whole actions, so each action's statistics see all its links.
_SCOPES: dict[str, str] = {
    # $contrat: one contract, or all when NULL
    "contrat": "$contrat IS NULL OR code_action IN (SELECT code_action FROM action WHERE code_contrat = $contrat)",
    # $qpv (list of code_qp): the actions serving at least one of them
    # (a semi-join on the unnested list: faster than list_contains when all 1 700 QPV are chosen)
    "qpv": "code_action IN (SELECT code_action FROM action_quartier WHERE code_qp IN (SELECT unnest($qpv)))",
    # $code_action: one action
    "action": "code_action = $code_action",
}


def shares_sql(scope: str = "contrat") -> str:
    """A SELECT of (code_action, code_qp, part) — the allocation share of each link — for the
    actions of `scope` (`"contrat"`: parameter `$contrat`; `"qpv"`: `$qpv`, a list of code_qp;
    `"action"`: `$code_action`). Restricting the scope keeps a QPV filter from computing the
    shares of every action of a national store."""
    where = _SCOPES[scope]
    return f"""
    SELECT aq.code_action, aq.code_qp, {_SHARE} AS part
    FROM (SELECT code_action, code_qp, part FROM action_quartier WHERE {where}) aq
    JOIN (SELECT code_action, coalesce(sum(part), 0) AS known, count(*) - count(part) AS n_null
          FROM action_quartier WHERE {where} GROUP BY code_action) st USING (code_action)
"""


SHARES_SQL = shares_sql("contrat")

_ALIASES = ("a", "s")  # the action aliases of the callers' queries


def hors_qpv_sql(alias: str = "a") -> str:
    """Boolean SQL expression: the action `alias` (from a fixed allow-list) serves no QPV.

    Correlated (`NOT EXISTS`), not `NOT IN (SELECT code_action FROM action_quartier)`: DuckDB then
    looks up only the selection's actions, where `NOT IN` hashed every link of the store at each
    query (15 of the 20 ms of a contract's funding totals, national store). The same rows either
    way: `action_quartier.code_action` is NOT NULL."""
    if alias not in _ALIASES:
        raise ValueError(f"alias non prévu : {alias}")
    return f"(NOT EXISTS (SELECT 1 FROM action_quartier hq WHERE hq.code_action = {alias}.code_action))"
