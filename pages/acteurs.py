"""« Acteurs et ingénierie »: the local system of actors and the team that keeps the contract alive."""

import hashlib

import altair as alt
import polars as pl
import streamlit as st

from cdv_core import access, acteurs_import, fmt, ui
from cdv_core.domain import model
from cdv_core.queries import acteurs as q
from cdv_core.queries import territoire
from cdv_core.ui import maps
from cdv_core.ui import publishable as pub
from cdv_core.ui.downloads import download_buttons
from cdv_core.ui.widgets import french_uploader_style

ctx = ui.bootstrap("Acteurs et ingénierie")
ui.page_header("Acteurs et ingénierie", ctx)
year = ctx.donnees_au.year
HIGHLIGHT, OTHER, EMPTY = [192, 57, 43], [31, 78, 121], [170, 170, 170]


def _euros(col: str) -> pl.Expr:
    return fmt.euros_expr(pl.col(col), missing="—")


def _percent(col: str) -> pl.Expr:
    return fmt.percent_expr(pl.col(col), missing="—")


def _day(col: str) -> pl.Expr:
    return fmt.day_expr(pl.col(col), missing="—")


def _contract_name(col: str) -> pl.Expr:
    """A contract's name instead of its code (people read names; the downloads keep the codes)."""
    contracts = ui.cached(ctx, territoire.contracts)
    names = dict(zip(contracts["code_contrat"].to_list(), contracts["libelle"].to_list()))
    return pl.col(col).replace_strict(names, default=pl.col(col), return_dtype=pl.String)


def _validity(col: str) -> pl.Expr:
    return (pl.when(pl.col(col).is_null()).then(pl.lit("—"))
              .when(pl.col(col)).then(pl.lit("valide")).otherwise(pl.lit("invalide")))


def _bar(frame: pl.DataFrame, *, x: str, y: str, title: str, fmt_x: str = ",.0f") -> alt.Chart:
    return ui.altair_fr(alt.Chart(frame).mark_bar(color="#1f4e79").encode(
        x=alt.X(f"{x}:Q", title=title, axis=alt.Axis(format=fmt_x, tickMinStep=1)),
        y=alt.Y(f"{y}:N", sort="-x", title=None, axis=alt.Axis(labelLimit=220, labelOverlap=False)),
        tooltip=[alt.Tooltip(f"{y}:N", title="Valeur"), alt.Tooltip(f"{x}:Q", title=title, format=fmt_x)],
    ).properties(height=alt.Step(22)))


view = st.segmented_control("Volet", ["Système d'acteurs", "Ingénierie"], default="Système d'acteurs",
                            key="acteurs_volet", label_visibility="collapsed")

# ============================================================================================
if view != "Ingénierie":
    with st.container(key="acteurs_filtres"):
        cols = st.columns(3)
        modes = cols[0].multiselect("Mode d'intervention", [*q.MODES_INTERVENTION, q.MODE_NON_RENSEIGNE],
                                    key="acteurs_modes", placeholder="Tous", select_all=False)
        domaines = cols[1].multiselect("Domaines", q.DOMAINES, key="acteurs_domaines", placeholder="Tous",
                                       help="Un acteur est retenu s'il intervient dans au moins un des domaines choisis.", select_all=False)
        types = cols[2].multiselect("Structure", list(model.TYPES_STRUCTURE), key="acteurs_types", placeholder="Toutes", select_all=False)
    filters = {"modes": tuple(modes) or None, "domaines": tuple(domaines) or None, "types": tuple(types) or None}
    directory = ui.cached(ctx, q.directory, contrat=ctx.contrat, annee=year, **filters)
    shown = directory.head(q.DIRECTORY_CAP)
    labels = dict(zip(shown["id_acteur"].to_list(), shown["nom"].to_list()))
    # The actor of the « fiche » is known before its selectbox is drawn: one QPV query serves the
    # headline count and the map.
    chosen = st.session_state.get("acteurs_choix")
    chosen = chosen if chosen in labels else next(iter(labels), None)
    qpv = ui.cached(ctx, q.actors_by_qpv, contrat=ctx.contrat, id_acteur=chosen, **filters)
    counts = ui.cached(ctx, q.typology_counts, contrat=ctx.contrat, **filters)
    headline = ui.cached(ctx, q.actor_counts, contrat=ctx.contrat, **filters)
    dep_counts = ui.cached(ctx, q.dependency_summary, contrat=ctx.contrat)
    small_year = ui.cached(ctx, q.small_association_summary, contrat=ctx.contrat, annee=year)
    dependency, small, trend = dep_counts["acteurs"], small_year["par_annee"], small_year["evolution"]
    with st.container(key="acteurs_kpis"):
        cols = st.columns(5)
        with cols[0]:
            ui.kpi("Acteurs", fmt.integer(headline["nb_acteurs"]),
                   help="Porteurs d'actions et acteurs enregistrés sans financement, selon les filtres.")
        with cols[1]:
            ui.kpi("Sans financement", fmt.integer(headline["nb_sans_financement"]),
                   help="Acteurs présents dans les quartiers qui ne sont porteurs d'aucune action financée, "
                        "dans aucun contrat (un porteur financé ailleurs compte comme financé).")
        with cols[2]:
            ui.kpi("QPV couverts", fmt.integer(headline["nb_qpv_couverts"]),
                   help=f"QPV où agit au moins un des acteurs retenus, sur {fmt.plural(headline['nb_qpv'], 'QPV', 'QPV')} "
                        "de la sélection.")
        with cols[3]:
            ui.kpi("Dépendants", fmt.integer(dep_counts["nb_dependants"]),
                   help=f"Acteurs dépendants d'un financeur : il apporte au moins {fmt.percent(q.SEUIL_DEPENDANCE, 0)} des montants accordés "
                        f"à l'acteur (toutes années) : {fmt.percent(dep_counts['part_dependants'], 0)} "
                        f"des {fmt.integer(dep_counts['nb_finances'])} acteurs financés.")
        with cols[4]:
            ui.kpi("Petites associations", fmt.percent(small_year["part"]),
                   delta=(f"{'+' if trend >= 0 else '-'}{fmt.number(abs(trend) * 100, 1)} pt sur un an"
                          if trend is not None else None), delta_color="normal",
                   help=f"Part des montants accordés en {year} (tous financeurs) aux associations sans salarié, et son évolution sur un an.")

    st.subheader("Acteurs par typologie")
    with st.container(key="acteurs_typologies"):
        cols = st.columns(3)
        for col, (typ, title) in zip(cols, [("mode d'intervention", "Mode d'intervention"),
                                            ("domaine", "Domaine"), ("structure", "Structure")]):
            part = counts.filter(pl.col("typologie") == typ).select("valeur", "nb_acteurs")
            with col:
                st.markdown(f"**{title}**")
                if part.is_empty():
                    st.caption("Aucun acteur.")
                else:
                    st.altair_chart(_bar(part, x="nb_acteurs", y="valeur", title="Acteurs"), key=f"acteurs_chart_{typ[:4]}")

    st.subheader("Annuaire des acteurs")
    if directory.is_empty():
        st.info("Aucun acteur ne correspond à ces filtres.", icon=":material/info:")
    else:
        table = directory.head(q.DIRECTORY_CAP).select(
            pl.col("nom").alias("Acteur"), pl.col("type_structure").alias("Structure"),
            pl.col("mode_intervention").alias("Mode d'intervention"), pl.col("domaines").alias("Domaines"),
            pl.col("quartiers").alias("QPV"), pl.col("nb_actions").alias("Actions"),
            _euros("accorde_annee").alias(f"Accordé {year}"), _euros("accorde_cpo_annee").alias(f"dont CPO {year}"),
            pl.col("financeur_principal").alias("Financeur principal"),
            _percent("part_financeur_principal").alias("Part du principal"),
            pl.col("nb_instances").alias("Instances"), pl.col("siret").alias("SIRET"),
            _validity("siret_valide").alias("SIRET valide"), pl.col("rna").alias("RNA"),
            _validity("rna_valide").alias("RNA valide"))
        with st.container(key="acteurs_annuaire"):
            st.dataframe(table, hide_index=True, key="acteurs_table", height=360, placeholder="—")
        if headline["nb_acteurs"] > q.DIRECTORY_CAP:
            st.caption(f"{fmt.integer(q.DIRECTORY_CAP)} premiers acteurs sur {fmt.integer(headline['nb_acteurs'])} "
                       f"(par montant accordé en {year}) ; le téléchargement contient tout.")
        download_buttons(directory, basename="annuaire_acteurs", key="acteurs_dl_annuaire", sheet="Acteurs")

        st.subheader("Fiche d'un acteur")
        options = list(labels)
        st.selectbox("Acteur", options, index=options.index(chosen), format_func=labels.get, key="acteurs_choix")
        detail = ui.cached(ctx, q.actor_detail, id_acteur=chosen, contrat=ctx.contrat)
        left, right = st.columns([3, 2], gap="medium")
        with left:
            frame = qpv.with_columns(
                pl.when(pl.col("acteur_present")).then(pl.lit(HIGHLIGHT))
                  .when(pl.col("nb_acteurs") > 0).then(pl.lit(OTHER)).otherwise(pl.lit(EMPTY)).alias("couleur"),
                pl.when(pl.col("acteur_present")).then(pl.lit("oui")).otherwise(pl.lit("non")).alias("present"))
            deck = maps.qpv_map(frame, color_column="couleur",
                                tooltip_html="<b>{libelle}</b><br/>{code_qp}<br/>Acteurs (filtres) : {nb_acteurs}"
                                             "<br/>L'acteur choisi y agit : {present}", tiles=ctx.settings.map_tiles)
            with st.container(key="acteurs_carte"):
                st.pydeck_chart(deck, key="acteurs_map", height=420)
            st.markdown("En :red[**rouge**] : les QPV où agit l'acteur choisi ; en :blue[**bleu**] : les autres QPV où "
                        "agit au moins un acteur retenu par les filtres ; en :gray[**gris**] : aucun.")
            st.caption(maps.attribution(ctx.settings.map_tiles) + ".")
        with right:
            ident = detail["identite"].row(0, named=True)
            with st.container(key="acteurs_fiche", border=True):
                st.markdown(f"**{fmt.md(ident['nom'])}**")
                st.caption(f"{fmt.md(ident['type_structure'])} · {fmt.md(ident['mode_intervention'])}")
                st.write(f"Domaines : {fmt.md(ident['domaines']) if ident['domaines'] else 'non renseignés'}")
                siret_state = "—" if ident["siret_valide"] is None else ("valide" if ident["siret_valide"] else "**invalide**")
                rna_state = "—" if ident["rna_valide"] is None else ("valide" if ident["rna_valide"] else "**invalide**")
                st.write(f"SIRET : {fmt.md(ident['siret'] or 'non renseigné')} ({siret_state}) · "
                         f"RNA : {fmt.md(ident['rna'] or 'non renseigné')} ({rna_state})")
                present = qpv.filter(pl.col("acteur_present"))["libelle"].to_list()
                st.write(f"QPV : {fmt.md(', '.join(present)) if present else 'aucun QPV enregistré'}")
                inst = detail["instances"]
                st.write("Instances : " + (fmt.md(", ".join(inst["libelle"].to_list())) if inst.height else "aucune"))
            fin = detail["financement"]
            if fin.height:
                st.markdown("**Montants accordés par année**")
                st.altair_chart(ui.altair_fr(alt.Chart(fin).mark_bar().encode(
                    x=alt.X("annee:O", title=None, axis=alt.Axis(labelAngle=0)),
                    y=alt.Y("accorde:Q", title="Accordé (€)", axis=alt.Axis(format=",.0f")),
                    color=alt.Color("mode:N", title="Mode", scale=alt.Scale(domain=["CPO", "annuel"],
                                                                             range=["#1f4e79", "#8fb3d9"])),
                    tooltip=[alt.Tooltip("annee:O", title="Année"), alt.Tooltip("mode:N", title="Mode"),
                             alt.Tooltip("accorde:Q", title="Accordé", format=",.0f")],
                ).properties(height=200)), key="acteurs_chart_fiche")
        if detail["actions"].height:
            st.dataframe(detail["actions"].select(
                pl.col("code_action").alias("Action"), pl.col("libelle").alias("Libellé"),
                pl.col("thematique").alias("Thématique"), pl.col("mode_financement").alias("Mode"),
                pl.format("{}-{}", "annee_debut", "annee_fin").alias("Années"), pl.col("statut").alias("Statut"),
                _euros("accorde").alias("Accordé (toutes années)")), hide_index=True, key="acteurs_fiche_actions")
        else:
            st.caption("Cet acteur ne porte aucune action financée dans la sélection.")

    st.subheader("Ce que le comité demande")
    seuil = q.SEUIL_ACTEURS_DOMAINE
    gap_counts = ui.cached(ctx, q.coverage_summary, contrat=ctx.contrat, seuil=seuil)
    weak = gap_counts["priorites"].filter(pl.col("peu_couvert"))
    with st.container(key="acteurs_peu_couverts"):
        st.markdown(f"**QPV peu couverts sur une priorité de leur projet de quartier** — moins de {fmt.integer(seuil)} acteurs "
                    "dans les domaines de l'axe")
        if weak.is_empty():
            st.success("Chaque priorité des projets de quartier est couverte par assez d'acteurs.",
                       icon=":material/check_circle:")
        else:
            st.dataframe(weak.head(200).select(
                pl.col("quartier").alias("Quartier"), pl.col("axe").alias("Axe prioritaire"),
                pl.col("domaines").alias("Domaines correspondants"), pl.col("nb_acteurs").alias("Acteurs")),
                hide_index=True, key="acteurs_gaps")
            st.caption(f"{fmt.integer(gap_counts['nb_peu_couvertes'])} priorité(s) peu couverte(s) "
                       f"sur {fmt.integer(gap_counts['nb_priorites'])}.")
    left, right = st.columns(2, gap="medium")
    with left:
        st.markdown(f"**Dépendance à un financeur** (≥ {fmt.percent(q.SEUIL_DEPENDANCE, 0)} des montants)")
        dep = dependency.filter(pl.col("dependant"))
        if dep.is_empty():
            st.caption("Aucun acteur financé ne dépend d'un seul financeur.")
        else:
            st.dataframe(dep.head(200).select(
                pl.col("nom").alias("Acteur"), pl.col("financeur_principal").alias("Financeur"),
                _percent("part_financeur_principal").alias("Part"),
                _euros("total_accorde").alias("Accordé (toutes années)")),
                hide_index=True, key="acteurs_dependance")
            if dep_counts["nb_dependants"] > 200:
                st.caption(f"200 premiers sur {fmt.integer(dep_counts['nb_dependants'])} (les plus financés d'abord).")
    with right:
        st.markdown("**Part des petites associations dans les montants accordés**")
        if small.height:
            st.altair_chart(ui.altair_fr(alt.Chart(small).mark_line(point=True, color="#1f4e79").encode(
                x=alt.X("annee:O", title=None, axis=alt.Axis(labelAngle=0)), y=alt.Y("part:Q", title="Part",
                                                  axis=alt.Axis(format=".0%", labelExpr="replace(datum.label, '%', '\u00a0%')")),
                tooltip=[alt.Tooltip("annee:O", title="Année"), alt.Tooltip("part:Q", title="Part", format=".1%"),
                         alt.Tooltip("petites:Q", title="Accordé aux petites associations", format=",.0f")],
            ).properties(height=240)), key="acteurs_chart_petites")
    candidates = ui.cached(ctx, q.cpo_candidates, contrat=ctx.contrat, annee=year)
    st.markdown(f"**Acteurs financés chaque année depuis {q.MIN_ANNEES_SANS_CPO} ans sans CPO** "
                "— candidats à une convention pluriannuelle")
    with st.container(key="acteurs_candidats_cpo"):
        if candidates.is_empty():
            st.caption("Aucun acteur dans ce cas.")
        else:
            st.dataframe(candidates.head(200).select(
                pl.col("nom").alias("Acteur"), pl.col("type_structure").alias("Structure"),
                pl.col("nb_annees").alias("Années financées"), _euros("moyenne_annuelle").alias("Moyenne annuelle"),
                _euros("total_accorde").alias("Total")), hide_index=True, key="acteurs_cpo")
            if candidates.height > 200:
                st.caption(f"200 premiers sur {fmt.integer(candidates.height)} (les plus financés d'abord).")

# ============================================================================================
else:
    team = ui.cached(ctx, q.posts, contrat=ctx.contrat, annee=year)
    summary = ui.cached(ctx, q.posts_summary, contrat=ctx.contrat, annee=year)
    relay = ui.cached(ctx, q.relay_posts_by_qpv, contrat=ctx.contrat, annee=year)
    totals = ui.cached(ctx, q.posts_totals, contrat=ctx.contrat, annee=year)
    # A post is a person: for a partenaire the counts of posts are masked below the threshold, with
    # secondary masking against the totals of the cards (which read the same masked table).
    counts = ["nb_postes", "nb_cofinances"]
    shown_summary = pub.publishable(ctx, summary, counts=counts, total_shown=True)
    if pub.only(ctx):
        by_kind = dict(zip(shown_summary["type_poste"].to_list(), shown_summary["nb_postes"].to_list()))
        posts_label = {"nb_postes": pub.total(ctx, summary, "nb_postes"),
                       "nb_cofinances": pub.total(ctx, summary, "nb_cofinances"),
                       "nb_adultes_relais": by_kind.get("adulte-relais", pub.count(ctx, 0)),
                       "nb_fonjep": by_kind.get("poste FONJEP", pub.count(ctx, 0))}
    else:
        posts_label = {k: fmt.integer(totals[k]) for k in ("nb_postes", "nb_cofinances", "nb_adultes_relais", "nb_fonjep")}

    with st.container(key="acteurs_equipe_kpis"):
        cols = st.columns(5)
        with cols[0]:
            ui.kpi(f"Postes {year}", posts_label["nb_postes"],  # ETP would give back a masked count
                   delta=None if pub.only(ctx) else f"{fmt.number(totals['etp'], 1)} ETP",
                   delta_color="off", delta_arrow="off")
        with cols[1]:
            ui.kpi("Adultes-relais", posts_label["nb_adultes_relais"],
                   help=f"Aide de l'État de référence : {fmt.euros(q.MONTANT_ADULTE_RELAIS_2023, 2)} par poste et par an (2023).")
        with cols[2]:
            ui.kpi("Postes FONJEP", posts_label["nb_fonjep"],
                   help=f"Aide de référence : {fmt.euros(q.MONTANT_FONJEP)} par poste et par an.")
        with cols[3]:
            ui.kpi(f"Financements des postes {year}", fmt.euros_compact(totals["finance"]),
                   delta=f"dont État {fmt.euros_compact(totals['finance_etat'])}", delta_color="off", delta_arrow="off")
        with cols[4]:
            ui.kpi("Postes cofinancés", posts_label["nb_cofinances"],
                   help="Postes financés par plusieurs financeurs pour l'année.")

    st.subheader(f"L'équipe en {year}")
    if team.is_empty():
        st.info("Aucun poste enregistré pour cette sélection et cette année.", icon=":material/info:")
    else:
        with st.container(key="acteurs_synthese_postes"):
            synthese = shown_summary.select(
                pl.col("type_poste").alias("Type de poste"), pl.col("nb_postes").alias("Postes"),
                fmt.number_expr(pl.col("etp"), 1, missing="—").alias("ETP"),
                pl.col("nb_cofinances").alias("Cofinancés"), _euros("cout").alias("Coût connu"),
                _euros("finance").alias("Financé"), _euros("finance_etat").alias("dont État"),
                _euros("montant_reference").alias("Aide de référence"),
                _percent("couverture").alias("Financé / coût"))
            if pub.only(ctx):  # ETP and the reference aid (per post) would give back a masked count
                synthese = synthese.drop("ETP", "Aide de référence")
            st.dataframe(synthese, hide_index=True, key="acteurs_synthese")
        if not pub.only(ctx):  # the partenaire's table has no reference aid column
            st.caption(f"Aide de référence : {fmt.euros(q.MONTANT_ADULTE_RELAIS_2023, 2)} par adulte-relais (2023) et "
                       f"{fmt.euros(q.MONTANT_FONJEP)} par poste FONJEP, multipliés par les ETP.")
        cap = 300
    if pub.only(ctx) and not team.is_empty():
        st.caption("La liste des postes, un par personne, et leur répartition par QPV ne sont pas publiables "
                   "(secret statistique) : elles ne sont pas montrées aux partenaires.")
    elif not team.is_empty():
        st.dataframe(team.head(cap).select(
            pl.col("type_poste").alias("Type"), pl.col("intitule").alias("Intitulé"),
            pl.col("employeur").alias("Employeur"), _contract_name("code_contrat").alias("Contrat"),
            pl.col("quartier").fill_null("—").alias("QPV"), pl.col("etp").alias("ETP"),
            _day("date_debut").alias("Début"), _day("date_fin").alias("Fin"),
            pl.col("niveau_responsabilite").alias("Responsabilité"), pl.col("elu_referent").alias("Élu référent"),
            pl.col("financeurs").alias("Financeurs"), _euros("finance").alias(f"Financé {year}")),
            hide_index=True, key="acteurs_postes")
        if team.height > cap:
            st.caption(f"{fmt.integer(cap)} premiers postes sur {fmt.integer(team.height)} ; le téléchargement contient tout.")
        download_buttons(team, basename=f"postes_{year}", key="acteurs_dl_postes", sheet="Postes")

    if not pub.only(ctx):  # a partenaire: the caption above says why not
        st.subheader("Adultes-relais et postes FONJEP par contrat et QPV")
        if relay.is_empty():
            st.caption("Aucun poste d'adulte-relais ni FONJEP pour cette sélection et cette année.")
        else:
            st.dataframe(relay.head(300).select(
                _contract_name("code_contrat").alias("Contrat"), pl.col("quartier").alias("QPV"),
                pl.col("type_poste").alias("Type"),
                pl.col("nb_postes").alias("Postes"), _euros("finance").alias("Financé"),
                _euros("montant_reference").alias("Aide de référence")), hide_index=True, key="acteurs_relais")

    st.subheader("Feuille de route de l'équipe")
    # half a 1280 px screen each: the title cut to 200 px (whole on hover) so that the due date and
    # the status stay in view
    _ROADMAP_WIDTHS = {"Action": st.column_config.TextColumn(width=200),
                       "Décision": st.column_config.TextColumn(width=200),
                       "Échéance": st.column_config.TextColumn(width=90),
                       "Statut": st.column_config.TextColumn(width=90)}
    roadmap = ui.cached(ctx, q.roadmap, contrat=ctx.contrat, donnees_au=ctx.donnees_au)
    decisions = ui.cached(ctx, q.open_decisions, contrat=ctx.contrat, donnees_au=ctx.donnees_au)
    roadmap_counts = ui.cached(ctx, q.roadmap_counts, contrat=ctx.contrat, donnees_au=ctx.donnees_au)
    left, right = st.columns(2, gap="medium")
    with left:
        late = roadmap_counts["nb_en_retard"]
        st.markdown(f"**Actions de la feuille de route** — {fmt.plural(late, 'échéance dépassée', 'échéances dépassées')}")
        st.dataframe(pub.publishable(ctx, roadmap.head(200).select(
            pl.col("libelle").alias("Action"), _day("date_echeance").alias("Échéance"),
            pl.when(pl.col("en_retard")).then(pl.lit("en retard")).otherwise(pl.col("statut")).alias("Statut"),
            pl.col("responsable").alias("Responsable"), pl.col("decision").fill_null("—").alias("Décision liée"))),
            hide_index=True, key="acteurs_feuille", column_config=_ROADMAP_WIDTHS)
    with right:
        st.markdown(f"**Décisions de gouvernance à suivre** — {fmt.integer(decisions.height)} ouvertes")
        st.dataframe(pub.publishable(ctx, decisions.head(200).select(
            pl.col("libelle").alias("Décision"), _day("date_echeance").alias("Échéance"),
            pl.when(pl.col("en_retard")).then(pl.lit("en retard")).otherwise(pl.col("statut")).alias("Statut"),
            pl.col("instance").alias("Instance"), pl.col("responsable").alias("Responsable"))),
            hide_index=True, key="acteurs_decisions", column_config=_ROADMAP_WIDTHS)

    with st.expander("Postes d'adultes-relais de la liste nationale (codes de contrat 2015)", icon=":material/upload_file:"):
        st.write("Importez la liste nationale des postes d'adultes-relais (open data ANCT, JSON ou CSV : id_poste, "
                 "code_tiers, raison_sociale, annee, montant, code_cv, insee_dep, insee_reg). Les codes de contrat "
                 "de la génération 2015 (CV001…) sont conservés sur chaque poste et comptés à part : ils ne "
                 "correspondent pas aux contrats 2024.")
        upload = None
        if ctx.user.can(access.NATIONAL):
            french_uploader_style()
            upload = st.file_uploader("Liste nationale des adultes-relais", type=["json", "csv"],
                                      key=f"acteurs_upload_{st.session_state.get('acteurs_upload_n', 0)}")
        else:
            st.caption("Seul un administrateur importe cette liste nationale.")
        if upload is not None:
            raw = upload.getvalue()
            # The check parses the whole file: once per file content, not on every rerun.
            digest = hashlib.sha256(raw).hexdigest()
            checked = st.session_state.get("acteurs_upload_check")
            if not checked or checked[0] != (digest, upload.name):
                checked = ((digest, upload.name), acteurs_import.check(raw, filename=upload.name))
                st.session_state["acteurs_upload_check"] = checked
            report = checked[1]
            for message in report.errors:  # they quote the file's values and name
                st.error(fmt.md(message), icon=":material/error:")
            for message in report.warnings:
                st.warning(fmt.md(message), icon=":material/warning:")
            if report.ok:
                st.write(f"{fmt.plural(report.posts.height, 'poste')} prêts à importer "
                         f"({fmt.plural(report.nb_lignes, 'ligne')} lues).")
                if st.button("Importer", key="acteurs_importer", icon=":material/upload:"):
                    def _reset(_):
                        st.session_state["acteurs_upload_n"] = st.session_state.get("acteurs_upload_n", 0) + 1
                        st.session_state.pop("acteurs_upload_check", None)

                    ui.write(ctx, acteurs_import.write, report, fichier=upload.name, empreinte=digest, on_success=_reset,
                             success=lambda counts: (f"Import terminé : {fmt.integer(counts['nouveaux'])} nouveaux, "
                                                     f"{fmt.integer(counts['modifies'])} modifiés, "
                                                     f"{fmt.integer(counts['inchanges'])} inchangés."))
        import_year = st.number_input("Année de la liste", min_value=2014, max_value=2035, value=2023, step=1,
                                      key="acteurs_annee_liste")
        per_code = ui.cached(ctx, q.posts_by_code_2015, annee=int(import_year))
        if per_code.is_empty():
            st.caption(f"Aucun poste importé pour {int(import_year)}.")
        else:
            st.dataframe(per_code.head(300).select(
                pl.col("code_cv_2015").alias("Code contrat 2015"), pl.col("code_contrat").fill_null("—").alias("Contrat 2024 rattaché"),
                pl.col("nb_postes").alias("Postes"), _euros("montant").alias("Montant")),
                hide_index=True, key="acteurs_codes_2015")
            download_buttons(per_code, basename=f"adultes_relais_par_code_{int(import_year)}", key="acteurs_dl_codes")
            contracts = ui.cached(ctx, territoire.contracts)
            contract_labels = dict(zip(contracts["code_contrat"].to_list(), contracts["libelle"].to_list()))
            if ctx.can_write():
                with st.form("acteurs_rattachement", border=True):
                    st.markdown("**Rattacher un code 2015 à un contrat 2024** : ses postes comptent alors dans ce contrat.")
                    cols = st.columns(2)
                    code = cols[0].selectbox("Code contrat 2015", per_code["code_cv_2015"].unique().sort().to_list(),
                                             key="acteurs_code_2015")
                    target = cols[1].selectbox("Contrat 2024", [None, *contract_labels], key="acteurs_contrat_2024",
                                               format_func=lambda c: "(détacher)" if c is None else contract_labels[c])
                    if st.form_submit_button("Enregistrer", icon=":material/link:", key="acteurs_rattachement_submit"):
                        ui.write(ctx, acteurs_import.attach_contract, code_cv_2015=code, code_contrat=target,
                                 success=(f"Code {fmt.md(code)} rattaché au contrat {fmt.md(contract_labels[target])}."
                                          if target else f"Code {fmt.md(code)} détaché de son contrat."))
