"""Statistical secret (cdv_core.domain.secret): small counts of people masked, secondary masking
that a shown total cannot undo, names of people removed, other columns untouched."""

from __future__ import annotations

import itertools

import polars as pl
import pytest

from cdv_core.domain import secret

T = 11


def _recoverable(raw: list[int], shown: list[str], total: str) -> set[int]:
    """Indexes of masked cells whose exact value a reader can deduce: the shown total minus the
    shown cells, when exactly one cell is masked."""
    masked = [i for i, s in enumerate(shown) if not s.replace("\u202f", "").isdigit()]
    if not total.replace("\u202f", "").isdigit() or len(masked) != 1:
        return set()
    known = sum(int(s.replace("\u202f", "")) for s in shown if s.replace("\u202f", "").isdigit())
    return {masked[0]} if int(total.replace("\u202f", "")) - known == raw[masked[0]] else set()


def test_threshold_boundary_10_masked_11_shown():
    frame = pl.DataFrame({"nb_habitants": [10, 11, 0, None, 250]})
    shown = secret.mask_counts(frame, ["nb_habitants"], threshold=T)["nb_habitants"].to_list()
    assert shown == ["< 11", "11", "< 11", "—", "250"]


def test_threshold_is_a_parameter():
    frame = pl.DataFrame({"n": [4, 5]})
    assert secret.mask_counts(frame, ["n"], threshold=5)["n"].to_list() == ["< 5", "5"]
    assert secret.mask_value(4, 5) == "< 5" and secret.mask_value(5, 5) == "5"


def test_order_and_other_columns_untouched():
    frame = pl.DataFrame(
        {
            "type": ["COPIL", "COTECH", "conseil citoyen"],
            "nb": [3, 40, 12],
            "taux": [0.125, 0.5, 0.9],
            "montant": [1500.0, 2.0, 7.0],
        }
    )
    masked = secret.mask_counts(frame, ["nb"], threshold=T)
    assert masked.columns == frame.columns
    assert masked["type"].to_list() == frame["type"].to_list()
    assert masked["taux"].to_list() == frame["taux"].to_list()
    assert masked["montant"].to_list() == frame["montant"].to_list()
    assert masked["nb"].to_list() == ["< 11", "40", "12"]


def test_secondary_masking_hides_the_lone_small_cell_from_the_total():
    frame = pl.DataFrame({"type": ["a", "b", "c"], "n": [4, 30, 20]})
    shown = secret.mask_counts(frame, ["n"], threshold=T, total_shown=True)["n"].to_list()
    total = secret.masked_total(frame, "n", threshold=T)
    assert total == "54"
    assert shown == ["< 11", "30", secret.SECONDARY]  # the next smallest cell
    assert _recoverable(frame["n"].to_list(), shown, total) == set()
    # without secondary masking the small cell would be recovered by subtraction
    naive = secret.mask_counts(frame, ["n"], threshold=T)["n"].to_list()
    assert _recoverable(frame["n"].to_list(), naive, total) == {0}


def test_two_small_cells_need_no_secondary_cell():
    frame = pl.DataFrame({"n": [4, 30, 7, 20]})
    shown = secret.mask_counts(frame, ["n"], threshold=T, total_shown=True)["n"].to_list()
    assert shown == ["< 11", "30", "< 11", "20"]
    assert secret.masked_total(frame, "n", threshold=T) == "61"


def test_lone_cell_group_masks_its_total():
    frame = pl.DataFrame({"g": ["x", "y", "y"], "n": [5, 40, 12]})
    shown = secret.mask_counts(frame, ["n"], threshold=T, total_shown=True, by=["g"])["n"].to_list()
    totals = secret.masked_total(frame, "n", threshold=T, by=["g"])
    assert shown == ["< 11", "40", "12"]
    assert dict(zip(totals["g"], totals["n"])) == {"x": "< 11", "y": "52"}
    frame = pl.DataFrame({"n": [15]})  # total ≥ threshold but equal to its only cell: shown like it
    assert secret.masked_total(frame, "n", threshold=T) == "15"


def test_no_masked_cell_recoverable_on_random_groups():
    values = [0, 3, 10, 11, 12, 25, 100]
    for raw in itertools.product(values, repeat=3):
        frame = pl.DataFrame({"n": list(raw)})
        shown = secret.mask_counts(frame, ["n"], threshold=T, total_shown=True)["n"].to_list()
        total = secret.masked_total(frame, "n", threshold=T)
        assert _recoverable(list(raw), shown, total) == set(), raw
        assert all(s in ("< 11", secret.SECONDARY) for s, v in zip(shown, raw) if v < T), raw


def test_names_removed_and_publishable():
    frame = pl.DataFrame(
        {"Décision": ["Relancer l'appel"], "Responsable": ["Mme Dupont"], "Échéance": ["31/03/2027"], "habitants": [3]}
    )
    out = secret.publishable(frame, threshold=T, counts=["habitants"])
    assert out.columns == ["Décision", "Échéance", "habitants"]
    assert out["habitants"].to_list() == ["< 11"]
    assert secret.remove_names(pl.DataFrame({"titulaire": ["A"], "etp": [1.0]})).columns == ["etp"]
    assert secret.remove_names(pl.DataFrame({"x": ["A"]}), ["x"]).columns == []


@pytest.mark.parametrize(
    ("unite", "libelle", "people"),
    [
        ("nb", "Demandeurs d'emploi de catégorie A, B, C", True),
        ("nb", "Réunions du conseil citoyen dans l'année", False),
        ("nb", "Nombre de logements réhabilités", False),
        ("habitants", "Population", True),
        ("%", "Taux de pauvreté", False),
        ("€", "Revenu médian", False),
        ("pour 10 000 hab.", "Médecins généralistes", False),
    ],
)
def test_people_count_indicators(unite, libelle, people):
    assert secret.is_people_count(unite, libelle) is people
