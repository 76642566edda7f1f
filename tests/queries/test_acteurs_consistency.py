"""« Acteurs et ingénierie »: the national list (uploaded on « Mise à jour des données ») is analysed
once per content, not on every rerun;
French formats from the vectorised fmt helpers; explicit form keys."""

from __future__ import annotations

import json

import polars as pl

from cdv_core import fmt, ingest
from tests.conftest import run_app


def _records(n: int, code: str = "CV049") -> bytes:
    return json.dumps(
        [
            {
                "id_poste": f"T{i}",
                "code_tiers": "77554402601284",
                "raison_sociale": "Centre social",
                "annee": 2023,
                "montant": 22555.73,
                "code_cv": code,
                "insee_dep": "01",
                "insee_reg": "84",
            }
            for i in range(n)
        ]
    ).encode()


def _upload(at, data: bytes, name: str = "ar.json"):
    """The national list is uploaded on « Mise à jour des données », like every file."""
    uploader = at.file_uploader(key=f"maj_fichier_{at.session_state['maj_upload_n']}")
    uploader.set_value((name, data, "application/json")).run()
    return at


def test_upload_is_checked_once_per_content(app_env, monkeypatch):
    calls: list[int] = []
    real = ingest.analyse

    def counting(cur, data, *args, **kwargs):
        calls.append(len(data))
        return real(cur, data, *args, **kwargs)

    monkeypatch.setattr(ingest, "analyse", counting)
    at = _upload(run_app("mise_a_jour"), _records(3))
    assert not at.exception, at.exception
    assert len(calls) == 1
    at.selectbox(key="maj_modele").set_value("contrats").run()  # an unrelated rerun
    at.run()
    assert not at.exception and len(calls) == 1  # one analysis per content
    _upload(at, _records(4))
    assert len(calls) == 2  # new content: analysed again
    assert any("4 postes d'adultes-relais dans ce fichier" in m.value for m in at.info)
    at.button(key="maj_valider").click().run()
    assert not at.exception, at.exception
    assert "maj_analysis" not in at.session_state


def test_attach_form_has_a_keyed_submit(app_env):
    at = _upload(run_app("mise_a_jour"), _records(2))
    at.button(key="maj_valider").click().run()
    assert not at.exception, at.exception
    at = run_app("acteurs")
    at.segmented_control(key="acteurs_volet").set_value("Ingénierie").run()
    at.number_input(key="acteurs_annee_liste").set_value(2023).run()
    assert not at.exception, at.exception
    assert at.button(key="acteurs_rattachement_submit") is not None


def test_vectorised_formats_match_the_scalar_ones():
    values = [1234567.4, 0.0, None, 980.5]
    frame = pl.DataFrame({"v": values, "s": [0.125, 1.0, None, 0.3333]})
    euros = frame.select(fmt.euros_expr(pl.col("v"), missing="—")).to_series().to_list()
    assert euros == [fmt.euros(v) for v in values]
    shares = frame.select(fmt.percent_expr(pl.col("s"), missing="—")).to_series().to_list()
    assert shares == [fmt.percent(s) for s in frame["s"].to_list()]
