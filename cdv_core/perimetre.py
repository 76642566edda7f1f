"""The read scope (« périmètre ») of a reader: the contracts it may see.

Every read function whose rows belong to contracts takes a keyword argument
`perimetre: tuple[str, ...] | None = None` — None: no restriction (administrator, or no
authentication); an empty tuple: no contract, hence no row — and binds it with `bind()` as
`$perimetre`. Its SQL filters each table that owns a `code_contrat` beside the `$contrat` filter:

    ($contrat IS NULL OR x.code_contrat = $contrat)
    AND ($perimetre IS NULL OR list_contains($perimetre, x.code_contrat))

Tables without the column reach it through their parent (financement → action, reunion →
instance, decision → reunion → instance, a QPV's values → quartier, posts → their contract or
their 2015 code's). With `perimetre` None the second clause is folded away by DuckDB: the plans
of unrestricted readers do not change. `contrat=None` means « every contract of the périmètre ».
"""

from __future__ import annotations


def bind(perimetre: tuple[str, ...] | None) -> list[str] | None:
    """The `$perimetre` parameter: None (no restriction) or a list of contract codes."""
    return None if perimetre is None else list(perimetre)


# The import log (`import_log.contrats`, migration 0007: the codes an import touched, « , »-
# separated): an import belongs to a restricted reader when every contract it touched is in the
# périmètre. National imports, imports of common data only (porteurs…) and imports made before
# the log kept contracts are shown to unrestricted readers only.
IMPORT_IN_SCOPE = """($perimetre IS NULL OR (nullif(contrats, '') IS NOT NULL
                     AND list_has_all($perimetre, string_split(contrats, ','))))"""
