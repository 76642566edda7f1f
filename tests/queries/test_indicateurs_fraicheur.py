"""Freshness per source (issue #20): a value is « à jour » when it is the latest vintage its
source has published at the « données au » date (`cdv_core.domain.freshness`), the same rule in
the « Indicateurs » dictionary and the « Jalons » readiness item; the rules are editable
(`cdv_core.edits.sources`) and a source without one keeps the age rule."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from cdv_core import store
from cdv_core.access import User, local_user
from cdv_core.domain import freshness as fr
from cdv_core.edits import sources
from cdv_core.queries import indicateurs as ind
from cdv_core.queries import jalons as q
from tests.conftest import DEMO_AU, insert, minimal_contract, run_app

LOCAL = local_user("test des sources")
FILOSOFI, RP, FT = (12, 32), (12, 30), (3, 2)
QA = "QN07511M"


def _d(year: int, month: int = 1, day: int = 1) -> date:
    return date(year, month, day)


# --- the rule, plain Python -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("au", "expected"),
    [
        (_d(2024, 8, 31), _d(2020)),  # Filosofi 2021 (published August 2024) not expected yet
        (_d(2024, 9, 1), _d(2021)),  # expected from 1 September N+3
        (_d(2025, 8, 31), _d(2021)),
        (_d(2025, 9, 1), _d(2022)),
        (_d(2026, 11, 15), _d(2023)),
    ],
)
def test_filosofi_expected_vintage(au, expected):
    assert fr.expected_vintage(au, rythme=12, delai=32) == expected


def test_filosofi_values_across_vintages():
    def label(latest, au):
        return fr.label(latest, donnees_au=au, max_age_months=24, rule=FILOSOFI)

    # on 31/08/2024 the 2020 vintage is the latest published: « à jour » although 44 months old
    assert label(_d(2020), _d(2024, 8, 31)) == fr.A_JOUR
    assert label(_d(2020), _d(2024, 9, 1)) == fr.ANCIENNE
    assert label(_d(2021), _d(2024, 9, 1)) == fr.A_JOUR
    assert label(_d(2021), _d(2025, 8, 31)) == fr.A_JOUR
    assert label(_d(2021), _d(2025, 9, 1)) == fr.ANCIENNE
    # at the demo's date (15/11/2026) the 2023 vintage is expected: 2021 and 2022 are behind
    assert [label(_d(y), _d(2026, 11, 15)) for y in (2021, 2022, 2023, 2024)] == [
        fr.ANCIENNE,
        fr.ANCIENNE,
        fr.A_JOUR,
        fr.A_JOUR,
    ]
    # a value dated inside its year counts for that year; a value dated later does not exist yet
    assert label(_d(2021, 12, 31), _d(2025, 8, 31)) == fr.A_JOUR
    assert not fr.is_fresh(_d(2026, 12, 1), donnees_au=_d(2026, 11, 15), max_age_months=24, rule=FILOSOFI)
    assert label(None, _d(2026, 11, 15)) == fr.AUCUNE


def test_recensement_and_france_travail():
    assert fr.expected_vintage(_d(2024, 6, 30), rythme=12, delai=30) == _d(2020)
    assert fr.expected_vintage(_d(2024, 7, 1), rythme=12, delai=30) == _d(2021)  # RP 2021: June 2024
    # France Travail: the 1st quarter 2026 (01/01/2026) ends on 01/04/2026, published by 01/06/2026
    assert fr.expected_vintage(_d(2026, 5, 31), rythme=3, delai=2) == _d(2025, 10)
    assert fr.expected_vintage(_d(2026, 6, 1), rythme=3, delai=2) == _d(2026, 1)
    assert fr.expected_vintage(_d(2026, 11, 15), rythme=3, delai=2) == _d(2026, 4)
    assert fr.is_fresh(_d(2026, 4), donnees_au=_d(2026, 11, 15), max_age_months=24, rule=FT)
    assert not fr.is_fresh(_d(2026, 1), donnees_au=_d(2026, 11, 15), max_age_months=24, rule=FT)
    # the age rule would call a 10-month-old quarter fresh: the publication rule does not
    assert fr.is_fresh(_d(2026, 1), donnees_au=_d(2026, 11, 15), max_age_months=24)


def test_without_a_rule_the_age_rule_applies():
    au = _d(2026, 11, 15)
    assert fr.fresh_from(au, 24) == _d(2024, 11, 15)
    assert fr.is_fresh(_d(2024, 11, 15), donnees_au=au, max_age_months=24, rule=None)
    assert not fr.is_fresh(_d(2024, 11, 14), donnees_au=au, max_age_months=24, rule=None)


def test_source_names_and_vintage_labels():
    assert fr.source_key("  INSEE filosofi ") == fr.source_key("Insee Filosofi") == "insee filosofi"
    assert fr.source_key("Equipe projet") == fr.source_key("Équipe projet")
    assert fr.source_key(None) is None and fr.source_key("  ") is None
    assert fr.vintage_label(_d(2021), 12) == "2021"
    assert fr.vintage_label(_d(2026, 4), 3) == "2e trimestre 2026"
    assert fr.vintage_label(_d(2026, 1), 3) == "1er trimestre 2026"
    assert fr.vintage_label(_d(2026, 7), 6) == "2e semestre 2026"
    assert fr.vintage_label(_d(2026, 8), 1) == "août 2026"
    assert fr.vintage_label(None, 12) == "—"
    keys = [fr.source_key(r.source) for r in fr.DEFAULT_SOURCES]
    assert len(keys) == len(set(keys))
    assert all(r.rythme >= 1 and r.delai >= 0 for r in fr.DEFAULT_SOURCES)


# --- a hand-built store -----------------------------------------------------------------------

SOURCES = {"FIL": "Insee Filosofi", "RP": "insee rp", "FT": "France Travail", "LOC": "Observatoire local", "NUL": None}
LATEST = {"FIL": _d(2021), "RP": _d(2023), "FT": _d(2026, 1), "LOC": _d(2025, 1), "NUL": _d(2025, 6)}


@pytest.fixture
def fresh_store(empty_store):
    """Contract CV-T, one QPV, one objective following five indicators of five sources."""
    con = empty_store
    minimal_contract(con, "CV-T", (QA,))
    insert(
        con,
        "indicateur",
        [
            {
                "code_indicateur": c,
                "libelle": f"Indicateur {c}",
                "unite": "%",
                "sens": "hausse",
                "source": s,
                "axe": "Santé",
            }
            for c, s in SOURCES.items()
        ],
    )
    insert(
        con,
        "objectif",
        [
            {
                "code_objectif": "O1",
                "code_contrat": "CV-T",
                "code_qp": QA,
                "axe": "Santé",
                "libelle": "Objectif",
                "date_creation": _d(2024, 3),
            }
        ],
    )
    insert(con, "objectif_indicateur", [{"code_objectif": "O1", "code_indicateur": c} for c in SOURCES])
    rows = [
        {"code_indicateur": c, "type_territoire": "QPV", "code_territoire": QA, "date_valeur": d, "valeur": 1.0}
        for c, d in LATEST.items()
    ]
    rows += [
        {"code_indicateur": c, "type_territoire": "QPV", "code_territoire": QA, "date_valeur": _d(2018), "valeur": 2.0}
        for c in LATEST
    ]
    rows.append(
        {
            "code_indicateur": "FIL",
            "type_territoire": "QPV",
            "code_territoire": QA,
            "date_valeur": _d(2030),
            "valeur": 3.0,
        }
    )  # after every date below: does not exist yet
    insert(con, "valeur_indicateur", rows)
    return con


def _both(con, au, max_age=24):
    """(dictionary freshness per indicator, the readiness item's row) at `au`."""
    cur = con.cursor()
    dico = ind.dictionary(cur, contrat="CV-T", donnees_au=au, max_age_months=max_age)
    item = (
        q.readiness(cur, contrat="CV-T", donnees_au=au, max_age_months=max_age)["items"]
        .filter(pl.col("critere") == "indicateurs")
        .row(0, named=True)
    )
    return dict(zip(dico["code_indicateur"], dico["fraicheur"])), dico, item


def _python(au, max_age=24):
    """The plain-Python rule on the store's values (latest known at `au`: LATEST, else 2018)."""
    rules = {
        c: next(((r.rythme, r.delai) for r in fr.DEFAULT_SOURCES if fr.source_key(r.source) == fr.source_key(s)), None)
        for c, s in SOURCES.items()
    }
    latest = {c: LATEST[c] if LATEST[c] <= au else _d(2018) for c in SOURCES}
    return {c: fr.label(latest[c], donnees_au=au, max_age_months=max_age, rule=rules[c]) for c in SOURCES}


@pytest.mark.parametrize(
    "au",
    [
        _d(2024, 9, 1),
        _d(2025, 8, 31),
        _d(2025, 9, 1),
        _d(2026, 5, 31),
        _d(2026, 6, 1),
        _d(2026, 11, 15),
        _d(2027, 3, 1),
    ],
)
def test_dictionary_and_readiness_agree_with_the_rule(fresh_store, au):
    got, _dico, item = _both(fresh_store, au)
    assert got == _python(au)
    stale = sorted(c for c, lab in got.items() if lab != fr.A_JOUR)
    assert item["ok"] == (not stale)
    for c in SOURCES:  # the readiness item names exactly the indicators the dictionary calls stale
        assert (f"Indicateur {c} (" in (item["preuve"] or "")) == (c in stale), (c, item["preuve"])


def test_known_dates_in_both_callers(fresh_store):
    got, dico, item = _both(fresh_store, _d(2026, 11, 15))
    assert got == {"FIL": "ancienne", "RP": "à jour", "FT": "ancienne", "LOC": "à jour", "NUL": "à jour"}
    attendu = dict(zip(dico["code_indicateur"], dico["millesime_attendu_libelle"]))
    assert attendu == {"FIL": "2023", "RP": "2023", "FT": "2e trimestre 2026", "LOC": None, "NUL": None}
    assert item["preuve"] == (
        "3 indicateurs suivis sur 5 sont à jour ; trop anciens : "
        "Indicateur FIL (01/01/2021 ; millésime attendu : 2023), "
        "Indicateur FT (01/01/2026 ; millésime attendu : 2e trimestre 2026)."
    )
    # the unknown source and the one without a source keep the age rule: older than 12 months, old
    got, _, item = _both(fresh_store, _d(2026, 11, 15), max_age=12)
    assert got["LOC"] == got["NUL"] == "ancienne"
    assert "Indicateur NUL (01/06/2025 ; plus de 12 mois)" in item["preuve"]


def test_sql_expected_vintage_matches_python(fresh_store):
    """FRESHNESS_CTE and `freshness.expected_vintage` / `vintage_label` over many dates and rules."""
    cur = fresh_store.cursor()
    rules = [(12, 32), (12, 30), (3, 2), (6, 4), (1, 0), (24, 12), (5, 7)]
    for i, (r, d) in enumerate(rules):
        sources.set_source_rule(fresh_store, user=LOCAL, source=f"Règle {i}", rythme_mois=r, delai_publication_mois=d)
        insert(
            fresh_store,
            "indicateur",
            [{"code_indicateur": f"Z{i}", "libelle": f"Z{i}", "unite": "%", "sens": "hausse", "source": f"règle {i}"}],
        )
    days = [_d(y, m, dd) for y in (2023, 2024, 2025, 2026) for m in range(1, 13) for dd in (1, 15, 28)]
    for au in days:
        frame = cur.sql(
            "WITH " + ind.FRESHNESS_CTE + " SELECT code_indicateur, millesime_attendu, "
            "millesime_attendu_libelle FROM fraicheur_indicateur WHERE code_indicateur LIKE 'Z%'",
            params=ind.freshness_params(cur, au, 24),
        ).fetchall()
        for code, attendu, libelle in frame:
            r, d = rules[int(code[1:])]
            want = fr.expected_vintage(au, rythme=r, delai=d)
            assert (attendu, libelle) == (want, fr.vintage_label(want, r)), (au, r, d)


# --- editing the rules ------------------------------------------------------------------------


def test_an_edited_rule_applies_to_both_callers_then_is_reset(fresh_store):
    au = _d(2026, 11, 15)
    name = sources.set_source_rule(
        fresh_store,
        user=LOCAL,
        source="  insee FILOSOFI ",
        rythme_mois=12,
        delai_publication_mois=48,
        note="retard de publication",
    )
    assert name == "insee FILOSOFI"
    got, dico, item = _both(fresh_store, au)
    assert got["FIL"] == "à jour" and "Indicateur FIL" not in item["preuve"]
    assert dico.filter(pl.col("code_indicateur") == "FIL")["millesime_attendu_libelle"].item() == "2021"
    rules = ind.source_rules(fresh_store.cursor())
    fil = rules.filter(pl.col("source").str.to_lowercase() == "insee filosofi")
    assert fil.height == 1 and fil.row(0, named=True)["origine"] == "base"  # no duplicate with the default
    # written again under another spelling: still one row
    sources.set_source_rule(fresh_store, user=LOCAL, source="Insee Filosofi", rythme_mois=12, delai_publication_mois=50)
    assert store.scalar(fresh_store, "SELECT count(*) FROM source_indicateur") == 1
    # no rhythm: the age rule, even for a source with a default
    sources.set_source_rule(
        fresh_store, user=LOCAL, source="Insee Filosofi", rythme_mois=None, delai_publication_mois=None
    )
    got, dico, _ = _both(fresh_store, au, max_age=72)
    assert (
        got["FIL"] == "à jour" and dico.filter(pl.col("code_indicateur") == "FIL")["millesime_attendu"].item() is None
    )
    assert sources.reset_source_rule(fresh_store, user=LOCAL, source="INSEE Filosofi") == 1
    assert _both(fresh_store, au)[0]["FIL"] == "ancienne"
    log = fresh_store.execute(
        "SELECT operation FROM journal_ecriture WHERE nom_table = 'source_indicateur' ORDER BY version_store"
    ).fetchall()
    assert [r[0] for r in log][-1] == "Rythme de publication d'une source rétabli"


def test_source_rules_lists_defaults_stored_rows_and_sources_without_rule(fresh_store):
    rules = ind.source_rules(fresh_store.cursor())
    by = {r["source"]: r for r in rules.iter_rows(named=True)}
    assert by["Insee Filosofi"]["origine"] == "par défaut" and by["Insee Filosofi"]["indicateurs"] == 1
    assert by["Insee RP"]["indicateurs"] == 1  # « insee rp » in the dictionary
    assert by["Observatoire local"]["origine"] == "aucune règle" and by["Observatoire local"]["rythme_mois"] is None
    assert len(by) == len(fr.DEFAULT_SOURCES) + 1


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"rythme_mois": 0, "delai_publication_mois": 12}, "le rythme de publication doit être compris entre 1 et"),
        ({"rythme_mois": 12, "delai_publication_mois": -1}, "le délai de publication doit être compris entre 0 et"),
        ({"rythme_mois": 12.5, "delai_publication_mois": 12}, "nombre entier de mois"),
        ({"rythme_mois": "12", "delai_publication_mois": 12}, "nombre entier de mois"),
        ({"rythme_mois": True, "delai_publication_mois": 12}, "nombre entier de mois"),
        ({"rythme_mois": 12, "delai_publication_mois": 500}, "entre 0 et 120 mois"),
        ({"rythme_mois": 12, "delai_publication_mois": None}, "ou aucun des deux"),
        ({"source": "  ", "rythme_mois": 12, "delai_publication_mois": 12}, "le nom de la source est obligatoire"),
        ({"source": "=1+1", "rythme_mois": 12, "delai_publication_mois": 12}, "formule"),
    ],
)
def test_invalid_rules_are_refused_in_french(fresh_store, kwargs, fragment):
    before = store.store_version(fresh_store.cursor())
    with pytest.raises(store.IntegrityError, match=fragment):
        sources.set_source_rule(fresh_store, user=LOCAL, **({"source": "Insee Filosofi"} | kwargs))
    assert store.scalar(fresh_store, "SELECT count(*) FROM source_indicateur") == 0
    assert store.store_version(fresh_store.cursor()) == before


def test_a_whole_float_from_a_form_is_accepted(fresh_store):
    sources.set_source_rule(fresh_store, user=LOCAL, source="CNAM", rythme_mois=12.0, delai_publication_mois=6.0)
    assert fresh_store.execute("SELECT rythme_mois, delai_publication_mois FROM source_indicateur").fetchall() == [
        (12, 6)
    ]


def test_a_reader_may_not_edit_the_rules(fresh_store):
    fresh_store.execute(
        "INSERT INTO utilisateur (email, nom, role, actif, cree_le) "
        "VALUES ('lecteur@cdv.test', 'L', 'lecteur', true, now())"
    )
    with pytest.raises(store.StoreError, match="Écriture refusée"):
        sources.set_source_rule(
            fresh_store,
            user=User(email="lecteur@cdv.test", role="administrateur"),
            source="CNAM",
            rythme_mois=12,
            delai_publication_mois=6,
        )
    assert store.scalar(fresh_store, "SELECT count(*) FROM source_indicateur") == 0


# --- the page ---------------------------------------------------------------------------------


def _dictionary(at) -> pl.DataFrame:
    found = [d.value for d in at.dataframe if "Millésime attendu" in d.value.columns]
    assert len(found) == 1
    return pl.from_pandas(found[0])


def test_page_shows_the_expected_vintage_and_edits_a_rule(app_env):
    at = run_app("indicateurs")
    assert not at.exception, [e.value for e in at.exception]
    table = _dictionary(at)
    rows = {r["Libellé"]: r for r in table.iter_rows(named=True)}
    assert _d(2026, 11, 15) == DEMO_AU
    assert rows["Taux de pauvreté (seuil à 60 %)"]["Millésime attendu"] == "2023"  # Filosofi
    demandeurs = rows["Demandeurs d'emploi de catégorie A, B, C"]  # France Travail
    # the demo publishes France Travail quarterly, up to the 2nd quarter 2026: the one expected
    assert (demandeurs["Millésime attendu"], demandeurs["Fraîcheur"]) == ("2e trimestre 2026", "à jour")
    assert any("Rythme de publication des sources" in s.value for s in at.subheader)
    # the local user (no authentication) may edit: France Travail said to publish a quarter at its end
    at.selectbox(key="indic_source_nom").set_value("France Travail").run()
    assert (at.number_input(key="indic_source_rythme").value, at.number_input(key="indic_source_delai").value) == (3, 2)
    at.number_input(key="indic_source_delai").set_value(0)
    next(b for b in at.button if b.label == "Enregistrer").click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    demandeurs = {r["Libellé"]: r for r in _dictionary(at).iter_rows(named=True)}[
        "Demandeurs d'emploi de catégorie A, B, C"
    ]
    assert (demandeurs["Millésime attendu"], demandeurs["Fraîcheur"]) == ("3e trimestre 2026", "ancienne")
    at.selectbox(key="indic_indicateur").set_value("DEFM").run()
    assert any(
        "le millésime attendu au 15/11/2026 est **3e trimestre 2026** (source France Travail : un millésime "
        "par trimestre, publié 0 mois après la fin du trimestre décrit)" in w.value
        for w in at.warning
    ), [w.value for w in at.warning]
