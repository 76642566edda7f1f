"""« Acteurs et ingénierie »: the uploaded file is checked once per content, not on every rerun;
French formats from the vectorised fmt helpers; explicit form keys."""

from __future__ import annotations

import json

import polars as pl

from cdv_core import acteurs_import, fmt
from tests.conftest import run_app


def _records(n: int, code: str = "CV049") -> bytes:
    return json.dumps([{"id_poste": f"T{i}", "code_tiers": "77554402601284", "raison_sociale": "Centre social",
                        "annee": 2023, "montant": 22555.73, "code_cv": code, "insee_dep": "01", "insee_reg": "84"}
                       for i in range(n)]).encode()


def test_upload_is_checked_once_per_content(app_env, monkeypatch):
    calls: list[int] = []
    real = acteurs_import.check

    def counting(raw, **kwargs):
        calls.append(len(raw))
        return real(raw, **kwargs)

    monkeypatch.setattr(acteurs_import, "check", counting)
    at = run_app("acteurs")
    at.segmented_control(key="acteurs_volet").set_value("Ingénierie").run()
    at.file_uploader(key="acteurs_upload_0").set_value(("ar.json", _records(3), "application/json")).run()
    assert not at.exception, at.exception
    assert len(calls) == 1
    at.number_input(key="acteurs_annee_liste").set_value(2022).run()  # an unrelated rerun
    at.run()
    assert not at.exception and len(calls) == 1                       # before: one check per rerun
    at.file_uploader(key="acteurs_upload_0").set_value(("ar.json", _records(4), "application/json")).run()
    assert len(calls) == 2                                             # new content: checked again
    assert any("4 postes prêts à importer" in m.value for m in at.markdown)
    at.button(key="acteurs_importer").click().run()
    assert not at.exception, at.exception
    assert "acteurs_upload_check" not in at.session_state


def test_attach_form_has_a_keyed_submit(app_env):
    at = run_app("acteurs")
    at.segmented_control(key="acteurs_volet").set_value("Ingénierie").run()
    at.file_uploader(key="acteurs_upload_0").set_value(("ar.json", _records(2), "application/json")).run()
    at.button(key="acteurs_importer").click().run()
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
