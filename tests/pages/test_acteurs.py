"""The « Acteurs et ingénierie » page in AppTest on the demo store."""

from __future__ import annotations

import json

import pyarrow as pa

from cdv_core import fmt
from cdv_core.domain import model
from cdv_core.queries import acteurs as q
from cdv_core.ui import maps
from tests.conftest import DEMO_AU, metric, run_app


def _count(cur, sql: str) -> int:
    """An independent count on the demo master store (the app runs on a copy of it)."""
    return cur.execute(sql).fetchall()[0][0]


def _table(at, column: str):
    """The first dataframe showing `column` (AppTest does not expose dataframe keys)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _chart_total(at, values: tuple[str, ...]) -> int:
    """Sum of `nb_acteurs` in the typology chart whose bars are among `values` (chart data is
    shipped as Arrow IPC in the proto)."""
    for chart in at.get("vega_lite_chart"):
        for named in chart.proto.datasets:
            frame = pa.ipc.open_stream(named.data.data).read_all().to_pydict()
            if "nb_acteurs" in frame and frame["valeur"] and all(v in values for v in frame["valeur"]):
                return sum(frame["nb_acteurs"])
    return 0


def test_typology_filters_change_the_directory_and_the_counts(app_env, demo_cur):
    at = run_app("acteurs")
    assert not at.exception, at.exception
    total = _count(demo_cur, "SELECT count(*) FROM (SELECT id_porteur FROM porteur UNION SELECT id_acteur FROM acteur)")
    assert metric(at, "Acteurs").value == str(total)
    assert _table(at, "Mode d'intervention").shape[0] == min(total, 500)
    assert _chart_total(at, model.TYPES_STRUCTURE) == total
    assert len(at.get("deck_gl_json_chart")) == 1

    at.multiselect(key="acteurs_modes").set_value(["installé dans le quartier"]).run()
    assert not at.exception
    installed = _count(demo_cur, "SELECT count(*) FROM acteur WHERE mode_intervention = 'installé dans le quartier'")
    assert 0 < installed < total
    assert metric(at, "Acteurs").value == str(installed)
    assert _table(at, "Mode d'intervention").shape[0] == installed
    assert set(_table(at, "Mode d'intervention")["Mode d'intervention"]) == {"installé dans le quartier"}
    assert _chart_total(at, model.TYPES_STRUCTURE) == installed

    at.multiselect(key="acteurs_types").set_value(["bailleur"]).run()
    both = _count(
        demo_cur,
        """SELECT count(*) FROM acteur a LEFT JOIN porteur p ON p.id_porteur = a.id_acteur
                               WHERE a.mode_intervention = 'installé dans le quartier'
                                 AND coalesce(a.type_structure, p.type_structure) = 'bailleur'""",
    )
    assert metric(at, "Acteurs").value == str(both)
    assert len(at.get("deck_gl_json_chart")) == (1 if both else 0)


def test_engineering_view_shows_the_team(app_env, demo_cur):
    at = run_app("acteurs")
    at.segmented_control(key="acteurs_volet").set_value("Ingénierie").run()
    assert not at.exception, at.exception
    relays = _count(
        demo_cur,
        """SELECT count(DISTINCT id_poste) FROM poste JOIN financement_poste USING (id_poste)
                                 WHERE type_poste = 'adulte-relais' AND annee = 2026""",
    )
    assert relays > 0 and metric(at, "Adultes-relais").value == str(relays)
    assert int(metric(at, "Postes cofinancés").value) > 0
    assert _table(at, "Échéance").shape[0] > 0


def test_choosing_an_actor_shows_its_sheet_and_map(app_env, demo_cur):
    at = run_app("acteurs")
    directory = q.directory(demo_cur, contrat=None, annee=DEMO_AU.year)
    chosen = directory.row(3, named=True)
    at.selectbox(key="acteurs_choix").set_value(chosen["id_acteur"]).run()
    other = chosen["nom"]
    assert not at.exception, at.exception
    assert any(m.value == f"**{fmt.md(other)}**" for m in at.markdown)  # the name as text
    deck = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    assert deck["layers"]
    assert "fond-departements" in {layer["id"] for layer in deck["layers"]}  # the offline background
    assert any(maps.ATTRIBUTION in c.value for c in at.caption)


def test_the_national_list_can_be_imported_from_the_page(app_env, demo_cur):
    records = [
        {
            "id_poste": f"T{i}",
            "code_tiers": "77554402601284",
            "raison_sociale": "Centre social",
            "annee": 2023,
            "montant": 22555.73,
            "code_cv": "CV049" if i < 2 else "CV101",
            "insee_dep": "01",
            "insee_reg": "84",
        }
        for i in range(3)
    ]
    # the list is uploaded on « Mise à jour des données », like every file; the Acteurs page links there
    at = run_app("acteurs")
    at.segmented_control(key="acteurs_volet").set_value("Ingénierie").run()
    assert "Importer la liste nationale des adultes-relais" in [link.proto.label for link in at.get("page_link")]
    at = run_app("mise_a_jour")
    at.file_uploader(key="maj_fichier_0").set_value(("ar.json", json.dumps(records).encode(), "application/json")).run()
    assert not at.exception, at.exception
    at.button(key="maj_valider").click().run()
    assert not at.exception, at.exception
    at = run_app("acteurs")
    at.segmented_control(key="acteurs_volet").set_value("Ingénierie").run()
    per_code = _table(at, "Code contrat 2015")
    assert dict(zip(per_code["Code contrat 2015"], per_code["Postes"])) == {"CV049": 2, "CV101": 1}
