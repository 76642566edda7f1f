"""THE freshness rule of indicator values (« à jour » / « ancienne »), used by the « Indicateurs »
dictionary and the « Jalons » readiness checklist alike (their SQL joins, per source, what these
functions return: `cdv_core.queries.indicateurs.FRESHNESS_CTE`).

The question is « is the latest value known the latest vintage *published* at the « données au »
date? », not « how old is it? »: a Filosofi value is always about three years old when it comes
out, a France Travail value a few months.

Conventions
- A value is dated on the first day of the period it describes (its *millésime*): Filosofi 2021,
  RP 2021, DEPP session 2021 → 01/01/2021; France Travail 2nd quarter 2026 → 01/04/2026.
- A source publishes one vintage every `rythme_mois` months (12: yearly, 3: quarterly). Its
  vintages start on the months whose index counted from January of year 0 is a multiple of the
  rhythm (yearly: 1 January; half-yearly: 1 January and 1 July; quarterly: 1 January, April,
  July, October; monthly: every month). A value dated inside a period counts for that period.
- Vintage v is *expected* (published, and its values due in the store) `delai_publication_mois`
  months after the end of the period it describes, i.e. on v + rythme + délai months (1st of a
  month). Example, Filosofi (12, 32): the 2021 vintage (01/01/2021) describes 2021, ends on
  01/01/2022 and is expected from 01/09/2024 (Insee published it in August 2024).

The rule
- Only values dated on or before « données au » exist at that date (as on « Projets de quartier »).
- `expected_vintage(au, rythme, delai)`: the latest vintage v with v + rythme + délai months ≤ au.
- With a publication rule, the latest value is « à jour » when dated on or after the expected
  vintage, « ancienne » otherwise (the expected vintage says why: « millésime attendu : 2023 »).
  No tolerance of one period is added: the délai is the tolerance. A source that is often late
  gets a longer délai in its table (`source_indicateur`, editable on the « Indicateurs » page),
  not a blanket allowance that would also hide a vintage never imported.
- Without a rule (a source absent from the table and from `DEFAULT_SOURCES`, no source, or a row
  of the table whose rythme and délai are empty), the age rule applies, as before: « à jour »
  when dated on or after `fresh_from(au, max_age_months)` = « données au » minus
  `max_age_months` calendar months (clamped to the month's last day, like DuckDB's
  `date - INTERVAL n MONTH`); setting `indicator_max_age_months` (`CDV_INDICATOR_MAX_AGE_MONTHS`, 24).
- Sources are matched on their name without case, accents or surrounding spaces (`source_key`):
  « Insee Filosofi » and « INSEE filosofi » are one source.

Where the rules come from: the store's table `source_indicateur` (migration 0010) wins; for a
source it does not name, the shipped `DEFAULT_SOURCES` below. (The defaults are shipped with the
code, not written into the store by the migration: a new store stays empty of data of its own,
and a later version of the defaults reaches every store that did not change them.)
"""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import NamedTuple

from cdv_core import fmt
from cdv_core.domain.cadence import add_months

A_JOUR = "à jour"
ANCIENNE = "ancienne"
AUCUNE = "aucune valeur"

MAX_RYTHME = 120  # months: one vintage every ten years at most (the longest a form accepts)
MAX_DELAI = 120  # months between the end of a vintage's period and its publication


class SourceRule(NamedTuple):
    source: str  # as written in the dictionary's « source » column
    rythme: int  # months between two vintages
    delai: int  # months from the end of a vintage's period to its publication
    note: str  # why these numbers (shown beside the table)


# Shipped defaults: the sources of the demo territory and of the files contract teams import.
DEFAULT_SOURCES: tuple[SourceRule, ...] = (
    SourceRule("Insee Filosofi", 12, 32, "millésime N publié fin août N+3 (Filosofi 2021 : août 2024)"),
    SourceRule("Insee RP", 12, 30, "recensement : millésime N publié fin juin N+3"),
    SourceRule("Insee EEC / ONPV", 12, 24, "indicateurs de l'Observatoire : millésime N publié en N+2"),
    SourceRule("ONPV", 12, 24, "Observatoire national de la politique de la ville : millésime N publié en N+2"),
    SourceRule("DEPP", 12, 12, "résultats de l'année scolaire ou de la session N publiés en N+1"),
    SourceRule("France Travail", 3, 2, "trimestriel : trimestre publié deux mois après sa fin"),
    SourceRule("CNAM", 12, 12, "millésime N publié en N+1"),
    SourceRule("RPPS", 12, 12, "millésime N publié en N+1"),
    SourceRule("RPLS", 12, 12, "parc au 1er janvier N publié en N+1"),
    SourceRule("SIRENE", 12, 12, "millésime N publié en N+1"),
    SourceRule("Enquête habitants", 12, 6, "enquête annuelle : résultats six mois après l'année"),
    SourceRule("Bilans des actions", 12, 6, "bilans de l'année N remis au premier semestre N+1"),
    SourceRule("Dauphin", 12, 6, "année N close au premier semestre N+1"),
    SourceRule("Équipe projet", 12, 6, "comptage de l'équipe, année N saisie au premier semestre N+1"),
)


def source_key(source: str | None) -> str | None:
    """How two source names are matched: without case, accents or surrounding spaces (SQL:
    `strip_accents(lower(trim(source)))`)."""
    if source is None:
        return None
    text = unicodedata.normalize("NFD", source.strip().lower())
    return "".join(c for c in text if not unicodedata.combining(c)) or None


def fresh_from(donnees_au: date, max_age_months: int) -> date:
    """The oldest `date_valeur` still « à jour » at `donnees_au` under the age rule."""
    return add_months(donnees_au, -max_age_months)


def expected_vintage(donnees_au: date, *, rythme: int, delai: int) -> date:
    """The latest vintage (first day of its period) published at `donnees_au`: the latest v on
    the source's grid of periods with v + `rythme` + `delai` months ≤ `donnees_au`."""
    # v is a first of month, so v + k months ≤ au ⇔ v ≤ (first of au's month) − k months
    index = donnees_au.year * 12 + donnees_au.month - 1 - (rythme + delai)
    index -= index % rythme
    return date(index // 12, index % 12 + 1, 1)


def is_fresh(
    latest: date | None, *, donnees_au: date, max_age_months: int, rule: tuple[int, int] | None = None
) -> bool:
    """True when `latest` (the latest value known at `donnees_au`) is « à jour »: on or after
    the expected vintage when the source has a `rule` (rythme, délai), otherwise on or after
    `fresh_from(donnees_au, max_age_months)`."""
    if latest is None or latest > donnees_au:
        return False
    if rule is not None:
        return latest >= expected_vintage(donnees_au, rythme=rule[0], delai=rule[1])
    return latest >= fresh_from(donnees_au, max_age_months)


def label(latest: date | None, *, donnees_au: date, max_age_months: int, rule: tuple[int, int] | None = None) -> str:
    if latest is None:
        return AUCUNE
    return A_JOUR if is_fresh(latest, donnees_au=donnees_au, max_age_months=max_age_months, rule=rule) else ANCIENNE


TRIMESTRES = ("1er trimestre", "2e trimestre", "3e trimestre", "4e trimestre")


def vintage_label(vintage: date | None, rythme: int | None) -> str:
    """A vintage as users name it: « 2021 » (yearly or longer), « 2e trimestre 2026 »,
    « 1er semestre 2026 », « avril 2026 » (monthly or other rhythms); « — » when unknown."""
    if vintage is None or not rythme:
        return "—"
    if rythme % 12 == 0:
        return str(vintage.year)
    if rythme == 6:
        return f"{'1er' if vintage.month <= 6 else '2e'} semestre {vintage.year}"
    if rythme == 3:
        return f"{TRIMESTRES[(vintage.month - 1) // 3]} {vintage.year}"
    return fmt.month(vintage)
