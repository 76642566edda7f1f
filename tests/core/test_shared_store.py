"""The shared store: several processes on one DuckLake (imports at once, a form write during an
import, kill -9, the migration lock), conflicts said in French, and copies between backends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date

import psycopg
import pytest

from cdv_core import store, store_ops
from cdv_core.access import local_user
from cdv_core.edits import jalons as jalon_edits
from cdv_core.ingest import samples
from tests.conftest import ROOT, new_lake

LOCAL = local_user("test")  # CDV_AUTH=aucune: may do everything

DEMO_CONTRACTS = {"CV-DEMO-VERM": ["QN00281M", "QN00282M"], "CV-DEMO-BRE": ["QN06081M"], "CV-DEMO-MONT": ["QN08081M"]}


@pytest.fixture
def lake(request, postgres, lake_data):
    """A private DuckLake holding the demo territory."""
    return new_lake(postgres, lake_data, template=request.getfixturevalue("lake_masters")["demo"])


def _programmation(tmp_path, name: str, *, n: int, year: int) -> str:
    path = tmp_path / name
    path.write_bytes(samples.to_csv(samples.programmation(n, contracts=DEMO_CONTRACTS, year=year)))
    return str(path)


def _import(path: str, target: str) -> subprocess.Popen:
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "cdv_core", "import", path, "--store", target],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _count(target: str, sql: str):
    con = store.connect(target)
    try:
        return store.scalar(con.cursor(), sql)
    finally:
        con.close()


def _digest(target: str) -> dict:
    con = store.connect(target)
    try:
        return store_ops.digest(con.cursor())
    finally:
        con.close()


def test_two_commands_import_different_files_at_once(lake, tmp_path):
    before = _count(lake, "SELECT count(*) FROM action")
    files = [_programmation(tmp_path, f"prog{y}.csv", n=40, year=y) for y in (2025, 2026)]
    procs = [_import(f, lake) for f in files]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert _count(lake, "SELECT count(*) FROM action") == before + 80
    assert _count(lake, "SELECT count(DISTINCT id_import) FROM import_log WHERE statut = 'validé'") == 2
    con = store.connect(lake)
    try:
        assert store.integrity_errors(con.cursor()) == []
    finally:
        con.close()


def test_the_same_file_twice_at_once_is_written_once(lake, tmp_path):
    before = _count(lake, "SELECT count(*) FROM action")
    path = _programmation(tmp_path, "prog.csv", n=40, year=2026)
    procs = [_import(path, lake) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all("Traceback" not in err for _, err in outs), outs
    assert sorted(p.returncode for p in procs) in ([0, 0], [0, 1]), outs
    for proc, (out, err) in zip(procs, outs):
        if proc.returncode == 1:  # refused: a conflict, said in French
            assert "Quelqu'un a modifié ces données" in out + err
    assert _count(lake, "SELECT count(*) FROM action") == before + 40  # once, never twice
    assert _count(lake, "SELECT count(*) FROM (SELECT code_action FROM action GROUP BY 1 HAVING count(*) > 1)") == 0


def test_a_form_write_during_an_import_from_another_process(lake, tmp_path):
    path = _programmation(tmp_path, "prog.csv", n=3000, year=2026)
    before = _count(lake, "SELECT count(*) FROM action")
    proc = _import(path, lake)
    con = store.connect(lake)  # « the app »: another process's import runs meanwhile
    try:
        ids = [
            jalon_edits.add_milestone(
                con,
                code_contrat="CV-DEMO-VERM",
                type_jalon="autre",
                libelle=f"Réunion publique {i}",
                date_prevue=date(2026, 6, 1 + i),
                today=date(2026, 5, 1),
                user=LOCAL,
            )
            for i in range(5)
        ]
    finally:
        con.close()
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out + err
    assert _count(lake, "SELECT count(*) FROM action") == before + 3000
    assert _count(lake, f"SELECT count(*) FROM jalon WHERE id_jalon IN ({', '.join(repr(i) for i in ids)})") == 5


def test_kill_9_during_an_import_leaves_the_lake_as_it_was(lake, tmp_path):
    path = _programmation(tmp_path, "prog.csv", n=20_000, year=2026)
    before = _digest(lake)
    proc = _import(path, lake)
    line = ""
    deadline = time.monotonic() + 120
    while "Écriture en cours" not in line and time.monotonic() < deadline:
        line = proc.stdout.readline()
    assert "Écriture en cours" in line
    time.sleep(0.3)  # inside the write
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert _digest(lake) == before


@pytest.mark.both_backends
def test_a_conflict_is_rolled_back_whole_said_in_french_then_retried(demo_store):
    con = store.connect(demo_store)
    try:

        def add(tx, id_jalon):
            tx.execute(
                "INSERT INTO jalon VALUES ($i, 'CV-DEMO-VERM', 'autre', 'Essai', DATE '2026-06-01', NULL, 2026)",
                {"i": id_jalon},
            )

        with pytest.raises(store.WriteConflict, match="Quelqu'un a modifié ces données pendant votre saisie"):
            with store.transaction(con, written={"jalon"}) as tx:
                add(tx, "J-A")
                with store.transaction(con, written={"jalon"}) as other:  # another session commits first
                    add(other, "J-B")
        cur = con.cursor()
        assert store.scalar(cur, "SELECT list(id_jalon ORDER BY id_jalon) FROM jalon WHERE id_jalon LIKE 'J-_'") == [
            "J-B"
        ]

        attempts = []

        @store.retry_on_conflict
        def write():
            with store.transaction(con, written={"jalon"}) as tx:
                add(tx, f"J-C{len(attempts)}")
                if not attempts:
                    attempts.append(1)
                    with store.transaction(con, written={"jalon"}) as other:
                        add(other, "J-D")
            return len(attempts)

        assert write() == 1
        # the first attempt (J-C0) left nothing; the second one (J-C1) committed after J-D
        assert store.scalar(
            cur, "SELECT list(id_jalon ORDER BY id_jalon) FROM jalon WHERE id_jalon IN ('J-C0', 'J-C1', 'J-D')"
        ) == ["J-C1", "J-D"]
    finally:
        con.close()


def _waiting_for_lock(postgres) -> bool:
    with psycopg.connect(postgres.conninfo("postgres"), autocommit=True) as con:
        return (
            con.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").fetchall()[0][0]
            > 0
        )


def test_a_second_instance_waits_for_the_migration_and_says_so(postgres, lake_data):
    target = new_lake(postgres, lake_data)
    store.connect(target).close()  # a new catalog: created with its schema
    con = store.connect(target)
    try:  # as an instance of the previous version left it: one migration short
        cur = con.cursor()
        cur.execute("DROP TABLE journal_ecriture")
        cur.execute("DELETE FROM schema_migration WHERE numero = 6")
        cur.execute("UPDATE store_meta SET valeur = '5' WHERE cle = 'schema_version'")
    finally:
        con.close()
    lock = psycopg.connect(store.lake_conninfo(target), autocommit=True)
    try:
        lock.execute("SELECT pg_advisory_lock(%s)", [store._MIGRATION_LOCK_KEY])  # « another instance migrates »
        waiting = subprocess.Popen(
            [sys.executable, "-m", "cdv_core", "info", "--store", target],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _waiting_for_lock(postgres):
            time.sleep(0.2)
        assert _waiting_for_lock(postgres) and waiting.poll() is None  # it waits…
    finally:
        lock.close()  # … until the lock is released
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, out + err
    assert "Mise à jour du schéma de la base partagée en cours par une autre instance" in err
    assert _count(target, "SELECT list(numero ORDER BY numero) FROM schema_migration") == [
        n for n, _ in store.migrations()
    ]


def test_an_instance_older_than_the_shared_schema_refuses_to_start(lake):
    con = store.connect(lake)
    try:
        con.cursor().execute("INSERT INTO schema_migration VALUES (999, now())")
    finally:
        con.close()
    con = store.open_store(lake)
    try:
        before = store.scalar(con.cursor(), "SELECT count(*) FROM schema_migration")
    finally:
        con.close()
    with pytest.raises(store.StoreError, match="plus récent que celui que connaît cette version de l'application"):
        store.connect(lake)
    out = subprocess.run(
        [sys.executable, "-m", "cdv_core", "info", "--store", lake], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 1 and "Mettez à jour l'application" in out.stderr
    con = store.open_store(lake)  # without migrating
    try:
        assert store.scalar(con.cursor(), "SELECT count(*) FROM schema_migration") == before
    finally:
        con.close()


def test_a_new_lake_needs_its_data_folder(postgres, monkeypatch):
    monkeypatch.delenv("CDV_DATA_PATH", raising=False)
    name = "lake_sans_dossier"
    postgres.create_database(name)
    with pytest.raises(
        store.StoreError, match="indiquez le dossier de ses fichiers de données avec la variable CDV_DATA_PATH"
    ):
        store.connect(postgres.lake_url(name))


def test_an_unreachable_catalog_is_said_in_french_without_its_password():
    url = "ducklake:postgres:dbname=x host=127.0.0.1 port=1 user=postgres password=s3cret connect_timeout=2"
    with pytest.raises(store.StoreError, match="injoignable") as info:
        store.connect(url)
    assert "s3cret" not in str(info.value)


def test_copy_file_to_lake_and_back_keeps_every_table(demo_store_master, postgres, lake_data, tmp_path):
    target = new_lake(postgres, lake_data)
    out = subprocess.run(
        [sys.executable, "-m", "cdv_core", "copier", "--de", str(demo_store_master), "--vers", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "empreinte de chaque table identique" in out.stdout
    back = tmp_path / "retour.duckdb"
    store_ops.copy_store(target, back)
    assert _digest(str(back)) == _digest(target)
    con = store.connect(demo_store_master, read_only=True)
    try:
        original = store_ops.digest(con.cursor())
    finally:
        con.close()
    assert _digest(target) == original
    again = subprocess.run(
        [sys.executable, "-m", "cdv_core", "copier", "--de", str(demo_store_master), "--vers", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert again.returncode == 1 and "contient déjà des données" in again.stderr
    assert _digest(target) == original


def test_a_lake_keeps_the_files_rules_as_checked_rules(lake):
    """DuckLake has no PRIMARY KEY, UNIQUE or CHECK: the same writes are refused by rules."""
    con = store.connect(lake)
    try:
        for sql in (
            "INSERT INTO contrat SELECT * FROM contrat LIMIT 1",  # a key twice
            "UPDATE financement SET montant_accorde = -1 WHERE rowid IN (SELECT min(rowid) FROM financement)",
            "UPDATE quartier SET code_qp = 'QX' WHERE code_qp = 'QN06081M'",
        ):
            before = _digest(lake)
            with pytest.raises(store.IntegrityError):
                with store.transaction(con) as tx:
                    tx.execute(sql)
            assert _digest(lake) == before
    finally:
        con.close()


def test_maintenance_keeps_every_row_and_a_rollback_still_works(demo_store_master, postgres, tmp_path, monkeypatch):
    from cdv_core import ingest

    # its own data folder: the session's other lakes share theirs, whose files it would expire
    monkeypatch.setenv("CDV_DATA_PATH", str(tmp_path / "donnees"))
    name = "lake_maintenance"
    postgres.create_database(name)
    lake = postgres.lake_url(name)
    store_ops.copy_store(demo_store_master, lake)
    con = store.connect(lake)
    try:
        path = _programmation(tmp_path, "prog.csv", n=30, year=2026)
        before = store_ops.digest(con.cursor())
        with open(path, "rb") as f:
            analysis = ingest.analyse(con.cursor(), f.read(), "prog.csv")
        id_import = ingest.commit(con, analysis, user=LOCAL)
    finally:
        con.close()
    after_import = _digest(lake)
    out = subprocess.run(
        [sys.executable, "-m", "cdv_core", "maintenance", "--store", lake, "--garder-jours", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "expirée" in out.stdout
    assert _digest(lake) == after_import
    con = store.connect(lake)
    try:
        ingest.rollback(con, id_import, user=LOCAL)
        restored = store_ops.digest(con.cursor())
    finally:
        con.close()
    for table in ("main.action", "main.financement", "main.action_quartier", "main.porteur"):
        assert restored[table] == before[table], table


def test_instances_starting_together_on_a_new_catalog_create_it_once(postgres, lake_data):
    name = "lake_ensemble"
    postgres.create_database(name)
    target = postgres.lake_url(name)
    env = os.environ | {"CDV_DATA_PATH": str(lake_data / "ensemble")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "cdv_core", "info", "--store", target],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outs
    assert _count(target, "SELECT list(numero ORDER BY numero) FROM schema_migration") == [
        n for n, _ in store.migrations()
    ]


def test_a_uri_password_never_shows():
    assert "s3cret" not in store.describe("ducklake:postgres:postgresql://cdv:s3cret@db.example/cdv")
    assert "s3cret" not in store.describe("ducklake:postgres:dbname=cdv password=s3cret host=h")
