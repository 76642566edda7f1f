"""« Indicateurs »: trajectories to target, gap between each QPV and its reference territory,
comparison across QPV, dictionary with freshness."""

import altair as alt
import polars as pl
import streamlit as st

from cdv_core import charts, fmt, ui
from cdv_core.domain import gaps, model
from cdv_core.queries import indicateurs as ind
from cdv_core.queries import territoire
from cdv_core.ui import publishable as pub
from cdv_core.ui import ventilations
from cdv_core.ui.downloads import download_buttons
from cdv_core.ui.sources import source_rules_view

MAX_COMPARED = 5        # QPV drawn beside the chosen one on the trajectory chart
SHAPES = {"Point de départ": "circle", "Cible intermédiaire": "triangle", "Cible": "diamond"}  # chart marks
DOT_PLOT_HALF = 20      # ranked dot plot: this many highest and lowest values when the selection is larger
TABLE_ROWS = 200        # comparison table rows shown (all of them in the download)
LAZY_DOWNLOAD_ROWS = 300  # above this, the comparison files are built on request

ctx = ui.bootstrap("Indicateurs")
ui.page_header("Indicateurs", ctx, subtitle="écart entre les quartiers et leur territoire")

dico = ui.cached(ctx, ind.dictionary, contrat=ctx.contrat, donnees_au=ctx.donnees_au,
                 max_age_months=ctx.settings.indicator_max_age_months)
quartiers = ui.cached(ctx, territoire.quartiers, contrat=ctx.contrat)
if dico.is_empty() or quartiers.is_empty():
    st.info("Aucun indicateur ou aucun quartier pour cette sélection : importez un dictionnaire d'indicateurs "
            "et leurs valeurs depuis « Mise à jour des données ».", icon=":material/info:")
    st.stop()

# --- choice of the indicator and of the reference territory -----------------------------------
codes = dico["code_indicateur"].to_list()
labels = dict(zip(codes, dico["libelle"].to_list()))
left, right = st.columns([3, 2])
with left:
    # default: the first indicator with a gap to show and a desired direction
    telling = (dico["a_reference"] & (dico["sens"] != "neutre")).to_list()
    code = st.selectbox("Indicateur", codes, index=telling.index(True) if True in telling else 0,
                        format_func=lambda c: f"{labels[c]} ({c})", key="indic_indicateur")
with right:
    # A radio always keeps one choice: a segmented control could be emptied by a second click.
    reference = st.radio("Territoire de référence pour l'écart", list(ind.REFERENCE_TYPES),
                         index=list(ind.REFERENCE_TYPES).index("EPCI"), format_func=ind.REFERENCE_TYPES.get,
                         horizontal=True, key="indic_reference",
                         help="Commune principale du QPV, EPCI du QPV (à défaut, signataire du contrat) "
                              "ou France entière.")
meta = dico.filter(pl.col("code_indicateur") == code).row(0, named=True)
unite, gap_unit = meta["unite"], gaps.gap_unit(meta["unite"])
st.caption(
    f"Unité : **{fmt.md(unite)}** · {fmt.md(model.SENS_INDICATEUR.get(meta['sens'], meta['sens']))} · "
    f"source : {fmt.md(meta['source'])}"
    f" · dernière valeur : **{fmt.day(meta['derniere_date'])}** · écart exprimé "
    + ("en points (QPV − territoire)" if gap_unit == "pts" else "en % de la valeur du territoire de référence")
)
if meta["fraicheur"] != "à jour":
    st.warning(
        (f"La dernière valeur de cet indicateur date du {fmt.day(meta['derniere_date'])} : "
         + (f"le millésime attendu au {fmt.day(ctx.donnees_au)} est **{meta['millesime_attendu_libelle']}** "
            f"(source {fmt.md(meta['source'])} : {ind.rule_text(meta['rythme_mois'], meta['delai_publication_mois'])})."
            if meta["millesime_attendu"] else
            f"plus de {ctx.settings.indicator_max_age_months} mois avant le {fmt.day(ctx.donnees_au)}."))
        if meta["derniere_date"]
        else "Aucune valeur de cet indicateur pour les quartiers de la sélection.", icon=":material/schedule:")

comparison = ui.cached(ctx, ind.comparison, code_indicateur=code, contrat=ctx.contrat, reference=reference,
                       donnees_au=ctx.donnees_au)
aggregate = ui.cached(ctx, ind.aggregate, code_indicateur=code, contrat=ctx.contrat, donnees_au=ctx.donnees_au)
method = aggregate["methode"][0] if aggregate.height else gaps.aggregation_method(unite, meta["agregation"])
agg_label, agg_caption, agg_sentence = ind.AGGREGATE_TEXT[method]
# a partenaire: small counts of people suppressed, and a sum that would reveal one left out
aggregate = pub.indicator_aggregate(ctx, meta, aggregate, comparison=comparison)
comparison = pub.indicator_comparison(ctx, meta, comparison)
vintage = comparison["date_valeur"].max() if comparison.height else None

tab_traj, tab_comp, tab_dico = st.tabs(["Trajectoire d'un quartier", "Comparaison des quartiers",
                                        "Dictionnaire des indicateurs"])

# --- trajectory of one QPV ----------------------------------------------------------------------
with tab_traj:
    qpv_codes = quartiers["code_qp"].to_list()
    qpv_labels = dict(zip(qpv_codes, (quartiers["libelle"] + " — " + quartiers["lib_com"]).to_list()))
    c1, c2 = st.columns([1, 1])
    with c1:
        focus = st.selectbox("Quartier", qpv_codes, format_func=qpv_labels.get, key="indic_qpv")
    with c2:
        autres = st.multiselect("Comparer avec (facultatif)", [c for c in qpv_codes if c != focus],
                                format_func=qpv_labels.get, max_selections=MAX_COMPARED, key="indic_autres",
                                placeholder="Choisir jusqu'à 5 quartiers", select_all=False)
    row = comparison.filter(pl.col("code_qp") == focus).row(0, named=True)

    u = ind.display_unit(unite and fmt.md(unite))  # the store's unit as text: a metric's value renders Markdown
    gu = ind.display_unit(gap_unit)
    status = row["tendance"]
    cols = st.columns(4)
    with cols[0]:
        ui.kpi(f"Valeur au {fmt.day(vintage)}" if vintage else "Dernière valeur",
               f"{fmt.number(row['valeur'], 1)}{u}" if row["valeur"] is not None else fmt.md(row["motif"] or "—"),
               help="Valeur du quartier au dernier millésime disponible pour la sélection. Une valeur soumise au "
                    "secret statistique est affichée avec son motif, jamais comme 0.")
    with cols[1]:
        ui.kpi("Point de départ", f"{fmt.number(row['valeur_base'], 1)}{u}" if row["valeur_base"] is not None else "—",
               help="Valeur de référence saisie pour ce quartier ; à défaut, dernière valeur connue à la signature "
                    "du contrat.")
        st.caption(f"{fmt.md(row['source_base'])} ({fmt.day(row['date_base'])})" if row["source_base"]
                   else "aucune valeur à la signature")
    with cols[2]:
        ui.kpi("Cible", f"{fmt.number(row['valeur_cible'], 1)}{u}" if row["valeur_cible"] is not None else "—")
        st.caption(f"échéance {fmt.day(row['date_cible'])}" if row["date_cible"] else "aucune cible saisie")
    with cols[3]:
        delta, color = None, "off"
        if row["evolution"] is not None:
            measure_unit = ind.display_unit(fmt.md(gaps.change_unit(unite, row["mesure_tendance"])))
            delta = f"{fmt.number(row['evolution'], 1)}{measure_unit} depuis le départ"
            if status in ("favorable", "defavorable"):  # arrow = sign of Δ; colour = desired direction
                color = "normal" if meta["sens"] == "hausse" else "inverse"
        ui.kpi(ind.GAP_LABELS[reference],
               f"{fmt.number(row['ecart'], 1)}{gu}" if row["ecart"] is not None else "—",
               delta=delta, delta_color=color,
               help="Écart = valeur du QPV − valeur du territoire de référence la même année "
                    + ("(en points)." if gap_unit == "pts" else "(en % de la valeur du territoire).")
                    + " La tendance compare l'écart d'aujourd'hui à celui du point de départ (à défaut de territoire "
                      "de référence, la valeur du quartier elle-même).")
        if status:
            measured = " (valeur du quartier)" if row["mesure_tendance"] == "valeur" else ""
            st.caption(f"Tendance{measured} : **{gaps.TREND_LABELS[status]}**")

    traj = pub.indicator_trajectory(ctx, meta, ui.cached(ctx, ind.trajectory, code_indicateur=code, focus=focus,
                                                         autres=tuple(autres), donnees_au=ctx.donnees_au),
                                    comparison=comparison)
    agg = aggregate.filter(pl.col("valeur").is_not_null())
    lines = ind.plotted(traj).select("serie", "type_serie", "date_valeur", "valeur")
    if method != "somme" and agg_label:  # a sum of several QPV is not comparable to one QPV: not drawn beside it
        lines = pl.concat([lines, agg.select(pl.lit(agg_label).alias("serie"), pl.lit("Sélection").alias("type_serie"),
                                             "date_valeur", "valeur")])
    marks = ind.markers(comparison, (focus, *autres))
    missing = ind.secret_summary(traj)

    # The missing values are listed under the chart: beside it, at 1280 px, only one column showed.
    with st.container(key="indic_trajectoire"):
        if lines.is_empty():
            st.info("Aucune valeur connue pour ce quartier et cet indicateur.", icon=":material/info:")
        else:
            base = alt.Chart(lines).encode(
                x=alt.X("date_valeur:T", title=None, axis=alt.Axis(format="%Y", tickCount={"interval": "year", "step": 1})),
                y=alt.Y("valeur:Q", title=unite, scale=alt.Scale(zero=False), axis=charts.number_axis()),
                color=alt.Color("serie:N", title=None, legend=alt.Legend(orient="bottom", columns=2, labelLimit=320)),
                strokeDash=alt.StrokeDash("type_serie:N", legend=None, scale=alt.Scale(
                    domain=["QPV", "Sélection", "commune", "EPCI", "France"],
                    range=[[1, 0], [8, 2], [5, 3], [5, 3], [2, 2]])),
                strokeWidth=alt.StrokeWidth("type_serie:N", legend=None, scale=alt.Scale(
                    domain=["QPV", "Sélection", "commune", "EPCI", "France"], range=[3, 2, 1.5, 1.5, 1.5])),
                tooltip=[alt.Tooltip("serie:N", title="Série"), alt.Tooltip("date_valeur:T", title="Date", format="%d/%m/%Y"),
                         alt.Tooltip("valeur:Q", title=unite, format=",.1f")],
            )
            layers = [base.mark_line(point=True)]
            if marks.height:
                layers.append(alt.Chart(marks).mark_point(size=120, filled=False, strokeWidth=2).encode(
                    x="date_valeur:T", y=alt.Y("valeur:Q", axis=charts.number_axis()), color=alt.Color("serie:N"),
                    shape=alt.Shape("repere:N", title=None, scale=alt.Scale(  # the legend lists the marks drawn
                        domain=[r for r in SHAPES if r in set(marks["repere"])],
                        range=[SHAPES[r] for r in SHAPES if r in set(marks["repere"])])),
                    tooltip=[alt.Tooltip("serie:N", title="Quartier"), alt.Tooltip("repere:N", title="Repère"),
                             alt.Tooltip("date_valeur:T", title="Date", format="%d/%m/%Y"),
                             alt.Tooltip("valeur:Q", title=unite, format=",.1f")]))
            st.altair_chart(ui.altair_fr(alt.layer(*layers).properties(height=360)), width="stretch",
                            key="indic_chart_trajectoire")
        st.caption(agg_caption + " Les valeurs soumises au secret statistique ne sont ni tracées ni comptées.")
    with st.container(key="indic_manquantes_bloc"):
        if missing.is_empty():
            st.caption("**Valeurs manquantes** : aucune, toutes les valeurs de ces séries sont connues.")
        else:
            st.markdown(f"**Valeurs manquantes** ({fmt.integer(missing.height)}, non tracées)")
            st.dataframe(missing.select(pl.col("serie").alias("Série"),
                                        pl.col("date_valeur").dt.strftime("%d/%m/%Y").alias("Date"),
                                        pl.col("motif").alias("Motif")),
                         hide_index=True, width="stretch", key="indic_manquantes",
                         height=min(36 * (missing.height + 1) + 3, 250))

    series = ind.gap_series(traj, focus=focus, reference=reference, unite=unite)
    if series.height:
        st.markdown(f"**Écart du quartier à : {ind.REFERENCE_TYPES[reference]}** ({gap_unit})")
        base_gap = row["ecart_base"]
        gap_chart = alt.Chart(series.with_columns(pl.col("date_valeur").dt.year().alias("annee"))).mark_line(point=alt.OverlayMarkDef(size=60), strokeWidth=3).encode(
            x=alt.X("annee:O", title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("ecart:Q", title=f"écart ({gap_unit})", scale=alt.Scale(zero=False), axis=charts.number_axis()),
            tooltip=[alt.Tooltip("date_valeur:T", title="Date", format="%d/%m/%Y"),
                     alt.Tooltip("ecart:Q", title=f"Écart ({gap_unit})", format="+,.1f")],
            color=alt.value(gaps.TREND_COLORS.get(row["tendance"] or "neutre", "#6e7781")),
        )
        layers = [gap_chart]
        if base_gap is not None:
            layers.append(alt.Chart(pl.DataFrame({"ecart": [base_gap]})).mark_rule(strokeDash=[4, 3]).encode(
                y=alt.Y("ecart:Q", axis=charts.number_axis()),
                tooltip=[alt.Tooltip("ecart:Q", title="Écart au point de départ", format="+,.1f")]))
        st.altair_chart(ui.altair_fr(alt.layer(*layers).properties(height=200)), width="stretch",
                        key="indic_chart_ecart")
        st.caption("Trait pointillé : écart au point de départ. Couleur : bleu si l'écart a évolué dans le sens "
                   "souhaité depuis le départ, orange dans le sens inverse, gris si stable, sans sens souhaité ou "
                   "non calculable.")
    download_buttons(ind.trajectory_export(traj), basename=f"indicateur_{code}_{focus}", key="indic_dl_traj",
                     sheet="Trajectoire", ctx=ctx)

# --- comparison across QPV -----------------------------------------------------------------------
with tab_comp:
    if vintage is None:
        st.info("Aucune valeur de cet indicateur pour les quartiers de la sélection.", icon=":material/info:")
    else:
        st.markdown(f"**Millésime du {fmt.day(vintage)}** — {fmt.plural(comparison.height, 'quartier')} "
                    "dans la sélection")
    last_agg = aggregate.filter(pl.col("date_valeur") == vintage) if vintage else aggregate.clear()
    if last_agg.height and last_agg["valeur"][0] is not None:
        a = last_agg.row(0, named=True)
        st.caption(
            f"{agg_sentence} des quartiers de la sélection : **{fmt.number(a['valeur'], 1)}{ind.display_unit(unite)}** "
            f"({fmt.integer(a['qpv_inclus'])} QPV renseignés sur {fmt.integer(a['qpv_total'])}"
            + (" : somme incomplète" if method == "somme" and a["qpv_inclus"] < a["qpv_total"] else "") + ")."
            + ("" if method == "somme" else " Un pourcentage n'est jamais additionné entre quartiers."))
    elif method == gaps.NOT_AGGREGATED and vintage:
        st.caption(agg_caption)
    known = comparison.filter(pl.col("valeur").is_not_null()).sort("valeur", descending=True)
    shown = known if known.height <= 2 * DOT_PLOT_HALF else pl.concat([known.head(DOT_PLOT_HALF), known.tail(DOT_PLOT_HALF)])
    if shown.height:
        dots = shown.select("libelle", "valeur", "valeur_reference_territoire", "ecart",
                            pl.col("tendance_libelle").alias("tendance"))
        present = set(dots["tendance"].drop_nulls().to_list())
        trend_keys = [k for k in gaps.TREND_LABELS if gaps.TREND_LABELS[k] in present]
        base = alt.Chart(dots).encode(y=alt.Y("libelle:N", title=None, axis=alt.Axis(labelLimit=260),
                                              sort=alt.EncodingSortField("valeur", order="descending")))
        points = base.mark_circle(size=110, opacity=1).encode(
            x=alt.X("valeur:Q", title=unite, scale=alt.Scale(zero=False), axis=charts.number_axis()),
            color=alt.Color("tendance:N", title="Écart depuis le départ",
                            scale=alt.Scale(domain=[gaps.TREND_LABELS[k] for k in trend_keys],
                                            range=[gaps.TREND_COLORS[k] for k in trend_keys]),
                            legend=alt.Legend(orient="bottom", columns=3, labelLimit=300)),
            tooltip=[alt.Tooltip("libelle:N", title="Quartier"), alt.Tooltip("valeur:Q", title=unite, format=",.1f"),
                     alt.Tooltip("valeur_reference_territoire:Q", title=ind.REFERENCE_TYPES[reference], format=",.1f"),
                     alt.Tooltip("ecart:Q", title=f"Écart ({gap_unit})", format="+,.1f"),
                     alt.Tooltip("tendance:N", title="Tendance")],
        )
        ticks = base.transform_filter("isValid(datum.valeur_reference_territoire)").mark_tick(
            color="#333", thickness=2, size=14).encode(
            x=alt.X("valeur_reference_territoire:Q", axis=charts.number_axis()),
            tooltip=[alt.Tooltip("valeur_reference_territoire:Q", title=ind.REFERENCE_TYPES[reference], format=",.1f")])
        st.altair_chart(ui.altair_fr(alt.layer(ticks, points).properties(height=max(160, 22 * shown.height))),
                        width="stretch", height=max(160, 22 * shown.height) + 90, key="indic_chart_comparaison")
        note = {"commune": "Trait noir : commune du quartier", "EPCI": "Trait noir : EPCI du quartier",
                "France": "Trait noir : France"}[reference] + ", même année (valeur de comparaison de l'écart)."
        if shown.height < known.height:
            note += (f" Affichés : les {DOT_PLOT_HALF} valeurs les plus hautes et les {DOT_PLOT_HALF} plus basses "
                     f"sur {fmt.integer(known.height)} (tableau complet à télécharger).")
        st.caption(note)
    missing_now = comparison.filter(pl.col("valeur").is_null())
    if missing_now.height:
        st.caption(f"Sans valeur au {fmt.day(vintage)} (non tracés) : "
                   + fmt.md(", ".join((missing_now["libelle"] + " (" + missing_now["motif"] + ")").head(15).to_list()))
                   + (" …" if missing_now.height > 15 else ""))
    table = ind.comparison_table(comparison.head(TABLE_ROWS), unite=unite)
    st.dataframe(table, hide_index=True, width="stretch", key="indic_table_comparaison")
    if comparison.height > TABLE_ROWS:
        st.caption(f"{fmt.integer(TABLE_ROWS)} premiers quartiers sur {fmt.integer(comparison.height)} : "
                   "téléchargez le tableau complet.")
    # Building the Excel file of a national selection takes about a second: only on request.
    if comparison.height <= LAZY_DOWNLOAD_ROWS or st.toggle(
            f"Préparer le téléchargement des {fmt.integer(comparison.height)} quartiers", key="indic_dl_comp_prep"):
        download_buttons(ind.comparison_export(comparison), basename=f"indicateur_{code}_comparaison",
                         key="indic_dl_comp", sheet="Comparaison", ctx=ctx)
    ventilations.section(ctx, meta, code=code, reference=reference)  # by sexe, by âge (if any)

# --- dictionary ---------------------------------------------------------------------------------
with tab_dico:
    stale = dico.filter(pl.col("fraicheur") != "à jour")
    if stale.height:
        st.warning(f"{fmt.plural(stale.height, 'indicateur')} sans le dernier millésime publié au "
                   f"{fmt.day(ctx.donnees_au)} (voir « Millésime attendu »), ou sans aucune valeur : "
                   + fmt.md(", ".join(stale["libelle"].head(8).to_list())) + (" …" if stale.height > 8 else ""),
                   icon=":material/schedule:")
    query = st.text_input("Rechercher un indicateur", placeholder="libellé, code, source, thématique…",
                          key="indic_recherche")
    found = ind.filter_dictionary(dico, query)
    st.caption(f"{fmt.plural(found.height, 'indicateur')} sur {fmt.integer(dico.height)}. « QPV renseignés » : quartiers de la "
               "sélection ayant une valeur au dernier millésime ; les autres relèvent du secret statistique "
               "(nd, ns, s, so).")
    st.dataframe(ind.dictionary_table(found), hide_index=True, width="stretch", key="indic_dictionnaire")
    download_buttons(ind.dictionary_table(found), basename="dictionnaire_indicateurs", key="indic_dl_dico",
                     sheet="Dictionnaire", ctx=ctx)

    source_rules_view(ctx)
