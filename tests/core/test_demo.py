"""Demo generator: deterministic, realistic magnitudes, sound store, national scale vectorised."""

from __future__ import annotations

import re

import polars as pl
import pytest

from cdv_core import demo, store
from cdv_core.domain import identifiers, model


@pytest.fixture(scope="module")
def frames():
    return demo.generate("demo", seed=2024)


def test_same_seed_same_territory_other_seed_other_figures(frames):
    again = demo.generate("demo", seed=2024)
    assert frames.keys() == again.keys()
    for table in frames:
        assert frames[table].equals(again[table]), table
    other = demo.generate("demo", seed=7)
    assert not other["financement"].equals(frames["financement"])


def test_demo_scale_magnitudes(frames):
    assert frames["contrat"].height == 3
    assert 10 <= frames["quartier"].height <= 15
    assert all(re.match(model.QPV_2024_PATTERN, c) for c in frames["quartier"]["code_qp"])
    pop = frames["quartier"]["population"]
    assert pop.min() >= 1000 and pop.max() <= 30000
    assert 200 <= frames["action"].height <= 400
    years = frames["action"]["annee_debut"].unique().sort().to_list()
    assert years == [2024, 2025, 2026]
    assert set(frames["action"]["mode_financement"]) >= {"AAP", "CPO"}
    lines_per_action = frames["financement"].group_by("code_action", "annee").len()["len"].mean()
    assert 1.5 <= lines_per_action <= 4.5
    p147 = frames["financement"].filter(pl.col("financeur") == "État P147")["montant_accorde"].drop_nulls()
    assert 2_000 <= p147.median() <= 20_000  # a few k€ to tens of k€


def test_demo_has_what_the_screens_must_show(frames):
    fin = frames["financement"]
    assert fin.filter((pl.col("montant_accorde") > 0) & (pl.col("montant_verse") == 0)).height > 0  # unpaid
    values = frames["valeur_indicateur"]
    assert values.filter(pl.col("secret").is_not_null()).height > 0  # secret statistique
    assert values.filter(pl.col("secret").is_not_null() & pl.col("valeur").is_not_null()).height == 0
    assert values.filter(pl.col("type_territoire") == "France").height > 0
    poverty = values.filter((pl.col("code_indicateur") == "PAUV") & (pl.col("type_territoire") == "QPV"))["valeur"]
    assert 30 <= poverty.median() <= 70
    assert frames["cible_indicateur"].height > 0
    assert "actualisation 2027" in frames["jalon"]["type_jalon"].to_list()
    assert frames["jalon"]["date_prevue"].max().isoformat() == "2030-12-31"
    assert frames["reunion"]["statut"].unique().sort().to_list() == ["annulée", "prévue", "reportée", "tenue"]
    assert frames["decision"].height > 0
    assert frames["quartier"]["contour"].null_count() > 0 and frames["quartier"]["contour"].drop_nulls().len() > 0


def test_demo_store_is_sound(demo_cur):
    assert store.integrity_errors(demo_cur) == []
    assert store.meta(demo_cur, "demo") == "demo"


def test_luhn_check_digit_matches_known_siret():
    import numpy as np

    # 73282932000074 is a well-known valid SIRET (Luhn).
    digits = np.array([[int(c) for c in "7328293200007"]])
    assert identifiers.luhn_check_digit(digits).tolist() == [4]


def test_national_scale_magnitudes():
    frames = demo.generate("national", seed=1)
    assert 350 <= frames["contrat"].height <= 450
    assert 1400 <= frames["quartier"].height <= 1900
    per_year = frames["action"].group_by("annee_debut").len()["len"]
    assert 25_000 <= per_year.mean() <= 50_000
    assert frames["financement"].height >= 2.5 * frames["action"].height
    assert 80_000 <= frames["reunion"].height <= 200_000
    assert frames["valeur_indicateur"].filter(pl.col("type_territoire") == "QPV").height >= 30 * 1400 * 10
