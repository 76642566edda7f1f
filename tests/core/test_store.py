"""Store: migrations, version, integrity checks and French errors on unusable files."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from datetime import date

import duckdb
import pytest

from cdv_core import demo, store
from tests.conftest import ROOT, insert, minimal_contract

_SHIPPED_MIGRATIONS = store.migrations


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_new_store_is_at_latest_schema(empty_store):
    cur = empty_store.cursor()
    assert store.schema_version(cur) == store.latest_schema_version()
    assert {"contrat", "quartier", "action", "financement", "reunion", "jalon", "import_log"} <= set(
        store.table_names(cur)
    )


def test_old_store_is_upgraded_and_keeps_its_data(tmp_path, monkeypatch):
    path = tmp_path / "old.duckdb"
    first = store.migrations()[:1]
    monkeypatch.setattr(store, "migrations", lambda: first)
    con = duckdb.connect(str(path))
    store.migrate(con)
    minimal_contract(con)
    con.close()
    monkeypatch.undo()
    extra = (999, "CREATE TABLE essai_migration (x INTEGER); INSERT INTO essai_migration VALUES (42);")
    monkeypatch.setattr(store, "migrations", lambda: [*_SHIPPED_MIGRATIONS(), extra])
    con = store.connect(path)
    cur = con.cursor()
    assert store.schema_version(cur) == 999
    assert cur.execute("SELECT x FROM essai_migration").fetchall() == [(42,)]
    assert cur.execute("SELECT code_contrat FROM contrat").fetchall() == [("CV-T",)]
    con.close()


def test_a_migration_numbered_below_the_store_is_still_applied(tmp_path, monkeypatch):
    """A store that got 0001 and 0004 (0002 and 0003 added later to the code) gets them on open."""
    path = tmp_path / "gap.duckdb"
    shipped = _SHIPPED_MIGRATIONS()
    first, last = shipped[0], (4, "CREATE TABLE essai_quatre (x INTEGER);")
    monkeypatch.setattr(store, "migrations", lambda: [first, last])
    con = duckdb.connect(str(path))
    store.migrate(con)
    con.close()
    two = (2, "CREATE TABLE essai_deux (x INTEGER);")
    monkeypatch.setattr(store, "migrations", lambda: [first, two, last])
    con = store.connect(path)
    cur = con.cursor()
    assert store.applied_migrations(cur) == {first[0], 2, 4}
    assert "essai_deux" in store.table_names(cur)
    assert store.schema_version(cur) == 4
    con.close()


def test_store_without_migration_ledger_counts_every_lower_migration(demo_store):
    con = duckdb.connect(str(demo_store))
    con.execute("DROP TABLE schema_migration")  # as written before the ledger existed
    con.close()
    con = store.connect(demo_store)
    assert store.applied_migrations(con.cursor()) == {n for n, _ in _SHIPPED_MIGRATIONS()}
    con.close()


def test_store_from_a_newer_version_is_refused_untouched(tmp_path):
    path = tmp_path / "newer.duckdb"
    con = duckdb.connect(str(path))
    store.migrate(con)
    con.execute("UPDATE store_meta SET valeur = '9999' WHERE cle = 'schema_version'")
    con.close()
    before = _sha(path)
    with pytest.raises(store.StoreError, match="plus récent"):
        store.connect(path)
    assert _sha(path) == before


def test_corrupt_file_gives_french_error_and_is_kept(tmp_path):
    path = tmp_path / "corrupt.duckdb"
    path.write_bytes(b"ceci n'est pas une base DuckDB" * 200)
    before = _sha(path)
    with pytest.raises(store.StoreError, match="endommagé"):
        store.connect(path)
    assert path.exists() and _sha(path) == before


def test_store_held_by_another_process_is_explained(tmp_path):
    path = tmp_path / "held.duckdb"
    con = duckdb.connect(str(path))
    store.migrate(con)
    con.close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import duckdb, sys, time
            con = duckdb.connect({str(path)!r})
            print("pret", flush=True)
            time.sleep(60)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "pret"
        with pytest.raises(store.StoreError, match="déjà ouvert par un autre programme"):
            store.connect(path)
        cli = subprocess.run(
            [sys.executable, "-m", "cdv_core", "info", "--store", str(path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert cli.returncode == 1
        assert "déjà ouvert par un autre programme" in cli.stderr
        assert "Traceback" not in cli.stderr
    finally:
        holder.kill()
        holder.wait()


def test_missing_file_is_not_created_by_connect(tmp_path):
    with pytest.raises(store.StoreError, match="introuvable"):
        store.connect(tmp_path / "absent.duckdb")
    assert not (tmp_path / "absent.duckdb").exists()


def test_open_or_create_builds_the_demo_once(tmp_path):
    path = tmp_path / "sub" / "cdv.duckdb"
    con, created = demo.open_or_create(path)
    assert created
    assert store.meta(con.cursor(), "demo") == "demo"
    con.close()
    con, created = demo.open_or_create(path)
    assert not created
    con.close()
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".cdv-demo")] == []


def test_every_committed_write_bumps_the_version(empty_store):
    cur = empty_store.cursor()
    v0 = store.store_version(cur)
    with store.transaction(empty_store) as tx:
        minimal_contract(tx)
    assert store.store_version(cur) == v0 + 1


def test_rule_violation_rolls_back_everything(empty_store):
    with store.transaction(empty_store) as tx:
        minimal_contract(tx)
        insert(
            tx,
            "instance",
            [
                {
                    "code_instance": "I1",
                    "code_contrat": "CV-T",
                    "type_instance": "COPIL",
                    "libelle": "COPIL",
                    "cadence_mois": 12,
                }
            ],
        )
    cur = empty_store.cursor()
    version = store.store_version(cur)
    with pytest.raises(store.IntegrityError, match="hors de la période du contrat"):
        with store.transaction(empty_store) as tx:
            insert(
                tx,
                "reunion",
                [{"id_reunion": "R1", "code_instance": "I1", "date_reunion": date(2031, 2, 1), "statut": "tenue"}],
            )
    assert cur.execute("SELECT count(*) FROM reunion").fetchall() == [(0,)]
    assert store.store_version(cur) == version


@pytest.mark.parametrize(
    "table,row,fragment",
    [
        (
            "financement",
            {"code_action": "A1", "financeur": "CAF", "annee": 2024, "montant_accorde": -5},
            "montant_accorde",
        ),
        (
            "quartier",
            {
                "code_qp": "QP075001",
                "libelle": "x",
                "code_contrat": "CV-T",
                "insee_dep": "75",
                "insee_com": "75118",
                "lib_com": "Paris",
            },
            "code_qp",
        ),
        (
            "reunion",
            {
                "id_reunion": "R",
                "code_instance": "I",
                "date_reunion": date(2025, 1, 1),
                "statut": "tenue",
                "nb_participants": 3,
                "nb_habitants": 5,
            },
            "nb_habitants",
        ),
    ],
)
def test_domain_constraints_are_enforced(empty_store, table, row, fragment):
    with pytest.raises(duckdb.ConstraintException, match=fragment):
        insert(empty_store, table, [row])


_ACTION = {
    "code_action": "A1",
    "code_contrat": "CV-T",
    "id_porteur": "P-CV-T",
    "libelle": "Atelier",
    "thematique": "1.1",
    "mode_financement": "AAP",
    "annee_debut": 2024,
    "annee_fin": 2024,
    "statut": "accordée",
}


@pytest.mark.parametrize(
    "table,rows,fragment",
    [
        ("action", [_ACTION, {**_ACTION, "libelle": "Autre"}], "action A1 : code présent plusieurs fois"),
        (
            "financement",
            [{"code_action": "A1", "financeur": "CAF", "annee": 2024, "montant_accorde": 5}] * 2,
            "financement A1 CAF 2024 : présent plusieurs fois",
        ),
        (
            "action_quartier",
            [{"code_action": "A1", "code_qp": "QN07511M"}] * 2,
            "A1 / QN07511M : présent plusieurs fois",
        ),
        (
            "valeur_indicateur",
            [
                {
                    "code_indicateur": "I1",
                    "type_territoire": "QPV",
                    "code_territoire": "QN07511M",
                    "date_valeur": date(2024, 1, 1),
                    "valeur": 1.0,
                }
            ]
            * 2,
            "valeur I1 QN07511M du 01/01/2024",
        ),
    ],
)
def test_keys_without_an_index_are_still_unique(empty_store, table, rows, fragment):
    """Migration 0005 removed the PRIMARY KEY index of the bulk tables: a duplicate key is refused
    by the rules checked before COMMIT, and nothing is written."""
    with store.transaction(empty_store) as tx:
        minimal_contract(tx)
        insert(tx, "action", [_ACTION])
        insert(tx, "indicateur", [{"code_indicateur": "I1", "libelle": "x", "unite": "%", "sens": "hausse"}])
    cur = empty_store.cursor()
    before = cur.execute(f"SELECT count(*) FROM {table}").fetchall()
    existing = 1 if table == "action" else 0
    with pytest.raises(store.IntegrityError, match=fragment):
        with store.transaction(empty_store, written={table}) as tx:
            insert(tx, table, rows[existing:])
    assert cur.execute(f"SELECT count(*) FROM {table}").fetchall() == before
    assert "PRIMARY KEY" not in store.scalar(cur, "SELECT sql FROM duckdb_tables() WHERE table_name = $t", {"t": table})


def test_written_tables_select_the_rules_checked(empty_store):
    """With `written`, only the rules naming one of those tables run: a broken rule elsewhere is
    not re-checked, a broken rule on a written table still refuses the commit."""
    with store.transaction(empty_store, check=False) as tx:  # a broken store: a QPV of an unknown contract
        insert(
            tx,
            "quartier",
            [
                {
                    "code_qp": "QN07599M",
                    "libelle": "x",
                    "code_contrat": "CV-INCONNU",
                    "insee_dep": "75",
                    "insee_com": "75118",
                    "lib_com": "Paris",
                }
            ],
        )
    assert store.integrity_errors(empty_store.cursor(), written={"jalon"}) == []
    assert any("CV-INCONNU" in p for p in store.integrity_errors(empty_store.cursor(), written={"quartier"}))
    assert any("CV-INCONNU" in p for p in store.integrity_errors(empty_store.cursor()))
    with pytest.raises(store.IntegrityError, match="porteur P-X inconnu"):
        with store.transaction(empty_store, written={"action"}) as tx:
            insert(tx, "action", [{**_ACTION, "code_contrat": "CV-INCONNU", "id_porteur": "P-X"}])


def _tables_read(node) -> set[str]:
    """The base tables in DuckDB's parse tree of a query (json_serialize_sql)."""
    if isinstance(node, dict):
        found = {node["table_name"]} if node.get("type") == "BASE_TABLE" else set()
        return found.union(*(_tables_read(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_tables_read(v) for v in node))
    return set()


def test_every_table_a_rule_reads_selects_it(empty_store):
    """`written` selects the rules by the words of their SQL: every table a rule reads (as DuckDB
    parses it) must be among them, so a write to it always re-checks the rule."""
    import json

    tables = set(store.table_names(empty_store.cursor()))
    for rule in store._INTEGRITY_RULES:
        tree = json.loads(store.scalar(empty_store, "SELECT json_serialize_sql($q)", {"q": rule}))
        assert not tree["error"], rule
        read = _tables_read(tree["statements"])
        assert read and read <= tables, rule
        assert read <= store.rule_tables(rule), rule


def test_migration_0005_keeps_every_row_and_check(tmp_path, monkeypatch):
    """A store at 0004 (bulk tables with a PRIMARY KEY) is rebuilt by 0005 with the same rows,
    columns (plus `id_import`) and CHECK constraints."""
    path = tmp_path / "v4.duckdb"
    monkeypatch.setattr(store, "migrations", lambda: [m for m in _SHIPPED_MIGRATIONS() if m[0] <= 4])
    con = duckdb.connect(str(path))
    store.migrate(con)
    minimal_contract(con)
    insert(con, "action", [_ACTION, {**_ACTION, "code_action": "A2"}])
    insert(con, "financement", [{"code_action": "A1", "financeur": "CAF", "annee": 2024, "montant_accorde": 5}])
    insert(con, "action_quartier", [{"code_action": "A1", "code_qp": "QN07511M", "part": 0.5}])
    columns = {
        t: con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $t "
            "ORDER BY ordinal_position",
            {"t": t},
        ).fetchall()
        for t in ("action", "financement", "action_quartier", "valeur_indicateur")
    }
    rows = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in columns}
    con.close()
    # up to 0005 only: later migrations add columns of their own (0012: a rate's parts)
    monkeypatch.setattr(store, "migrations", lambda: [m for m in _SHIPPED_MIGRATIONS() if m[0] <= 5])
    con = store.connect(path)
    cur = con.cursor()
    assert 5 in store.applied_migrations(cur)
    for t in columns:  # the same columns, plus the import that inserted each row (none here)
        assert cur.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $t "
            "ORDER BY ordinal_position",
            {"t": t},
        ).fetchall() == [*columns[t], ("id_import", "INTEGER")]
        assert cur.execute(f"SELECT * EXCLUDE (id_import) FROM {t} ORDER BY ALL").fetchall() == rows[t]
        assert cur.execute(f"SELECT count(*) FROM {t} WHERE id_import IS NOT NULL").fetchall() == [(0,)]
    with pytest.raises(duckdb.ConstraintException, match="montant_accorde"):
        insert(cur, "financement", [{"code_action": "A2", "financeur": "CAF", "annee": 2024, "montant_accorde": -1}])
    with pytest.raises(duckdb.ConstraintException, match="NOT NULL"):
        insert(cur, "action_quartier", [{"code_action": "A2", "code_qp": None}])
    con.close()


@pytest.mark.parametrize(
    "table,rows,fragment",
    [
        (
            "financement",
            [{"code_action": "A-INCONNUE", "financeur": "CAF", "annee": 2024, "montant_accorde": 5}],
            "financement A-INCONNUE CAF 2024 : action inconnue",
        ),
        (
            "financement",
            [{"code_action": "A1", "financeur": "CAF", "annee": 2031, "montant_accorde": 5}],
            "financement A1 CAF 2031 : année hors de la période du contrat",
        ),
        (
            "action_quartier",
            [
                {"code_action": "A1", "code_qp": "QN07511M", "part": 0.7},
                {"code_action": "A1", "code_qp": "QN07512M", "part": 0.4},
            ],
            "action A1 : la somme des parts",
        ),
        (
            "action_quartier",
            [{"code_action": "A1", "code_qp": "QN07599M", "part": None}],
            "A1 / QN07599M : action ou quartier inconnu",
        ),
    ],
)
def test_rules_of_funding_lines_and_links(empty_store, table, rows, fragment):
    with store.transaction(empty_store) as tx:
        minimal_contract(tx, qpv=("QN07511M", "QN07512M"))
        insert(tx, "action", [_ACTION])
    with pytest.raises(store.IntegrityError, match=fragment):
        with store.transaction(empty_store, written={table}) as tx:
            insert(tx, table, rows)
    with store.transaction(empty_store, written={table}) as tx:  # the same table, sound rows: accepted
        insert(
            tx,
            table,
            [
                {**rows[0], "code_action": "A1", "annee": 2030}
                if table == "financement"
                else {"code_action": "A1", "code_qp": "QN07511M", "part": 0.7}
            ],
        )


def test_action_objective_links_need_both_ends(empty_store):
    with store.transaction(empty_store) as tx:
        minimal_contract(tx)
        insert(tx, "action", [_ACTION])
        insert(
            tx,
            "objectif",
            [
                {
                    "code_objectif": "O1",
                    "code_contrat": "CV-T",
                    "code_qp": "QN07511M",
                    "axe": "emploi",
                    "libelle": "Objectif",
                }
            ],
        )
    for row, fragment in (
        ({"code_action": "A-X", "code_objectif": "O1"}, "A-X / O1 : action ou objectif inconnu"),
        ({"code_action": "A1", "code_objectif": "O-X"}, "A1 / O-X : action ou objectif inconnu"),
    ):
        with pytest.raises(store.IntegrityError, match=fragment):
            with store.transaction(empty_store, written={"action_objectif"}) as tx:
                insert(tx, "action_objectif", [row])
    with store.transaction(empty_store, written={"action_objectif"}) as tx:
        insert(tx, "action_objectif", [{"code_action": "A1", "code_objectif": "O1"}])


def test_decision_links_need_their_decision_and_action(empty_store):
    """A decision's link to an action cannot outlive either (e.g. an import rolled back)."""
    with store.transaction(empty_store) as tx:
        minimal_contract(tx)
        insert(tx, "action", [_ACTION])
        insert(
            tx,
            "instance",
            [
                {
                    "code_instance": "I1",
                    "code_contrat": "CV-T",
                    "type_instance": "COPIL",
                    "libelle": "COPIL",
                    "cadence_mois": 12,
                }
            ],
        )
        insert(
            tx,
            "reunion",
            [{"id_reunion": "R1", "code_instance": "I1", "date_reunion": date(2025, 3, 1), "statut": "tenue"}],
        )
        insert(tx, "decision", [{"id_decision": "D1", "id_reunion": "R1", "libelle": "Décision", "statut": "à faire"}])
        insert(tx, "decision_action", [{"id_decision": "D1", "code_action": "A1"}])
    with pytest.raises(store.IntegrityError, match="lien décision-action D1 / A1 : décision ou action inconnue"):
        with store.transaction(empty_store, written={"action"}) as tx:
            tx.execute("DELETE FROM action WHERE code_action = 'A1'")
    with pytest.raises(store.IntegrityError, match="D-X / A1 : décision ou action inconnue"):
        with store.transaction(empty_store) as tx:
            insert(tx, "decision_action", [{"id_decision": "D-X", "code_action": "A1"}])


def test_one_dialect_for_both_backends():
    """DuckLake has no key, unique, check or sequence: the code never relies on them (no ON
    CONFLICT, INSERT OR REPLACE/IGNORE, nextval), and migrations after 0006 declare none."""
    import re

    pattern = re.compile(r"ON\s+CONFLICT|INSERT\s+OR\s+(REPLACE|IGNORE)|nextval\s*\(", re.IGNORECASE)
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "cdv_core").rglob("*.py")
        if pattern.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []
    later = [(n, sql) for n, sql in store.migrations() if n > 6]
    forbidden = re.compile(r"PRIMARY\s+KEY|UNIQUE|CHECK\s*\(|SEQUENCE|nextval|ON\s+CONFLICT", re.IGNORECASE)
    assert [n for n, sql in later if forbidden.search(re.sub(r"--[^\n]*", "", sql))] == []


def test_a_file_written_by_duckdb_2_is_explained_and_left_untouched(tmp_path):
    """A store of the previous versions (DuckDB 2.0, storage version 999) that 1.5.5 cannot read.
    The fixture is an empty DuckDB 2.0.0 file, gzipped (650 bytes)."""
    import gzip

    path = tmp_path / "ancien.duckdb"
    path.write_bytes(gzip.decompress((ROOT / "tests" / "fixtures" / "fichier_duckdb2.duckdb.gz").read_bytes()))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(store.StoreError, match=r"écrit par DuckDB 2.0.*Convertissez-le une fois"):
        store.connect(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_a_damaged_file_is_not_called_locked(tmp_path):
    """« block » is not « lock »: a checksum error names a damaged file."""
    path = tmp_path / "abime.duckdb"
    duckdb.connect(str(path)).execute("CREATE TABLE t (a INTEGER)").close()
    data = bytearray(path.read_bytes())
    data[12:20] = (999).to_bytes(8, "little")  # breaks the header block's checksum
    path.write_bytes(bytes(data))
    with pytest.raises(store.StoreError, match="semble endommagé") as info:
        store.connect(path)
    assert not isinstance(info.value, store.StoreLocked)
