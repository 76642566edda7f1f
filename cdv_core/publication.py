"""« Publication » (issue #19): the publishable figures of a contract, or the national summary of
« Tous les contrats », as files partners can reuse — XLSX (one sheet per table), CSV (a zip of
one file per table) and a one-page PDF summary — with the published rapport annuel.

Every figure comes from the query functions the screens use (`cdv_core.queries`); nothing is
computed a second time. What is published follows the statistical secret of `domain.secret`,
the rule a partenaire's screens and downloads follow:

- **no names of people**: tables are built from chosen columns (QPV, communes, structures and
  instance types — never a porteur's contact, a user, a post's holder, a decision's owner), and
  every table goes through `secret.publishable`, which drops the known name columns anyway;
- **small counts of people masked** below `settings.secret_threshold` (« < 11 », « secret » for
  secondary masking where a total of the rows is shown): the population of the QPV, meeting
  participants and residents present, posts (a post is a person) and the values of indicators
  counting people (`secret.is_people_count`, the Indicateurs screen's rule). Amounts, rates and
  counts of things (actions, meetings, QPV, contracts) are not masked.

One contract: its QPV one per row. « Tous les contrats » (`contrat=None`): the same tables with
one row per contract instead of one per QPV, and per indicator the selection's aggregate instead
of each QPV's value (a national per-QPV table would be too big). `perimetre` (the reader's
contracts) limits both, as it limits every screen.
"""

from __future__ import annotations

import io
import unicodedata
import zipfile
from datetime import date

import duckdb
import polars as pl

from cdv_core import fmt, tables
from cdv_core.domain import progress, secret
from cdv_core.exports import FONTS
from cdv_core.perimetre import bind
from cdv_core.queries import acteurs, financements, gouvernance, indicateurs, jalons, overview, projets, territoire

# Table names (sheet names: at most 31 characters; CSV file names are made from them).
SYNTHESE = "Synthèse"
QUARTIERS = "Quartiers"
CONTRATS = "Contrats"
FINANCEURS = "Financements par financeur"
THEMATIQUES = "Financements par thématique"
INDICATEURS = "Indicateurs"
GOUVERNANCE = "Gouvernance"
RAPPORTS = "Rapports annuels"
PUBLIES = "Rapports annuels publiés"
POSTES = "Postes"

# Per table, the French headers of its columns counting people: masked below the threshold
# (text « < 11 » / « secret »; the other cells of these columns are integers). The indicator
# tables follow the INSEE-style suppression instead (`secret.suppress`): a suppressed value is
# empty, with its reason in « Motif ».
PEOPLE_COUNTS: dict[str, tuple[str, ...]] = {
    QUARTIERS: ("Population",),
    CONTRATS: ("Population des QPV",),
    GOUVERNANCE: ("Participants", "Habitants présents"),
    POSTES: ("Postes", "Postes cofinancés"),
}
REFERENCE = "EPCI"  # the reference territory of the gaps: the Indicateurs screen's default
NOT_PUBLISHED = "Rapport annuel : pas encore publié"
RULE = (
    "Sans noms de personnes ; effectifs de personnes de moins de {seuil} masqués « < {seuil} » "
    "(secret statistique), avec masquage secondaire « secret » lorsqu'un total les accompagne."
)
CSV_README = "LISEZMOI.txt"


def rule_text(threshold: int) -> str:
    """The masking rule, in one French sentence (files and screen)."""
    return RULE.format(seuil=fmt.integer(threshold))


# --- the tables ---------------------------------------------------------------------------------


def published_reports(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, donnees_au: date, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """The rapports annuels of the selection published by `donnees_au` (table `rapport_annuel`),
    latest first: code_contrat, contrat, annee, date_publication, lien_publication."""
    return cur.execute(
        """SELECT r.code_contrat, c.libelle AS contrat, r.annee, r.date_publication, r.lien_publication
           FROM rapport_annuel r JOIN contrat c USING (code_contrat)
           WHERE r.date_publication <= $au
             AND ($contrat IS NULL OR r.code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, r.code_contrat))
           ORDER BY r.annee DESC, r.date_publication DESC, r.code_contrat""",
        parameters={"contrat": contrat, "au": donnees_au, "perimetre": bind(perimetre)},
    ).pl()


def _masked(frame: pl.DataFrame, name: str, threshold: int, *, total_shown: bool = False) -> pl.DataFrame:
    """`frame` (French headers) through the shared rule: names dropped, people counts masked."""
    return secret.publishable(frame, threshold=threshold, counts=PEOPLE_COUNTS.get(name, ()), total_shown=total_shown)


def _quartiers(qpv: pl.DataFrame) -> pl.DataFrame:
    return qpv.sort("libelle").select(
        pl.col("code_qp").alias("Code QPV"),
        pl.col("libelle").alias("Quartier"),
        pl.col("lib_com").alias("Commune"),
        pl.col("population").alias("Population"),
        pl.col("projet").alias("Projet de quartier"),
        pl.col("statut").alias("Statut du projet"),
        pl.col("n_objectifs").alias("Objectifs"),
        pl.col("n_actions").alias("Actions"),
        pl.col("accorde").alias("Accordé (€)"),
        pl.col("verse").alias("Versé (€)"),
    )


def _contrats(qpv: pl.DataFrame, contracts: pl.DataFrame) -> pl.DataFrame:
    """One row per contract: its QPV, their population and the amounts of `qpv_overview` summed
    (each action counted for its allocation share), QPV counted per status of their projet."""
    per_status = [(pl.col("statut") == s).sum().cast(pl.Int64).alias(f"QPV {s}") for s in progress.STATUTS]
    per = qpv.group_by("code_contrat").agg(
        pl.len().cast(pl.Int64).alias("QPV"),
        pl.col("population").sum().cast(pl.Int64).alias("Population des QPV"),
        *per_status,
        pl.col("accorde").sum().alias("Accordé aux QPV (€)"),
        pl.col("verse").sum().alias("Versé aux QPV (€)"),
    )
    return (
        contracts.select(pl.col("code_contrat"), pl.col("libelle").alias("Contrat"))
        .join(per, on="code_contrat", how="left")
        .sort("code_contrat")
        .with_columns(pl.col("QPV", *[f"QPV {s}" for s in progress.STATUTS]).fill_null(0))
        .rename({"code_contrat": "Code contrat"})
    )


def _financeurs(cur, contrat, perimetre) -> pl.DataFrame:
    return financements.funding_by_funder_year(cur, contrat=contrat, perimetre=perimetre).select(
        pl.col("annee").alias("Année"),
        pl.col("financeur").alias("Financeur"),
        pl.col("demande").alias("Demandé (€)"),
        pl.col("accorde").alias("Accordé (€)"),
        pl.col("verse").alias("Versé (€)"),
    )


def _thematiques(cur, contrat, perimetre, years: list[int]) -> pl.DataFrame:
    """Per year (one query each, 2024 to the « données au » year) and thématique P147."""
    frames = [
        f.with_columns(pl.lit(y, dtype=pl.Int32).alias("annee"))
        for y in years
        if (f := financements.funding_by_thematique(cur, contrat=contrat, annee=y, perimetre=perimetre)).height
    ]
    if not frames:
        return pl.DataFrame(
            schema={
                "Année": pl.Int32,
                "Thématique": pl.String,
                "Actions": pl.Int64,
                "Demandé (€)": pl.Float64,
                "Accordé (€)": pl.Float64,
                "Versé (€)": pl.Float64,
            }
        )
    return pl.concat(frames, how="vertical_relaxed").select(
        pl.col("annee").alias("Année"),
        pl.col("thematique_libelle").alias("Thématique"),
        pl.col("actions").cast(pl.Int64).alias("Actions"),
        pl.col("demande").alias("Demandé (€)"),
        pl.col("accorde").alias("Accordé (€)"),
        pl.col("verse").alias("Versé (€)"),
    )


def _indicator_rows(dico: pl.DataFrame) -> pl.DataFrame:
    """The indicators with a value in the selection, in the dictionary's order."""
    return dico.filter(pl.col("derniere_date").is_not_null())


def _indicateurs_qpv(cur, contrat, donnees_au, perimetre, dico, threshold) -> pl.DataFrame:
    """Per indicator and QPV: the latest value, the reference territory's value and the gap, the
    baseline, the trend (`indicateurs.comparison`), published as the Indicateurs screen publishes
    them for a partenaire (`secret.publishable_comparison` for an indicator counting people)."""
    frames = []
    for meta in _indicator_rows(dico).iter_rows(named=True):  # one query per indicator (a dozen)
        comp = indicateurs.comparison(
            cur,
            code_indicateur=meta["code_indicateur"],
            contrat=contrat,
            reference=REFERENCE,
            donnees_au=donnees_au,
            perimetre=perimetre,
        )
        if secret.is_people_count(meta["unite"], meta["libelle"]):
            comp = secret.publishable_comparison(comp, threshold=threshold)
        frames.append(
            comp.select(
                pl.lit(meta["libelle"]).alias("Indicateur"),
                pl.lit(meta["unite"]).alias("Unité"),
                pl.col("code_qp").alias("Code QPV"),
                pl.col("libelle").alias("Quartier"),
                pl.col("date_valeur").alias("Date de la valeur"),
                pl.col("valeur").cast(pl.Float64).round(2).alias("Valeur"),
                pl.col("motif").alias("Motif valeur manquante"),
                pl.col("valeur_reference_territoire").cast(pl.Float64).alias(f"Valeur {REFERENCE}"),
                pl.col("ecart").cast(pl.Float64).alias(f"Écart à l'{REFERENCE}"),
                pl.col("valeur_base").cast(pl.Float64).alias("Point de départ"),
                pl.col("date_base").alias("Date du point de départ"),
                pl.col("tendance_libelle").alias("Tendance"),
            )
        )
    return (
        pl.concat(frames, how="vertical_relaxed")
        if frames
        else pl.DataFrame(schema={"Indicateur": pl.String, "Code QPV": pl.String, "Valeur": pl.Float64})
    )


def _indicateurs_selection(cur, contrat, donnees_au, perimetre, dico, threshold) -> pl.DataFrame:
    """Per indicator: the selection's aggregate at its latest date (`indicateurs.aggregate`, the
    Indicateurs screen's « Tous les contrats » figure), left out for an indicator counting people
    when it would reveal a masked QPV value (`secret.publishable_aggregate`)."""
    rows = []
    for meta in _indicator_rows(dico).iter_rows(named=True):
        code = meta["code_indicateur"]
        agg = indicateurs.aggregate(
            cur, code_indicateur=code, contrat=contrat, donnees_au=donnees_au, perimetre=perimetre
        )
        if agg.is_empty():
            continue
        if secret.is_people_count(meta["unite"], meta["libelle"]):
            comp = indicateurs.comparison(
                cur,
                code_indicateur=code,
                contrat=contrat,
                reference=REFERENCE,
                donnees_au=donnees_au,
                perimetre=perimetre,
            )
            agg = secret.publishable_aggregate(agg, comparison=comp, threshold=threshold)
            agg = agg.with_columns(  # a sum of people below the threshold is not published either
                pl.when(pl.col("valeur") < threshold).then(None).otherwise(pl.col("valeur")).alias("valeur")
            )
        rows.append(
            agg.tail(1).select(
                pl.lit(meta["libelle"]).alias("Indicateur"),
                pl.lit(meta["unite"]).alias("Unité"),
                pl.col("date_valeur").alias("Date de la valeur"),
                pl.col("valeur").cast(pl.Float64).alias("Valeur"),
                pl.when(pl.col("valeur").is_null())
                .then(pl.lit("secret statistique ou non agrégeable"))
                .alias("Motif valeur manquante"),
                pl.col("methode").alias("Méthode d'agrégation"),
                pl.col("qpv_inclus").cast(pl.Int64).alias("QPV inclus"),
                pl.col("qpv_total").cast(pl.Int64).alias("QPV de la sélection"),
            )
        )
    return (
        pl.concat(rows, how="vertical_relaxed")
        if rows
        else pl.DataFrame(schema={"Indicateur": pl.String, "Valeur": pl.Float64})
    )


def _gouvernance(cur, contrat, donnees_au, perimetre) -> pl.DataFrame:
    """Per year and instance type: meetings held and expected (`gouvernance.yearly_meetings`),
    participants and residents present (`gouvernance.participation_by_type`)."""
    meetings = gouvernance.yearly_meetings(cur, contrat=contrat, donnees_au=donnees_au, perimetre=perimetre)
    part = gouvernance.participation_by_type(cur, contrat=contrat, donnees_au=donnees_au, perimetre=perimetre)
    return (
        meetings.filter(pl.col("annee") <= donnees_au.year)
        .join(
            part.select("annee", "type_instance", "participants", "habitants"),
            on=["annee", "type_instance"],
            how="left",
        )
        .filter((pl.col("tenues") > 0) | (pl.col("attendues") > 0))
        .select(
            pl.col("annee").alias("Année"),
            pl.col("type_instance").alias("Type d'instance"),
            pl.col("tenues").alias("Réunions tenues"),
            pl.col("attendues").alias("Réunions attendues"),
            pl.col("annulees_reportees").alias("Annulées ou reportées"),
            pl.col("participants").fill_null(0).alias("Participants"),
            pl.col("habitants").fill_null(0).alias("Habitants présents"),
        )
    )


def _rapports(cur, contrat, donnees_au, perimetre) -> pl.DataFrame:
    """The rapports annuels' statuses (`jalons.rapports_annuels`): one contract, per year; all,
    per year the contracts counted per status."""
    frame = jalons.rapports_annuels(cur, contrat=contrat, donnees_au=donnees_au, perimetre=perimetre)
    if contrat is None:
        return frame.rename({"annee": "Année"})
    done = {True: "réalisé", False: "prévu"}  # a date of a step not yet taken is the planned one
    return frame.select(
        pl.col("annee").alias("Année"),
        pl.col("date_consultation").alias("Consultation des conseils citoyens"),
        pl.col("consultation_faite")
        .replace_strict({True: "réalisée", False: "prévue"}, default=None, return_dtype=pl.String)
        .alias("Consultation : réalisée ou prévue"),
        pl.col("date_vote").alias("Vote"),
        pl.col("vote_fait").replace_strict(done, default=None, return_dtype=pl.String).alias("Vote : réalisé ou prévu"),
        pl.col("date_publication").alias("Publication"),
        pl.col("rapport_statut").alias("Statut"),
    )


def _publies(reports: pl.DataFrame) -> pl.DataFrame:
    return reports.select(
        pl.col("code_contrat").alias("Code contrat"),
        pl.col("contrat").alias("Contrat"),
        pl.col("annee").cast(pl.String).alias("Année du rapport"),  # a year, not a number to group (« 2 024 »)
        pl.col("date_publication").alias("Date de publication"),
        pl.col("lien_publication").alias("Lien"),
    )


def _postes(cur, contrat, annee, perimetre) -> pl.DataFrame:
    """The team per type of post (`acteurs.posts_summary`) as a partenaire sees it on « Acteurs »:
    no ETP nor reference aid (per post, they would give back a masked count)."""
    return acteurs.posts_summary(cur, contrat=contrat, annee=annee, perimetre=perimetre).select(
        pl.col("type_poste").alias("Type de poste"),
        pl.col("nb_postes").cast(pl.Int64).alias("Postes"),
        pl.col("nb_cofinances").cast(pl.Int64).alias("Postes cofinancés"),
        pl.col("cout").alias("Coût connu (€)"),
        pl.col("finance").alias("Financé (€)"),
        pl.col("finance_etat").alias("dont État (€)"),
        pl.col("couverture").round(3).alias("Part financée du coût"),
    )


def _synthese(
    head: overview.Headline,
    *,
    libelle: str,
    donnees_au: date,
    national: bool,
    threshold: int,
    population: str,
    meetings: pl.DataFrame,
    posts: pl.DataFrame,
    reports: pl.DataFrame,
) -> pl.DataFrame:
    """The key figures, as French text: the PDF's and the first sheet's. `population`: the
    masked total of the QPV (or contracts) table, whose rows are published beside it."""
    year = head["annee"]
    held = meetings.filter(pl.col("Année") == year)["Réunions tenues"].sum()
    relays = posts.filter(pl.col("Type de poste") == "adulte-relais")["Postes"]
    rows = [("Sélection", libelle), ("Données au", fmt.day(donnees_au))]
    if national:
        rows.append(("Contrats de ville", fmt.integer(head["contrats"])))
    rows += [
        ("Quartiers prioritaires (QPV)", fmt.integer(head["quartiers"])),
        ("Habitants des QPV", population),  # head["population"], masked with the rows it totals
        (f"Actions {year}", fmt.integer(head["actions_annee"])),
        (f"Montant demandé {year}", fmt.euros(head["demande"])),
        (f"Montant accordé {year}", fmt.euros(head["accorde"])),
        (f"Montant versé {year}", fmt.euros(head["verse"])),
        (f"Taux de versement {year}", fmt.percent(head["taux_versement"])),
        (f"Part des crédits spécifiques (État P147) {year}", fmt.percent(head["part_p147"])),
        (f"Part du droit commun {year}", fmt.percent(head["part_droit_commun"])),
        (f"Réunions d'instances tenues {year}", fmt.integer(held)),
        (f"Adultes-relais {year}", relays[0] if relays.len() else secret.mask_value(0, threshold)),
    ]
    if reports.is_empty():
        rows.append(("Rapport annuel", NOT_PUBLISHED.split(" : ", 1)[1]))
    elif national:
        rows.append(("Rapports annuels publiés", f"{fmt.integer(reports.height)} (contrats et années : voir la liste)"))
    else:
        last = reports.row(0, named=True)
        rows.append(
            (
                f"Rapport annuel {last['annee']}",
                f"publié le {fmt.day(last['date_publication'])}"
                + (f" : {last['lien_publication']}" if last["lien_publication"] else ""),
            )
        )
    return pl.DataFrame(rows, schema={"Rubrique": pl.String, "Valeur": pl.String}, orient="row")


def publishable_tables(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    donnees_au: date,
    threshold: int,
    max_age_months: int = 36,
    perimetre: tuple[str, ...] | None = None,
) -> dict[str, pl.DataFrame]:
    """The publishable tables of `contrat` (None: the national summary of the reader's contracts,
    `perimetre`) at `donnees_au`, French names and headers, in publication order. People counts
    (`PEOPLE_COUNTS`) are text: masked below `threshold`, else French integers."""
    national = contrat is None
    contracts = territoire.contracts(cur, perimetre=perimetre)
    libelle = "Tous les contrats"
    if contrat is not None:
        contracts = contracts.filter(pl.col("code_contrat") == contrat)
        libelle = contracts["libelle"][0] if contracts.height else contrat
    head = overview.headline(cur, contrat=contrat, donnees_au=donnees_au, perimetre=perimetre)
    qpv = projets.qpv_overview(cur, contrat=contrat, donnees_au=donnees_au, perimetre=perimetre)
    dico = indicateurs.dictionary(
        cur, contrat=contrat, donnees_au=donnees_au, max_age_months=max_age_months, perimetre=perimetre
    )
    years = list(range(gouvernance.FIRST_YEAR, donnees_au.year + 1))  # the contracts' exercices so far
    reports = published_reports(cur, contrat=contrat, donnees_au=donnees_au, perimetre=perimetre)
    raw_meetings = _gouvernance(cur, contrat, donnees_au, perimetre)
    raw_posts = _postes(cur, contrat, donnees_au.year, perimetre)
    # The posts' total is shown (the summary's adultes-relais, and any reader sums a column):
    # secondary masking, as on « Acteurs ».
    posts = _masked(raw_posts, POSTES, threshold, total_shown=True)
    # The population per QPV (per contract) beside its total in the summary: secondary masking.
    places, raw_places = (CONTRATS, _contrats(qpv, contracts)) if national else (QUARTIERS, _quartiers(qpv))
    population = secret.masked_total(raw_places, PEOPLE_COUNTS[places][0], threshold=threshold)
    out = {
        SYNTHESE: _synthese(
            head,
            libelle=libelle,
            donnees_au=donnees_au,
            national=national,
            population=population,
            meetings=raw_meetings,
            posts=posts,
            reports=reports,
            threshold=threshold,
        ),
        places: _masked(raw_places, places, threshold, total_shown=True),
        FINANCEURS: _financeurs(cur, contrat, perimetre),
        THEMATIQUES: _thematiques(cur, contrat, perimetre, years),
        INDICATEURS: (_indicateurs_selection if national else _indicateurs_qpv)(
            cur, contrat, donnees_au, perimetre, dico, threshold
        ),
        GOUVERNANCE: _masked(raw_meetings, GOUVERNANCE, threshold),
        RAPPORTS: _rapports(cur, contrat, donnees_au, perimetre),
        PUBLIES: _publies(reports),
        POSTES: posts,
    }
    return {name: secret.remove_names(frame) for name, frame in out.items()}


# --- the files ------------------------------------------------------------------------------------


def _count_cells(frame: pl.DataFrame, name: str, *, typed: bool) -> pl.DataFrame:
    """The people-count columns of a published table for a file: numbers without the French
    grouping spaces (CSV), or typed integers mixed with the masks (`tables.Number`, XLSX)."""
    cols = [c for c in PEOPLE_COUNTS.get(name, ()) if c in frame.columns and frame.schema[c] == pl.String]
    if not cols:
        return frame
    number = "^[0-9" + fmt.THIN_NBSP + "]+$"  # a shown count (the masks « < 1 500 » stay as they read)
    plain = frame.with_columns(
        pl.when(pl.col(c).str.contains(number))
        .then(pl.col(c).str.replace_all(fmt.THIN_NBSP, ""))
        .otherwise(pl.col(c))
        .alias(c)
        for c in cols
    )
    if not typed:
        return plain

    def cell(text: str | None):
        return tables.Number(int(text), "integer") if text is not None and text.isdigit() else text

    return plain.with_columns(pl.Series(c, [cell(v) for v in plain[c].to_list()], dtype=pl.Object) for c in cols)


def to_xlsx(tables_: dict[str, pl.DataFrame], *, threshold: int) -> bytes:
    """One sheet per table (`tables.to_xlsx_bytes`: typed numbers, formulas neutralised), after a
    « Lisez-moi » sheet saying what is published and how small counts are masked."""
    about = pl.DataFrame(
        {"Publication": ["Chiffres publiables du tableau de bord des contrats de ville.", rule_text(threshold)]}
    )
    sheets = {"Lisez-moi": about} | {name: _count_cells(frame, name, typed=True) for name, frame in tables_.items()}
    return tables.to_xlsx_bytes(sheets)


def csv_name(name: str) -> str:
    """The CSV file of a table in the zip: « financements-par-thematique.csv »."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "-".join(ascii_name.lower().split()) + ".csv"


def to_csv_zip(tables_: dict[str, pl.DataFrame], *, threshold: int) -> bytes:
    """A zip of one CSV per table (`tables.to_csv_bytes`: `;`, UTF-8 with BOM, decimal comma,
    JJ/MM/AAAA) and a LISEZMOI.txt with the masking rule."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            CSV_README,
            ("Chiffres publiables du tableau de bord des contrats de ville.\n" + rule_text(threshold) + "\n").encode(
                "utf-8"
            ),
        )
        for name, frame in tables_.items():
            archive.writestr(csv_name(name), tables.to_csv_bytes(_count_cells(frame, name, typed=False)))
    return buffer.getvalue()


def _pdf_text(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, date):
        return fmt.day(value)
    if isinstance(value, float):
        return fmt.number(value, 1)
    if isinstance(value, int):
        return fmt.integer(value)
    return str(value)


def summary_pdf(tables_: dict[str, pl.DataFrame], *, threshold: int, title: str | None = None) -> bytes:
    """A one-page A4 summary: the key figures (`Synthèse`), the published rapports annuels (date
    and link; « Rapport annuel : pas encore publié » when none) and the masking rule. Fonts: the
    DejaVu fonts the séance exports embed (accents, €, narrow spaces)."""
    from fpdf import FPDF

    synthese = tables_[SYNTHESE]
    values = dict(zip(synthese["Rubrique"], synthese["Valeur"]))
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=False)  # one page: what does not fit is cut, never a second page
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    heading = title or f"Chiffres publiables — {values.get('Sélection', '')}"
    pdf.set_title(heading)
    pdf.set_creator("Pilotage des contrats de ville")
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 16)
    pdf.set_text_color(31, 78, 121)
    pdf.multi_cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("DejaVu", "", 10)
    pdf.cell(0, 6, f"Données au {values.get('Données au', '—')}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("DejaVu", "B", 12)
    pdf.cell(0, 7, "Chiffres clés", new_x="LMARGIN", new_y="NEXT")
    for label, value in synthese.iter_rows():
        if label in ("Sélection", "Données au") or label.startswith("Rapport"):
            continue
        pdf.set_font("DejaVu", "", 10)
        pdf.cell(105, 6, label)
        pdf.set_font("DejaVu", "B", 10)
        pdf.cell(0, 6, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("DejaVu", "B", 12)
    pdf.cell(0, 7, "Rapport annuel", new_x="LMARGIN", new_y="NEXT")
    published = tables_[PUBLIES]
    pdf.set_font("DejaVu", "", 9)
    if published.is_empty():
        pdf.cell(0, 6, NOT_PUBLISHED, new_x="LMARGIN", new_y="NEXT")
    else:
        shown = published.head(12)
        with pdf.table(text_align="LEFT", line_height=4.5, col_widths=(22, 50, 14, 24, 70)) as grid:
            header = grid.row()
            for name in shown.columns:
                header.cell(name)
            for row in shown.iter_rows():
                cells = grid.row()
                for value in row:
                    cells.cell(_pdf_text(value))
        if published.height > shown.height:
            pdf.cell(
                0,
                5,
                f"… et {fmt.integer(published.height - shown.height)} autres : voir le fichier Excel ou CSV.",
                new_x="LMARGIN",
                new_y="NEXT",
            )
    pdf.ln(3)
    pdf.set_font("DejaVu", "B", 12)
    pdf.cell(0, 7, "Dans les fichiers Excel et CSV", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    others = [name for name in tables_ if name not in (SYNTHESE,)]
    pdf.multi_cell(0, 5, "Tableaux publiés : " + ", ".join(others) + ".", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("DejaVu", "", 8)
    pdf.multi_cell(0, 4.5, "Version publiable. " + rule_text(threshold), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


FORMATS = ("xlsx", "csv", "pdf")
MIME = {"xlsx": tables.XLSX_MIME, "csv": "application/zip", "pdf": "application/pdf"}
EXTENSION = {"xlsx": "xlsx", "csv": "zip", "pdf": "pdf"}


def render(tables_: dict[str, pl.DataFrame], fmt_name: str, *, threshold: int) -> bytes:
    """The file of one format (`FORMATS`) from `publishable_tables`."""
    if fmt_name == "xlsx":
        return to_xlsx(tables_, threshold=threshold)
    if fmt_name == "csv":
        return to_csv_zip(tables_, threshold=threshold)
    if fmt_name == "pdf":
        return summary_pdf(tables_, threshold=threshold)
    raise ValueError(f"Format inconnu : {fmt_name} (attendu : {', '.join(FORMATS)})")


def publication_file(
    cur: duckdb.DuckDBPyConnection,
    *,
    fmt_name: str,
    contrat: str | None,
    donnees_au: date,
    threshold: int,
    max_age_months: int = 36,
    perimetre: tuple[str, ...] | None = None,
) -> bytes:
    """`publishable_tables` rendered as one file: what a download button (`ui.deferred`, with the
    reader's périmètre) and the command line build."""
    built = publishable_tables(
        cur,
        contrat=contrat,
        donnees_au=donnees_au,
        threshold=threshold,
        max_age_months=max_age_months,
        perimetre=perimetre,
    )
    return render(built, fmt_name, threshold=threshold)


def file_name(contrat: str | None, donnees_au: date, fmt_name: str) -> str:
    """« publication_CV-X_2026-11-15.xlsx » (« national » for « Tous les contrats »)."""
    return f"publication_{contrat or 'national'}_{donnees_au.isoformat()}.{EXTENSION[fmt_name]}"
