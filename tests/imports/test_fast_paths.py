"""The import's fast paths (issue 8) give exactly what the general paths give.

No timing here (the bench measures speed): each test pits a shortcut against the slow,
general computation it replaces, on cells and files chosen to hit both sides."""

from __future__ import annotations

import importlib
import shutil

import polars as pl
import pytest

from cdv_core import ingest, store
from cdv_core.access import local_user
from cdv_core.ingest import clean, decode, numbers, read_csv, reading, samples
from cdv_core.ingest.cells import evaluate
from cdv_core.ingest.spec_types import Col
from tests.conftest import minimal_contract
from tests.imports.test_bad_files import checksums

LOCAL = local_user("test")  # CDV_AUTH=aucune: may do everything

staging_module = importlib.import_module("cdv_core.ingest.diff")  # the module (ingest.diff is the function)

NUMBER_CELLS = [
    "12",
    "12500,5",
    "12500.5",
    "-3",
    "+4",
    "007",
    "1e3",
    "1,5e2",
    "nan",
    "inf",
    "Infinity",
    " 12 ",
    "1 234,50 €",
    "1.234,5",
    "1.234.567",
    "1,234",
    "12eur",
    "12 EUROS",
    "45 %",
    "45%",
    "0,45",
    "1\u00a0000",
    "1\u202f000,5",
    "\t7",
    "abc",
    "2 025",
    "2025,0",
    "2025.00",
    "1,5,6",
    "",
    None,
    "nd",
    "ND",
    "s",
    "so",
    "ns",
    "=1+1",
    "-",
    ".5",
    "5.",
    "12e",
    "1_000",
    "0x10",
]


@pytest.mark.parametrize("type_", ["entier", "montant", "decimal", "taux", "valeur_secret"])
@pytest.mark.parametrize("rows", [len(NUMBER_CELLS), 5000])  # direct and « distinct values » paths
def test_fast_number_gives_the_full_expression_value_and_checks(type_, rows):
    col = Col("x", type_, min_value=0 if type_ != "montant" else None, max_value=1 if type_ == "taux" else None)
    cells = (NUMBER_CELLS * (rows // len(NUMBER_CELLS) + 1))[:rows]
    src = pl.DataFrame({"x": cells}, schema={"x": pl.String}).with_columns(clean.unwrap(pl.col("x")))
    value, checks = clean.typed_column(col, pl.col("x"))
    extra = (
        {
            "secret": pl.when(pl.col("x").str.to_lowercase().is_in(list(clean.model.SECRET_MARKERS))).then(
                pl.col("x").str.to_lowercase()
            )
        }
        if type_ == "valeur_secret"
        else {}
    )
    slow = evaluate(src, "x", value, checks, extra)
    fast = evaluate(src, "x", value, checks, extra, fast=numbers.fast_number(col, pl.col("x")))
    assert fast.schema == slow.schema
    assert fast.equals(slow)
    assert fast[clean.VALUE].null_count() < rows  # both paths were exercised
    if type_ == "montant":
        assert fast.filter(pl.col("x") == "1 234,50 €")[clean.VALUE][0] == 1234.5
        assert fast.filter(pl.col("x") == "12500,5")[clean.VALUE][0] == 12500.5


def test_fast_number_has_no_path_for_other_types():
    assert numbers.fast_number(Col("x", "texte"), pl.col("x")) is None
    assert numbers.fast_number(Col("x", "date"), pl.col("x")) is None


CONTRACTS = {"CV-T": ["QN07511M", "QN07512M"]}


def _file(frame: pl.DataFrame, encoding: str = "utf-8-sig") -> bytes:
    return samples.to_csv(frame, encoding=encoding)


def _loads(analysis) -> dict[str, pl.DataFrame]:
    return {load.table: load.frame for load in analysis.loads}


def test_one_row_per_dossier_equals_the_grouped_path(empty_store, monkeypatch):
    """The projection used when every dossier has one row gives the same loads as the grouping."""
    minimal_contract(empty_store, "CV-T", ("QN07511M", "QN07512M"))
    h = samples.HEADERS
    frame = samples.programmation(400, contracts=CONTRACTS, porteurs=15, year=2025).with_columns(
        pl.when(pl.int_range(pl.len()) % 5 == 0).then(None).otherwise(pl.col(h["siret"])).alias(h["siret"]),
        pl.when(pl.int_range(pl.len()) % 7 == 0)
        .then(pl.lit("QN07512M, qn07511m"))
        .otherwise(pl.col(h["quartiers"]))
        .alias(h["quartiers"]),
    )
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) % 3 == 0).then(pl.lit("CPO")).otherwise(None).alias("Mode de financement"),
        pl.when(pl.int_range(pl.len()) % 4 == 0).then(pl.lit("réalisée")).otherwise(None).alias("Statut"),
    )
    data = _file(frame)
    fast = ingest.analyse(empty_store.cursor(), data, "f.csv")
    assert fast.ok, fast.problems
    calls = []
    real_select = pl.DataFrame.select

    def counting_select(self, *exprs, **kw):  # pretend dossiers repeat: force the grouped path
        out = real_select(self, *exprs, **kw)
        if out.shape == (1, 1) and out.columns == ["code_action"] and out.dtypes[0] in (pl.UInt32, pl.UInt64, pl.Int64):
            calls.append(1)
            return pl.DataFrame({"code_action": [-1]})
        return out

    monkeypatch.setattr(pl.DataFrame, "select", counting_select)
    slow = ingest.analyse(empty_store.cursor(), data, "f.csv")
    monkeypatch.undo()
    assert calls, "the grouped path was not forced"
    assert slow.ok
    f, s = _loads(fast), _loads(slow)
    assert list(f) == list(s) == ["porteur", "action", "financement", "action_quartier"]
    for table in f:
        assert f[table].equals(s[table]), table
    assert fast.diff.equals(slow.diff)
    action = f["action"]
    assert action["annee_debut"].to_list() == action["annee_fin"].to_list() == [2025] * 400
    assert set(action["mode_financement"]) == {"CPO", "AAP"} and set(action["statut"]) == {"réalisée", "accordée"}
    # a porteur without SIRET gets the local code of its normalised name
    assert f["porteur"].filter(pl.col("siret").is_null())["id_porteur"].str.starts_with("LOC-ASSOCIATION-C-UR-S-").all()
    links = f["action_quartier"]
    assert links.height == 800 and links.head(3).rows() == [
        ("D2025-0000000", "QN07512M"),
        ("D2025-0000000", "QN07511M"),
        ("D2025-0000001", "QN07511M"),
    ]


def test_local_porteur_code_from_distinct_names(empty_store):
    minimal_contract(empty_store, "CV-T", ("QN07511M",))
    text = (
        "N° dossier;Exercice;Code contrat ville;Libellé de l'action;Raison sociale;Thème;Montant engagé;Code SIRET\n"
        "D1;2025;CV-T;Action 1;Élan   d'Été;1.1;100;\n"
        "D2;2025;CV-T;Action 2;Élan   d'Été;1.1;100;\n"
        "D3;2025;CV-T;Action 3;Autre nom;1.1;100;78467169500087\n"
    )
    analysis = ingest.analyse(empty_store.cursor(), text.encode(), "f.csv")
    assert analysis.ok, analysis.problems
    action = _loads(analysis)["action"]
    assert action["id_porteur"].to_list() == ["LOC-ELAN-D-ETE", "LOC-ELAN-D-ETE", "78467169500087"]


def test_repeated_dossiers_still_grouped_and_checked(empty_store):
    """Several rows per dossier: years widened, links unique, conflicting contracts reported."""
    minimal_contract(empty_store, "CV-T", ("QN07511M", "QN07512M"))
    minimal_contract(empty_store, "CV-U", ("QN07513M",))
    head = (
        "N° dossier;Exercice;Code contrat ville;Libellé de l'action;Raison sociale;Thème;Montant engagé;"
        "Quartiers prioritaires\n"
    )
    ok = head + (
        "D1;2025;CV-T;A;Asso;1.1;100;QN07511M\nD1;2026;CV-T;A;Asso;1.1;100;QN07511M, QN07512M\n"
        "D2;2025;CV-T;B;Asso;1.1;0;QN07512M\n"
    )
    analysis = ingest.analyse(empty_store.cursor(), ok.encode(), "f.csv")
    assert analysis.ok, analysis.problems
    loads = _loads(analysis)
    assert loads["action"].select("code_action", "annee_debut", "annee_fin", "statut").rows() == [
        ("D1", 2025, 2026, "accordée"),
        ("D2", 2025, 2025, "déposée"),
    ]
    assert loads["action_quartier"].rows() == [("D1", "QN07511M"), ("D1", "QN07512M"), ("D2", "QN07512M")]
    bad = head + "D1;2025;CV-T;A;Asso;1.1;100;\nD1;2026;CV-U;A;Asso;1.1;100;\nD1;2026;CV-U;A;Asso;1.1;100;\n"
    refused = ingest.analyse(empty_store.cursor(), bad.encode(), "f.csv")
    messages = set(refused.problems["problème"])
    assert "Le même dossier est rattaché à plusieurs contrats" in messages
    assert "Clé en double dans le fichier" in messages


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 64])
def test_utf8_checked_by_chunks_like_a_whole_decode(monkeypatch, chunk):
    monkeypatch.setattr(decode, "UTF8_CHUNK", chunk)
    good = "a;b\nÉlan;€ 12\n𝄞;œ’\n".encode()
    assert decode.utf8_valid(memoryview(good))
    for bad in (good[:5] + b"\xe9" + good[5:], good[:-2] + b"\x80\x80\x80\x80\n", good + b"\xe2\x82", b"\x80" + good):
        assert not decode.utf8_valid(memoryview(bad))
    # the BOM file's message points at the same byte as before
    data = b"\xef\xbb\xbf" + good[:9] + b"\xe9;x\n"
    with pytest.raises(reading.ReadError, match=r"octet n° 13\)"):
        reading.read_bytes(data, "x.csv")
    raw = reading.read_bytes(b"\xef\xbb\xbf" + good, "x.csv")
    assert raw.encoding == "utf-8-sig" and raw.frame["b"].to_list() == ["€ 12", "œ’"]
    assert reading.read_bytes(b"a;b\n\xe9t\xe9;\x80 12\n", "x.csv").encoding == "cp1252"


@pytest.mark.parametrize(
    "bad",
    [
        b"a\xe9;b\n1;2\n",  # in the header (Polars decodes header names leniently)
        b'a;b\n1;"x\xe9y"\n',  # in a quoted field
        b"a;b\n1;2\n3;\xe9",  # last line without a line break
        b"a;b\n1;2\n\xe9\n",  # alone on a line
        b"a;b\n1;2\n\n\n\xa0\n",  # after blank lines
        b"a;b\n1;\xc3",  # truncated multi-byte character
        b"a;b\n1;\xc0\xaf\n",  # overlong encoding
        b"a;b\n1;\xed\xa0\x80\n",  # surrogate
        b"a;b;c\n1;2;3;4\n5;\x92;7\n",  # with a ragged line (Polars refuses the file)
        b"a;b\n" + b"1;caf\xc3\xa9\n" * 40_000 + b"2;caf\xe9\n",  # far beyond the first 256 KiB
        (b"h" * 300_000) + b"\xe9;b\n1;2\n",  # header line longer than the checked head
        b"code;libelle\r" + b"1;ok\r" * 20_000 + b"2;caf\xe9 \x9c\x92\r",  # lone CR line ends (old Mac)
        b"\n\n" + b";".join(b"c%d" % i for i in range(40_000)) + b";z\xff\n1;2\n",  # blank lines, long header
        b'"a\nb";' + b";".join(b"c%d" % i for i in range(40_000)) + b";z\xff\n1;2\n",  # quoted line break in the header
    ],
)
def test_a_byte_that_is_not_utf8_is_seen_wherever_it_is(bad):
    """Parsing without a separate UTF-8 pass still finds every invalid byte: the file is then read
    as Windows-1252 when nothing else in it is UTF-8, and otherwise read as UTF-8 with the cell
    holding the bad byte refused (never re-decoded into mojibake)."""
    wide = reading.Limits(max_columns=100_000)  # the long-header cases
    assert not decode.utf8_valid(memoryview(bad))
    raw = reading.read_bytes(bad, "x.csv", limits=wide)
    if b"\xc3\xa9" in bad:  # « é » in UTF-8 elsewhere in the file: evidence of UTF-8
        assert raw.encoding == "utf-8" and raw.frame["b"][0] == "café"
        assert [p["ligne"] for p in raw.problems if p["gravite"] == "erreur"] == [40_002]
    else:
        assert raw.encoding == "cp1252"
    with pytest.raises(reading.ReadError, match="annonce l'encodage UTF-8"):
        reading.read_bytes(b"\xef\xbb\xbf" + bad, "x.csv", limits=wide)


def test_utf8_reading_edge_cases():
    bom = b"\xef\xbb\xbf"
    with pytest.raises(reading.ReadError, match="vide"):
        reading.read_bytes(bom + b" " * 300_000 + b"\n", "x.csv")
    raw = reading.read_bytes(bom + bom + b'"a";b\n1;2', "x.csv")  # double BOM, no final newline
    assert raw.frame.columns == [reading.LINE, "a", "b"] and raw.frame["b"].to_list() == ["2"]
    raw = reading.read_bytes(bom + b"a;b;c\n1;2;3;4\n5;6;7\n", "x.csv")  # ragged line located
    assert raw.problems and raw.problems[0]["ligne"] == 2
    assert (
        reading.read_bytes(b" " * 70_000 + b'{"type": "FeatureCollection", "features": []}', "x.json").encoding
        == "geojson"
    )
    raw = reading.read_bytes(b"a;b;c\n1;2;3\n4;;", "x.csv")
    assert [(p["ligne"], p["gravite"]) for p in raw.problems if "tronqué" in p["probleme"]] == [(3, "avertissement")]


def test_link_rows_are_written_and_rolled_back(demo_store):
    con = store.connect(demo_store)
    try:
        frame = samples.programmation(300, contracts={"CV-DEMO-VERM": ["QN00281M", "QN00282M"]}, porteurs=5)
        frame = frame.reverse()  # file order ≠ key order
        before = con.execute("SELECT count(*) FROM action_quartier").fetchall()[0][0]
        analysis = ingest.analyse(con.cursor(), _file(frame, "cp1252"), "p.csv")
        assert analysis.ok, analysis.problems
        id_import = ingest.commit(con, analysis, user=LOCAL)
        rows = con.execute(
            "SELECT code_action, code_qp FROM action_quartier WHERE code_action LIKE 'D2025-%'"
        ).fetchall()
        assert len(rows) == 600 and len(set(rows)) == 600
        assert con.execute("SELECT count(*) FROM action_quartier").fetchall()[0][0] == before + 600
        ingest.rollback(con, id_import, user=LOCAL)
        assert con.execute("SELECT count(*) FROM action_quartier").fetchall()[0][0] == before
    finally:
        con.close()


def test_late_non_utf8_byte_after_a_speculative_utf8_parse():
    """The parse started while the whole file is checked is dropped when a late byte is not UTF-8."""
    rows = "".join(f"P{i};Élan n° {i}\n" for i in range(30_000)).encode()  # > 256 KiB of valid UTF-8
    late = "P999;Cœur d’été €\n".encode("cp1252")
    raw = reading.read_bytes(b"id;nom\n" + rows + late, "x.csv")
    # 30 000 « É » in UTF-8 and one Windows-1252 line: read as UTF-8, that line's cell refused
    assert raw.encoding == "utf-8" and raw.frame.height == 30_001 and raw.frame["nom"][0] == "Élan n° 0"
    assert [(p["ligne"], p["colonne"], p["gravite"]) for p in raw.problems] == [(30_002, "nom", "erreur")]
    assert "ligne 30\u202f002 caractère 7 (0x9C)" in raw.notes[0]
    data = b"\xef\xbb\xbfid;nom\n" + rows + late  # 1-based position of « œ » (0x9C) in the file
    with pytest.raises(reading.ReadError, match=rf"octet n° {len(data) - len(late) + 7}\)"):
        reading.read_bytes(data, "x.csv")
    ok = reading.read_bytes(b"\xef\xbb\xbfid;nom\n" + rows + "P999;Cœur d’été €\n".encode(), "x.csv")
    assert ok.encoding == "utf-8-sig" and ok.frame["nom"][-1] == "Cœur d’été €" and ok.frame["nom"][0] == "Élan n° 0"


def _values_file(con) -> bytes:
    """New values (a date the demo does not have) of the demo's first indicator, for each QPV."""
    code = store.scalar(con, "SELECT min(code_indicateur) FROM indicateur")
    qpv = [r[0] for r in con.execute("SELECT code_qp FROM quartier ORDER BY 1").fetchall()]
    lines = "".join(f"{code};QPV;{q};01/01/2029;{i},5\n" for i, q in enumerate(qpv))
    lines += f"{code};commune;75056;01/01/2025;3,5\n"  # a new commune at a date the demo has
    return ("code_indicateur;type_territoire;code_territoire;date_valeur;valeur\n" + lines).encode()


def _programmation_file(con) -> bytes:
    return _file(
        samples.programmation(
            200, contracts={"CV-DEMO-VERM": ["QN00281M", "QN00282M"], "CV-DEMO-BRE": ["QN06081M"]}, porteurs=7
        )
    )


def _actions_file(con) -> bytes:
    """New actions of the smallest demo contract (actions template, required columns)."""
    porteur = store.scalar(con, "SELECT min(id_porteur) FROM porteur")
    lines = "".join(f"A-NEW-{i};CV-DEMO-MONT;{porteur};Action {i};1.1;AAP;2025;2025;accordée\n" for i in range(30))
    return (
        "code_action;code_contrat;id_porteur;libelle;thematique;mode_financement;annee_debut;annee_fin;statut\n" + lines
    ).encode()


@pytest.mark.parametrize(
    "make,replace_scope,refused",
    [
        (_programmation_file, False, False),
        (_actions_file, True, None),  # the contract's other actions deleted with their funding lines and links
        # (refused if a meeting decision points at one: either way, both paths agree)
        (_values_file, True, False),  # the indicator's other communes at that date deleted
    ],
)
def test_first_import_view_path_equals_the_joined_staging(
    demo_store, tmp_path, monkeypatch, make, replace_scope, refused
):
    """A file whose keys are all new is staged as a view (no join, no copy); forcing the general
    path (staging table joined to the store) gives the same diff, the same store, the same
    refusal, and the same store again after the rollback."""
    results = {}
    for path_name in ("vue", "jointure"):
        copy = tmp_path / f"{path_name}.duckdb"
        shutil.copy(demo_store, copy)
        seen = []
        real = staging_module._all_new
        monkeypatch.setattr(
            staging_module,
            "_all_new",
            lambda *a, seen=seen, real=real, path_name=path_name: (
                seen.append(real(*a)) or (seen[-1] and path_name == "vue")
            ),
        )
        con = store.connect(copy)
        before = checksums(con)
        analysis = ingest.analyse(con.cursor(), make(con), "f.csv", replace_scope=replace_scope)
        assert analysis.ok, analysis.problems
        outcome = None
        try:
            id_import = ingest.commit(con, analysis, user=LOCAL, replace_scope=replace_scope)
            sums = checksums(con)
            ingest.rollback(con, id_import, user=LOCAL)
            kept = (
                "import_log",
                "import_annulation",
                "import_correspondance",
                "store_meta",
                "journal_ecriture",
            )  # kept on purpose
            assert {t: v for t, v in checksums(con).items() if t not in kept} == {
                t: v for t, v in before.items() if t not in kept
            }
        except store.IntegrityError as exc:
            outcome, sums = str(exc), checksums(con)
        results[path_name] = (
            analysis.diff,
            analysis.changes.sort(pl.all()),
            outcome,
            {t: v for t, v in sums.items() if t not in ("import_log", "store_meta", "journal_ecriture")},
        )
        assert seen and all(seen)  # every load's keys were new: the view path was open
        con.close()
        monkeypatch.undo()
    assert results["vue"][0].equals(results["jointure"][0]) and results["vue"][1].equals(results["jointure"][1])
    assert results["vue"][2:] == results["jointure"][2:]
    if refused is not None:
        assert (results["vue"][2] is not None) == refused
    if replace_scope:
        assert results["vue"][0]["absents du fichier"].sum() > 0
    if make is _values_file:
        assert results["vue"][0]["sort des absents"].to_list() == ["supprimés"]


def test_short_lines_are_warned_with_their_line_number(monkeypatch):
    """Polars pads a line with fewer cells than the header; DuckDB's reject table finds it
    (a warning: some tools omit trailing empty cells). Only files whose last column has an empty
    cell pay for that second reading."""
    data = b'a;b;c\n1;2;\n1;2\n1;;3\n"x;\ny";2;3\n4;5\n   \n6\n'
    raw = reading.read_bytes(data, "x.csv")
    short = [(p["ligne"], p["gravite"]) for p in raw.problems]
    assert short == [
        (3, "avertissement"),
        (6, "avertissement"),
        (8, "avertissement"),
    ]  # once per line; not the blank one
    assert raw.frame.filter(pl.col(reading.LINE) == 6)["a"].item() == "4"  # the same numbering as the rows
    # Excel's trailing separator: an unnamed empty last column, dropped; a row without it is whole
    raw = reading.read_bytes(b"a;b;c;\n1;2;3;\n4;5;6\n7;8\n9;10;;\n", "x.csv")
    assert [p["ligne"] for p in raw.problems] == [4]
    monkeypatch.setattr(read_csv, "_rejected_lines", lambda *a: pytest.fail("read twice"))
    assert reading.read_bytes(b"a;b;c\n1;2;3\n4;;6\n", "x.csv").problems == []
    assert reading.read_bytes(b"a;b;c;\n1;2;3;\n4;;6;\n", "x.csv").problems == []


def test_a_short_line_reaches_the_report_as_a_warning(empty_store):
    minimal_contract(empty_store)
    csv = (
        "code_contrat;libelle;type_signataire;insee_dep;date_debut;date_fin;date_signature\n"
        "CV-T;Contrat T;EPCI;75;01/01/2024;31/12/2030\n"
    )
    analysis = ingest.analyse(empty_store.cursor(), csv.encode(), "contrats.csv", kind="contrats")
    warnings = analysis.problems.filter(pl.col("gravité") == "avertissement")
    assert warnings.filter(pl.col("problème") == "Cette ligne a moins de cellules que l'en-tête")[
        "ligne"
    ].to_list() == [2]
    assert analysis.ok, analysis.problems
