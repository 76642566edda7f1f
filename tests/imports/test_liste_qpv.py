"""The official ANCT QPV list (issue #20): every commune's name kept, the département inside the
QPV code checked against the département column, municipal arrondissements mapped to their
commune, a stray control character in a name cleaned. Each rule on crafted lines in the
official format, through the real import pipeline (the real 1 584-QPV list: tests/imports/test_ingest.py,
`test_official_qpv_list_imports_all_1584_qpv`)."""

from __future__ import annotations

import polars as pl
import pytest

from cdv_core import ingest, store
from cdv_core.access import local_user

LOCAL = local_user("test")

pytestmark = pytest.mark.both_backends

HEADER = "code_qp;lib_qp;insee_reg;lib_reg;insee_dep;lib_dep;insee_com;lib_com;siren_epci;lib_epci;;;"


def official(*lines: str) -> bytes:
    """A list in the official format: UTF-8 BOM, `;`, trailing empty columns, a blank last row."""
    return ("\ufeff" + HEADER + "\n" + "".join(line + ";;;\n" for line in lines) + ";;;;;;;;;;;;\n").encode()


def line(code: str, dep: str, coms: str, names: str, lib_qp: str = "Quartier", siren: str = "200054781") -> str:
    return f"{code};{lib_qp};11;Région;{dep};Département;{coms};{names};{siren};Un EPCI"


def _analyse(con, data: bytes):
    return ingest.analyse(con.cursor(), data, "listeqp2024-cog2024.csv")


def _problems(a, message: str) -> pl.DataFrame:
    return a.problems.filter(pl.col("problème").str.contains(message, literal=True))


def _quartiers(con) -> dict[str, tuple]:
    rows = con.execute("SELECT code_qp, insee_com, lib_com, communes FROM quartier ORDER BY 1").fetchall()
    return {r[0]: r[1:] for r in rows}


def test_every_commune_name_is_kept_in_the_order_of_the_codes(empty_store):
    a = _analyse(
        empty_store,
        official(
            line("QN00201M", "2", '"2691; 02571"', '"Saint-Quentin; Omissy"', siren="200071751"),
            line("QN05952M", "59", '"59205; 59361; 59504"', '"Escaudain; Lourches; Rœulx"', siren="200042190"),
            line("QN00101M", "1", "1053", "Bourg-en-Bresse", siren="200071751"),
        ),
    )
    assert a.kind == "liste_qpv" and a.errors == 0, a.problems
    ingest.commit(empty_store, a, user=LOCAL)
    assert _quartiers(empty_store) == {
        "QN00101M": ("01053", "Bourg-en-Bresse", "01053"),
        "QN00201M": ("02691", "Saint-Quentin; Omissy", "02691; 02571"),  # the main commune first, as written
        "QN05952M": ("59205", "Escaudain; Lourches; Rœulx", "59205; 59361; 59504"),
    }
    # a new contract without EPCI name is named after the main commune only
    assert store.scalar(empty_store, "SELECT count(*) FROM contrat") == 2


def test_names_that_do_not_match_the_codes_are_kept_as_written_with_a_warning(empty_store):
    a = _analyse(empty_store, official(line("QN05416M", "54", '"54395; 54547"', "Nancy", siren="245400676")))
    assert a.errors == 0, a.problems
    warned = _problems(a, "Pas autant de noms de commune")
    assert warned.select("ligne", "colonne", "valeur", "problème", "gravité").rows() == [
        (
            2,
            "lib_com",
            "Nancy",
            "Pas autant de noms de commune que de codes commune (1 nom, 2 codes) : les noms sont gardés tels quels",
            "avertissement",
        )
    ]
    ingest.commit(empty_store, a, user=LOCAL)
    assert _quartiers(empty_store)["QN05416M"] == ("54395", "Nancy", "54395; 54547")


def test_the_departement_inside_the_code_must_be_the_departement_column(empty_store):
    a = _analyse(
        empty_store,
        official(line("QN07599M", "2", "2691", "Saint-Quentin"), line("QN01301M", "13", "13055", "Marseille")),
    )
    refused = _problems(a, "Le code QPV")
    assert refused.select("ligne", "colonne", "valeur", "gravité").rows() == [(2, "insee_dep", "02", "erreur")]
    assert refused["problème"][0] == (
        "Le code QPV QN07599M est celui d'un quartier du département 75, la ligne indique le département 02"
    )
    assert "75 ou 02" in refused["correction attendue"][0]
    assert a.errors == 1 and not a.ok
    with pytest.raises(ingest.ImportRefused):
        ingest.commit(empty_store, a, user=LOCAL)
    assert store.scalar(empty_store, "SELECT count(*) FROM quartier") == 0


def test_corsica_and_overseas_codes_match_their_departement(empty_store):
    # 3 characters after « QN », a leading 0 dropped: 02A → 2A, 001 → 01 (written « 1 » by Excel), 971, 976
    a = _analyse(
        empty_store,
        official(
            line("QN02A01M", "2A", "2A004", "Ajaccio", siren="200066793"),
            line("QN02B01M", "2B", "2B033", "Bastia", siren="242000354"),
            line("QN00102M", "1", "1053", "Bourg-en-Bresse", siren="200071751"),
            line("QN97101M", "971", "97101", "Les Abymes", siren="200018653"),
            line("QN97651C", "976", "97611", "Mamoudzou", siren="200059871"),
        ),
    )
    assert a.errors == 0, a.problems
    ingest.commit(empty_store, a, user=LOCAL)
    got = empty_store.execute("SELECT code_qp, insee_dep FROM quartier ORDER BY 1").fetchall()
    assert got == [("QN00102M", "01"), ("QN02A01M", "2A"), ("QN02B01M", "2B"), ("QN97101M", "971"), ("QN97651C", "976")]
    # and a Corsican code under the wrong Corsica is refused
    wrong = _analyse(empty_store, official(line("QN02A01M", "2B", "2B033", "Bastia", siren="242000354")))
    assert (
        _problems(
            wrong, "Le code QPV QN02A01M est celui d'un quartier du département 2A, la ligne indique le département 2B"
        ).height
        == 1
    )


def test_municipal_arrondissements_become_their_commune_with_a_warning(empty_store):
    a = _analyse(
        empty_store,
        official(
            line("QN07518M", "75", "75118", "Paris 18e Arrondissement", lib_qp="Goutte D'Or"),
            line(
                "QN06901M",
                "69",
                '"69381; 69383"',
                '"Lyon 1er Arrondissement; Lyon 3e Arrondissement"',
                siren="200046977",
            ),
            line("QN01301M", "13", '"13215; 13055"', '"Marseille 15e Arrondissement; Marseille"', siren="200054807"),
            line("QN06918M", "69", '"69259; 69388"', '"Vénissieux; Lyon 8e Arrondissement"', siren="200046977"),
        ),
    )
    assert a.errors == 0, a.problems
    warned = _problems(a, "Arrondissement municipal")
    assert warned.select("ligne", "colonne", "valeur", "problème", "gravité").rows() == [
        (
            2,
            "insee_com",
            "75118",
            "Arrondissement municipal 75118 (Paris 18e Arrondissement) remplacé par sa commune 75056 (Paris)",
            "avertissement",
        ),
        (
            3,
            "insee_com",
            "69381",
            "Arrondissement municipal 69381 (Lyon 1er Arrondissement) remplacé par sa commune 69123 (Lyon)",
            "avertissement",
        ),
        (
            3,
            "insee_com",
            "69383",
            "Arrondissement municipal 69383 (Lyon 3e Arrondissement) remplacé par sa commune 69123 (Lyon)",
            "avertissement",
        ),
        (
            4,
            "insee_com",
            "13215",
            "Arrondissement municipal 13215 (Marseille 15e Arrondissement) remplacé par sa commune 13055 (Marseille)",
            "avertissement",
        ),
        (
            5,
            "insee_com",
            "69388",
            "Arrondissement municipal 69388 (Lyon 8e Arrondissement) remplacé par sa commune 69123 (Lyon)",
            "avertissement",
        ),
    ]
    ingest.commit(empty_store, a, user=LOCAL)
    assert _quartiers(empty_store) == {
        "QN01301M": ("13055", "Marseille", "13055"),  # two cells for one commune: one
        "QN06901M": ("69123", "Lyon", "69123"),
        "QN06918M": ("69259", "Vénissieux; Lyon", "69259; 69123"),
        "QN07518M": ("75056", "Paris", "75056"),
    }
    # no contract is created for an arrondissement code
    assert store.scalar(empty_store, "SELECT count(*) FROM contrat WHERE code_contrat LIKE 'CV-COM-%'") == 0


def test_a_commune_code_near_an_arrondissement_is_not_mapped(empty_store):
    # 75100, 75121, 69380, 13200, 13217 are no arrondissements (nor communes: the codes only)
    a = _analyse(empty_store, official(line("QN01302M", "13", "13217", "Une commune", siren="200054807")))
    assert _problems(a, "Arrondissement municipal").height == 0


def test_a_stray_control_character_in_a_name_is_cleaned_with_a_warning(empty_store):
    # the real list holds « œ » as U+009C (Windows-1252 read as Latin-1) in five commune names
    a = _analyse(
        empty_store,
        official(
            line("QN05977M", "59", "59378", "Marcq-en-Bar\x9cul", siren="200093201"),
            line(
                "QN05978M",
                "59",
                '"59009; 59350; 59410"',
                '"Villeneuve-d\'Ascq; Lille; Mons-en-Bar\x9cul"',
                siren="200093201",
            ),
            line("QN06218M", "62", "62617", "N\x9cux-les-Mines\x07", siren="200035442"),
        ),
    )
    assert a.errors == 0, a.problems
    warned = _problems(a, "Caractère mal décodé (Windows-1252, par exemple « œ ») rétabli")
    assert warned.select("ligne", "colonne", "gravité").rows() == [
        (2, "lib_com", "avertissement"),
        (3, "lib_com", "avertissement"),
        (4, "lib_com", "avertissement"),
    ]
    ingest.commit(empty_store, a, user=LOCAL)
    got = _quartiers(empty_store)
    assert got["QN05977M"][1] == "Marcq-en-Barœul"
    assert got["QN05978M"][1] == "Villeneuve-d'Ascq; Lille; Mons-en-Barœul"
    assert got["QN06218M"][1] == "Nœux-les-Mines"  # the BEL is removed, the œ restored
    assert "« Nœux-les-Mines »" in warned.filter(pl.col("ligne") == 4)["correction attendue"].item()
