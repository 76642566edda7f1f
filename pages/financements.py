"""« Actions et financements »: the programmation, from demandé to versé, per funder, year and quartier."""

import functools

import altair as alt
import polars as pl
import streamlit as st

from cdv_core import fmt, links, tables, ui
from cdv_core.domain import model
from cdv_core.queries import financements as fin
from cdv_core.ui import bilans
from cdv_core.ui.downloads import download_buttons

ALL_YEARS = "tous"
TABLE_CAP = 200            # rows shown; the downloads hold the whole table
DIRECT_DOWNLOAD_MAX = 1000  # above, files are built on click (an XLSX of 40 000 rows takes seconds)


_EXPRS = {"euros": fmt.euros_expr, "day": fmt.day_expr, "percent": fmt.percent_expr}


def _fmt(column: str, kind: str) -> pl.Expr:
    """A column shown in French format (`cdv_core.fmt` Polars expressions), « — » when missing."""
    return _EXPRS[kind](pl.col(column), missing="—").alias(column)


def _table(frame: pl.DataFrame, **kwargs) -> None:
    """`st.dataframe` with empty text cells shown as « — » rather than « None » (downloads keep
    real empty cells: they are built from the query's frame, not from this one)."""
    st.dataframe(frame.with_columns(pl.col(pl.String).fill_null("—")), hide_index=True, width="stretch", **kwargs)


def _no_amount(frame: pl.DataFrame, *columns: str) -> bool:
    """Nothing to draw: no row, or only zero / missing amounts in `columns`."""
    return frame.is_empty() or all(not (frame[c].fill_null(0) != 0).any() for c in columns)


EMPTY = "Aucun financement pour cette sélection."


ctx = ui.bootstrap("Actions et financements")
ui.page_header("Actions et financements", ctx)
options = ui.cached(ctx, fin.filter_options, contrat=ctx.contrat)

# --- filters, mirrored in the URL (keys fin_*) and kept across page changes -------------------
years = [ALL_YEARS, *[str(y) for y in options["annees"]]]
qpv_labels = dict(zip(options["quartiers"]["code_qp"].to_list(), options["quartiers"]["libelle"].to_list()))
objectifs = options["objectifs"]
obj_labels = ({} if objectifs is None else  # « axe — libellé (quartier) »: distinct per objective
              dict(zip(objectifs["code_objectif"].to_list(), objectifs["etiquette"].to_list())))
MULTI = {  # widget key → (filter name, allowed values)
    "fin_them": ("thematiques", list(model.THEMATIQUES_P147)),
    "fin_fin": ("financeurs", list(model.FINANCEURS)),
    "fin_mode": ("modes", list(model.MODES_FINANCEMENT)),
    "fin_porteur": ("types_porteur", list(model.TYPES_STRUCTURE)),
    "fin_qpv": ("qpv", list(qpv_labels)),
    "fin_axe": ("axes", list(options["axes"])),
    "fin_obj": ("objectifs", list(obj_labels)),
    "fin_statut": ("statuts", list(model.STATUTS_ACTION)),
}
default_year = str(ctx.donnees_au.year) if str(ctx.donnees_au.year) in years else ALL_YEARS

if "fin_saved" not in st.session_state:  # first run of the session: a shared link sets the filters
    saved, problems = {}, []
    for key, (_, allowed) in MULTI.items():  # a bad value is dropped, with a toast (cdv_core.links)
        saved[key], problem = links.choices(key, st.query_params.get_all(key), allowed)
        problems.append(problem)
    saved["fin_annee"], problem = links.choice(
        "fin_annee", st.query_params.get("fin_annee"), years, default=default_year,
        instead="de toutes les années" if default_year == ALL_YEARS else f"de l'exercice {default_year}")
    saved["fin_action"] = st.query_params.get("fin_action")
    st.session_state["fin_saved"] = saved
    st.session_state["fin_action_lien"] = saved["fin_action"] is not None  # checked below, against the selection
    for problem in [*problems, problem]:
        if problem:
            ui.url_warning(problem)
saved = st.session_state["fin_saved"]
for key, (_, allowed) in MULTI.items():  # restore after a page change; drop values another contract lacks
    current = st.session_state.get(key, saved.get(key, []))
    st.session_state[key] = [v for v in current if v in allowed]
year_now = st.session_state.get("fin_annee", saved["fin_annee"])
st.session_state["fin_annee"] = year_now if year_now in years else default_year


def _reset_filters() -> None:
    for key in MULTI:
        st.session_state[key] = []
    st.session_state["fin_annee"] = default_year


with st.container(key="fin_filtres", border=True):
    row = st.columns(4)
    row[0].selectbox("Exercice", years, key="fin_annee",
                     format_func=lambda y: "Toutes les années" if y == ALL_YEARS else y)
    row[1].multiselect("Thématique (P147)", MULTI["fin_them"][1], key="fin_them", placeholder="Toutes",
                       format_func=lambda c: f"{c} {model.THEMATIQUES_P147[c]}", select_all=False)
    row[2].multiselect("Financeur", MULTI["fin_fin"][1], key="fin_fin", placeholder="Tous", select_all=False)
    row[3].multiselect("Mode de financement", MULTI["fin_mode"][1], key="fin_mode", placeholder="Tous", select_all=False)
    row = st.columns(4)
    row[0].multiselect("Type de porteur", MULTI["fin_porteur"][1], key="fin_porteur", placeholder="Tous", select_all=False)
    row[1].multiselect("Quartier (QPV)", MULTI["fin_qpv"][1], key="fin_qpv", placeholder="Tous",
                       format_func=lambda c: f"{qpv_labels.get(c, c)} ({c})",
                       help="Les montants d'une action sont comptés au prorata de sa part dans les QPV choisis : "
                            "rien n'est compté deux fois. Les actions hors QPV sont alors exclues.", select_all=False)
    if objectifs is not None:
        with row[2]:
            axes_col, obj_col = st.columns(2)
        axes_col.multiselect("Axe", MULTI["fin_axe"][1], key="fin_axe", placeholder="Tous", select_all=False)
        obj_col.multiselect("Objectif", MULTI["fin_obj"][1], key="fin_obj", placeholder="Tous",
                            format_func=lambda c: obj_labels.get(c, c), select_all=False)
    else:
        row[2].multiselect("Axe", MULTI["fin_axe"][1], key="fin_axe", placeholder="Tous",
                           help="Choisissez un contrat pour filtrer aussi par objectif.", select_all=False)
    row[3].multiselect("Statut de l'action", MULTI["fin_statut"][1], key="fin_statut", placeholder="Tous (hors refusées)", select_all=False)
    st.button("Réinitialiser les filtres", key="fin_reset", on_click=_reset_filters, icon=":material/filter_alt_off:")

annee_choice = st.session_state["fin_annee"]
annee = None if annee_choice == ALL_YEARS else int(annee_choice)
filters = {name: tuple(st.session_state.get(key, [])) for key, (name, _) in MULTI.items()}
if objectifs is None:
    filters["objectifs"] = ()

saved.update({key: list(st.session_state.get(key, [])) for key in MULTI}, fin_annee=annee_choice)
for key in MULTI:  # write back to the URL without touching the keys bootstrap manages
    if saved[key]:
        st.query_params[key] = saved[key]
    elif key in st.query_params:
        del st.query_params[key]
st.query_params["fin_annee"] = annee_choice
active = sum(bool(v) for v in filters.values())
periode = "toutes années" if annee is None else f"exercice {annee}"

# --- headline figures -------------------------------------------------------------------------
counts = ui.cached(ctx, fin.action_counts, contrat=ctx.contrat, annee=annee, **filters)
totals = ui.cached(ctx, fin.funding_totals, contrat=ctx.contrat, annee=annee, **filters)
# the hors-QPV cap: the départements of the selection, whole envelopes, whatever the filters
hors_qpv = ui.cached(ctx, fin.hors_qpv_by_departement, contrat=ctx.contrat, annee=annee)
hq_sum = fin.hors_qpv_summary(hors_qpv)

st.caption(f"Sélection : {periode}" + (f", {fmt.plural(active, 'filtre')} actif" + ("s" if active > 1 else "")
                                        if active else ", aucun autre filtre")
           + (" · montants au prorata des QPV choisis" if filters["qpv"] else ""))
with st.container(key="fin_chiffres"):
    cols = st.columns(5)
    with cols[0]:
        ui.kpi("Actions", fmt.integer(counts["actions"]),
               help="Actions de la sélection actives sur l'exercice (annuelles ou pluriannuelles le couvrant), "
                    "hors actions refusées sauf si le filtre « Statut » les demande.")
    with cols[1]:
        ui.kpi("Porteurs", fmt.integer(counts["porteurs"]), help="Structures distinctes portant ces actions.")
    with cols[2]:
        ui.kpi("Montant demandé", fmt.euros_compact(totals["demande"]),
               help=f"{fmt.euros(totals['demande'])} : somme des montants demandés aux financeurs retenus.")
    with cols[3]:
        ui.kpi("Montant accordé", fmt.euros_compact(totals["accorde"]),
               delta=f"{fmt.percent(totals['taux_accord'])} du demandé" if totals["taux_accord"] is not None else None,
               delta_color="off", delta_arrow="off", help=f"{fmt.euros(totals['accorde'])} accordés (votés) ; taux d'accord = accordé / demandé.")
    with cols[4]:
        ui.kpi("Montant versé", fmt.euros_compact(totals["verse"]),
               delta=(f"{fmt.percent(totals['taux_versement'])} de l'accordé"
                      if totals["taux_versement"] is not None else None),
               delta_color="off", delta_arrow="off", help=f"{fmt.euros(totals['verse'])} versés ; taux de versement = versé / accordé.")
    cols = st.columns(5)
    with cols[0]:
        share = totals["part_cpo"]
        ui.kpi("Crédits P147 en CPO", fmt.percent(share),
               delta=f"cible ≥ {fmt.percent(model.CPO_TARGET_SHARE, 0)}" if share is not None else None,
               delta_color="normal" if totals["cpo_cible_atteinte"] else "inverse",
               help="Montants accordés par l'État (programme 147) aux actions en convention pluriannuelle "
                    "d'objectifs, rapportés à l'ensemble des crédits P147 accordés (même règle que la vue d'ensemble).")
    with cols[1]:
        ui.kpi("Crédits spécifiques", fmt.euros_compact(totals["p147_accorde"]),
               delta=f"{fmt.percent(totals['part_p147'])} de l'accordé" if totals["part_p147"] is not None else None,
               delta_color="off", delta_arrow="off",
               help=f"{fmt.euros(totals['p147_accorde'])} accordés par l'État au titre du programme 147 "
                    "(politique de la ville).")
    with cols[2]:
        dc_share = totals["part_droit_commun"]
        ui.kpi("Droit commun", fmt.euros_compact(totals["droit_commun_accorde"]),
               delta=f"{fmt.percent(dc_share)} de l'accordé" if dc_share is not None else None, delta_color="off", delta_arrow="off",
               help=f"{fmt.euros(totals['droit_commun_accorde'])} : tous les autres crédits accordés (État hors P147, "
                    "collectivités, CAF, bailleurs, FSE+…).")
    with cols[3]:
        ui.kpi("Petites associations", fmt.percent(totals["part_petites_assos"]),
               delta=f"{fmt.euros(totals['petites_assos_accorde'])} accordés", delta_color="off", delta_arrow="off",
               help="Part de l'accordé allant aux associations sans salarié.")
    with cols[4]:
        cap = fmt.percent(model.HORS_QPV_MAX_SHARE)
        if hq_sum["departements"] == 1:
            above = hq_sum["departements_depasse"] > 0
            which = periode if annee is not None else f"toutes années : la plus haute, {hq_sum['annee']}"
            ui.kpi("Hors QPV déclaré (P147)", fmt.percent(hq_sum["part"]),
                   delta=(f"plafond {cap} dépassé" if above else f"plafond {cap}") if hq_sum["part"] is not None else None,
                   delta_color="inverse" if above else "off", delta_arrow="up" if above else "off",  # a ceiling
                   help=f"Part de l'enveloppe P147 du département {hq_sum['insee_dep']} accordée aux actions déclarées "
                        f"hors QPV (poches de pauvreté), {which}. "
                        f"Calculée sur tous les contrats du département, quels que soient les filtres : règle nationale, "
                        f"au plus {cap} de l'enveloppe départementale.")
        else:
            ui.kpi("Hors QPV déclaré (P147)",
                   f"{fmt.integer(hq_sum['departements_depasse'])} sur {fmt.integer(hq_sum['departements'])}",
                   delta=f"départements au-delà de {cap}", delta_color="inverse" if hq_sum["departements_depasse"] else "off",
                   delta_arrow="off",
                   help=f"Départements dont les actions déclarées hors QPV reçoivent plus de {cap} de l'enveloppe P147 "
                        f"départementale ({periode}), calculé sur tous les contrats de chaque département, quels que soient "
                        "les filtres. Détail dans les alertes.")
if totals["p147_accorde"]:
    st.caption(f"Crédits P147 hors QPV **dans la sélection** : {fmt.percent(totals['part_hors_qpv'])} "
               f"({fmt.euros(totals['hors_qpv_p147_accorde'])}, dont {fmt.euros(totals['hors_qpv_declare_p147_accorde'])} "
               "déclarés hors QPV) ; le plafond se juge sur toute l'enveloppe P147 "
               + ("du département." if hq_sum["departements"] == 1 else "de chaque département."))

# --- charts -----------------------------------------------------------------------------------
AMOUNT_AXIS = alt.Axis(format=",.0f", tickMinStep=1)  # whole euros: never « 0 0 1 1 » ticks
FUNDER_COLORS = ["#1f4e8c", "#6c9bd2", "#d62728", "#ff9896", "#2ca02c", "#98df8a", "#ff7f0e", "#ffbb78",
                 "#9467bd", "#8c564b", "#7f7f7f"]  # one per model.FINANCEURS, État P147 darkest
TIP = ",.0f"

by_year = ui.cached(ctx, fin.funding_by_funder_year, contrat=ctx.contrat, **filters)
by_them = ui.cached(ctx, fin.funding_by_thematique, contrat=ctx.contrat, annee=annee, **filters)
cpo = ui.cached(ctx, fin.cpo_commitments, contrat=ctx.contrat, **filters)

left, right = st.columns(2)
with left:
    st.subheader("Accordé par financeur et par exercice")
    st.caption("Toutes années ; les autres filtres s'appliquent.")
    if _no_amount(by_year, "accorde"):
        st.info(EMPTY, icon=":material/info:")
    else:
        chart = alt.Chart(by_year).mark_bar().encode(
            x=alt.X("annee:O", title="Exercice", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("accorde:Q", title="Montant accordé (€)", axis=AMOUNT_AXIS, stack="zero"),
            color=alt.Color("financeur:N", title="Financeur", sort=list(model.FINANCEURS),
                            scale=alt.Scale(domain=list(model.FINANCEURS), range=FUNDER_COLORS)),
            order=alt.Order("financeur:N"),
            tooltip=[alt.Tooltip("annee:O", title="Exercice"), alt.Tooltip("financeur:N", title="Financeur"),
                     alt.Tooltip("accorde:Q", title="Accordé (€)", format=TIP),
                     alt.Tooltip("verse:Q", title="Versé (€)", format=TIP)],
        ).properties(height=320)
        st.altair_chart(ui.altair_fr(chart), width="stretch", key="fin_chart_financeurs")
with right:
    st.subheader("Accordé par thématique")
    st.caption(f"{periode.capitalize()} ; thématiques nationales du programme 147.")
    if _no_amount(by_them, "accorde"):
        st.info(EMPTY, icon=":material/info:")
    else:
        chart = alt.Chart(by_them).mark_bar().encode(
            y=alt.Y("thematique_libelle:N", title=None, sort=by_them["thematique_libelle"].to_list(),
                    axis=alt.Axis(labelLimit=260, labelOverlap=False)),
            x=alt.X("accorde:Q", title="Montant accordé (€)", axis=AMOUNT_AXIS),
            tooltip=[alt.Tooltip("thematique_libelle:N", title="Thématique"),
                     alt.Tooltip("actions:Q", title="Actions"),
                     alt.Tooltip("demande:Q", title="Demandé (€)", format=TIP),
                     alt.Tooltip("accorde:Q", title="Accordé (€)", format=TIP),
                     alt.Tooltip("verse:Q", title="Versé (€)", format=TIP)],
        ).properties(height=max(220, 24 * by_them.height))
        st.altair_chart(ui.altair_fr(chart), width="stretch", key="fin_chart_thematiques")

left, right = st.columns(2)
with left:
    st.subheader("Du demandé au versé")
    st.caption(f"{periode.capitalize()} ; taux de chaque étape par rapport à la précédente.")
    funnel = None if not (totals["demande"] or totals["accorde"] or totals["verse"]) else pl.DataFrame({
        "etape": ["Demandé", "Accordé", "Versé"],
        "montant": [totals["demande"], totals["accorde"], totals["verse"]],
        "taux": ["", fmt.percent(totals["taux_accord"]), fmt.percent(totals["taux_versement"])],
    }).with_columns(
        pl.format("{}{}", _fmt("montant", "euros"),
                  pl.when(pl.col("taux") == "").then(pl.lit("")).otherwise(" (" + pl.col("taux") + ")"))
        .alias("etiquette"))
    if funnel is None:
        st.info(EMPTY, icon=":material/info:")
    else:
        base = alt.Chart(funnel).encode(
            y=alt.Y("etape:N", title=None, sort=["Demandé", "Accordé", "Versé"]),
            x=alt.X("montant:Q", title="Montant (€)", axis=AMOUNT_AXIS,
                    scale=alt.Scale(domain=[0, max(totals["demande"], totals["accorde"], totals["verse"], 1) * 1.45])),
            tooltip=[alt.Tooltip("etape:N", title="Étape"), alt.Tooltip("etiquette:N", title="Montant")],
        )
        chart = (base.mark_bar(color="#3b6ea8") + base.mark_text(align="left", dx=4, color="#1f2937")
                 .encode(text="etiquette:N")).properties(height=200)
        st.altair_chart(ui.altair_fr(chart), width="stretch", key="fin_chart_entonnoir")
with right:
    st.subheader("Engagements CPO 2024–2030")
    st.caption("Montants des CPO par exercice, tels qu'enregistrés année par année.")
    if _no_amount(cpo, "accorde", "verse"):
        st.info("Aucun financement en CPO pour cette sélection.", icon=":material/info:")
    else:
        cpo_long = cpo.unpivot(index="annee", on=["accorde", "verse"], variable_name="etape", value_name="montant") \
                      .with_columns(pl.col("etape").replace_strict({"accorde": "Accordé", "verse": "Versé"}))
        chart = alt.Chart(cpo_long).mark_bar().encode(
            x=alt.X("annee:O", title="Exercice", axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("etape:N", sort=["Accordé", "Versé"]),
            y=alt.Y("montant:Q", title="Montant (€)", axis=AMOUNT_AXIS),
            color=alt.Color("etape:N", title=None, sort=["Accordé", "Versé"],
                            scale=alt.Scale(range=["#3b6ea8", "#8fb8de"])),
            tooltip=[alt.Tooltip("annee:O", title="Exercice"), alt.Tooltip("etape:N", title="Étape"),
                     alt.Tooltip("montant:Q", title="Montant (€)", format=TIP)],
        ).properties(height=200)
        st.altair_chart(ui.altair_fr(chart), width="stretch", key="fin_chart_cpo")

# --- alerts -----------------------------------------------------------------------------------
months = ctx.settings.unpaid_months
# Alerts look at every exercice (an old unpaid grant matters most); the other filters apply.
unpaid = ui.cached(ctx, fin.unpaid_grants, contrat=ctx.contrat, donnees_au=ctx.donnees_au, months=months, **filters)
unpaid_total = ui.cached(ctx, fin.unpaid_summary, contrat=ctx.contrat, donnees_au=ctx.donnees_au, months=months,
                         **filters)
overpaid = ui.cached(ctx, fin.overpaid_lines, contrat=ctx.contrat, **filters)
ended = ui.cached(ctx, fin.ended_without_status, contrat=ctx.contrat, donnees_au=ctx.donnees_au, **filters)
bad_siret = ui.cached(ctx, fin.invalid_sirets, contrat=ctx.contrat, **filters)
over = hors_qpv.filter(pl.col("depasse"))

st.subheader("Alertes")
st.caption("Toutes années pour les versements, statuts et SIRET, avec les autres filtres ; la règle hors QPV, "
           "pour l'exercice sélectionné, porte sur toute l'enveloppe P147 de chaque département, quels que soient les "
           "filtres.")
ALERT_CAP = 100


def _show(frame: pl.DataFrame, columns: dict[str, str], *, key: str) -> None:
    shown = frame.head(ALERT_CAP)
    out = shown.select(list(columns)).with_columns(
        [_fmt(c, "euros") for c in columns if c.startswith("montant") or c == "ecart"]
        + [_fmt(c, "day") for c in columns if c.startswith("date")]
        + [pl.col(c).cast(pl.String) for c in columns if c == "annee"]
    ).rename(columns)
    _table(out, key=key)
    if frame.height > ALERT_CAP:
        st.caption(f"{fmt.integer(ALERT_CAP)} premières lignes sur {fmt.integer(frame.height)}.")


tabs = st.tabs([
    f"Non versées après {months} mois ({fmt.integer(unpaid_total['lignes'])})",
    f"Versé > accordé ({fmt.integer(overpaid.height)})",
    f"Terminées sans statut final ({fmt.integer(ended.height)})",
    f"SIRET invalides ({fmt.integer(bad_siret.height)})",
    f"Hors QPV au-delà de {fmt.percent(model.HORS_QPV_MAX_SHARE)} ({fmt.integer(over.height)})",
])
with tabs[0]:
    if not unpaid_total["lignes"]:
        st.success(f"Aucune subvention accordée restée sans versement plus de {months} mois après la décision.",
                   icon=":material/check_circle:")
    else:
        st.warning(f"{fmt.plural(unpaid_total['lignes'], 'ligne de financement accordée', 'lignes de financement accordées')} "
                   "sans aucun versement "
                   f"{months} mois après la décision, pour {fmt.euros(unpaid_total['montant'])}.",
                   icon=":material/warning:")
        _show(unpaid, {"code_action": "Code action", "action": "Action", "porteur": "Porteur",
                       "financeur": "Financeur", "annee": "Exercice", "montant_accorde": "Accordé",
                       "date_decision": "Décision", "jours_depuis_decision": "Jours depuis la décision"},
              key="fin_alerte_impayes")
with tabs[1]:
    if overpaid.is_empty():
        st.success("Aucune ligne de financement dont le versé dépasse l'accordé.", icon=":material/check_circle:")
    else:
        st.warning(f"{fmt.plural(overpaid.height, 'ligne')} de financement dont le versé dépasse l'accordé, "
                   f"pour {fmt.euros(float(overpaid['ecart'].sum()))} versés au-delà : à vérifier avec le financeur "
                   "(trop-perçu ou accordé mal saisi).", icon=":material/warning:")
        overpaid_columns = {"code_action": "Code action", "action": "Action", "financeur": "Financeur",
                            "annee": "Exercice", "montant_accorde": "Accordé", "montant_verse": "Versé",
                            "ecart": "Écart", "porteur": "Porteur"}
        _show(overpaid, overpaid_columns, key="fin_alerte_trop_verse")
        download_buttons(overpaid.select(pl.col("code_contrat").alias("Contrat"),
                                         *[pl.col(c).alias(t) for c, t in overpaid_columns.items()]),
                         basename="verse_au_dela_accorde_" + (ctx.contrat or "tous"), key="fin_dl_trop_verse",
                         sheet="Versé au-delà", lazy=overpaid.height > DIRECT_DOWNLOAD_MAX)
with tabs[2]:
    if ended.is_empty():
        st.success("Toutes les actions terminées ont un statut final déclaré.", icon=":material/check_circle:")
    else:
        st.warning(f"{fmt.plural(ended.height, 'action')} terminée(s) encore « accordée » ou « en cours » : "
                   "déclarez-les réalisées ou abandonnées.", icon=":material/warning:")
        # the status and dates first: at 1280 px the table would push them out of view behind long titles
        _show(ended, {"action": "Action", "statut": "Statut", "date_fin": "Fin prévue",
                      "date_statut": "Dernier statut déclaré", "porteur": "Porteur", "code_action": "Code action"},
              key="fin_alerte_statut")
with tabs[3]:
    if bad_siret.is_empty():
        st.success("Tous les SIRET des porteurs de la sélection sont valides.", icon=":material/check_circle:")
    else:
        st.warning(f"{fmt.plural(bad_siret.height, 'porteur')} avec un SIRET invalide (clé de Luhn erronée) : "
                   "à corriger dans la prochaine mise à jour.", icon=":material/warning:")
        _show(bad_siret, {"porteur": "Porteur", "siret": "SIRET", "rna": "RNA", "type_structure": "Type",
                          "actions": "Actions"}, key="fin_alerte_siret")
with tabs[4]:
    if over.is_empty():
        st.success(f"Aucun département ne dépasse {fmt.percent(model.HORS_QPV_MAX_SHARE)} de son enveloppe P147 "
                   "pour les actions déclarées hors QPV.", icon=":material/check_circle:")
    else:
        st.warning(f"{fmt.plural(over['insee_dep'].n_unique(), 'département')} au-delà du plafond national de "
                   f"{fmt.percent(model.HORS_QPV_MAX_SHARE)} de l'enveloppe P147 pour les actions déclarées hors QPV "
                   f"({fmt.plural(over.height, 'exercice')}).", icon=":material/warning:")
    if hq_sum["lien_manquant_accorde"]:
        st.warning(f"{fmt.euros(hq_sum['lien_manquant_accorde'])} de crédits P147 vont à des actions rattachées à aucun "
                   "QPV sans être déclarées hors QPV : un lien QPV manque (à compléter dans la prochaine mise à jour). "
                   "Elles ne comptent pas dans le plafond ; la liste est dans les contrôles de cohérence de la vue "
                   "d'ensemble.", icon=":material/link_off:")
    if not hors_qpv.is_empty():
        _table(hors_qpv.head(ALERT_CAP).select(
            pl.col("insee_dep").alias("Département"),
            pl.col("annee").cast(pl.String).alias("Exercice"),
            _fmt("p147_accorde", "euros").alias("P147 accordé"),
            _fmt("declare_accorde", "euros").alias("dont déclaré hors QPV"),
            _fmt("part_hors_qpv", "percent").alias("Part déclarée hors QPV"),
            pl.when(pl.col("depasse")).then(pl.lit("oui")).otherwise(pl.lit("non")).alias("Au-delà du plafond"),
            _fmt("lien_manquant_accorde", "euros").alias("Sans lien QPV (à compléter)"),
        ), key="fin_alerte_hors_qpv")

# --- table of actions and drill-down ----------------------------------------------------------
bilans.section(ctx)  # « Bilans des porteurs » (cdv_core/ui/bilans.py)

st.subheader("Actions")
n_rows = counts["lignes_tableau"]
if not n_rows:
    # No table to sort: the choice is kept for when the selection has actions again.
    saved["fin_tri"] = st.session_state.get("fin_tri", saved.get("fin_tri"))
    st.info("Aucune action pour cette sélection.", icon=":material/info:")
    shown = pl.DataFrame(schema={"Code action": pl.String, "Action": pl.String})
else:
    if saved.get("fin_tri") in fin.TABLE_SORTS and "fin_tri" not in st.session_state:
        st.session_state["fin_tri"] = saved["fin_tri"]
    sort_col = st.selectbox("Trier par", list(fin.TABLE_SORTS), key="fin_tri")
    saved["fin_tri"] = sort_col
    shown = ui.cached(ctx, fin.actions_table, contrat=ctx.contrat, annee=annee, sort=sort_col, limit=TABLE_CAP,
                      **filters)
    display = shown.with_columns(
        [_fmt(c, "euros") for c in ("Demandé (€)", "Accordé (€)", "Versé (€)")]
        + [_fmt("Part retenue", "percent"),
           _fmt("Date de décision", "day"),
           pl.when(pl.col("Hors QPV")).then(pl.lit("oui")).otherwise(pl.lit("non")).alias("Hors QPV"),
           pl.col("Année de début").cast(pl.String), pl.col("Année de fin").cast(pl.String)]
    ).rename({"Demandé (€)": "Demandé", "Accordé (€)": "Accordé", "Versé (€)": "Versé"})
    if not filters["qpv"]:
        display = display.drop("Part retenue")
    # on screen, the status and the euros right after the action's title (at 1280 px the table shows
    # about five columns); the downloads keep `fin.ACTION_COLUMNS`' order
    first = ["Action", "Statut", "Accordé", "Versé"]
    display = display.select(first, *[c for c in display.columns if c not in first])
    _table(display, key="fin_table", height=380)
    st.caption(
        (f"{fmt.integer(TABLE_CAP)} premières actions sur {fmt.integer(n_rows)} (tri : {sort_col.lower()}) ; "
         "le téléchargement contient toutes les lignes." if n_rows > TABLE_CAP
         else f"{fmt.plural(n_rows, 'action')} (refusées comprises) ; tri : {sort_col.lower()}.")
        + " Montants de l'exercice et des financeurs retenus"
        + (", au prorata de la part retenue dans les QPV choisis." if filters["qpv"] else "."))

    basename = "actions_financements_" + (ctx.contrat or "tous") + ("" if annee is None else f"_{annee}")
    table_args = dict(contrat=ctx.contrat, annee=annee, sort=sort_col, **filters)
    if n_rows <= DIRECT_DOWNLOAD_MAX:
        download_buttons(ui.cached(ctx, fin.actions_table, **table_args), basename=basename, key="fin_dl",
                         sheet="Actions", lazy=False)
    else:
        # Big selections: the files are built only when a button is clicked (an XLSX of 40 000 rows
        # takes seconds), on Streamlit's download thread with its own cursor.
        rows = ui.deferred(ctx, fin.actions_table, **table_args)

        def _file(kind: str) -> bytes:
            frame = rows()
            return tables.to_csv_bytes(frame) if kind == "csv" else tables.to_xlsx_bytes({"Actions": frame})

        st.caption(f"Fichiers de {fmt.plural(n_rows, 'ligne')} : préparés au moment du clic, "
                   "quelques secondes pour le format Excel.")
        left, right = st.columns(2)
        left.download_button("Télécharger (CSV)", data=functools.partial(_file, "csv"), file_name=f"{basename}.csv",
                             mime="text/csv", key="fin_dl_big_csv", icon=":material/download:", on_click="ignore")
        right.download_button("Télécharger (Excel)", data=functools.partial(_file, "xlsx"), file_name=f"{basename}.xlsx",
                              mime=tables.XLSX_MIME, key="fin_dl_big_xlsx", icon=":material/download:", on_click="ignore")

st.subheader("Détail d'une action")
codes = shown["Code action"].to_list()
titles = dict(zip(codes, shown["Action"].to_list()))
wanted = st.session_state.get("fin_action", saved.get("fin_action"))
if wanted and wanted not in titles and ui.cached(ctx, fin.action_in_selection, code_action=wanted,
                                                 contrat=ctx.contrat, annee=annee, **filters):
    codes = [wanted, *codes]  # a shared link's action beyond the first rows: still offered
if st.session_state.pop("fin_action_lien", False):
    _, problem = links.known("fin_action", wanted, codes, expected="un code d'action de la sélection",
                             instead="de la première action de la liste")
    if problem:
        ui.url_warning(problem)
if not codes:
    st.info("Aucune action dans la sélection.", icon=":material/info:")
else:
    if st.session_state.get("fin_action") not in codes:
        st.session_state["fin_action"] = wanted if wanted in codes else codes[0]
    code = st.selectbox("Action", codes, key="fin_action",
                        format_func=lambda c: f"{c} — {titles[c]}" if c in titles else c)
    saved["fin_action"] = code
    st.query_params["fin_action"] = code
    detail = ui.cached(ctx, fin.action_detail, code_action=code)
    if detail is None:
        st.warning(f"L'action « {fmt.md(code)} » est introuvable dans les données.", icon=":material/warning:")
    else:
        a = detail["action"]
        with st.container(key="fin_detail", border=True):
            st.markdown(f"#### {fmt.md(a['libelle'])}")
            c1, c2, c3 = st.columns(3)

            def _id(value, valid) -> str:
                if value is None:
                    return "non renseigné"
                return fmt.md(value) + ("" if valid else " (invalide)")

            c1.markdown(f"**Porteur** : {fmt.md(a['porteur'] or '—')}  \n"
                        f"**Type** : {fmt.md(a['type_structure'] or '—')}  \n"
                        f"**SIRET** : {_id(a['siret'], a['siret_valide'])}  \n**RNA** : {_id(a['rna'], a['rna_valide'])}")
            periode_action = (f"du {fmt.day(a['date_debut'])} au {fmt.day(a['date_fin'])}" if a["date_debut"]
                              else f"{a['annee_debut']}–{a['annee_fin']}")
            c2.markdown(f"**Contrat** : {fmt.md(a['contrat'] or a['code_contrat'])}  \n**Période** : {periode_action}  \n"
                        f"**Thématique** : {fmt.md(a['thematique'])} {fmt.md(a['thematique_libelle'])}  \n"
                        f"**Mode** : {fmt.md(a['mode_financement'])}")
            c3.markdown(f"**Statut** : {fmt.md(a['statut'])}"
                        + (f" (déclaré le {fmt.day(a['date_statut'])})" if a["date_statut"] else "")
                        + f"  \n**Avancement** : {fmt.percent(a['avancement'], 0)}  \n"
                        f"**Décision** : {fmt.day(a['date_decision'])}  \n"
                        f"**Hors QPV** : {'oui (aucun QPV rattaché)' if a['hors_qpv'] else 'non'}"
                        + ("" if a["hors_qpv"] == a["hors_qpv_declare"] else
                           f" (déclarée {'hors QPV' if a['hors_qpv_declare'] else 'en QPV'} : à corriger)"))
            q = detail["quartiers"]
            st.markdown("**Quartiers servis et parts**")
            if q.is_empty():
                st.caption("Aucun QPV rattaché : action hors QPV, comptée dans aucun quartier.")
            else:
                _table(q.select(
                    pl.col("code_qp").alias("QPV"), pl.col("libelle").alias("Quartier"),
                    _fmt("part", "percent").alias("Part déclarée"),
                    _fmt("part_retenue", "percent").alias("Part retenue"),
                ), key="fin_detail_qpv")
                st.caption("Part retenue : les parts déclarées sont gardées, les QPV sans part se partagent "
                           "le reste à parts égales, et le tout est ramené à 100 % (même règle que « Projets de quartier »).")
            st.markdown("**Objectifs**")
            o = detail["objectifs"]
            if o.is_empty():
                st.caption("Aucun objectif rattaché.")
            else:
                _table(o.select(pl.col("code_objectif").alias("Code"), pl.col("axe").alias("Axe"),
                                pl.col("libelle").alias("Objectif"),
                                pl.col("code_qp").fill_null("socle transversal").alias("QPV")),
                       key="fin_detail_obj")
            st.markdown("**Lignes de financement**")
            lines = detail["financements"]
            if lines.is_empty():
                st.caption("Aucune ligne de financement enregistrée.")
            else:
                _table(lines.select(
                    pl.col("annee").cast(pl.String).alias("Exercice"), pl.col("financeur").alias("Financeur"),
                    *[_fmt(c, "euros").alias(t)
                      for c, t in (("demande", "Demandé"), ("accorde", "Accordé"), ("verse", "Versé"))],
                    *[_fmt(c, "day").alias(t)
                      for c, t in (("date_demande", "Demande"), ("date_decision", "Décision"),
                                   ("date_versement", "Versement"))],
                ), key="fin_detail_lignes")
            st.caption("Historique des statuts : aucun historique enregistré — seul le dernier statut déclaré est "
                       "conservé" + (f" ({fmt.md(a['statut'])}, le {fmt.day(a['date_statut'])})." if a["date_statut"] else "."))
