"""Imports: reading real-world files, validation, diff, commit, idempotence, rollback, mapping
memory, the official QPV list, the CLI and a crash during commit."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal

import duckdb
import polars as pl
import pytest

from cdv_core import fmt, ingest, store
from cdv_core.access import local_user
from cdv_core.domain import identifiers
from cdv_core.ingest import clean, numbers, reading, samples, templates
from cdv_core.ingest.spec import KINDS, TEMPLATES
from tests.conftest import REFERENCE, ROOT, minimal_contract
from tests.imports.test_bad_files import checksums

LOCAL = local_user("test")  # CDV_AUTH=aucune: may do everything

pytestmark = pytest.mark.both_backends  # the core suite runs on the file and on DuckLake

DEMO_CONTRACTS = {"CV-DEMO-VERM": ["QN00281M", "QN00282M"], "CV-DEMO-BRE": ["QN06081M"], "CV-DEMO-MONT": ["QN08081M"]}


def _analyse(con, text: str | bytes, name: str = "f.csv", **kw):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return ingest.analyse(con.cursor(), data, name, **kw)


# ---------------------------------------------------------------- reading


def test_cp1252_after_the_first_kilobytes_is_decoded_on_the_whole_file():
    body = "id_porteur;nom;type_structure\n" + "".join(f"P{i};Asso {i};autre\n" for i in range(300))
    data = (body + "P999;Cœur d’été €;autre\n").encode("cp1252")
    raw = reading.read_bytes(data, "x.csv")
    assert raw.encoding == "cp1252"
    assert raw.frame["nom"][-1] == "Cœur d’été €"
    assert raw.frame[reading.LINE][-1] == 302


@pytest.mark.parametrize("sep", [";", ",", "\t"])
def test_separators_and_bom(sep):
    text = sep.join(["code_contrat", "libelle"]) + "\n" + sep.join(["CV-1", "Contrat"]) + "\n"
    raw = reading.read_bytes(b"\xef\xbb\xbf" + text.encode(), "x.csv")
    assert raw.separator == sep and raw.encoding == "utf-8-sig"
    assert raw.frame.columns == [reading.LINE, "code_contrat", "libelle"]


def test_utf16_tab_file_from_excel_unicode_text():
    raw = reading.read_bytes("code\tnom\nA\tÉlan\n".encode("utf-16"), "x.txt")
    assert raw.encoding == "utf-16" and raw.frame["nom"].to_list() == ["Élan"]


def test_trailing_empty_columns_and_rows_are_dropped():
    raw = reading.read_bytes(b"a;b;;;\n1;2;;;\n;;;;\n\n", "x.csv")
    assert raw.frame.columns == [reading.LINE, "a", "b"] and raw.frame.height == 1


def test_cell_cleaning_is_vectorised_and_french():
    frame = pl.DataFrame({"v": ["1 234,56 €", "1.234,56", "12,5 %", "\u00a0 7", "-3", "abc"]})
    out = frame.select(numbers.number_text(pl.col("v")).cast(pl.Float64, strict=False))["v"].to_list()
    assert out == [1234.56, 1234.56, 12.5, 7.0, -3.0, None]
    dates = pl.DataFrame({"d": ["31/03/2024", "2024-03-31", "2024-03-31 00:00:00", "1/3/2024", "32/01/2024"]})
    assert dates.select(clean.parse_date(pl.col("d")))["d"].to_list() == [
        date(2024, 3, 31),
        date(2024, 3, 31),
        date(2024, 3, 31),
        date(2024, 3, 1),
        None,
    ]
    assert pl.DataFrame({"x": ['="01053"', " x "]}).select(clean.unwrap(pl.col("x")))["x"].to_list() == ["01053", "x"]


def test_siret_rule_is_the_shared_one():
    values = [
        "78467169500087",
        "78467169500088",
        "35600000000048",
        "35600000000049",
        "73282932000074",
        samples._luhn_siret(samples.np.array([1_000_000_000_123]))[0],
    ]
    got = pl.DataFrame({"s": values}).select(clean.siret_ok(pl.col("s")))["siret_valide"].to_list()
    want = [identifiers.siret_valid(v) for v in values]
    assert got == want and True in want and False in want


def test_siren_luhn_matches_shared_validator():
    values = ["217500016", "200054781", "123456789", "356000000", "200071751"]
    got = pl.DataFrame({"s": values}).select(clean.luhn_ok(pl.col("s"), 9)).to_series().to_list()
    assert got == [identifiers.siren_valid(v) for v in values]


def test_zero_padding_and_formula_trick(empty_store):
    minimal_contract(empty_store, "CV-T", ("QN07511M",))
    csv = (
        "code_qp;libelle;code_contrat;insee_dep;insee_com;lib_com;communes;siren_epci\n"
        'QN00101M;Reyssouze;CV-T;1;="01053";Bourg;1053, 1004;20007175\n'
        "QN02A01M;Pifano;CV-T;2a;2A247;Porto-Vecchio;2A247;200040764\n"
    )
    a = _analyse(empty_store, csv)
    assert a.errors == 0, a.problems
    q = a.loads[0].frame.sort("code_qp")
    first = q.row(0, named=True)
    assert (first["insee_dep"], first["insee_com"], first["communes"], first["siren_epci"]) == (
        "01",
        "01053",
        "01053; 01004",
        "020007175",
    )
    assert q["insee_dep"][1] == "2A"


def test_xlsx_template_round_trip(empty_store):
    """The XLSX template (data sheet + Description sheet) is read back: one example contract, typed
    right, and refused as the template's example row (nobody means to import it)."""
    a = ingest.analyse(empty_store.cursor(), templates.template_xlsx("contrats"), "modele.xlsx")
    assert a.kind == "contrats" and a.encoding == "classeur Excel (.xlsx)"
    assert a.problems["problème"].to_list() == ["Ligne d'exemple du modèle"], a.problems
    row = a.loads[0].frame.row(0, named=True)
    assert row["date_debut"] == date(2024, 1, 1) and row["siren_signataire"] == "217500016"


def test_every_template_has_description_and_is_detected_as_itself():
    for kind in TEMPLATES:
        desc = templates.description_frame(kind.code)
        assert desc.height == len(kind.columns) and desc["signification"].str.len_chars().min() > 0
        headers = templates.example_frame(kind.code).columns
        assert ingest.detect_kind(headers) == kind.code, kind.code
    assert templates.template_csv("actions").startswith(b"\xef\xbb\xbfcode_action;")


# ---------------------------------------------------------------- validation report


def test_all_problems_reported_at_once_with_file_row_column(demo_store):
    con = store.connect(demo_store)
    csv = (
        "code_action;financeur;annee;montant_demande;montant_accorde;montant_verse\n"
        "A-CV-DEMO-BRE-2024-000001;CAF;2024;100;-5;0\n"  # row 2: negative
        "A-CV-DEMO-BRE-2024-000001;Mairie;2024;100;abc;0\n"  # row 3: non numeric (Mairie → commune)
        "A-NOPE;CAF;2040;100;10;20\n"
    )  # row 4: unknown action, year, versé > accordé
    a = _analyse(con, csv)
    got = {(r["ligne"], r["colonne"], r["problème"], r["gravité"]) for r in a.problems.iter_rows(named=True)}
    assert (2, "montant_accorde", "Montant négatif", "erreur") in got
    assert (3, "montant_accorde", "Valeur non numérique", "erreur") in got
    assert (4, "code_action", "Action inconnue dans la base", "erreur") in got
    assert (4, "annee", "Valeur trop grande", "erreur") in got
    assert (4, "montant_verse", "Montant versé supérieur au montant accordé", "avertissement") in got
    assert not a.ok and a.diff is None
    con.close()


# ---------------------------------------------------------------- diff, commit, idempotence, rollback


def _programmation(con, n=300, seed=1):
    return samples.to_csv(samples.programmation(n, contracts=DEMO_CONTRACTS, seed=seed))


def test_programmation_commit_idempotence_and_exact_rollback(demo_store):
    con = store.connect(demo_store)
    before = checksums(con)
    version = store.store_version(con.cursor())
    data = _programmation(con)
    a = _analyse(con, data, "prog.csv")
    assert a.kind == "programmation" and a.ok, a.problems
    counts = {r["table"]: r for r in a.diff.iter_rows(named=True)}
    assert counts["action"]["nouveaux"] == 300 and counts["financement"]["nouveaux"] == 300
    id1 = ingest.commit(con, a, user=LOCAL)
    cur = con.cursor()
    assert store.store_version(cur) == version + 1
    # independent check of what was written: the sum of accorded amounts equals the file's
    frame = samples.programmation(300, contracts=DEMO_CONTRACTS, seed=1)
    expected = round(frame["Montant engagé"].sum(), 2)
    got = store.scalar(cur, "SELECT sum(montant_accorde) FROM financement WHERE code_action LIKE 'D2025-%'")
    assert float(got) == pytest.approx(expected, abs=0.01)
    assert store.scalar(cur, "SELECT count(*) FROM action_quartier WHERE code_action LIKE 'D2025-%'") == (
        frame["Quartiers prioritaires"].str.split("; ").list.len().sum()
    )
    log = ingest.import_history(cur)
    assert log["n°"][0] == id1 and log["statut"][0] == "validé" and log["lignes"][0] == 300
    # re-import: nothing changes, not even the data version of the tables
    after_first = checksums(con)
    a2 = _analyse(con, data, "prog.csv")
    assert a2.diff["nouveaux"].sum() == 0 and a2.diff["modifiés"].sum() == 0
    ingest.commit(con, a2, user=LOCAL)
    after_second = checksums(con)
    assert {
        k: v
        for k, v in after_second.items()
        if k not in ("import_log", "import_annulation", "store_meta", "journal_ecriture", "_annulation_tables")
    } == {
        k: v
        for k, v in after_first.items()
        if k not in ("import_log", "import_annulation", "store_meta", "journal_ecriture", "_annulation_tables")
    }
    # rollback of the older import is refused while the newer one stands, then both roll back
    with pytest.raises(store.StoreError, match="plus récent"):
        ingest.rollback(con, id1, user=LOCAL)
    ingest.rollback(con, id1 + 1, user=LOCAL)
    ingest.rollback(con, id1, user=LOCAL)
    final = checksums(con)
    for table in before:  # the log, the version and the remembered header mapping are kept on purpose
        if table not in ("import_log", "import_annulation", "store_meta", "journal_ecriture", "import_correspondance"):
            assert final[table] == before[table], table
    with pytest.raises(store.StoreError, match="déjà été annulé"):
        ingest.rollback(con, id1, user=LOCAL)
    con.close()


def test_diff_on_known_changes_and_rollback_restores_old_values(demo_store):
    con = store.connect(demo_store)
    cur = con.cursor()
    old = cur.execute(
        "SELECT montant_accorde, montant_verse FROM financement WHERE code_action = "
        "'A-CV-DEMO-BRE-2024-000001' AND financeur = 'EPCI' AND annee = 2024"
    ).fetchall()[0]
    csv = (
        "code_action;financeur;annee;montant_accorde\n"
        "A-CV-DEMO-BRE-2024-000001;EPCI;2024;99 999,50\n"  # changed
        f"A-CV-DEMO-BRE-2024-000001;État P147;2024;{_current(cur)}\n"  # unchanged
        "A-CV-DEMO-BRE-2024-000001;CAF;2025;1000\n"
    )  # new
    a = _analyse(con, csv)
    assert a.ok, a.problems
    d = a.diff.row(0, named=True)
    assert (d["nouveaux"], d["modifiés"], d["inchangés"]) == (1, 1, 1)
    change = a.changes.filter(pl.col("état") == "modifié").row(0, named=True)
    assert change["colonne"] == "montant_accorde" and change["après"] == "99\u202f999,50"
    assert change["avant"] == fmt.number(float(old[0]), 2)  # French grouping, as everywhere
    assert change["clé"] == "A-CV-DEMO-BRE-2024-000001 / EPCI / 2024"
    i = ingest.commit(con, a, user=LOCAL)
    assert cur.execute(
        "SELECT montant_accorde, montant_verse FROM financement WHERE code_action = "
        "'A-CV-DEMO-BRE-2024-000001' AND financeur = 'EPCI' AND annee = 2024"
    ).fetchall()[0] == (Decimal("99999.50"), old[1])  # the column absent from the file is kept
    ingest.rollback(con, i, user=LOCAL)
    assert (
        cur.execute(
            "SELECT montant_accorde, montant_verse FROM financement WHERE code_action = "
            "'A-CV-DEMO-BRE-2024-000001' AND financeur = 'EPCI' AND annee = 2024"
        ).fetchall()[0]
        == old
    )
    assert (
        store.scalar(
            cur,
            "SELECT count(*) FROM financement WHERE financeur = 'CAF' AND annee = 2025 "
            "AND code_action = 'A-CV-DEMO-BRE-2024-000001'",
        )
        == 0
    )
    con.close()


def _current(cur) -> str:
    v = store.scalar(
        cur,
        "SELECT montant_accorde FROM financement WHERE code_action = 'A-CV-DEMO-BRE-2024-000001' "
        "AND financeur = 'État P147' AND annee = 2024",
    )
    return str(v).replace(".", ",")


def test_replace_scope_deletes_absent_rows_and_integrity_protects(demo_store):
    con = store.connect(demo_store)
    cur = con.cursor()
    n_before = store.scalar(cur, "SELECT count(*) FROM quartier WHERE code_contrat = 'CV-DEMO-MONT'")
    assert n_before == 2
    csv = "code_qp;libelle;code_contrat;insee_dep;insee_com;lib_com\nQN08081M;Centre;CV-DEMO-MONT;80;80001;Montval\n"
    a = _analyse(con, csv, replace_scope=True)
    assert a.diff.row(0, named=True)["absents du fichier"] == 1
    # the absent QPV still has actions and objectives: the cross-table rules refuse the deletion
    with pytest.raises(store.IntegrityError):
        ingest.commit(con, a, user=LOCAL, replace_scope=True)
    assert store.scalar(cur, "SELECT count(*) FROM quartier WHERE code_contrat = 'CV-DEMO-MONT'") == 2
    con.close()


def test_actions_template_replaces_qpv_links(demo_store):
    con = store.connect(demo_store)
    cur = con.cursor()
    code = store.scalar(
        cur, "SELECT code_action FROM action_quartier GROUP BY 1 HAVING count(*) >= 1 ORDER BY 1 LIMIT 1"
    )
    row = cur.sql("SELECT * FROM action WHERE code_action = $c", params={"c": code}).pl().row(0, named=True)
    qpv = store.scalar(
        cur, "SELECT code_qp FROM quartier WHERE code_contrat = $c ORDER BY 1 DESC LIMIT 1", {"c": row["code_contrat"]}
    )
    links_before = cur.execute(
        "SELECT code_qp FROM action_quartier WHERE code_action = $c ORDER BY 1", {"c": code}
    ).fetchall()
    csv = (
        "code_action;code_contrat;id_porteur;libelle;thematique;mode_financement;annee_debut;annee_fin;statut;quartiers\n"
        f"{code};{row['code_contrat']};{row['id_porteur']};{row['libelle']};{row['thematique']};{row['mode_financement']};"
        f"{row['annee_debut']};{row['annee_fin']};{row['statut']};{qpv}\n"
    )
    a = _analyse(con, csv)
    assert a.ok, a.problems
    i = ingest.commit(con, a, user=LOCAL)
    assert cur.execute("SELECT code_qp FROM action_quartier WHERE code_action = $c", {"c": code}).fetchall() == [(qpv,)]
    ingest.rollback(con, i, user=LOCAL)
    assert (
        cur.execute("SELECT code_qp FROM action_quartier WHERE code_action = $c ORDER BY 1", {"c": code}).fetchall()
        == links_before
    )
    con.close()


def test_header_mapping_is_remembered(demo_store):
    con = store.connect(demo_store)
    frame = samples.programmation(20, contracts=DEMO_CONTRACTS).rename({"Montant engagé": "Mnt. subv. CGET"})
    data = samples.to_csv(frame)
    a = _analyse(con, data, kind="programmation")
    assert "montant_accorde" in a.missing and not a.ok
    a = _analyse(con, data, kind="programmation", mapping={**a.mapping, "Mnt. subv. CGET": "montant_accorde"})
    assert a.ok, a.problems
    ingest.commit(con, a, user=LOCAL)
    again = _analyse(con, data)  # detected, and the remembered mapping is used without asking
    assert again.kind == "programmation" and again.mapping["Mnt. subv. CGET"] == "montant_accorde"
    assert again.ok and again.diff["modifiés"].sum() == 0
    con.close()


def test_secret_markers_are_stored_as_null_with_reason(demo_store):
    con = store.connect(demo_store)
    code = store.scalar(con.cursor(), "SELECT code_indicateur FROM indicateur ORDER BY 1 LIMIT 1")
    csv = (
        "code_indicateur;type_territoire;code_territoire;date_valeur;valeur\n"
        f"{code};QPV;QN00281M;01/01/2021;42,5\n{code};QPV;QN00282M;01/01/2021;s\n"
    )
    a = _analyse(con, csv)
    assert a.ok, a.problems
    ingest.commit(con, a, user=LOCAL)
    rows = con.execute(
        "SELECT code_territoire, valeur, secret, source_fichier FROM valeur_indicateur "
        "WHERE code_indicateur = $c AND date_valeur = DATE '2021-01-01' AND code_territoire IN "
        "('QN00281M', 'QN00282M') ORDER BY 1",
        {"c": code},
    ).fetchall()
    assert rows == [("QN00281M", 42.5, None, "f.csv"), ("QN00282M", None, "s", "f.csv")]
    con.close()


# ---------------------------------------------------------------- official QPV list (real data)


def official_list_bytes() -> bytes:
    """The official ANCT format rebuilt from the reference table: BOM, `;`, Excel-stripped
    zeros, multi-commune cells joined with "; ", trailing empty columns and a blank row."""
    ref = pl.read_csv(REFERENCE / "qpv2024_reference.csv", infer_schema=False)
    off = ref.select(
        "code_qp",
        "lib_qp",
        "insee_reg",
        "lib_reg",
        pl.col("insee_dep").str.replace("^0", ""),
        "lib_dep",
        pl.col("insee_com").str.split(";").list.eval(pl.element().str.replace("^0", "")).list.join("; "),
        pl.col("lib_com").str.replace_all(";", "; "),
        "siren_epci",
        "lib_epci",
        *[pl.lit(None, dtype=pl.String).alias(" " * i) for i in range(1, 4)],
    )
    buffer = io.BytesIO()
    off.write_csv(buffer, separator=";", include_bom=True)
    return buffer.getvalue() + b";;;;;;;;;;;;\n"


@pytest.mark.skipif(
    not (REFERENCE / "qpv2024_reference.csv").exists(),
    reason="../shared/reference absent : test sur données réelles ignoré",
)
def test_official_qpv_list_imports_all_1584_qpv(empty_store):
    ref = pl.read_csv(REFERENCE / "qpv2024_reference.csv", infer_schema=False)
    a = ingest.analyse(empty_store.cursor(), official_list_bytes(), "listeqp2024-cog2024.csv")
    assert a.kind == "liste_qpv"
    assert a.errors == 0, a.problems.head(10)
    ingest.commit(empty_store, a, user=LOCAL)
    cur = empty_store.cursor()
    assert store.scalar(cur, "SELECT count(*) FROM quartier") == ref.height == 1584
    got = cur.sql("SELECT code_qp, insee_dep, communes FROM quartier ORDER BY 1").pl()
    want = ref.select("code_qp", "insee_dep", pl.col("insee_com").str.replace_all(";", "; ").alias("communes")).sort(
        "code_qp"
    )
    assert got.equals(want)
    # every commune's name, in the order of the codes; the five names whose « œ » the list holds
    # as a control character (U+009C: Vandœuvre-lès-Nancy, Rœulx, Marcq- and Mons-en-Barœul,
    # Nœux-les-Mines) are restored with a warning each
    names = cur.sql("SELECT code_qp, lib_com FROM quartier ORDER BY 1").pl()
    assert names.equals(
        ref.select("code_qp", pl.col("lib_com").str.replace_all(";", "; ").str.replace_all("\x9c", "œ")).sort("code_qp")
    )
    restored = a.problems.filter(pl.col("problème") == "Caractère mal décodé (Windows-1252, par exemple « œ ») rétabli")
    assert restored.height == 5 and set(restored["colonne"]) == {"lib_com"}
    assert store.scalar(cur, "SELECT lib_com FROM quartier WHERE code_qp = 'QN05416M'") == "Nancy; Vandœuvre-lès-Nancy"
    assert (
        a.problems.filter(pl.col("gravité") == "avertissement")["problème"]
        .is_in(["Colonne non reconnue, ignorée", "Caractère mal décodé (Windows-1252, par exemple « œ ») rétabli"])
        .all()
    )
    # one contract per EPCI (or per commune where the QPV has no EPCI), inside the legal periods
    n_contracts = store.scalar(cur, "SELECT count(*) FROM contrat")
    first_epci = ref.select(pl.col("siren_epci").str.split(";").list.first())
    no_epci = (
        ref.filter(pl.col("siren_epci").is_null()).select(pl.col("insee_com").str.split(";").list.first()).n_unique()
    )
    assert n_contracts == first_epci.drop_nulls().n_unique() + no_epci
    assert (
        store.scalar(cur, "SELECT count(*) FROM contrat WHERE territoire = 'outre-mer' AND year(date_debut) <> 2025")
        == 0
    )
    assert store.integrity_errors(cur) == []
    again = ingest.analyse(cur, official_list_bytes(), "listeqp2024-cog2024.csv")
    assert again.diff.filter(pl.col("table") == "quartier")["inchangés"].item() == 1584


# ---------------------------------------------------------------- command line


def _cli(*args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "cdv_core", "import", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def test_cli_dry_run_commit_and_usage(demo_store, tmp_path):
    path = tmp_path / "prog.csv"
    path.write_bytes(samples.to_csv(samples.programmation(50, contracts=DEMO_CONTRACTS)))
    out = _cli(str(path), "--dry-run", "--store", str(demo_store))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Simulation (--dry-run)" in out.stdout and "action : 50 nouvelles, 0 modifiée, 0 inchangée" in out.stdout
    out = _cli(str(path), "--store", str(demo_store))
    assert out.returncode == 0 and "validé" in out.stdout
    assert _cli(str(tmp_path / "absent.csv"), "--store", str(demo_store)).returncode == 2
    assert _cli(str(path), "--kind", "inconnu", "--store", str(demo_store)).returncode == 2


def test_cli_on_a_store_held_by_another_process(demo_store, backend, tmp_path):
    """A file has one writer process: the command is refused in French. A DuckLake is shared:
    the command imports while this process holds it, and this process sees the import."""
    path = tmp_path / "prog.csv"
    path.write_bytes(samples.to_csv(samples.programmation(5, contracts=DEMO_CONTRACTS)))
    holder = store.connect(demo_store)  # this test process holds the store read-write
    try:
        before = store.store_version(holder.cursor())
        out = _cli(str(path), "--store", str(demo_store))
        after = store.store_version(holder.cursor())
    finally:
        holder.close()
    assert "Traceback" not in out.stderr
    if backend == "fichier":
        assert out.returncode == 1
        assert "déjà ouvert par un autre programme" in out.stderr
        assert after == before
    else:
        assert out.returncode == 0, out.stdout + out.stderr
        assert "validé" in out.stdout
        assert after > before


def test_crash_during_commit_leaves_store_as_it_was(demo_store, tmp_path):
    con = store.connect(demo_store)
    before = checksums(con)
    con.close()
    path = tmp_path / "prog.csv"
    path.write_bytes(samples.to_csv(samples.programmation(150_000, contracts=DEMO_CONTRACTS)))
    proc = subprocess.Popen(
        [sys.executable, "-m", "cdv_core", "import", str(path), "--store", str(demo_store)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    killed_while_writing = False
    for line in proc.stdout:  # wait for the commit to start, then kill the process hard
        if "Écriture en cours" in line:
            time.sleep(0.3)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                killed_while_writing = True
            break
    proc.wait(timeout=120)
    assert killed_while_writing, "the commit finished before the kill: make the file bigger"
    con = store.connect(demo_store)
    assert checksums(con) == before
    assert store.integrity_errors(con.cursor()) == []
    con.close()


def test_every_kind_has_a_french_label():
    assert all(k.label and k.label[0].isupper() for k in KINDS.values())


# ---------------------------------------------------------------- QPV contours (GeoJSON)


def _feature_collection(features: list[tuple[str, list]]) -> bytes:
    import json

    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"code_qp": code, "lib_qp": "x"},
                    "geometry": {"type": "MultiPolygon", "coordinates": rings},
                }
                for code, rings in features
            ],
        }
    ).encode()


def test_contours_geojson_fill_known_qpv_and_warn_for_others(demo_store):
    con = store.connect(demo_store)
    square = [[[[2.0, 49.0], [2.01, 49.0], [2.01, 49.01], [2.0, 49.0]]]]
    data = _feature_collection([("QN00281M", square), ("QN99999M", square)])
    a = ingest.analyse(con.cursor(), data, "qpv.geojson")
    assert a.kind == "contours_qpv" and a.ok, a.problems
    assert a.warnings == 1 and "absents de la base" in a.problems["problème"][0]
    i = ingest.commit(con, a, user=LOCAL)
    import json

    got = store.scalar(con.cursor(), "SELECT contour FROM quartier WHERE code_qp = 'QN00281M'")
    assert json.loads(got)["coordinates"] == square
    ingest.rollback(con, i, user=LOCAL)
    assert store.scalar(con.cursor(), "SELECT contour FROM quartier WHERE code_qp = 'QN00281M'") != got
    con.close()


@pytest.mark.skipif(
    not all((REFERENCE / f).exists() for f in ("qpv2024_contours.json.gz", "qpv2024_reference.csv")),
    reason="../shared/reference absent : test sur données réelles ignoré",
)
def test_real_contours_for_all_1584_qpv(empty_store):
    import gzip
    import json

    ingest.commit(empty_store, ingest.analyse(empty_store.cursor(), official_list_bytes(), "liste.csv"), user=LOCAL)
    with gzip.open(REFERENCE / "qpv2024_contours.json.gz") as contours:
        ref = json.load(contours)
    data = _feature_collection([(q["code"], q["g"]) for q in ref["qpvs"]])
    a = ingest.analyse(empty_store.cursor(), data, "qpv2024.geojson")
    assert a.ok and a.warnings == 0, a.problems.head()
    ingest.commit(empty_store, a, user=LOCAL)
    assert store.scalar(empty_store.cursor(), "SELECT count(contour) FROM quartier") == 1584


# ---------------------------------------------------------------- INSEE wide files


def test_insee_wide_file_with_remembered_variable_mapping(demo_store):
    con = store.connect(demo_store)
    cur = con.cursor()
    codes = [r[0] for r in cur.execute("SELECT code_indicateur FROM indicateur ORDER BY 1 LIMIT 2").fetchall()]
    text = f"CODGEO;{codes[0]};P21_XYZ\nQN00281M;45,2;12\nQN00282M;s;nd\n80001;30,1;5\n"
    a = ingest.analyse(cur, text.encode(), "insee.csv", date_valeur=date(2022, 7, 14))
    assert a.kind == "insee" and a.ok, a.problems
    assert a.unmapped == ["P21_XYZ"] and a.warnings == 1  # same-name variable mapped, the other ignored
    a = ingest.analyse(
        cur,
        text.encode(),
        "insee.csv",
        date_valeur=date(2022, 7, 14),
        mapping={codes[0]: codes[0], "P21_XYZ": codes[1]},
    )
    assert a.ok and a.diff["nouveaux"].item() == 6
    ingest.commit(con, a, user=LOCAL)
    rows = cur.execute(
        "SELECT code_indicateur, type_territoire, code_territoire, valeur, secret FROM valeur_indicateur "
        "WHERE source_fichier = 'insee.csv' ORDER BY 1, 3"
    ).fetchall()
    assert rows == sorted(
        [
            (codes[0], "QPV", "QN00281M", 45.2, None),
            (codes[0], "QPV", "QN00282M", None, "s"),
            (codes[0], "commune", "80001", 30.1, None),
            (codes[1], "QPV", "QN00281M", 12.0, None),
            (codes[1], "QPV", "QN00282M", None, "nd"),
            (codes[1], "commune", "80001", 5.0, None),
        ],
        key=lambda r: (r[0], r[2]),
    )
    again = ingest.analyse(cur, text.encode(), "insee.csv", date_valeur=date(2022, 7, 14))
    assert again.mapping["P21_XYZ"] == codes[1] and again.diff["inchangés"].item() == 6  # remembered
    missing_date = ingest.analyse(cur, text.encode(), "insee.csv")
    assert "Date des valeurs non indiquée" in missing_date.problems["problème"].to_list()
    con.close()


def test_sql_identifiers_must_be_plain_names():
    """Import SQL is assembled from catalogue names only; a name that could carry SQL is refused."""
    import pytest

    from cdv_core import store

    store.check_identifier("action", "montant_accorde")
    with pytest.raises(store.StoreError, match="refusé"):
        store.check_identifier("action; DROP TABLE contrat")


def test_statements_take_checked_names_and_composed_text_only():
    """`store.sql` puts names into a statement, never values: a qualified name, a list of names
    and text it composed itself go in; anything that is not a plain name is refused."""
    import pytest

    from cdv_core import store

    keys = store.matching(["code_action", "annee"], "action", "s")
    assert keys == "action.code_action = s.code_action AND action.annee = s.annee"
    inner = store.sql("SELECT {cols} FROM {t}", cols=["a", "b"], t="annulation.i3_1_action_avant")
    assert store.sql("DELETE FROM {t} USING ({rows}) s WHERE {on}", t="action", rows=inner, on=keys) == (
        "DELETE FROM action USING (SELECT a, b FROM annulation.i3_1_action_avant) s "
        "WHERE action.code_action = s.code_action AND action.annee = s.annee"
    )
    assert store.assignments(["libelle"], "s") == "libelle = s.libelle"
    for hostile in ("x' OR '1'='1", "action; DROP TABLE contrat", "a.b c", ""):
        with pytest.raises(store.StoreError, match="refusé"):
            store.sql("SELECT * FROM {t}", t=hostile)
    with pytest.raises(store.StoreError, match="refusé"):
        store.sql("SELECT {cols} FROM action", cols=["code_action", "1; --"])
    with pytest.raises(store.StoreError, match="refusé"):  # plain text is not composed text
        store.sql("SELECT * FROM ({rows})", rows="SELECT 1")
    cast = store.sql("CAST({c} AS {t})", c="montant_accorde", t=store.sql_type("DECIMAL(14,2)"))
    assert cast == "CAST(montant_accorde AS DECIMAL(14,2))"
    assert store.sql_type("TIMESTAMP WITH TIME ZONE") == "TIMESTAMP WITH TIME ZONE"
    for hostile in ("VARCHAR) AS x FROM contrat --", "DECIMAL(14,2); DROP TABLE contrat", "varchar", ""):
        with pytest.raises(store.StoreError, match="Type de colonne refusé"):
            store.sql_type(hostile)


def test_bulk_rows_carry_their_import_and_roll_back_without_key_copies(demo_store):
    """Migration 0005: rows an import inserts into the bulk tables carry its number (no copy of
    their keys in `annulation`); the smaller tables keep their key copies."""
    con = store.connect(demo_store)
    cur = con.cursor()
    before = checksums(con)
    id1 = ingest.commit(con, _analyse(con, _programmation(con, n=50)), user=LOCAL)
    assert cur.execute("SELECT count(*) FROM action WHERE id_import = $i", {"i": id1}).fetchall() == [(50,)]
    assert cur.execute("SELECT count(*) FROM financement WHERE id_import = $i", {"i": id1}).fetchall() == [(50,)]
    assert (
        cur.execute("SELECT count(*) FROM action WHERE id_import IS NULL").fetchall()
        == cur.execute("SELECT count(*) FROM action WHERE code_action NOT LIKE 'D2025-%'").fetchall()
    )
    snapshots = {
        r[0]
        for r in cur.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'annulation'"
        ).fetchall()
    }
    assert f"i{id1}_0_porteur_nouveaux" in snapshots  # the write's order is in the name
    assert not [
        n for n in snapshots for t in ("action", "financement", "action_quartier") if n.endswith(f"_{t}_nouveaux")
    ]
    done = ingest.rollback(con, id1, user=LOCAL)
    assert done["action"]["lignes retirées"] == 50
    after = checksums(con)
    for table in before:
        if table not in ("import_log", "import_annulation", "store_meta", "journal_ecriture", "import_correspondance"):
            assert after[table] == before[table], table
    con.close()


def test_an_import_made_before_migration_0005_still_rolls_back(tmp_path, monkeypatch):
    """An import committed by a store at 0004 kept the keys of its new rows in `annulation`; once
    the store is upgraded, its rollback uses them."""
    path = tmp_path / "v4.duckdb"
    shipped = store.migrations
    monkeypatch.setattr(store, "migrations", lambda: [m for m in shipped() if m[0] <= 4])
    con = duckdb.connect(str(path))
    store.migrate(con)
    minimal_contract(con, "CV-DEMO-VERM", ("QN00281M", "QN00282M"))
    before = checksums(con)
    # migration 0016 adds (empty) contact columns to porteur: compared on the columns it had
    porteur_columns = [
        r[0]
        for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = 'porteur' ORDER BY column_index"
        ).fetchall()
    ]
    porteur_sql = (
        "SELECT count(*), coalesce(sum(hash(x)), 0) FROM (SELECT " + ", ".join(porteur_columns) + " FROM porteur) x"
    )
    before["porteur"] = con.execute(porteur_sql).fetchall()[0]
    data = samples.to_csv(samples.programmation(20, contracts={"CV-DEMO-VERM": ["QN00281M", "QN00282M"]}))
    id1 = ingest.commit(con, _analyse(con, data), user=LOCAL)
    assert (
        store.scalar(
            con,
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'annulation' AND table_name = $t",
            {"t": f"i{id1}_10_action_nouveaux"},
        )
        == 1
    )
    # as the versions before the log of writes left it: rollback tables named without the order,
    # orders 0, 1, 2…
    for (name,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'annulation'"
    ).fetchall():
        renamed = name.replace(f"i{id1}_", "", 1).split("_", 1)[1].join([f"i{id1}_", ""])
        con.execute(f"ALTER TABLE annulation.{name} RENAME TO {renamed}")
    con.execute("UPDATE import_annulation SET ordre = ordre // 10")
    assert (
        store.scalar(
            con,
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'annulation' AND table_name = $t",
            {"t": f"i{id1}_action_nouveaux"},
        )
        == 1
    )
    con.close()
    monkeypatch.undo()
    con = store.connect(path)  # upgraded to the latest schema
    assert store.scalar(con, "SELECT count(*) FROM action WHERE id_import IS NOT NULL") == 0
    # writes before the log of writes (0006) are unknown: the rollback is refused, nothing written
    with pytest.raises(store.StoreError, match="avant que la base ne tienne le journal de ses écritures"):
        ingest.rollback(con, id1, user=LOCAL)
    con.execute("DELETE FROM journal_ecriture WHERE horodatage IS NULL")  # as if known: nothing was edited
    assert ingest.rollback(con, id1, user=LOCAL)["action"]["lignes retirées"] == 20
    after = checksums(con)
    after["porteur"] = con.execute(porteur_sql).fetchall()[0]
    for table in before:
        if table in after and table not in (
            "import_log",
            "import_annulation",
            "store_meta",
            "journal_ecriture",
            "import_correspondance",
            "schema_migration",
            "_annulation_tables",
        ):
            assert after[table] == before[table], table
    con.close()
