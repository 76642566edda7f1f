"""AppTest of « Projets de quartier » on the demo store."""

from __future__ import annotations

import json

import duckdb
import pytest

from cdv_core.domain import progress
from cdv_core.ui import maps
from cdv_core.ui import projets as projets_view
from tests.conftest import run_app

CONTRACTS = {"CV-DEMO-VERM": 6, "CV-DEMO-BRE": 4, "CV-DEMO-MONT": 2, "tous": 12}


def _objectives(store_path, qp: str) -> list[str]:
    con = duckdb.connect(str(store_path), read_only=True)
    try:
        return [r[0] for r in con.execute("SELECT libelle FROM objectif WHERE code_qp = $q", {"q": qp}).fetchall()]
    finally:
        con.close()


@pytest.mark.parametrize("contrat", list(CONTRACTS))
def test_page_runs_for_each_contract_with_map_and_status_counts(app_env, contrat):
    at = run_app("projets_quartier", query={"contrat": contrat})
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error
    decks = at.get("deck_gl_json_chart")
    assert len(decks) == 1
    spec = json.loads(decks[0].proto.json)
    assert spec.get("mapStyle") == "__MAP_STYLE__"  # no basemap: Streamlit adds none, nothing fetched
    n_shapes = sum(
        len(layer["data"]["features"]) if isinstance(layer["data"], dict) else len(layer["data"])
        for layer in spec["layers"]
        if layer["id"] in ("qpv-contours", "qpv-points")
    )
    assert n_shapes == CONTRACTS[contrat]
    ids = {layer["id"] for layer in spec["layers"]}
    assert {"fond-departements", "qpv-choisi", "qpv-noms"} <= ids  # background, chosen quartier, names
    assert any(maps.ATTRIBUTION in c.value for c in at.caption)
    counts = {m.label: m.value for m in at.metric}
    assert counts["Quartiers prioritaires"] == str(CONTRACTS[contrat])
    total = sum(int(counts[s.capitalize()].split()[0]) for s in progress.STATUTS)
    assert total == CONTRACTS[contrat]
    assert any("Comment ce statut est-il calculé" in e.label for e in at.expander)


def test_selecting_a_qpv_shows_its_objectives(app_env):
    target = "QN06081M"  # not the default (the list starts with the most worrying QPV)
    expected = _objectives(app_env, target)  # read before the app opens the store
    at = run_app("projets_quartier", query={"contrat": "CV-DEMO-BRE"})
    box = at.selectbox(key="projets_qpv_CV-DEMO-BRE")
    assert box.value != target and any(f"({target})" in option for option in box.options)
    box.set_value(target).run()
    assert not at.exception, [e.value for e in at.exception]
    labels = [e.label.replace("\\", "") for e in at.expander]  # markdown escapes « ( » in labels
    assert expected, "the demo QPV has objectives"
    for libelle in expected:
        assert any(libelle in label for label in labels), (libelle, labels)
    assert any(h.value.startswith("Les Rouliers - Champ Doré") for h in at.header)
    assert at.query_params["qpv"] == [target] or at.query_params["qpv"] == target
    # Transversal objectives are shown apart.
    assert any(s.value == "Objectifs transversaux du contrat" for s in at.subheader)


def test_an_objective_is_built_only_while_open(app_env):
    """Closed objectives send their title only; opening one (a rerun) builds its actions and
    indicators, and it stays open on the next rerun."""
    target = "QN06081M"
    con = duckdb.connect(str(app_env), read_only=True)
    try:
        codes = [
            r[0] for r in con.execute("SELECT code_objectif FROM objectif WHERE code_qp = $q", {"q": target}).fetchall()
        ]
    finally:
        con.close()
    at = run_app("projets_quartier", query={"contrat": "CV-DEMO-BRE", "qpv": target})
    assert not at.exception, [e.value for e in at.exception]

    def built() -> int:  # objectives whose content was built: each says how many actions it has
        return sum(m.value.startswith("**Actions** (") for m in at.markdown)

    assert len(codes) >= 2 and built() == 1  # the first one (the most worrying) opens by itself
    closed = next(c for c in codes if not at.session_state[projets_view.objectif_key(c)])
    at.session_state[projets_view.objectif_key(closed)] = True
    at.run()
    assert not at.exception and built() == 2
    at.run()
    assert built() == 2


def test_qpv_can_be_opened_from_the_url(app_env):
    at = run_app("projets_quartier", query={"contrat": "CV-DEMO-VERM", "qpv": "QN00283M"})
    assert not at.exception
    assert at.selectbox(key="projets_qpv_CV-DEMO-VERM").value == "QN00283M"
