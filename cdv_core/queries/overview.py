"""« Vue d'ensemble »: headline figures, countdown to the 2027 actualisation, alerts."""

from __future__ import annotations

from datetime import date
from typing import TypedDict

import duckdb
import polars as pl

from cdv_core import fmt
from cdv_core.domain import model, shares
from cdv_core.perimetre import IMPORT_IN_SCOPE, bind
from cdv_core.queries import bilans, financements, gouvernance, territoire


class Headline(territoire.TerritoryFigures, financements.FundingTotals):
    """`headline`: the territory's figures and the year's funding totals, with the year."""

    annee: int
    actions_annee: int


def headline(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, donnees_au: date, perimetre: tuple[str, ...] | None = None
) -> Headline:
    """The overview's figures for the selection and the year of the `donnees_au` date."""
    annee = donnees_au.year
    return {
        **territoire.territory_figures(cur, contrat=contrat, perimetre=perimetre),
        "annee": annee,
        "actions_annee": financements.actions_of_year(cur, contrat=contrat, annee=annee, perimetre=perimetre),
        **financements.funding_totals(cur, contrat=contrat, annee=annee, perimetre=perimetre),
    }


class Actualisation(TypedDict):
    date: date  # the next actualisation (the default date when none is recorded)
    jours: int  # days left from « données au »
    jalon_enregistre: bool  # whether a jalon records it


def actualisation(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, donnees_au: date, perimetre: tuple[str, ...] | None = None
) -> Actualisation:
    """The next 2027 actualisation date of the selection and the days left until it."""
    row = cur.execute(
        """SELECT min(date_prevue) FROM jalon
           WHERE type_jalon = $type AND date_realisation IS NULL
             AND ($contrat IS NULL OR code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, code_contrat))""",
        {"type": model.ACTUALISATION_TYPE, "contrat": contrat, "perimetre": bind(perimetre)},
    ).fetchall()[0]
    target = row[0] or model.ACTUALISATION_DEFAULT_DATE
    return {"date": target, "jours": (target - donnees_au).days, "jalon_enregistre": row[0] is not None}


def missing_data(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, donnees_au: date, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """Gaps in what the contract should document: one row per kind of gap, with a count."""
    gaps = cur.execute(
        """SELECT * FROM (
             SELECT 'QPV sans projet de quartier' AS manque,
                    count(*) AS nombre, string_agg(q.libelle, ', ' ORDER BY q.libelle) AS detail,
                    'Projets de quartier' AS page
             FROM quartier q ANTI JOIN projet_quartier p USING (code_qp)
             WHERE ($contrat IS NULL OR q.code_contrat = $contrat)
               AND ($perimetre IS NULL OR list_contains($perimetre, q.code_contrat))
             UNION ALL
             SELECT 'Objectifs sans indicateur', count(*), NULL, 'Indicateurs'
             FROM objectif o ANTI JOIN objectif_indicateur oi USING (code_objectif)
             WHERE ($contrat IS NULL OR o.code_contrat = $contrat)
               AND ($perimetre IS NULL OR list_contains($perimetre, o.code_contrat))
             UNION ALL
             SELECT 'Quartiers sans population renseignée', count(*), NULL, 'Mise à jour des données'
             FROM quartier q WHERE ($contrat IS NULL OR q.code_contrat = $contrat)
               AND ($perimetre IS NULL OR list_contains($perimetre, q.code_contrat)) AND q.population IS NULL
           ) WHERE nombre > 0""",
        parameters={"contrat": contrat, "perimetre": bind(perimetre)},
    ).pl()
    ended = financements.ended_without_status(cur, contrat=contrat, donnees_au=donnees_au, perimetre=perimetre).height
    if ended:  # one rule, owned by the funding queries
        gaps = pl.concat(
            [
                gaps,
                pl.DataFrame(
                    {
                        "manque": ["Actions terminées sans statut final déclaré"],
                        "nombre": [ended],
                        "detail": [None],
                        "page": ["Actions et financements"],
                    },
                    schema=gaps.schema,
                ),
            ]
        )
    return gaps


def soft_check_warnings(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """Soft rules of the domain, reported as warnings (never blocking): one row per kind.
    « Hors QPV » is `shares.hors_qpv_sql` (no QPV link); the declared `action.hors_qpv` flag is
    checked against it. The versé-above-accordé count is `financements.overpaid_lines` (the list
    the funding page shows)."""
    checks = cur.execute(
        f"""SELECT * FROM (
             SELECT 'Lignes de financement dont l''accordé dépasse le demandé' AS controle, count(*) AS nombre,
                    'Actions et financements' AS page
             FROM financement f JOIN action a USING (code_action)
             WHERE ($contrat IS NULL OR a.code_contrat = $contrat)
               AND ($perimetre IS NULL OR list_contains($perimetre, a.code_contrat))
               AND f.montant_accorde > f.montant_demande
             UNION ALL
             -- both directions of the hors-QPV flag check in one pass over the actions
             SELECT unnest(['Actions déclarées hors QPV mais rattachées à un quartier (comptées dans les quartiers)',
                            'Actions rattachées à aucun quartier sans être déclarées hors QPV (comptées hors QPV)']),
                    unnest([declared_linked, undeclared_unlinked]), 'Actions et financements'
             FROM (SELECT count(*) FILTER (WHERE declare AND NOT sans_lien) AS declared_linked,
                          count(*) FILTER (WHERE NOT declare AND sans_lien) AS undeclared_unlinked
                   FROM (SELECT a.hors_qpv AS declare, {shares.hors_qpv_sql("a")} AS sans_lien
                         FROM action a WHERE ($contrat IS NULL OR a.code_contrat = $contrat)
                           AND ($perimetre IS NULL OR list_contains($perimetre, a.code_contrat))))
           ) WHERE nombre > 0""",  # fixed SQL fragments
        parameters={"contrat": contrat, "perimetre": bind(perimetre)},
    ).pl()
    overpaid = financements.overpaid_lines(
        cur, contrat=contrat, perimetre=perimetre
    ).height  # one rule, owned by the funding queries
    if overpaid:
        checks = pl.concat(
            [
                pl.DataFrame(
                    {
                        "controle": ["Lignes de financement dont le versé dépasse l'accordé"],
                        "nombre": [overpaid],
                        "page": ["Actions et financements"],
                    },
                    schema=checks.schema,
                ),
                checks,
            ]
        )
    return checks


def alerts(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    donnees_au: date,
    unpaid_months: int,
    tolerance_days: int,
    perimetre: tuple[str, ...] | None = None,
    bilan_delai_mois: int = bilans.DEFAULT_DELAI_MOIS,
) -> pl.DataFrame:
    """All alerts of the overview, most serious first: (gravite, categorie, message, page).
    `bilan_delai_mois`: the setting `CDV_BILAN_DELAI_MOIS` (months after an exercice's end)."""
    late = gouvernance.instance_cadence(
        cur, contrat=contrat, donnees_au=donnees_au, tolerance_days=tolerance_days, perimetre=perimetre
    ).filter(pl.col("en_retard"))
    unpaid = financements.unpaid_summary(
        cur, contrat=contrat, donnees_au=donnees_au, months=unpaid_months, perimetre=perimetre
    )
    gaps = missing_data(cur, contrat=contrat, donnees_au=donnees_au, perimetre=perimetre)
    checks = soft_check_warnings(cur, contrat=contrat, perimetre=perimetre)
    owed = bilans.summary(
        cur, contrat=contrat, donnees_au=donnees_au, delai_mois=bilan_delai_mois, perimetre=perimetre
    )  # one rule, owned by the bilans queries
    rows: list[dict] = []
    if late.height:
        rows.append(
            {
                "gravite": "haute",
                "categorie": "Gouvernance",
                "message": f"{fmt.plural(late.height, 'instance en retard', 'instances en retard')} sur "
                f"{'sa' if late.height < 2 else 'leur'} cadence : "
                + ", ".join(late["libelle"].head(4).to_list())
                + (" …" if late.height > 4 else ""),
                "page": "Gouvernance",
            }
        )
    if unpaid["lignes"]:
        grants = fmt.plural(unpaid["lignes"], "subvention accordée non versée", "subventions accordées non versées")
        rows.append(
            {
                "gravite": "haute",
                "categorie": "Financements",
                "message": f"{grants} plus de {fmt.integer(unpaid_months)} mois après la décision, "
                f"pour {fmt.euros(unpaid['montant'])}",
                "page": "Actions et financements",
            }
        )
    if owed["en_retard"]:
        late_bilans = fmt.plural(owed["en_retard"], "bilan de porteur en retard", "bilans de porteurs en retard")
        rows.append(
            {
                "gravite": "haute",
                "categorie": "Bilans en retard",
                "message": f"{late_bilans} (dus {fmt.integer(bilan_delai_mois)} mois après la fin de l'exercice) : "
                f"{fmt.percent(owed['part'])} des bilans dus reçus",
                "page": "Actions et financements",
            }
        )
    for gap in gaps.iter_rows(named=True):  # a handful of gap kinds, not data rows
        detail = f" : {gap['detail']}" if gap["detail"] else ""
        rows.append(
            {
                "gravite": "moyenne",
                "categorie": "Données manquantes",
                "message": f"{gap['manque']} : {fmt.integer(gap['nombre'])}{detail}",
                "page": gap["page"],
            }
        )
    for check in checks.iter_rows(named=True):  # a handful of rule kinds, not data rows
        rows.append(
            {
                "gravite": "moyenne",
                "categorie": "Contrôles de cohérence",
                "message": f"{check['controle']} : {fmt.integer(check['nombre'])}",
                "page": check["page"],
            }
        )
    return pl.DataFrame(
        rows, schema={"gravite": pl.String, "categorie": pl.String, "message": pl.String, "page": pl.String}
    )


class Provenance(TypedDict):
    demo: str | None
    demo_seed: str | None
    imports: pl.DataFrame  # the latest imports, newest first
    n_imports: int


def provenance(
    cur: duckdb.DuckDBPyConnection, *, limit: int = 5, perimetre: tuple[str, ...] | None = None
) -> Provenance:
    """Where the figures come from: the demo generation (if any) and the latest imports within
    `perimetre` (file, kind, author, date, status), newest first."""
    from cdv_core import store

    params = {"perimetre": bind(perimetre)}
    imports = cur.execute(
        f"""SELECT fichier, type_import, auteur, coalesce(fin, debut) AS date_import, statut, nb_lignes, resume
            FROM import_log WHERE {IMPORT_IN_SCOPE} ORDER BY id_import DESC LIMIT $limit""",
        parameters={"limit": limit, **params},
    ).pl()
    return {
        "demo": store.meta(cur, "demo"),
        "demo_seed": store.meta(cur, "demo_seed"),
        "imports": imports,
        "n_imports": int(store.scalar(cur, f"SELECT count(*) FROM import_log WHERE {IMPORT_IN_SCOPE}", params) or 0),
    }
