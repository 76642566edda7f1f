"""The demo territory reads like a real contrat de ville: each realism rule of issue #18 as a check
on the generated territory, at both scales (`demo` and `national`).

Rules that compare with real places read `../shared/reference/` and skip cleanly when it is absent.
"""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
from functools import cache

import polars as pl
import pytest

from cdv_core import demo
from cdv_core.domain import identifiers
from tests.conftest import REFERENCE

SCALES = ("demo", "national")


@cache
def _frames(scale: str) -> dict[str, pl.DataFrame]:
    return demo.generate(scale, seed=2024 if scale == "demo" else 1)


@pytest.fixture(params=SCALES)
def frames(request) -> dict[str, pl.DataFrame]:
    """Every table of the generated territory, for each scale (generated once per test run)."""
    return _frames(request.param)


@pytest.fixture
def demo_frames() -> dict[str, pl.DataFrame]:
    return _frames("demo")


def _need_reference(name: str):
    path = REFERENCE / name
    if not path.exists():
        pytest.skip(f"données de référence absentes : {path}")
    return path


def normalise(name: str) -> str:
    """A name compared without case, accents, punctuation or spacing differences."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


@cache
def real_qpv() -> pl.DataFrame:
    return pl.read_csv(_need_reference("qpv2024_reference.csv"), infer_schema=False)


@cache
def real_communes() -> pl.DataFrame:
    """Every commune of France (code, nom), from the EPCI membership file."""
    epci = json.loads(_need_reference("epci.json").read_text(encoding="utf-8"))
    rows = [(m["code"], m["nom"]) for e in epci for m in e["membres"]]
    return pl.DataFrame(rows, schema=["code", "nom"], orient="row").unique()


@cache
def real_qpv_contours() -> dict:
    with gzip.open(_need_reference("qpv2024_contours.json.gz"), "rt", encoding="utf-8") as fh:
        return json.load(fh)


# --- territoire: fictional names at fictional places ---------------------------------------


def _name_parts(names) -> set[str]:
    """Whole names and the parts of double names (« Europe - Beaulieu »), normalised."""
    return {normalise(part) for name in names for part in [name, *re.split(r"\s+-\s+|/|,", name)] if part.strip()}


def test_no_real_qpv_or_commune_name(frames):
    real_names = _name_parts(real_qpv()["lib_qp"]) | _name_parts(real_qpv()["lib_com"])
    real_towns = {normalise(n) for n in real_communes()["nom"]}
    quartiers = frames["quartier"]
    used = _name_parts(quartiers["libelle"]) & (real_names | real_towns)
    assert not used, f"real QPV or commune names used for quartiers: {sorted(used)[:10]}"
    towns = {normalise(n) for n in quartiers["lib_com"]} & (real_towns | real_names)
    assert not towns, f"real commune names used: {sorted(towns)[:10]}"


def test_no_real_code_or_siren(frames):
    quartiers, contrats = frames["quartier"], frames["contrat"]
    real_codes = set(real_qpv()["code_qp"])
    assert not set(quartiers["code_qp"]) & real_codes, "a real QPV code is used"
    communes = set(real_communes()["code"])
    used = {c for cell in quartiers["communes"] for c in cell.split(";")} | set(quartiers["insee_com"])
    assert not used & communes, f"real commune codes used: {sorted(used & communes)[:10]}"
    epci = json.loads(_need_reference("epci.json").read_text(encoding="utf-8"))
    sirens = {e["code"] for e in epci} | {m["siren"] for e in epci for m in e["membres"]}
    assert not set(contrats["siren_signataire"]) & sirens, "a real EPCI or commune SIREN is used"


def test_names_are_names_not_numbers(frames):
    for table, column in (("quartier", "libelle"), ("quartier", "lib_com"), ("contrat", "libelle")):
        numbered = frames[table].filter(pl.col(column).str.contains(r"\d"))[column].to_list()
        assert not numbered, f"{table}.{column} with a number: {numbered[:5]}"
    quartiers = frames["quartier"]
    assert quartiers["libelle"].n_unique() == quartiers.height, "two QPV share a name"


def test_qpv_drawn_away_from_every_real_qpv(frames):
    real = real_qpv().select(pl.col("lon").cast(pl.Float64), pl.col("lat").cast(pl.Float64))
    ours = frames["quartier"].select("code_qp", "longitude", "latitude")
    close = (
        ours.join(real, how="cross")
        .with_columns(
            (
                ((pl.col("longitude") - pl.col("lon")) * 111.3 * (pl.col("lat").radians().cos())) ** 2
                + ((pl.col("latitude") - pl.col("lat")) * 111.3) ** 2
            )
            .sqrt()
            .alias("km")
        )
        .group_by("code_qp")
        .agg(pl.col("km").min())
        .filter(pl.col("km") < 3)
    )
    assert close.is_empty(), f"QPV within 3 km of a real QPV: {close.head(5).to_dicts()}"


def test_qpv_inside_their_departement(frames):
    from cdv_core import geo

    outlines = {f["code"]: f["polygons"] for _, f in geo.read_outlines("departements")}
    quartiers = frames["quartier"]
    outside = []
    for dep, group in quartiers.group_by("insee_dep"):
        inside = geo.inside(group["longitude"].to_numpy(), group["latitude"].to_numpy(), outlines[dep[0]])
        outside += group.filter(~pl.Series(inside))["code_qp"].to_list()
    assert not outside, f"QPV outside their département: {outside[:5]}"


def test_populations_and_qpv_per_contract_follow_the_2024_geography(frames):
    pop = frames["quartier"]["population"]
    assert pop.min() >= 1000, "a QPV has at least 1 000 inhabitants"
    assert 2_500 <= pop.mean() <= 5_500, f"mean QPV population {pop.mean():.0f} (real ≈ 3 900)"
    per_contract = frames["quartier"].group_by("code_contrat").len()["len"]
    assert 1 <= per_contract.median() <= 6, "QPV per contract: real median 2, p75 4"


def test_signatories_sirens_are_valid(frames):
    for siren in frames["contrat"]["siren_signataire"]:
        assert identifiers.siren_valid(siren), siren  # the app's own check, which imports use


# --- porteurs et actions: who carries what -------------------------------------------------
SMALL_ASSO, EMPLOYER_ASSO, COLLECTIVITE = "association sans salarié", "association avec salariés", "collectivité"
# Who may carry an action, by words of its title (vocabulaire.md §2): the stored types allowed.
CARRIER_RULES = {
    "Coordination du contrat de ville": {COLLECTIVITE},
    "Observatoire et évaluation": {COLLECTIVITE},
    "Programme de réussite éducative": {COLLECTIVITE},
    "Médiation sociale": {EMPLOYER_ASSO},
    "Chantier d'insertion": {EMPLOYER_ASSO, "entreprise"},
    "Accompagnement à la scolarité": {EMPLOYER_ASSO, SMALL_ASSO},
    "Accompagnement social au relogement": {"bailleur", EMPLOYER_ASSO},
    "Lieu d'accueil enfants-parents": {EMPLOYER_ASSO},
}


def _carried(frames) -> pl.DataFrame:
    return frames["action"].join(frames["porteur"], on="id_porteur", how="left")


def test_no_numbered_copies_of_a_name(frames):
    names = pl.concat([frames["porteur"]["nom"], frames["acteur"]["nom"].drop_nulls()])
    numbered = names.filter(names.str.contains(r"\(\d+\)$"))
    assert numbered.is_empty(), f"names numbered like copies: {numbered.head(5).to_list()}"


def test_porteur_names_unique_within_a_contract(frames):
    contract = (
        frames["action"]
        .group_by("id_porteur")
        .agg(pl.col("code_contrat").n_unique().alias("n"), pl.col("code_contrat").first())
    )
    assert contract.filter(pl.col("n") > 1).is_empty(), "a porteur carries actions in several contracts"
    named = pl.concat(
        [
            frames["porteur"].join(contract, on="id_porteur").select("code_contrat", "nom"),
            frames["acteur"].filter(pl.col("code_contrat").is_not_null()).select("code_contrat", "nom"),
        ]
    )
    dup = named.group_by("code_contrat", "nom").len().filter(pl.col("len") > 1)
    assert dup.is_empty(), f"structures sharing a name in a contract: {dup.head(5).rows()}"


def test_every_porteur_carries_an_action(frames):
    idle = frames["porteur"].filter(~pl.col("id_porteur").is_in(frames["action"]["id_porteur"].implode()))
    assert idle.is_empty(), f"porteurs without any action: {idle['nom'].head(5).to_list()}"


def test_ingenierie_carried_by_collectivites(frames):
    wrong = _carried(frames).filter((pl.col("thematique") == "4.1") & (pl.col("type_structure") != COLLECTIVITE))
    assert wrong.is_empty(), (
        f"4.1 actions not carried by a collectivité: {wrong.select('libelle', 'nom').head(5).rows()}"
    )


def test_titles_carried_by_fitting_types(frames):
    carried = _carried(frames)
    for words, allowed in CARRIER_RULES.items():
        wrong = carried.filter(
            pl.col("libelle").str.contains(words, literal=True) & ~pl.col("type_structure").is_in(sorted(allowed))
        )
        assert wrong.is_empty(), f"« {words} » carried by {wrong.select('nom', 'type_structure').head(3).rows()}"


def test_cpo_only_with_employer_associations(frames):
    cpo = _carried(frames).filter(pl.col("mode_financement") == "CPO")
    assert cpo.height > 0, "no CPO at all"
    wrong = cpo.filter(pl.col("type_structure") != EMPLOYER_ASSO)
    assert wrong.is_empty(), f"CPO carried by {wrong.select('nom', 'type_structure').unique().head(5).rows()}"


def test_small_associations_present_with_small_yearly_actions(frames):
    small = _carried(frames).filter(pl.col("type_structure") == SMALL_ASSO)
    assert small.height > 0, "no action carried by a small association (the screens' rules need some)"
    modes = set(small["mode_financement"])
    assert modes <= {"AAP"}, f"small associations under modes {modes - {'AAP'}}"


def test_screens_stories_alive(frames):
    actions = frames["action"]
    assert {"AAP", "CPO"} <= set(actions["mode_financement"]), "CPO and AAP must both show"
    per_porteur = actions.group_by("id_porteur").len()
    assert per_porteur.filter(pl.col("len") >= 3).height >= 3, "too few porteurs with several actions"
    assert per_porteur["len"].max() < actions.height / 10, "one porteur carries a tenth of all actions"


def test_adultes_relais_employers_employ_people(frames):
    posts = frames["poste"].filter(pl.col("type_poste").is_in(["adulte-relais", "poste FONJEP"]))
    typed = posts.join(
        frames["porteur"].select(pl.col("id_porteur").alias("id_employeur"), "type_structure"),
        on="id_employeur",
        how="left",
    )
    assert typed["type_structure"].null_count() == 0, "adulte-relais or FONJEP employer missing from the porteurs"
    wrong = typed.filter(
        ~pl.col("type_structure").is_in([EMPLOYER_ASSO, COLLECTIVITE])
        | ((pl.col("type_poste") == "poste FONJEP") & (pl.col("type_structure") != EMPLOYER_ASSO))
    )
    assert wrong.is_empty(), (
        f"posts employed by {wrong.select('type_poste', 'employeur', 'type_structure').head(5).rows()}"
    )
    ar = typed.filter(pl.col("type_poste") == "adulte-relais")
    share_assoc = (ar["type_structure"] == EMPLOYER_ASSO).mean()
    assert 0.6 <= share_assoc <= 0.98, f"adultes-relais employed by associations: {share_assoc:.0%} (real ≈ 85 %)"


def test_siret_luhn_valid_unique_rna_only_for_associations(frames):
    p = frames["porteur"]
    sirets = p["siret"].drop_nulls()
    assert sirets.n_unique() == sirets.len(), "duplicate SIRET"
    bad = [s for s in sirets.to_list() if not identifiers.siret_valid(s)]
    assert bad == [], f"SIRET failing the Luhn check: {bad[:5]}"
    wrong = p.filter(pl.col("rna").is_not_null() & ~pl.col("type_structure").str.starts_with("association"))
    assert wrong.is_empty(), f"RNA for non-associations: {wrong.select('nom', 'type_structure').head(5).rows()}"
    assert p.filter(pl.col("rna").is_not_null() & ~pl.col("rna").str.contains(r"^W[0-9A-Z]{9}$")).is_empty(), (
        "RNA numbers are W + 9 characters"
    )


def test_actions_follow_qpv_population(frames):
    first = (
        frames["action_quartier"]
        .sort("code_action", "part", descending=[False, True])
        .unique("code_action", keep="first")
    )
    per_qpv = (
        frames["quartier"]
        .select("code_qp", "population")
        .join(first.group_by("code_qp").len(), on="code_qp", how="left")
        .fill_null(0)
    )
    rho = per_qpv.select(pl.corr("population", "len", method="spearman")).item()
    assert rho > 0.6, f"actions per QPV barely follow population (Spearman {rho:.2f})"


def test_demo_actions_per_inhabitant_like_real_programmations(demo_frames):
    actions, pop = demo_frames["action"], demo_frames["quartier"]["population"].sum()
    for year in range(2024, 2027):
        in_force = actions.filter((pl.col("annee_debut") <= year) & (pl.col("annee_fin") >= year)).height
        assert 100 <= pop / in_force <= 350, f"{year}: one action per {pop / in_force:.0f} inhabitants"


# --- financements: money follows people ----------------------------------------------------
# Magnitudes from vocabulaire.md §2: ≈ 240 M€/an of P147 for 5,3 M QPV inhabitants ≈ 45 €/hab/an,
# with contracts from about half to about twice that; P147 35-50 % of all accordé, commune/EPCI
# 30-45 %, CAF 5-15 %, Département/Région 5-10 %, any other financeur < 5 %.

P147_PER_INHABITANT = (15.0, 100.0)  # € of P147 accordé per QPV inhabitant and year
P147_NATIONAL_MEAN = (30.0, 65.0)  # € per inhabitant, all QPV of the territory, per year
P147_SPREAD_IN_CONTRACT = 2.5  # max / min € per inhabitant between the QPV of a contract-year
P147_SHARE = (0.30, 0.60)  # P147 / all accordé, per contract and year
CPO_YEARLY_CHANGE = 0.03  # at most a small indexation from one year of a CPO to the next
# A QPV with one or two funded actions in a year cannot receive its envelope without implausible
# grants: the per-QPV rules apply to QPV-years with a programmation (at least 3 funded actions),
# which must be nearly all of them; likewise the P147 share applies to contract-years with at
# least 10 funded actions.
MIN_QPV_ACTIONS, MIN_QPV_YEARS_SHARE, MIN_CONTRACT_ACTIONS = 3, 0.85, 10


def _accorde(frames) -> pl.DataFrame:
    """Lines with money granted, with their action's contract and mode."""
    return (
        frames["financement"]
        .filter(pl.col("montant_accorde") > 0)
        .join(frames["action"].select("code_action", "code_contrat", "mode_financement"), on="code_action")
    )


def _p147_per_qpv_year(frames) -> pl.DataFrame:
    """État P147 accordé per QPV and year, counted by the action's part in each QPV (as the
    screens count it), with the QPV's population."""
    from cdv_core.domain import model

    return (
        _accorde(frames)
        .filter(pl.col("financeur") == model.CREDITS_SPECIFIQUES)
        .join(frames["action_quartier"], on="code_action")
        .group_by("code_qp", "annee")
        .agg(
            (pl.col("montant_accorde") * pl.col("part")).sum().alias("p147"),
            pl.col("code_action").n_unique().alias("actions"),
        )
        .join(
            frames["quartier"].select("code_qp", pl.col("code_contrat").alias("contrat_qp"), "population"), on="code_qp"
        )
        .with_columns((pl.col("p147") / pl.col("population")).alias("eur_hab"))
    )


def _programmed(per_qpv: pl.DataFrame) -> pl.DataFrame:
    programmed = per_qpv.filter(pl.col("actions") >= MIN_QPV_ACTIONS)
    assert programmed.height >= MIN_QPV_YEARS_SHARE * per_qpv.height, (
        f"only {programmed.height} of {per_qpv.height} QPV-years have {MIN_QPV_ACTIONS} funded actions or more"
    )
    return programmed


def test_p147_per_inhabitant_within_real_range(frames):
    per_qpv = _p147_per_qpv_year(frames)
    assert per_qpv.height >= frames["quartier"].height, "some QPV never receive P147"
    per_qpv = _programmed(per_qpv)
    lo, hi = P147_PER_INHABITANT
    off = per_qpv.filter((pl.col("eur_hab") < lo) | (pl.col("eur_hab") > hi))
    assert off.is_empty(), f"P147 per inhabitant outside {lo}-{hi} €: {off.sort('eur_hab').rows()[:5]}"
    per_year = per_qpv.group_by("annee").agg((pl.col("p147").sum() / pl.col("population").sum()).alias("mean"))
    lo, hi = P147_NATIONAL_MEAN
    off = per_year.filter((pl.col("mean") < lo) | (pl.col("mean") > hi))
    assert off.is_empty(), f"mean P147 per QPV inhabitant outside {lo}-{hi} € in: {off.rows()}"


def test_p147_per_inhabitant_close_between_qpv_of_a_contract(frames):
    spread = (
        _programmed(_p147_per_qpv_year(frames))
        .group_by("contrat_qp", "annee")
        .agg((pl.col("eur_hab").max() / pl.col("eur_hab").min()).alias("ratio"))
    )
    wide = spread.filter(pl.col("ratio") > P147_SPREAD_IN_CONTRACT)
    assert wide.is_empty(), f"P147 per inhabitant varies more than ×{P147_SPREAD_IN_CONTRACT} within: {wide.rows()[:5]}"


def test_cpo_lines_steady_over_their_years(frames):
    cpo = _accorde(frames).filter(pl.col("mode_financement") == "CPO")
    years = cpo.group_by("code_action").agg(pl.col("annee").n_unique().alias("years"))
    assert years.filter(pl.col("years") > 1).height > 0, "no CPO with money over several years"
    per_funder = (
        cpo.group_by("code_action", "financeur")
        .agg(pl.col("annee").n_unique().alias("n"))
        .join(years, on="code_action")
    )
    changed = per_funder.filter(pl.col("n") != pl.col("years"))
    assert changed.is_empty(), f"CPO financeurs differ between years: {changed.rows()[:5]}"
    steps = cpo.sort("annee").with_columns(
        (pl.col("montant_accorde") / pl.col("montant_accorde").shift(1).over("code_action", "financeur") - 1)
        .abs()
        .alias("change")
    )
    jumps = steps.filter(pl.col("change") > CPO_YEARLY_CHANGE)
    assert jumps.is_empty(), (
        f"CPO amounts change more than {CPO_YEARLY_CHANGE:.0%} from one year to the next: "
        f"{jumps.select('code_action', 'financeur', 'annee', 'montant_accorde').rows()[:5]}"
    )


def test_amounts_rounded_like_real_grants(frames):
    accorde = frames["financement"]["montant_accorde"].drop_nulls()
    odd = accorde.filter(accorde % 100 != 0)
    assert odd.is_empty(), f"accordé not rounded to 100 €: {odd.head(5).to_list()}"
    big = accorde.filter((accorde >= 10_000) & (accorde % 500 != 0))
    assert big.is_empty(), f"accordé of 10 000 € or more not rounded to 500 €: {big.head(5).to_list()}"


def test_p147_share_of_each_contract_year(frames):
    from cdv_core.domain import model

    shares = (
        _accorde(frames)
        .group_by("code_contrat", "annee")
        .agg(
            (
                pl.col("montant_accorde").filter(pl.col("financeur") == model.CREDITS_SPECIFIQUES).sum()
                / pl.col("montant_accorde").sum()
            ).alias("share"),
            pl.col("code_action").n_unique().alias("actions"),
        )
        .filter(pl.col("actions") >= MIN_CONTRACT_ACTIONS)
    )
    assert shares.height > 0, f"no contract-year with {MIN_CONTRACT_ACTIONS} funded actions"
    lo, hi = P147_SHARE
    off = shares.filter((pl.col("share") < lo) | (pl.col("share") > hi))
    assert off.is_empty(), f"P147 share of accordé outside {lo:.0%}-{hi:.0%}: {off.sort('share').rows()[:5]}"


def test_droit_commun_mix_by_financeur(frames):
    totals = _accorde(frames).group_by("financeur").agg(pl.col("montant_accorde").sum())
    share = dict(zip(totals["financeur"], (totals["montant_accorde"] / totals["montant_accorde"].sum()).to_list()))
    groups = {("commune", "EPCI"): (0.25, 0.50), ("CAF",): (0.03, 0.16), ("département", "région"): (0.03, 0.12)}
    for funders, (lo, hi) in groups.items():
        value = sum(share.get(f, 0.0) for f in funders)
        assert lo <= value <= hi, f"{' + '.join(funders)}: {value:.1%} of accordé, expected {lo:.0%}-{hi:.0%}"
    others = {
        f: v
        for f, v in share.items()
        if f not in {"État P147", "commune", "EPCI", "CAF", "département", "région"} and v >= 0.05
    }
    assert not others, f"a minor financeur above 5 % of accordé: {others}"


def test_hors_qpv_p147_under_the_departmental_cap(frames):
    from cdv_core.domain import model

    linked = frames["action_quartier"]["code_action"].unique().implode()
    p147 = (
        _accorde(frames)
        .filter(pl.col("financeur") == model.CREDITS_SPECIFIQUES)
        .join(frames["contrat"].select("code_contrat", "insee_dep"), on="code_contrat")
        .with_columns(~pl.col("code_action").is_in(linked).alias("hors_qpv"))
    )
    assert p147.filter(pl.col("hors_qpv")).height > 0, "no P147 for any action outside the QPV"
    shares = p147.group_by("insee_dep", "annee").agg(
        (pl.col("montant_accorde").filter(pl.col("hors_qpv")).sum() / pl.col("montant_accorde").sum()).alias("share")
    )
    over = shares.filter(pl.col("share") > model.HORS_QPV_MAX_SHARE)
    assert over.is_empty(), (
        f"hors-QPV P147 above {model.HORS_QPV_MAX_SHARE:.1%} of a département-year: {over.rows()[:5]}"
    )


def test_funding_lines_show_every_state(frames):
    fin = frames["financement"].join(frames["action"].select("code_action", "statut"), on="code_action")
    refused = fin.filter(pl.col("statut") == "refusée")
    assert refused.height > 0 and (refused["montant_accorde"].drop_nulls() == 0).all(), "refused lines not at 0"
    pending = fin.filter(pl.col("statut") == "déposée")
    assert pending.height > 0 and pending["montant_accorde"].null_count() == pending.height, (
        "pending lines with amounts"
    )
    paid = fin.filter(pl.col("date_versement").is_not_null())
    assert (paid["date_versement"] > paid["date_decision"]).all(), "a payment dated before its decision"
    granted = fin.filter(pl.col("montant_accorde") > 0)
    unpaid = granted.filter(pl.col("montant_verse") == 0).height
    advance = granted.filter(
        (pl.col("montant_verse") > 0) & (pl.col("montant_verse") < pl.col("montant_accorde"))
    ).height
    over = granted.filter(pl.col("montant_verse") > pl.col("montant_accorde")).height
    assert unpaid and advance and over, f"unpaid {unpaid}, advances {advance}, versé > accordé {over}: each expected"
    assert over <= 0.02 * granted.height, f"versé > accordé on {over} of {granted.height} lines: a few expected"


# --- indicateurs: values a statistician would accept --------------------------------------

# Where a QPV value may lie (vocabulaire.md §5; spreads seen in the 105 real QPV of the hackaviz
# file): a brevet success rate 10–15 points under the reference ≈ 87 %, a poverty rate of 25–65 %…
_QPV_RANGE = {
    "PAUV": (25, 65),
    "REVMED": (8_000, 20_000),
    "CHOM": (8, 40),
    "EMPL": (25, 65),
    "EMPLF": (15, 62),
    "NEET": (15, 56),
    "RET6": (10, 40),
    "DNB": (55, 85),
    "MEDG": (1.5, 8.5),
    "C2S": (12, 46),
    "CHAL": (50, 90),
    "INSEC": (20, 62),
    "CHOMJ": (12, 52),
    "INACT": (26, 60),
    "IMPOS": (8, 42),
}
# QPV median and reference (France) of vocabulaire.md §5 (2022), for the size of the gap
_QPV_VS_FRANCE = {
    "PAUV": (44, 15),
    "REVMED": (12_900, 22_000),
    "CHOM": (18.3, 7.5),
    "EMPL": (48.2, 65),
    "NEET": (36, 17),
    "RET6": (24, 9),
    "DNB": (75, 87),
    "C2S": (30, 10),
}
_SENS = {"hausse": 1, "baisse": -1}


def _ind_values(frames, ttype: str) -> pl.DataFrame:
    return (
        frames["valeur_indicateur"]
        .filter(pl.col("type_territoire") == ttype)
        .join(frames["indicateur"].select("code_indicateur", "unite", "sens", "libelle"), on="code_indicateur")
    )


def _latest(values: pl.DataFrame) -> pl.DataFrame:
    return values.filter(pl.col("date_valeur") == pl.col("date_valeur").max().over("code_indicateur"))


def test_rates_are_possible_rates_within_what_qpv_show(frames):
    values = (
        frames["valeur_indicateur"]
        .join(frames["indicateur"].select("code_indicateur", "unite"), on="code_indicateur")
        .filter(pl.col("valeur").is_not_null())
    )
    rates = values.filter(pl.col("unite") == "%")
    assert rates.height > 0 and rates.filter((pl.col("valeur") < 0) | (pl.col("valeur") > 100)).height == 0, (
        "a rate outside [0, 100]"
    )
    assert rates.filter((pl.col("valeur") - pl.col("valeur").round(1)).abs() > 1e-9).height == 0, (
        "rates are published to one decimal"
    )
    qpv = _ind_values(frames, "QPV").filter(pl.col("valeur").is_not_null())
    checked = 0
    for code, (lo, hi) in _QPV_RANGE.items():
        series = qpv.filter(pl.col("code_indicateur") == code)["valeur"]
        checked += series.len()
        outside = series.filter((series < lo) | (series > hi))
        assert outside.len() == 0, (
            f"{code}: {outside.len()} QPV values outside [{lo}, {hi}], e.g. {outside.head(3).to_list()}"
        )
    assert checked > 0


def test_qpv_median_and_france_like_the_vocabulary(frames):
    # the 2022 vintage, which vocabulaire.md describes: the median QPV within 15 % of its QPV level,
    # France within 10 % of its reference
    at = pl.col("date_valeur") == pl.date(2022, 1, 1)
    qpv = _ind_values(frames, "QPV").filter(at).group_by("code_indicateur").agg(pl.col("valeur").median())
    france = _ind_values(frames, "France").filter(at).select("code_indicateur", "valeur")
    compared = 0
    for code, (qpv_level, fr_level) in _QPV_VS_FRANCE.items():
        median = qpv.filter(pl.col("code_indicateur") == code)["valeur"]
        if median.len() == 0:
            continue
        compared += 1
        assert abs(median[0] - qpv_level) <= 0.15 * qpv_level, f"{code}: QPV median {median[0]} far from {qpv_level}"
        fr = france.filter(pl.col("code_indicateur") == code)["valeur"]
        assert fr.len() == 1 and abs(fr[0] - fr_level) <= 0.10 * fr_level, (
            f"{code}: France {fr.to_list()} far from {fr_level}"
        )
    assert compared >= 6


def test_qpv_on_the_side_of_the_gap_the_policy_exists_for(frames):
    # latest year: for each indicator with a sens, ≥ 95 % of QPV worse than France
    qpv = _latest(_ind_values(frames, "QPV").filter(pl.col("valeur").is_not_null() & pl.col("sens").is_in(list(_SENS))))
    france = _latest(_ind_values(frames, "France")).select("code_indicateur", pl.col("valeur").alias("france"))
    sides = (
        qpv.join(france, on="code_indicateur")
        .with_columns(pl.col("sens").replace_strict(_SENS, return_dtype=pl.Int8).alias("dir"))
        .group_by("code_indicateur")
        .agg(((pl.col("france") - pl.col("valeur")) * pl.col("dir") > 0).mean().alias("worse"))
    )
    assert sides.height >= 8, "too few indicators with a France reference"
    wrong = sides.filter(pl.col("worse") < 0.95)
    assert wrong.height == 0, f"QPV not on the expected side of France: {wrong.rows()}"


def test_commune_between_its_qpv_and_france(frames):
    # the commune holds its QPV: its value lies between their population-weighted mean and France
    q = frames["quartier"].select(pl.col("code_qp").alias("code_territoire"), "insee_com", "population")
    qpv = (
        _latest(_ind_values(frames, "QPV").filter(pl.col("valeur").is_not_null() & pl.col("sens").is_in(list(_SENS))))
        .join(q, on="code_territoire")
        .group_by("code_indicateur", "sens", "insee_com", "date_valeur")
        .agg(((pl.col("valeur") * pl.col("population")).sum() / pl.col("population").sum()).alias("qpv"))
    )
    commune = _ind_values(frames, "commune").select(
        "code_indicateur",
        pl.col("code_territoire").alias("insee_com"),
        "date_valeur",
        pl.col("valeur").alias("commune"),
    )
    france = _ind_values(frames, "France").select("code_indicateur", "date_valeur", pl.col("valeur").alias("france"))
    both = (
        qpv.join(commune, on=["code_indicateur", "insee_com", "date_valeur"])
        .join(france, on=["code_indicateur", "date_valeur"])
        .with_columns(pl.col("sens").replace_strict(_SENS, return_dtype=pl.Int8).alias("dir"))
    )
    assert both.height > 0
    between = ((pl.col("commune") - pl.col("qpv")) * pl.col("dir") > 0) & (
        (pl.col("france") - pl.col("commune")) * pl.col("dir") > 0
    )
    share = both.select(between.mean()).item()
    assert share >= 0.9, f"only {share:.0%} of communes between their QPV and France"


def test_trajectories_are_slow_and_mostly_in_the_desired_direction(frames):
    qpv = _ind_values(frames, "QPV").filter(pl.col("valeur").is_not_null() & (pl.col("unite") == "%"))
    steps = qpv.sort("code_territoire", "code_indicateur", "date_valeur").with_columns(
        pl.col("valeur").diff().over("code_territoire", "code_indicateur").alias("step")
    )
    median_step = steps["step"].abs().median()
    assert median_step <= 1.0, f"rates jump {median_step} points a year (median)"
    slopes = (
        qpv.with_columns(pl.col("date_valeur").dt.year().alias("year"))
        .group_by("code_territoire", "code_indicateur", "sens")
        .agg(pl.cov("year", "valeur") / pl.col("year").var())
        .rename({"year": "slope"})
    )
    assert slopes["slope"].abs().quantile(0.9) <= 1.5, "a rate moving by more than 1.5 point a year"
    directed = slopes.filter(pl.col("sens").is_in(list(_SENS))).with_columns(
        pl.col("sens").replace_strict(_SENS, return_dtype=pl.Int8).alias("dir")
    )
    desired = directed.select((pl.col("slope") * pl.col("dir") > 0).mean()).item()
    assert 0.55 <= desired <= 0.97, f"{desired:.0%} of QPV trajectories in the desired direction: mostly, not all"


def test_targets_close_part_of_the_gap_never_beyond_the_reference(frames):
    targets = (
        frames["cible_indicateur"]
        .join(frames["indicateur"].select("code_indicateur", "unite", "sens"), on="code_indicateur")
        .join(frames["quartier"].select("code_qp", pl.col("siren_epci").cast(pl.String)), on="code_qp")
    )
    epci = _ind_values(frames, "EPCI").select(
        "code_indicateur",
        pl.col("code_territoire").alias("siren_epci"),
        pl.col("date_valeur").alias("date_reference"),
        pl.col("valeur").alias("epci"),
    )
    set_ = targets.filter(pl.col("valeur_cible").is_not_null())
    assert set_.height > 0
    assert set_.filter(pl.col("valeur_reference").is_null()).height == 0, "a target without baseline"
    assert set_.filter(pl.col("sens") == "neutre").height == 0, "a target on a context indicator"
    rates = set_.filter(pl.col("unite") == "%")
    assert rates.filter((pl.col("valeur_cible") >= 100) | (pl.col("valeur_cible") <= 0)).height == 0, (
        "a 100 % or 0 % target"
    )
    d = pl.col("sens").replace_strict(_SENS, return_dtype=pl.Int8)
    backwards = set_.filter((pl.col("valeur_cible") - pl.col("valeur_reference")) * d < 0)
    assert backwards.height == 0, f"targets going the wrong way: {backwards.head(3).rows()}"
    with_ref = set_.join(epci, on=["code_indicateur", "siren_epci", "date_reference"])
    assert with_ref.height > 0
    beyond = with_ref.filter((pl.col("epci") - pl.col("valeur_cible")) * d < -1e-9)
    assert beyond.height == 0, f"targets beyond the reference territory: {beyond.head(3).rows()}"
    gap = (pl.col("epci") - pl.col("valeur_reference")) * d
    closed = (
        with_ref.filter(gap > 1)
        .select(((pl.col("valeur_cible") - pl.col("valeur_reference")) * d / gap).median())
        .item()
    )
    assert 0.1 <= closed <= 0.4, f"a 2030 target closes {closed:.0%} of the gap (median): expected 10–40 %"


def test_counts_are_integers_with_plausible_magnitudes(frames):
    counts = _ind_values(frames, "QPV").filter(pl.col("unite").is_in(["nb", "jours"]) & pl.col("valeur").is_not_null())
    assert counts.height > 0
    assert counts.filter(pl.col("valeur") != pl.col("valeur").round(0)).height == 0, "a count with decimals"
    meetings = counts.filter(pl.col("code_indicateur") == "CCREU")["valeur"]
    assert meetings.len() > 0 and meetings.min() >= 4 and meetings.max() <= 10, (
        "4–10 réunions du conseil citoyen a year"
    )
    jobseekers = counts.filter(pl.col("code_indicateur") == "DEFM").join(
        frames["quartier"].select(pl.col("code_qp").alias("code_territoire"), "population"), on="code_territoire"
    )
    per_head = (jobseekers["valeur"] / jobseekers["population"]).median()
    assert 0.10 <= per_head <= 0.25, f"{per_head:.2f} demandeurs d'emploi per inhabitant (median)"
    rho = jobseekers.select(pl.corr("valeur", "population", method="spearman")).item()
    assert rho >= 0.6, "demandeurs d'emploi do not follow the QPV's population"


def test_secret_where_small_counts_are(frames):
    from cdv_core.domain import secret as secret_mod

    values = _ind_values(frames, "QPV")
    assert values.filter(pl.col("secret").is_not_null() & pl.col("valeur").is_not_null()).height == 0, (
        "a secret-marked value is published"
    )
    people = values.filter(secret_mod.people_count_expr(pl.col("unite"), pl.col("libelle")))
    small = people.filter(pl.col("valeur") < secret_mod.DEFAULT_THRESHOLD)
    assert small.height == 0, f"counts of people under the threshold published: {small.head(3).rows()}"
    assert values.filter(pl.col("secret").is_not_null()).height > 0, "no missing value at all"
    # « s » and « ns » come from small numbers: more often in the smaller half of the QPV
    pop = frames["quartier"].select(pl.col("code_qp").alias("code_territoire"), "population")
    marked = (
        values.join(pop, on="code_territoire")
        .with_columns(
            (pl.col("population") < pl.col("population").median()).alias("small"),
            pl.col("secret").is_in(["s", "ns"]).fill_null(False).alias("marked"),
        )
        .group_by("small")
        .agg(pl.col("marked").mean())
    )
    rate = dict(marked.rows())
    assert rate.get(True, 0) > rate.get(False, 0), f"secret markers not concentrated in small QPV: {rate}"


def test_rates_carry_their_parts_and_baselines_are_stored_values(frames):
    """Every QPV value of a rate comes with numerator and denominator that give it back (so several
    QPV are aggregated on the sums), and a baseline is the value stored at its date."""
    from cdv_core.domain import gaps

    scale = {
        c: gaps.rate_scale(u)
        for c, u in frames["indicateur"].select("code_indicateur", "unite").iter_rows()
        if gaps.is_rate(u)
    }
    v = frames["valeur_indicateur"].with_columns(
        pl.col("code_indicateur").replace_strict(scale, default=None, return_dtype=pl.Float64).alias("echelle")
    )
    qpv_rates = v.filter(
        (pl.col("type_territoire") == "QPV") & pl.col("echelle").is_not_null() & pl.col("valeur").is_not_null()
    )
    assert qpv_rates.height and qpv_rates["denominateur"].null_count() == 0, "a QPV rate without its parts"
    off = qpv_rates.filter(
        (pl.col("numerateur") / pl.col("denominateur") * pl.col("echelle") - pl.col("valeur")).abs() > 0.051
    )
    assert off.is_empty(), f"values that their parts do not give: {off.head(3).rows()}"
    assert (qpv_rates["numerateur"] == qpv_rates["numerateur"].round(0)).all(), "a numerator that is not a count"
    others = v.filter(pl.col("echelle").is_null() | (pl.col("type_territoire") != "QPV") | pl.col("valeur").is_null())
    assert others["numerateur"].null_count() == others.height, "parts on a value that is not a QPV rate"
    cibles = frames["cible_indicateur"].filter(pl.col("valeur_reference").is_not_null())
    stored = cibles.join(
        v.filter(pl.col("type_territoire") == "QPV").select(
            "code_indicateur",
            pl.col("code_territoire").alias("code_qp"),
            pl.col("date_valeur").alias("date_reference"),
            "valeur",
        ),
        on=["code_indicateur", "code_qp", "date_reference"],
        how="left",
    )
    differ = stored.filter(pl.col("valeur").is_null() | (pl.col("valeur") != pl.col("valeur_reference")))
    assert differ.is_empty(), f"baselines that are not the stored value: {differ.head(3).rows()}"


# --- gouvernance et jalons: one source of truth for events --------------------------------


def _gj_event_meetings(frames) -> pl.DataFrame:
    """The meetings that stand for a milestone (`EVENEMENTS`: instance type and objet), with the
    contract, milestone type and year they realise (the signature: the year of the meeting)."""
    from cdv_core.demo.gouvernance import EVENEMENTS

    meetings = frames["reunion"].join(
        frames["instance"].select("code_instance", "code_contrat", "type_instance"), on="code_instance"
    )
    parts = []
    for type_jalon, (type_instance, objet) in EVENEMENTS.items():
        same_type = meetings.filter(pl.col("type_instance") == type_instance)
        if "{annee}" in objet:
            prefix = objet.split("{annee}")[0]
            found = same_type.filter(pl.col("objet").str.starts_with(prefix)).with_columns(
                pl.col("objet").str.slice(len(prefix), 4).cast(pl.Int64, strict=False).alias("annee")
            )
        else:
            found = same_type.filter(pl.col("objet") == objet).with_columns(
                pl.col("date_reunion").dt.year().cast(pl.Int64).alias("annee")
            )
        parts.append(
            found.select(
                "code_contrat",
                pl.lit(type_jalon).alias("type_jalon"),
                "annee",
                "code_instance",
                "objet",
                "date_reunion",
                "statut",
            )
        )
    return pl.concat(parts)


def _gj_signed_before_start(frames) -> pl.DataFrame:
    """Contracts signed before they started: the store keeps no meeting outside a contract's
    period, so their signature cannot be a meeting."""
    return (
        frames["contrat"]
        .filter(pl.col("date_signature") < pl.col("date_debut"))
        .select("code_contrat", "date_signature", pl.lit("signature").alias("type_jalon"))
    )


def _gj_meeting_milestones(frames) -> pl.DataFrame:
    from cdv_core.demo.gouvernance import EVENEMENTS

    return (
        frames["jalon"]
        .filter(pl.col("type_jalon").is_in(list(EVENEMENTS)))
        .with_columns(pl.col("annee").cast(pl.Int64))
        .join(_gj_signed_before_start(frames), on=["code_contrat", "type_jalon"], how="anti")
    )


def test_meeting_milestones_are_realised_on_their_first_held_meeting(frames):
    from cdv_core.demo.gouvernance import EVENEMENTS

    ev = _gj_event_meetings(frames)
    held = (
        ev.filter(pl.col("statut") == "tenue")
        .group_by("code_contrat", "type_jalon", "annee")
        .agg(pl.col("date_reunion").min().alias("tenue_le"))
    )
    jalons = _gj_meeting_milestones(frames).join(held, on=["code_contrat", "type_jalon", "annee"], how="left")
    assert set(jalons["type_jalon"]) == set(EVENEMENTS), "every kind of meeting milestone is generated"
    early = _gj_signed_before_start(frames).join(frames["jalon"], on=["code_contrat", "type_jalon"])
    assert (early["date_realisation"] == early["date_signature"]).all(), (
        "a contract signed before its start is signed on its signature date"
    )
    assert jalons["date_realisation"].drop_nulls().len() > 0, "some meeting milestones are realised"
    bad = jalons.filter(
        (pl.col("date_realisation").is_null() != pl.col("tenue_le").is_null())
        | (pl.col("date_realisation") != pl.col("tenue_le"))
    )
    assert bad.is_empty(), (
        f"{bad.height} meeting milestones whose realisation is not the date of the first held "
        f"meeting of that type and year: {bad.head(5).to_dicts()}"
    )


def test_no_milestone_realised_by_a_cancelled_or_postponed_meeting(frames):
    on_day = (
        _gj_event_meetings(frames)
        .group_by("code_contrat", "type_jalon", "annee", "date_reunion")
        .agg((pl.col("statut") == "tenue").any().alias("held_that_day"))
    )
    realised = (
        _gj_meeting_milestones(frames)
        .filter(pl.col("date_realisation").is_not_null())
        .join(
            on_day,
            left_on=["code_contrat", "type_jalon", "annee", "date_realisation"],
            right_on=["code_contrat", "type_jalon", "annee", "date_reunion"],
            how="left",
        )
    )
    bad = realised.filter(~pl.col("held_that_day").fill_null(False))
    assert bad.is_empty(), f"{bad.height} milestones realised on a day without a held meeting: {bad.head(5).to_dicts()}"
    cancelled_only = (
        _gj_event_meetings(frames)
        .group_by("code_contrat", "type_jalon", "annee")
        .agg(pl.col("statut").is_in(["annulée", "reportée"]).all().alias("none_held"))
        .filter("none_held")
    )
    wrongly = cancelled_only.join(
        _gj_meeting_milestones(frames).filter(pl.col("date_realisation").is_not_null()),
        on=["code_contrat", "type_jalon", "annee"],
    )
    assert wrongly.is_empty(), f"milestones realised although every meeting was cancelled: {wrongly.head(5).to_dicts()}"


def test_no_held_meeting_whose_milestone_is_late(frames):
    ref = demo.DEMO.reference_date
    assert demo.NATIONAL.reference_date == ref
    held = _gj_event_meetings(frames).filter((pl.col("statut") == "tenue") & (pl.col("date_reunion") <= ref))
    assert held.height > 0
    joined = held.join(_gj_meeting_milestones(frames), on=["code_contrat", "type_jalon", "annee"], how="left")
    bad = joined.filter(
        pl.col("id_jalon").is_null() | pl.col("date_realisation").is_null() | (pl.col("date_realisation") > ref)
    )
    assert bad.is_empty(), (
        f"{bad.height} held meetings whose milestone is missing or not realised at the data date: "
        f"{bad.head(5).to_dicts()}"
    )


def test_meetings_within_the_contract_period(frames):
    meetings = (
        frames["reunion"]
        .join(frames["instance"].select("code_instance", "code_contrat"), on="code_instance")
        .join(frames["contrat"].select("code_contrat", "date_debut", "date_fin"), on="code_contrat")
    )
    outside = meetings.filter(
        (pl.col("date_reunion") < pl.col("date_debut")) | (pl.col("date_reunion") > pl.col("date_fin"))
    )
    assert outside.is_empty(), (
        f"{outside.height} meetings outside their contract's period: {outside.head(3).to_dicts()}"
    )


def test_postponed_meetings_are_rescheduled(frames):
    reunion = frames["reunion"]
    postponed = reunion.filter(pl.col("statut") == "reportée")
    assert postponed.height > 0
    later = postponed.join(
        reunion.select("code_instance", "objet", pl.col("date_reunion").alias("ensuite")), on=["code_instance", "objet"]
    )
    followed = later.filter(
        (pl.col("ensuite") > pl.col("date_reunion"))
        & (pl.col("ensuite") <= pl.col("date_reunion") + pl.duration(days=60))
    )["id_reunion"].unique()
    missing = postponed.filter(~pl.col("id_reunion").is_in(followed.implode()))
    assert missing.is_empty(), (
        f"{missing.height} postponed meetings without a new session: {missing.head(5).to_dicts()}"
    )


def test_events_follow_the_yearly_calendar(frames):
    ev = _gj_event_meetings(frames)
    first = (
        ev.group_by("code_contrat", "type_jalon", "annee")
        .agg(pl.col("date_reunion").min().alias("d"))
        .with_columns(pl.col("d").dt.month().alias("mois"), pl.col("d").dt.year().alias("an"))
    )
    rules = {
        "programmation": (pl.col("mois").is_between(3, 5)) & (pl.col("an") == pl.col("annee")),
        "revue annuelle": (pl.col("mois").is_between(4, 6)) & (pl.col("an") == pl.col("annee")),
        "consultation conseils citoyens": pl.col("an") == pl.col("annee") + 1,
    }
    for type_jalon, rule in rules.items():
        part = first.filter(pl.col("type_jalon") == type_jalon)
        assert part.height > 0, f"no {type_jalon} meeting"
        bad = part.filter(~rule)
        assert bad.is_empty(), f"{type_jalon} scheduled outside its season: {bad.head(5).to_dicts()}"
    cotech = (
        frames["reunion"]
        .join(frames["instance"].filter(pl.col("type_instance") == "COTECH"), on="code_instance")
        .filter(pl.col("objet").str.starts_with("Instruction"))
    )
    assert cotech.height > 0 and cotech["date_reunion"].dt.month().is_between(1, 3).all(), (
        "the COTECH d'instruction meets in January-March"
    )


def test_rapport_annuel_voted_a_month_after_the_conseils_citoyens(frames):
    j = frames["jalon"]
    consult = j.filter(pl.col("type_jalon") == "consultation conseils citoyens").select(
        "code_contrat",
        "annee",
        pl.col("date_realisation").alias("consultes_le"),
        pl.col("date_prevue").alias("consult_prevue"),
    )
    votes = j.filter(pl.col("type_jalon") == "rapport annuel").join(consult, on=["code_contrat", "annee"], how="left")
    assert votes["consult_prevue"].null_count() == 0, "every rapport annuel vote has its consultation milestone"
    planned_too_soon = votes.filter(pl.col("date_prevue") < pl.col("consult_prevue").dt.offset_by("1mo"))
    assert planned_too_soon.is_empty(), (
        f"votes planned less than a month after the consultation: {planned_too_soon.head(3).to_dicts()}"
    )
    done = votes.filter(pl.col("date_realisation").is_not_null() & pl.col("consultes_le").is_not_null())
    assert done.height > 0
    too_soon = done.filter(pl.col("date_realisation") < pl.col("consultes_le").dt.offset_by("1mo"))
    assert too_soon.is_empty(), f"votes less than a month after the consultation: {too_soon.head(3).to_dicts()}"


def test_demo_shows_late_and_planned_events(demo_frames):
    ref = demo.DEMO.reference_date
    j = demo_frames["jalon"]
    late = j.filter(pl.col("date_realisation").is_null() & (pl.col("date_prevue") < ref))
    assert late.height > 0, "the demo shows at least one late milestone"
    assert j.filter(pl.col("type_jalon") == "actualisation 2027").height == demo_frames["contrat"].height
    assert (j.filter(pl.col("type_jalon") == "fin du contrat")["date_prevue"].dt.to_string() == "2030-12-31").all()
    reunion = demo_frames["reunion"]
    assert reunion.filter((pl.col("statut") == "prévue") & (pl.col("date_reunion") > ref)).height > 0
    assert reunion.filter(pl.col("statut") == "prévue")["date_reunion"].min() > ref, (
        "planned meetings are in the future"
    )
    assert reunion.filter(pl.col("statut") != "prévue")["date_reunion"].max() <= ref, (
        "no held or cancelled meeting in the future"
    )
    assert demo_frames["decision"]["date_echeance"].null_count() == 0


def test_jalons_and_gouvernance_screens_tell_one_story(demo_cur):
    """Through the app's own queries: the Jalons screen's status of each meeting milestone against
    the Gouvernance screen's meetings calendar and annual obligations, contract by contract."""
    from cdv_core.demo.gouvernance import EVENEMENTS
    from cdv_core.queries import gouvernance as gouv
    from cdv_core.queries import jalons as jq
    from tests.conftest import DEMO_AU

    contrats = [r[0] for r in demo_cur.execute("SELECT code_contrat FROM contrat ORDER BY 1").fetchall()]
    checked = 0
    for contrat in contrats:
        milestones = jq.milestones(demo_cur, contrat=contrat, donnees_au=DEMO_AU).filter(
            pl.col("type_jalon").is_in(list(EVENEMENTS))
        )
        meetings = gouv.meetings_timeline(demo_cur, contrat=contrat)
        held = meetings.filter((pl.col("statut") == "tenue") & (pl.col("date_reunion") <= DEMO_AU))
        for row in milestones.iter_rows(named=True):
            type_instance, objet = EVENEMENTS[row["type_jalon"]]
            same = held.filter(
                (pl.col("type_instance") == type_instance)
                & pl.col("objet").str.starts_with(objet.format(annee=row["annee"]))
            )
            if row["type_jalon"] == "signature":
                same = same.filter(pl.col("date_reunion").dt.year() == row["annee"])
            if row["statut"] == "réalisé":
                assert row["date_realisation"] in same["date_reunion"].to_list(), (
                    f"{contrat}: {row['libelle']} realised on {row['date_realisation']} without a held meeting that day"
                )
            else:
                assert same.is_empty(), f"{contrat}: {row['libelle']} is « {row['statut']} » but its meeting was held"
            checked += 1
        obligations = gouv.annual_obligations(demo_cur, contrat=contrat, donnees_au=DEMO_AU)
        revues = milestones.filter(pl.col("type_jalon") == "revue annuelle").select("annee", "statut")
        for ob in obligations.join(revues, on="annee").iter_rows(named=True):
            assert (ob["revue_statut"] == "respectée") == (ob["statut"] == "réalisé"), (
                f"{contrat} {ob['annee']}: revue obligation « {ob['revue_statut']} », milestone « {ob['statut']} »"
            )
        programmations = milestones.filter((pl.col("type_jalon") == "programmation") & (pl.col("statut") == "réalisé"))
        for ob in obligations.join(programmations.select("annee"), on="annee").iter_rows(named=True):
            assert ob["copil_statut"] == "respectée", (
                f"{contrat} {ob['annee']}: COPIL de programmation held, obligation not met"
            )
    assert checked > 0


# --- identifiants et aller-retour: valid SIRET/SIREN, export then import gives the same store

# Round trip: every template kind exported from the demo store with « Données actuelles »
# (`ingest.templates.current_csv` / `current_xlsx`), each file imported into a fresh store through
# the app's own pipeline (`ingest.analyse` then `ingest.commit`), in TEMPLATES order; then every
# table a template covers is compared, row for row, on the columns the templates carry.


def _rt_columns() -> dict[str, list[str]]:
    """Store table → the columns its template carries (a multi-value column: its link table)."""
    from cdv_core.ingest.spec import TEMPLATES

    out = {}
    for spec in TEMPLATES:
        out[spec.table] = [c.name for c in spec.columns if c.name not in spec.links]
        if spec.table == "valeur_indicateur":  # `nd`, `s`… in the valeur column; sexe / âge: the breakdowns
            values = [c for c in out[spec.table] if c not in ("sexe", "tranche_age")] + ["secret"]
            out[spec.table] = values
            out["valeur_indicateur_detail"] = [*values, "dimension", "modalite"]
        for link_table, key_col, value_col in spec.links.values():
            out[link_table] = [key_col, value_col]
    return out


def _rt_import_every_template(source, target, fmt: str, contrat: str | None = None) -> dict[str, pl.DataFrame]:
    """Export each template kind from `source` (a cursor), import it into `target` (a connection);
    returns each kind's import report (its problems)."""
    from cdv_core import access, ingest
    from cdv_core.ingest import templates
    from cdv_core.ingest.spec import TEMPLATES

    export = {"csv": templates.current_csv, "xlsx": templates.current_xlsx}[fmt]
    user = access.local_user("aller-retour")
    reports = {}
    for spec in TEMPLATES:
        analysis = ingest.analyse(
            target.cursor(), export(source, kind=spec.code, contrat=contrat), f"{spec.code}.{fmt}"
        )
        assert analysis.kind == spec.code, f"the export of {spec.code} is detected as {analysis.kind}"
        reports[spec.code] = analysis.problems
        if analysis.ok:
            ingest.commit(target, analysis, user=user)
    return reports


def _rt_problems(reports: dict[str, pl.DataFrame], severity: str) -> list[tuple]:
    """(kind, column, problem, count, first value) of the reports' problems of one severity."""
    out = []
    for kind, problems in reports.items():
        found = problems.filter(pl.col("gravité") == severity)
        for (colonne, probleme), rows in found.group_by("colonne", "problème", maintain_order=True):
            out.append((kind, colonne, probleme, rows.height, rows["valeur"][0]))
    return out


def _rt_tables(cur, where: dict[str, str] | None = None, params: dict | None = None) -> dict[str, pl.DataFrame]:
    """Each table a template covers, on the columns the templates carry; `where`: a condition per
    table (alias `t`) using `params`."""
    out = {}
    for table, columns in _rt_columns().items():
        condition = (where or {}).get(table, "true")
        sql = f"SELECT {', '.join(columns)} FROM {table} t WHERE {condition}"
        out[table] = cur.sql(sql, params=params if params and "$" in condition else None).pl()
    return out


def _rt_differences(expected: dict[str, pl.DataFrame], got: dict[str, pl.DataFrame]) -> list[str]:
    """The tables whose rows differ (order aside): the table, a few rows lost and added."""
    out = []
    for table, before in expected.items():
        after, columns = got[table], before.columns
        lost = before.join(after, on=columns, how="anti", nulls_equal=True)
        added = after.join(before, on=columns, how="anti", nulls_equal=True)
        if lost.height or added.height or before.height != after.height:
            out.append(
                f"{table}: {before.height} rows exported, {after.height} imported; "
                f"lost {lost.head(2).rows()}, added {added.head(2).rows()}"
            )
    return out


@pytest.fixture(scope="module", params=("csv", "xlsx"))
def demo_round_trip(request, demo_store_master, tmp_path_factory):
    """The demo store exported template by template (CSV or Excel) and imported into a fresh
    store: (each kind's import report, the demo's tables, the fresh store's tables)."""
    import duckdb

    from cdv_core import store

    con = duckdb.connect(str(tmp_path_factory.mktemp("aller_retour") / f"{request.param}.duckdb"))
    source = duckdb.connect(str(demo_store_master), read_only=True)
    try:
        store.migrate(con)
        reports = _rt_import_every_template(source.cursor(), con, request.param)
        return reports, _rt_tables(source.cursor()), _rt_tables(con.cursor())
    finally:
        source.close()
        con.close()


def test_templates_come_in_an_order_that_loads_references_first():
    from cdv_core.ingest.spec import TEMPLATES

    loaded: set[str] = set()
    for spec in TEMPLATES:
        missing = {ref.table for ref in spec.refs} - loaded - {spec.table}
        assert not missing, f"{spec.code} refers to {missing}, loaded by a later template"
        loaded.add(spec.table)


def test_demo_round_trip_imports_without_error(demo_round_trip):
    reports, _, _ = demo_round_trip
    assert _rt_problems(reports, "erreur") == [], "the export of the demo is refused by its own importer"


def test_demo_round_trip_gives_the_same_store(demo_round_trip):
    reports, before, after = demo_round_trip
    if _rt_problems(reports, "erreur"):
        pytest.fail("some exports were refused (see test_demo_round_trip_imports_without_error)")
    assert _rt_differences(before, after) == [], "exported then imported, the demo tables differ"


def test_demo_round_trip_warns_only_about_the_demos_overpaid_lines(demo_round_trip):
    """The demo pays a few lines beyond what was granted on purpose (the Financements alert shows
    them): the import report warns about exactly those lines, and about nothing else."""
    reports, before, _ = demo_round_trip
    overpaid = "Montant versé supérieur au montant accordé"
    warnings = _rt_problems(reports, "avertissement")
    assert [w for w in warnings if w[2] != overpaid] == [], "the import report of the demo's own data warns"
    expected = before["financement"].filter(pl.col("montant_verse") > pl.col("montant_accorde")).height
    assert sum(w[3] for w in warnings if w[2] == overpaid) == expected, "overpaid lines and warnings disagree"


def test_national_round_trip_of_one_contract(tmp_path):
    """National scale, one contract (the one with most actions): its export imports into a fresh
    store with no error and gives back exactly its rows."""
    import duckdb

    from cdv_core import store

    path = tmp_path / "national.duckdb"
    demo.build_store(path, scale="national", seed=1)
    source = duckdb.connect(str(path), read_only=True)
    con = duckdb.connect(str(tmp_path / "vide.duckdb"))
    try:
        cur = source.cursor()
        contrat = cur.sql("SELECT code_contrat FROM action GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1").fetchone()[
            0
        ]
        store.migrate(con)
        reports = _rt_import_every_template(cur, con, "csv", contrat=contrat)
        of_contract = "t.code_contrat = $c"
        actions = "t.code_action IN (SELECT code_action FROM action WHERE code_contrat = $c)"
        qpv = "(SELECT code_qp FROM quartier WHERE code_contrat = $c)"
        instances = "(SELECT code_instance FROM instance WHERE code_contrat = $c)"
        expected = _rt_tables(
            cur,
            {
                "contrat": of_contract,
                "quartier": of_contract,
                "projet_quartier": of_contract,
                "objectif": of_contract,
                "action": of_contract,
                "instance": of_contract,
                "jalon": of_contract,
                "porteur": "t.id_porteur IN (SELECT id_porteur FROM action WHERE code_contrat = $c)",
                "action_quartier": actions,
                "action_objectif": actions,
                "financement": actions,
                "bilan_action": actions,
                "cible_indicateur": f"t.code_qp IN {qpv}",
                "reunion": f"t.code_instance IN {instances}",
                "decision": f"t.id_reunion IN (SELECT id_reunion FROM reunion WHERE code_instance IN {instances})",
                "valeur_indicateur": "true",
                "valeur_indicateur_detail": "true",
                "acteur": of_contract,
                "poste": of_contract,
                "acteur_domaine": "t.id_acteur IN (SELECT id_acteur FROM acteur WHERE code_contrat = $c)",
                "acteur_quartier": "t.id_acteur IN (SELECT id_acteur FROM acteur WHERE code_contrat = $c)",
                "financement_poste": "t.id_poste IN (SELECT id_poste FROM poste WHERE code_contrat = $c)",
            },
            {"c": contrat},
        )
        qpv_codes = cur.sql(qpv[1:-1], params={"c": contrat}).pl()["code_qp"]
        got = _rt_tables(con.cursor())
    finally:
        source.close()
        con.close()
    assert _rt_problems(reports, "erreur") == [], f"the export of {contrat} is refused by its own importer"
    # values: exactly the contract's QPV's; those of the territories they are compared with
    # (communes, EPCI, département, France) are a part of the national ones
    values, all_values = got.pop("valeur_indicateur"), expected.pop("valeur_indicateur")
    details, all_details = got.pop("valeur_indicateur_detail"), expected.pop("valeur_indicateur_detail")
    assert _rt_differences(expected, got) == [], f"exported then imported, the tables of {contrat} differ"
    of_qpv = (pl.col("type_territoire") == "QPV") & pl.col("code_territoire").is_in(qpv_codes.implode())
    assert (
        _rt_differences(
            {"valeur_indicateur (QPV)": all_values.filter(of_qpv)},
            {"valeur_indicateur (QPV)": values.filter(pl.col("type_territoire") == "QPV")},
        )
        == []
    )
    assert (
        details.height
        and _rt_differences(
            {"valeur_indicateur_detail (QPV)": all_details.filter(of_qpv)},
            {"valeur_indicateur_detail (QPV)": details.filter(of_qpv)},
        )
        == []
    )
    foreign = values.join(all_values, on=values.columns, how="anti", nulls_equal=True)
    assert foreign.is_empty() and values.filter(pl.col("type_territoire") != "QPV").height, foreign.head(3).rows()
