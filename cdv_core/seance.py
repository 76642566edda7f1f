"""Séance: the agenda sections of a steering-committee meeting, computed once and frozen.

Each section is built from the same `cdv_core.queries` functions as the pages (one computation
per figure) and carries what every medium needs: headline figures, one small table, an optional
chart (a Vega-Lite spec with the French locale). The live page, the PPTX, the PDF and the XLSX
exports all render these objects.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import duckdb
import polars as pl

from cdv_core import fmt
from cdv_core.domain import model, progress, secret
from cdv_core.figures import seance as fig
from cdv_core.figures.vue_ensemble import countdown_value
from cdv_core.perimetre import bind
from cdv_core.queries import financements, gouvernance, jalons, overview, projets
from cdv_core.settings import Settings

TABLE_ROWS = 12  # rows of a section's table on a slide or a page


def instance_order(instances: pl.DataFrame) -> list[str]:
    """The instances a séance may be held for, its COPIL first (the steering committee this mode
    is made for), then the others in the order given (late ones first)."""
    copil = pl.col("type_instance") == "COPIL"
    return pl.concat([instances.filter(copil), instances.filter(~copil)])["code_instance"].to_list()


LIVE_CARDS_PER_ROW = 3  # figure cards per row in the live séance (a 1280 px projector, sidebar shown)
CHART_FONT = fig.CHART_FONT


@dataclass(frozen=True)
class Figure:
    label: str
    value: str  # as shown (French format)
    note: str | None = None
    number: float | None = None  # the same figure as a number, for spreadsheets (None: words or masked)
    kind: str | None = None  # its number format (a key of `tables.XLSX_FORMATS`)


def _count(label: str, n, note: str | None = None) -> Figure:
    return Figure(label, fmt.integer(n), note, n, "integer")


def _amount(label: str, euros, note: str | None = None) -> Figure:
    return Figure(label, fmt.euros(euros), note, euros, "euros")


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    figures: tuple[Figure, ...]
    table: pl.DataFrame | None = None
    table_title: str | None = None
    chart: dict | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)  # [0]: a sentence under the figures; then rules
    data: pl.DataFrame | None = None  # the whole table with numbers and dates typed (spreadsheets); None: `table`


def card_rows(n: int, *, per_row: int = LIVE_CARDS_PER_ROW) -> tuple[int, ...]:
    """How many figure cards each row holds: at most `per_row`, rows as even as possible
    (5 → 3 + 2, 4 → 2 + 2, 7 → 3 + 2 + 2)."""
    if n <= 0:
        return ()
    rows = -(-n // per_row)
    small, extra = divmod(n, rows)
    return tuple(small + 1 if r < extra else small for r in range(rows))


_NARROW = frozenset(" \u202f\u00a0,.:;'’-()[]|!iIjl")  # about 0.25 em in the app font
_SEMI = frozenset("rtf")  # about 0.35 em
_WIDE = frozenset("%mwMW")  # about 0.8 em


def value_ems(value: str) -> float:
    """Rough rendered width of a figure value, in em of the app font (Source Sans): 0.5 em a digit,
    0.25 a space or narrow sign, 0.35 « r t f », 0.8 « % m w », 0.55 any other sign. A slight
    overestimate (measured: « 1 122 190 € » 4.4 em, « 31 décembre 2027 » 7.6 em), so a value
    sized by it fits."""
    return round(
        sum(
            0.5 if ch.isdigit() else 0.25 if ch in _NARROW else 0.35 if ch in _SEMI else 0.8 if ch in _WIDE else 0.55
            for ch in value
        ),
        2,
    )


FIT_EMS_MIN, FIT_EMS_MAX = 3, 12


def fit_ems(figures: tuple[Figure, ...]) -> int:
    """The width (whole em, between FIT_EMS_MIN and FIT_EMS_MAX) the section's widest value needs:
    the live page sizes every value of the section so that this many em fit in a card."""
    widest = max((value_ems(f.value) for f in figures), default=0.0)
    return min(FIT_EMS_MAX, max(FIT_EMS_MIN, -int(-widest // 1)))


@dataclass(frozen=True)
class Scope:
    contrat: str | None
    donnees_au: date
    settings: Settings
    code_qp: str | None = None
    perimetre: tuple[str, ...] | None = None  # the reader's contracts (`cdv_core.perimetre`); None: all
    publiable: bool = False  # publishable version: counts of people below settings.secret_threshold masked


def _people(scope: Scope, label: str, value) -> Figure:
    """A count of people as a figure: « < 11 » (and no number) in a publishable version below the threshold."""
    shown = secret.mask_value(value, scope.settings.secret_threshold) if scope.publiable else fmt.integer(value)
    return _count(label, value) if shown == fmt.integer(value) else Figure(label, shown)


def _vue_ensemble(cur: duckdb.DuckDBPyConnection, scope: Scope) -> Section:
    h = overview.headline(cur, contrat=scope.contrat, donnees_au=scope.donnees_au, perimetre=scope.perimetre)
    countdown = overview.actualisation(
        cur, contrat=scope.contrat, donnees_au=scope.donnees_au, perimetre=scope.perimetre
    )
    alerts = overview.alerts(
        cur,
        contrat=scope.contrat,
        donnees_au=scope.donnees_au,
        perimetre=scope.perimetre,
        unpaid_months=scope.settings.unpaid_months,
        tolerance_days=scope.settings.cadence_tolerance_days,
        bilan_delai_mois=scope.settings.bilan_delai_mois,
    )
    year = h["annee"]
    by_funder = (
        financements.funding_by_funder_year(cur, contrat=scope.contrat, annee=year, perimetre=scope.perimetre)
        .select("financeur", "accorde")
        .filter(pl.col("accorde") > 0)
    )
    return Section(
        key="vue_ensemble",
        title="Vue d'ensemble",
        figures=(
            _count("Quartiers prioritaires", h["quartiers"]),
            _people(scope, "Habitants des QPV", h["population"]),
            _count(f"Actions {year}", h["actions_annee"]),
            _amount(f"Montant accordé {year}", h["accorde"]),
            _amount(f"Montant versé {year}", h["verse"]),
            Figure(
                f"Crédits P147 en CPO {year}",
                fmt.percent(h["part_cpo"]),
                f"cible nationale ≥ {fmt.percent(model.CPO_TARGET_SHARE, 0)}",
                h["part_cpo"],
                "percent",
            ),
            Figure("Actualisation 2027", countdown_value(countdown), fmt.long_day(countdown["date"])),
        ),
        table=alerts.select(pl.col("categorie").alias("Alerte"), pl.col("message").alias("Détail")),
        table_title="Alertes",
        chart=fig.funders_chart(by_funder, year=year),
    )


def _actions_en_retard(cur: duckdb.DuckDBPyConnection, scope: Scope) -> Section:
    unpaid = financements.unpaid_grants(
        cur,
        contrat=scope.contrat,
        donnees_au=scope.donnees_au,
        perimetre=scope.perimetre,
        months=scope.settings.unpaid_months,
    )
    summary = financements.unpaid_summary(
        cur,
        contrat=scope.contrat,
        donnees_au=scope.donnees_au,
        perimetre=scope.perimetre,
        months=scope.settings.unpaid_months,
    )
    ended = financements.ended_without_status(
        cur, contrat=scope.contrat, donnees_au=scope.donnees_au, perimetre=scope.perimetre
    ).height
    data = unpaid.sort("date_decision").select(
        pl.col("action").alias("Action"),
        pl.col("porteur").alias("Porteur"),
        pl.col("financeur").alias("Financeur"),
        pl.col("montant_accorde").alias("Accordé (€)"),
        pl.col("date_decision").alias("Décision"),
    )
    table = data.select(
        pl.exclude("Accordé (€)", "Décision"),
        fmt.euros_expr(pl.col("Accordé (€)")).alias("Accordé"),
        fmt.day_expr(pl.col("Décision")).alias("Décision"),
    )
    return Section(
        key="actions_en_retard",
        title="Actions et paiements en retard",
        figures=(
            _count(
                "Subventions accordées non versées",
                summary["lignes"],
                f"plus de {fmt.integer(scope.settings.unpaid_months)} mois après la décision",
            ),
            _amount("Montant en attente", summary["montant"]),
            _count("Actions terminées sans statut final", ended),
        ),
        table=table,
        table_title="Subventions en attente de versement (les plus anciennes d'abord)",
        data=data,
    )


def _gouvernance(cur: duckdb.DuckDBPyConnection, scope: Scope) -> Section:
    cadence = gouvernance.instance_cadence(
        cur,
        contrat=scope.contrat,
        donnees_au=scope.donnees_au,
        perimetre=scope.perimetre,
        tolerance_days=scope.settings.cadence_tolerance_days,
    )
    late = cadence.filter(pl.col("en_retard"))
    decisions = gouvernance.decision_counts(
        cur, contrat=scope.contrat, donnees_au=scope.donnees_au, perimetre=scope.perimetre
    )
    table = late.select(
        pl.col("libelle").alias("Instance"),
        pl.when(pl.col("cadence_mois") > 1)
        .then(pl.format("tous les {} mois", pl.col("cadence_mois")))
        .otherwise(pl.lit("tous les mois"))
        .alias("Cadence attendue"),
        fmt.day_expr(pl.col("derniere_tenue")).fill_null("jamais").alias("Dernière réunion tenue"),
    )
    yearly = gouvernance.yearly_meetings(
        cur, contrat=scope.contrat, donnees_au=scope.donnees_au, perimetre=scope.perimetre
    )
    return Section(
        key="gouvernance",
        title="Gouvernance",
        chart=fig.meetings_chart(yearly, until=scope.donnees_au.year),
        figures=(
            _count("Instances suivies", cadence.height),
            _count(
                "Instances en retard",
                late.height,
                f"cadence dépassée de plus de {scope.settings.cadence_tolerance_days} jours",
            ),
            _count(
                f"Réunions tenues ({gouvernance.RECENT_MONTHS} derniers mois)",
                int(cadence["tenues_12_mois"].sum() or 0),
            ),
            _count(
                "Décisions en retard",
                decisions["en_retard"],
                f"sur {fmt.plural(decisions['ouvertes'], 'décision ouverte', 'décisions ouvertes')}",
            ),
        ),
        table=table,
        table_title="Instances en retard sur leur cadence",
    )


def _projet_quartier(cur: duckdb.DuckDBPyConnection, scope: Scope) -> Section:
    """One projet de quartier: the chosen QPV, else the most worrying one of the selection."""
    rows = projets.qpv_overview(cur, contrat=scope.contrat, donnees_au=scope.donnees_au, perimetre=scope.perimetre)
    if scope.code_qp:
        rows = rows.filter(pl.col("code_qp") == scope.code_qp)
    if rows.is_empty():
        return Section(
            key="projet_quartier",
            title="Projet de quartier",
            figures=(Figure("Quartiers", "0", "aucun quartier dans la sélection"),),
        )
    qpv = projets.most_worrying_first(rows).row(0, named=True)
    objectives = projets.qpv_objectives(
        cur, code_qp=qpv["code_qp"], donnees_au=scope.donnees_au, perimetre=scope.perimetre
    )
    table = objectives.sort("portee", "code_objectif").select(  # the axis last: « Pourquoi » stays in view at 1280 px
        pl.col("libelle").alias("Objectif"),
        pl.col("statut").alias("Statut"),
        pl.col("motif").alias("Pourquoi"),
        pl.when(pl.col("portee") == "transversal")
        .then(pl.lit("Socle transversal"))
        .otherwise(pl.col("axe"))
        .alias("Axe"),
    )
    return Section(
        key="projet_quartier",
        title=f"Projet de quartier — {qpv['libelle']}",
        chart=fig.objectives_chart(objectives),
        figures=(
            Figure("Statut", qpv["statut"]),
            _count("Objectifs", qpv["n_objectifs"] or 0),
            _count("Actions", qpv["n_actions"] or 0),
            _amount("Montant accordé (part du quartier)", qpv["accorde"]),
            _people(scope, "Habitants", qpv["population"]),
        ),
        table=table,
        table_title="Objectifs du quartier et du socle transversal",
        notes=(qpv["motif"], progress.explain()),
    )


def _indicateurs(cur: duckdb.DuckDBPyConnection, scope: Scope) -> Section:
    """Indicators behind their straight path from baseline to target (same rule as the projets)."""
    rows = progress.indicator_rows(cur, contrat=scope.contrat, donnees_au=scope.donnees_au, perimetre=scope.perimetre)
    measured = rows.filter(pl.col("mesure"))
    threshold = progress.RULE.seuil_surveiller
    behind = (
        measured.filter(pl.col("realise") < pl.col("attendu") - threshold)
        .unique(["code_indicateur", "code_qp"], keep="first", maintain_order=True)
        .join(cur.execute("SELECT code_qp, libelle AS quartier FROM quartier").pl(), on="code_qp", how="left")
        .sort(pl.col("attendu") - pl.col("realise"), descending=True)
    )
    if scope.publiable:  # values of indicators counting people below the threshold: not published
        people = secret.people_count_expr(pl.col("unite"), pl.col("indicateur"))
        masked = {
            c: people & (pl.col(c) < scope.settings.secret_threshold)
            for c in ("valeur_reference", "valeur", "valeur_cible")
        }
    else:
        masked = {c: pl.lit(False) for c in ("valeur_reference", "valeur", "valeur_cible")}
    label = secret.mask_label(scope.settings.secret_threshold)
    table = behind.select(
        pl.col("quartier").fill_null("—").alias("Quartier"),
        pl.col("indicateur").alias("Indicateur"),
        *(
            pl.when(masked[c]).then(pl.lit(label)).otherwise(fmt.number_expr(pl.col(c), 1)).alias(name)
            for c, name in (("valeur_reference", "Référence"), ("valeur", "Dernière valeur"), ("valeur_cible", "Cible"))
        ),
        # the share of the path gives back a masked value from the two others
        pl.when(masked["valeur_reference"] | masked["valeur"] | masked["valeur_cible"])
        .then(pl.lit(secret.SECONDARY))
        .otherwise(fmt.percent_expr(pl.col("realise"), 0))
        .alias("Chemin parcouru"),
        fmt.percent_expr(pl.col("attendu"), 0).alias("Attendu"),
    )
    data = (
        None
        if scope.publiable
        else behind.select(  # masked values stay words (the table)
            pl.col("quartier").fill_null("—").alias("Quartier"),
            pl.col("indicateur").alias("Indicateur"),
            pl.col("valeur_reference").alias("Référence"),
            pl.col("valeur").alias("Dernière valeur"),
            pl.col("valeur_cible").alias("Cible"),
            pl.col("realise").alias("Part du chemin parcouru"),
            pl.col("attendu").alias("Part attendue"),
        )
    )
    n_pairs = measured.select("code_indicateur", "code_qp").unique().height
    return Section(
        key="indicateurs",
        title="Indicateurs hors trajectoire",
        figures=(
            _count("Indicateurs suivis avec une cible", n_pairs, "couples indicateur × quartier"),
            _count("Hors trajectoire", behind.height, f"retard de plus de {fmt.integer(threshold * 100)} points"),
            _count("Cibles déjà atteintes", int(measured["cible_atteinte"].sum() or 0)),
        ),
        table=table,
        table_title="Indicateurs les plus en retard sur leur trajectoire",
        data=data,
    )


def _actualisation(cur: duckdb.DuckDBPyConnection, scope: Scope) -> Section:
    ready = jalons.readiness(
        cur,
        contrat=scope.contrat,
        donnees_au=scope.donnees_au,
        perimetre=scope.perimetre,
        max_age_months=scope.settings.indicator_max_age_months,
    )
    countdown = overview.actualisation(
        cur, contrat=scope.contrat, donnees_au=scope.donnees_au, perimetre=scope.perimetre
    )
    items = ready["items"].sort("ok")
    table = items.select(
        pl.when(pl.col("ok")).then(pl.lit("oui")).otherwise(pl.lit("non")).alias("Rempli"),
        pl.col("libelle").alias("Critère"),
        pl.col("preuve").alias("Constat"),
    )
    return Section(
        key="actualisation",
        title="Préparation de l'actualisation 2027",
        figures=(
            Figure(
                "Critères remplis",
                f"{fmt.integer(ready['remplis'])} sur {fmt.integer(ready['total'])}",
                "prêt" if ready["pret"] else "pas encore prêt",
            ),
            Figure("Échéance", fmt.long_day(countdown["date"]), countdown_value(countdown)),
        ),
        table=table,
        table_title="Liste de contrôle (critères manquants d'abord)",
    )


SECTIONS: dict[str, tuple[str, Callable[[duckdb.DuckDBPyConnection, Scope], Section]]] = {
    "vue_ensemble": ("Vue d'ensemble", _vue_ensemble),
    "projet_quartier": ("Projet de quartier", _projet_quartier),
    "actions_en_retard": ("Actions et paiements en retard", _actions_en_retard),
    "indicateurs": ("Indicateurs hors trajectoire", _indicateurs),
    "gouvernance": ("Gouvernance", _gouvernance),
    "actualisation": ("Préparation de l'actualisation 2027", _actualisation),
}
DEFAULT_AGENDA: tuple[str, ...] = tuple(SECTIONS)


def build_section(cur: duckdb.DuckDBPyConnection, key: str, scope: Scope) -> Section:
    if key not in SECTIONS:
        raise ValueError(f"Section inconnue : {key}")
    return SECTIONS[key][1](cur, scope)


def build_agenda(cur: duckdb.DuckDBPyConnection, keys: tuple[str, ...], scope: Scope) -> tuple[Section, ...]:
    """All sections of an agenda, computed now: the frozen figures of a séance."""
    return tuple(build_section(cur, key, scope) for key in keys)


def agenda(
    cur: duckdb.DuckDBPyConnection,
    *,
    keys: tuple[str, ...],
    contrat: str | None,
    donnees_au: date,
    settings: Settings,
    code_qp: str | None = None,
    perimetre: tuple[str, ...] | None = None,
    publiable: bool = False,
) -> tuple[Section, ...]:
    """`build_agenda` with plain keyword arguments (the form `ui.cached` takes); `publiable`: the
    publishable version (counts of people below the threshold masked; exports also drop names)."""
    return build_agenda(cur, keys, Scope(contrat, donnees_au, settings, code_qp, perimetre, publiable))


def planned_meetings(
    cur: duckdb.DuckDBPyConnection, *, code_instance: str, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """Planned (« prévue ») meetings of an instance, the ones a séance can be attached to (none
    when the instance's contract is outside the périmètre)."""
    return cur.execute(
        """SELECT r.id_reunion, r.date_reunion, r.objet FROM reunion r JOIN instance i USING (code_instance)
           WHERE r.code_instance = $i AND r.statut = 'prévue'
             AND ($perimetre IS NULL OR list_contains($perimetre, i.code_contrat))
           ORDER BY r.date_reunion""",
        parameters={"i": code_instance, "perimetre": bind(perimetre)},
    ).pl()


# --- the draft of a séance in progress, as stored (cdv_core/edits/seance.py) ---
# What the live page keeps of an open séance; the frozen sections go whole (their tables as Arrow
# IPC), so that a séance taken up again after a reconnection shows the figures it started with.
DRAFT_KEYS = (
    "contrat",
    "contrat_libelle",
    "instance",
    "instance_libelle",
    "reunion",
    "date",
    "keys",
    "code_qp",
    "sections",
    "donnees_au",
    "index",
    "decisions",
    "participants",
    "habitants",
)
_DATES = ("date", "donnees_au")


def _frame_text(frame: pl.DataFrame | None) -> str | None:
    if frame is None:
        return None
    out = io.BytesIO()
    frame.write_ipc(out)
    return base64.b64encode(out.getvalue()).decode("ascii")


def _frame(text: str | None) -> pl.DataFrame | None:
    return None if text is None else pl.read_ipc(io.BytesIO(base64.b64decode(text)))


def _section_dict(section: Section) -> dict:
    return {
        "key": section.key,
        "title": section.title,
        "figures": [asdict(f) for f in section.figures],
        "table": _frame_text(section.table),
        "table_title": section.table_title,
        "chart": section.chart,
        "notes": list(section.notes),
        "data": _frame_text(section.data),
    }


def _section(d: dict) -> Section:
    return Section(
        d["key"],
        d["title"],
        tuple(Figure(**f) for f in d["figures"]),
        _frame(d["table"]),
        d["table_title"],
        d["chart"],
        tuple(d["notes"]),
        _frame(d["data"]),
    )


def draft_json(state: dict) -> str:
    """The open séance of the live page (its `DRAFT_KEYS`) as JSON text; `draft_from_json` reads it back."""
    d: dict[str, Any] = {k: state.get(k) for k in DRAFT_KEYS}
    d |= {k: d[k].isoformat() for k in _DATES if d[k]}
    d["keys"] = list(d["keys"] or ())
    d["sections"] = [_section_dict(s) for s in d["sections"] or ()]
    d["decisions"] = [
        {**x, "date_echeance": x["date_echeance"] and x["date_echeance"].isoformat()} for x in d["decisions"] or ()
    ]
    return json.dumps(d, ensure_ascii=False, separators=(",", ":"))


def draft_from_json(text: str) -> dict:
    d = json.loads(text)
    d |= {k: date.fromisoformat(d[k]) for k in _DATES if d.get(k)}
    d["keys"] = tuple(d["keys"])
    d["sections"] = tuple(_section(s) for s in d["sections"])
    d["decisions"] = [
        {**x, "date_echeance": x["date_echeance"] and date.fromisoformat(x["date_echeance"])} for x in d["decisions"]
    ]
    return d


def section_choices() -> dict[str, str]:
    """Agenda sections offered to the presenter: key → French title."""
    return {key: title for key, (title, _) in SECTIONS.items()}
