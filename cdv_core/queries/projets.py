"""« Projets de quartier »: one row per QPV (projet, counts, amounts by allocation share, status)
and the drill-down objectives → actions → indicators of one QPV.

The progress rule itself lives in `cdv_core.domain.progress`.
"""

from __future__ import annotations

from datetime import date
from typing import TypedDict

import duckdb
import polars as pl

from cdv_core import fmt, memo
from cdv_core.domain import progress, shares
from cdv_core.domain.shares import SHARES_SQL  # the allocation-share rule, shared with the funding queries
from cdv_core.perimetre import bind

# Most worrying QPV first: status gravity, then the gap réalisé − attendu (most behind first),
# then name and code (a stable order). The Projets page, its table and downloads, and the
# séance's « projet de quartier » all use it.
WORRY_ORDER: tuple[str, ...] = ("gravite", "ecart", "libelle", "code_qp")


@memo.by_content
def most_worrying_first(frame: pl.DataFrame) -> pl.DataFrame:
    """QPV rows (`qpv_overview`) sorted by `WORRY_ORDER`, missing values last."""
    return frame.sort(list(WORRY_ORDER), nulls_last=True)


def allocation_shares(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """(code_action, code_qp, part) for the selection; the parts of one action sum to 1."""
    return cur.execute(
        f"""SELECT * FROM ({SHARES_SQL})
            WHERE $perimetre IS NULL
               OR code_action IN (SELECT code_action FROM action WHERE list_contains($perimetre, code_contrat))
            ORDER BY code_action, code_qp""",  # fixed SQL fragment
        parameters={"contrat": contrat, "perimetre": bind(perimetre)},
    ).pl()


def qpv_amounts(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """Per QPV of the selection: actions serving it (refused ones excluded) and the amounts
    accordé / versé of every year, each action counted for its allocation share."""
    return cur.execute(
        f"""WITH shares AS ({SHARES_SQL}),
           amounts AS (
             SELECT f.code_action, sum(f.montant_accorde)::DOUBLE AS accorde, sum(f.montant_verse)::DOUBLE AS verse
             FROM financement f
             WHERE ($contrat IS NULL AND $perimetre IS NULL)
                OR f.code_action IN (SELECT code_action FROM action
                                     WHERE ($contrat IS NULL OR code_contrat = $contrat)
                                       AND ($perimetre IS NULL OR list_contains($perimetre, code_contrat)))
             GROUP BY f.code_action),
           per_qpv AS (
             SELECT s.code_qp,
                    count(*) FILTER (WHERE a.statut <> 'refusée') AS n_actions,
                    sum(s.part * m.accorde) AS accorde, sum(s.part * m.verse) AS verse
             FROM shares s JOIN action a USING (code_action) LEFT JOIN amounts m USING (code_action)
             WHERE $perimetre IS NULL OR list_contains($perimetre, a.code_contrat)
             GROUP BY s.code_qp)
           SELECT q.code_qp, coalesce(p.n_actions, 0) AS n_actions,
                  coalesce(p.accorde, 0) AS accorde, coalesce(p.verse, 0) AS verse
           FROM quartier q LEFT JOIN per_qpv p USING (code_qp)
           WHERE ($contrat IS NULL OR q.code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, q.code_contrat))
           ORDER BY q.code_qp""",
        parameters={"contrat": contrat, "perimetre": bind(perimetre)},
    ).pl()


class ContractTotals(TypedDict):
    accorde_qpv: float  # actions serving at least one QPV
    verse_qpv: float
    accorde_hors_qpv: float  # actions with no QPV link


def contract_totals(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, perimetre: tuple[str, ...] | None = None
) -> ContractTotals:
    """Amounts of the selection, each action counted once: actions serving at least one QPV,
    and actions hors QPV (no QPV link, `shares.hors_qpv_sql`)."""
    row = cur.execute(
        f"""WITH amounts AS (
             SELECT a.code_action, NOT {shares.hors_qpv_sql("a")} AS en_qpv,
                    sum(f.montant_accorde)::DOUBLE AS accorde, sum(f.montant_verse)::DOUBLE AS verse
             FROM action a JOIN financement f USING (code_action)
             WHERE ($contrat IS NULL OR a.code_contrat = $contrat)
               AND ($perimetre IS NULL OR list_contains($perimetre, a.code_contrat))
             GROUP BY a.code_action)
           SELECT coalesce(sum(accorde) FILTER (WHERE en_qpv), 0), coalesce(sum(verse) FILTER (WHERE en_qpv), 0),
                  coalesce(sum(accorde) FILTER (WHERE NOT en_qpv), 0)
           FROM amounts""",  # fixed SQL fragment
        {"contrat": contrat, "perimetre": bind(perimetre)},
    ).fetchall()[0]
    return {"accorde_qpv": float(row[0]), "verse_qpv": float(row[1]), "accorde_hors_qpv": float(row[2])}


def qpv_overview(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, donnees_au: date, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """One row per QPV of the selection: quartier, projet de quartier, counts, amounts, status and
    its reason, map coordinates (and contour when stored)."""
    quartiers = cur.execute(
        """SELECT q.code_qp, q.libelle, q.code_contrat, c.libelle AS contrat, q.lib_com, q.population,
                  q.longitude, q.latitude, q.contour,
                  p.libelle AS projet, p.enjeux, p.date_validation
           FROM quartier q JOIN contrat c USING (code_contrat)
                LEFT JOIN projet_quartier p USING (code_qp)
           WHERE ($contrat IS NULL OR q.code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, q.code_contrat))
           ORDER BY q.code_contrat, q.libelle""",
        parameters={"contrat": contrat, "perimetre": bind(perimetre)},
    ).pl()
    objectives = progress.objective_progress(cur, contrat=contrat, donnees_au=donnees_au, perimetre=perimetre)
    status = progress.qpv_status(objectives, quartiers["code_qp"])
    amounts = qpv_amounts(cur, contrat=contrat, perimetre=perimetre)
    out = quartiers.join(status, on="code_qp", how="left").join(amounts, on="code_qp", how="left")
    since = status_since(
        status_history(cur, contrat=contrat, donnees_au=donnees_au, perimetre=perimetre),
        out.select("code_qp", "statut"),
    )
    out = out.join(since, on="code_qp", how="left")
    return out.with_columns(
        pl.when(pl.col("projet").is_null())
        .then(pl.lit("Pas de projet de quartier enregistré. ") + pl.col("motif"))
        .otherwise(pl.col("motif"))
        .alias("motif"),
        pl.col("statut").replace_strict(progress.STATUT_GRAVITE, return_dtype=pl.Int64).alias("gravite"),
    )


def status_history(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    donnees_au: date,
    perimetre: tuple[str, ...] | None = None,
    code_qp: str | None = None,
) -> pl.DataFrame:
    """The recorded statuses (`edits.historique`) of the selection's QPV (or of `code_qp`) that
    describe a date on or before `donnees_au`, oldest first: code_qp, donnees_au, statut, ecart.
    Of two records for one QPV and date, the later one."""
    return cur.execute(
        """SELECT h.code_qp, h.donnees_au, arg_max(h.statut, h.enregistre_le) AS statut,
                  arg_max(h.ecart, h.enregistre_le) AS ecart
           FROM statut_qpv_historique h JOIN quartier q USING (code_qp)
           WHERE h.donnees_au <= $au AND ($contrat IS NULL OR q.code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, q.code_contrat))
             AND ($code_qp IS NULL OR h.code_qp = $code_qp)
           GROUP BY h.code_qp, h.donnees_au ORDER BY h.code_qp, h.donnees_au""",
        parameters={"au": donnees_au, "contrat": contrat, "perimetre": bind(perimetre), "code_qp": code_qp},
    ).pl()


def status_since(history: pl.DataFrame, current: pl.DataFrame) -> pl.DataFrame:
    """Since when each QPV of `current` (code_qp, statut) has had its status: the first record of
    the last run of equal statuses in `history`, when the last record says the current status
    (`depuis`); `depuis_premier`: that run starts at the QPV's first record, so the status may be
    older than the history (« depuis au moins »). No row for a QPV whose last record differs
    from its current status (the change is not recorded yet) or that has none."""
    runs = history.sort("code_qp", "donnees_au").with_columns(
        (pl.col("statut") != pl.col("statut").shift(1).over("code_qp"))
        .fill_null(True)
        .cum_sum()
        .over("code_qp")
        .alias("run")
    )
    last = runs.group_by("code_qp").agg(pl.col("run").max().alias("last_run"), pl.col("statut").last().alias("dernier"))
    return (
        runs.join(last, on="code_qp")
        .filter(pl.col("run") == pl.col("last_run"))
        .group_by("code_qp")
        .agg(
            pl.col("donnees_au").min().alias("depuis"),
            pl.col("dernier").first(),
            (pl.col("run").first() == 1).alias("depuis_premier"),
        )
        .join(current, on="code_qp")
        .filter(pl.col("dernier") == pl.col("statut"))
        .select("code_qp", "depuis", "depuis_premier")
    )


def since_text(statut: str, depuis: date | None, premier: bool | None) -> str:
    """« à surveiller depuis mars 2026 », « … depuis au moins novembre 2025 » (the first record),
    the status alone when its start is not known."""
    if depuis is None:
        return statut
    return f"{statut} depuis {'au moins ' if premier else ''}{fmt.month(depuis)}"


@memo.by_content
def status_counts(frame: pl.DataFrame) -> dict[str, int]:
    """QPV (or objectives) per status, every status present (zeros included)."""
    counts = dict(frame.group_by("statut").len().iter_rows())
    return {s: int(counts.get(s, 0)) for s in progress.STATUTS}


def qpv_objectives(
    cur: duckdb.DuckDBPyConnection, *, code_qp: str, donnees_au: date, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """Objectives of one QPV and the transversal objectives of its contract (`portee`), with status
    (none when the QPV's contract is outside the périmètre)."""
    frame = progress.objective_progress(cur, contrat=None, donnees_au=donnees_au, code_qp=code_qp, perimetre=perimetre)
    return frame.with_columns(
        pl.when(pl.col("code_qp").is_null()).then(pl.lit("transversal")).otherwise(pl.lit("quartier")).alias("portee")
    )


def qpv_actions(
    cur: duckdb.DuckDBPyConnection, *, code_qp: str, donnees_au: date, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """Actions of the QPV's objectives (and of its contract's transversal objectives), with porteur,
    statut, avancement, amounts (whole action) and whether/why they count in the measure."""
    rows = progress.action_rows(cur, contrat=None, donnees_au=donnees_au, code_qp=code_qp, perimetre=perimetre)
    porteurs = cur.execute(
        """SELECT id_porteur, nom AS porteur FROM porteur
           WHERE id_porteur IN (SELECT a.id_porteur FROM action a JOIN action_objectif ao USING (code_action)
                                JOIN objectif o USING (code_objectif)
                                WHERE o.code_qp = $qp OR (o.code_qp IS NULL AND o.code_contrat =
                                      (SELECT code_contrat FROM quartier WHERE code_qp = $qp)))""",
        parameters={"qp": code_qp},
    ).pl()
    return rows.join(porteurs, on="id_porteur", how="left").sort("code_objectif", "debut", "code_action")


def qpv_indicators(
    cur: duckdb.DuckDBPyConnection, *, code_qp: str, donnees_au: date, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """Indicators of the QPV's objectives (and of transversal objectives, on this QPV) with
    baseline, target, latest value, position on the path and expected position."""
    return progress.indicator_rows(cur, contrat=None, donnees_au=donnees_au, code_qp=code_qp, perimetre=perimetre)


def indicator_series(
    cur: duckdb.DuckDBPyConnection, *, code_qp: str, donnees_au: date, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """Known values (up to `donnees_au`) of the indicators attached to the QPV's objectives, on the
    QPV, for the trajectory charts; secret values are left out (valeur NULL)."""
    return cur.execute(
        """SELECT v.code_indicateur, v.date_valeur, v.valeur
           FROM valeur_indicateur v
           WHERE v.type_territoire = 'QPV' AND v.code_territoire = $qp AND v.date_valeur <= $au
             AND v.valeur IS NOT NULL
             AND ($perimetre IS NULL OR list_contains($perimetre,
               (SELECT code_contrat FROM quartier WHERE code_qp = $qp)))
             AND v.code_indicateur IN (
               SELECT oi.code_indicateur FROM objectif_indicateur oi JOIN objectif o USING (code_objectif)
               WHERE o.code_qp = $qp OR (o.code_qp IS NULL AND o.code_contrat =
                     (SELECT code_contrat FROM quartier WHERE code_qp = $qp)))
           ORDER BY v.code_indicateur, v.date_valeur""",
        parameters={"qp": code_qp, "au": donnees_au, "perimetre": bind(perimetre)},
    ).pl()


# --- map frame (the display tables are in `cdv_core.figures.projets`) ---------------------------


def map_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """The columns the map and its French tooltip need (population formatted)."""
    return frame.select(
        "code_qp",
        "libelle",
        "lib_com",
        "statut",
        "longitude",
        "latitude",
        "contour",
        fmt.number_expr(pl.col("population"), missing="—").alias("population"),
    )
