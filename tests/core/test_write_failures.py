"""A write that the disk, the file system or the database refuses: one French message naming the
cause and what to do (never a traceback, never a server path), the store unchanged, and the next
write working normally — in the core, on the import page and on the command line.

Real failures, not only simulated ones: a process whose file size is capped (`RLIMIT_FSIZE`,
SIGXFSZ ignored) gets `EFBIG` from the kernel exactly as a full disk gives `ENOSPC`, and DuckDB
fails the COMMIT's checkpoint with a FATAL error that invalidates the database until it is
opened again; the shared store's PostgreSQL connections are killed during COMMIT.
"""

from __future__ import annotations

import errno
import importlib
import os
import resource
import signal
import subprocess
import sys
from contextlib import contextmanager

import duckdb
import pytest

from cdv_core import ingest, store, store_ops
from cdv_core.access import local_user
from cdv_core.ingest import samples
from tests.conftest import ROOT, new_lake, run_app

commit_mod = importlib.import_module("cdv_core.ingest.commit")  # the package exports its function `commit`
LOCAL = local_user("test")
CONTRACTS = {"CV-DEMO-VERM": ["QN00281M", "QN00282M"], "CV-DEMO-BRE": ["QN06081M"], "CV-DEMO-MONT": ["QN08081M"]}
# Large enough that DuckDB writes it straight into the store file and checkpoints at COMMIT
# (≈ 9 MB of new data), so a file capped 200 kB above its size fails the COMMIT itself.
BIG_ROWS = 50_000
HEADROOM = 200_000


def _digest(target) -> dict:
    con = store.connect(target)
    try:
        return store_ops.digest(con.cursor())
    finally:
        con.close()


def _file(rows: int, seed: int = 1) -> bytes:
    return samples.to_csv(samples.programmation(rows, contracts=CONTRACTS, seed=seed))


def _no_leak(text: str, *paths) -> None:
    """A message for users: no traceback, no English engine error, no server path."""
    assert "Traceback" not in text
    assert "Error:" not in text and "Exception" not in text
    for path in paths:
        assert str(path) not in text
    assert "/tmp" not in text and str(ROOT) not in text


@contextmanager
def _file_size_cap(limit: int):
    """This process may not write a file beyond `limit` bytes (EFBIG instead of SIGXFSZ)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


# --- the translation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "cause", "words"),
    [
        (
            OSError(errno.ENOSPC, "No space left on device", "/srv/cdv/cdv.duckdb"),
            "disque_plein",
            "disque du serveur est plein",
        ),
        (
            duckdb.IOException('IO Error: Could not write file "/srv/cdv/cdv.duckdb.wal": No space left on device'),
            "disque_plein",
            "Libérez de la place",
        ),
        (OSError(errno.EFBIG, "File too large"), "fichier_trop_gros", "taille maximale"),
        (OSError(errno.EACCES, "Permission denied", "/srv/cdv"), "permission", "droit d'écrire"),
        (PermissionError(errno.EPERM, "Operation not permitted"), "permission", "rétablir ses droits"),
        (OSError(errno.EROFS, "Read-only file system"), "lecture_seule", "lecture seule"),
        (
            duckdb.InvalidInputException(
                'Cannot execute statement of type "UPDATE" on database "cdv" which is attached in read-only mode!'
            ),
            "lecture_seule",
            "lecture seule",
        ),
        (duckdb.IOException('Could not write file "/srv/x": Input/output error'), "disque", "entrée-sortie"),
        (duckdb.IOException("server closed the connection unexpectedly"), "connexion", "ne répond plus"),
        (
            duckdb.ConstraintException('Duplicate key "id: 1" violates primary key constraint'),
            "regle",
            "refusé ces données",
        ),
        (duckdb.InternalException("INTERNAL Error: something odd in /srv/cdv/x.cpp"), "autre", "journal du serveur"),
    ],
)
def test_every_failure_is_one_french_message_with_what_to_do(exc, cause, words, capsys):
    error = store.write_error(exc)
    assert isinstance(error, store.WriteFailed) and error.cause == cause
    message = str(error)
    assert words in message and "rien n'a été enregistré" in message
    _no_leak(message, "/srv/cdv")
    assert "Traceback" not in capsys.readouterr().err  # the detail is logged on one line, for the administrator


def test_a_store_error_stays_itself_and_a_conflict_is_a_write_conflict():
    refused = store.IntegrityError(["action X : code présent plusieurs fois"])
    assert store.write_error(refused) is refused
    assert isinstance(
        store.write_error(duckdb.TransactionException("Transaction conflict: cannot update")), store.WriteConflict
    )


def test_a_store_on_a_read_only_disk_is_not_called_damaged(demo_store, monkeypatch):
    def read_only(*args, **kwargs):
        raise duckdb.IOException(f'IO Error: Cannot open file "{demo_store}": Read-only file system')

    monkeypatch.setattr(store.duckdb, "connect", read_only)
    with pytest.raises(store.StoreError, match="ne peut pas être ouvert en écriture") as caught:
        store.connect(demo_store)
    assert "endommagé" not in str(caught.value) and "Read-only" not in str(caught.value)


# --- the file store, in the core ---------------------------------------------------------------


def test_a_full_disk_inside_the_commit_writes_nothing_and_the_next_import_works(demo_store, monkeypatch):
    before = _digest(demo_store)
    con = store.connect(demo_store)
    analysis = ingest.analyse(con.cursor(), _file(30), "programmation.csv")
    assert analysis.ok
    real = commit_mod._write

    def disk_full(cur, load, *args):
        real(cur, load, *args)
        raise OSError(errno.ENOSPC, "No space left on device", str(demo_store))

    monkeypatch.setattr(commit_mod, "_write", disk_full)
    with pytest.raises(store.WriteFailed, match="Le disque du serveur est plein") as caught:
        ingest.commit(con, analysis, user=LOCAL)
    _no_leak(str(caught.value), demo_store)
    monkeypatch.setattr(commit_mod, "_write", real)
    assert store.usable(con)  # the transaction was rolled back: the same connection writes again
    assert ingest.commit(con, analysis, user=LOCAL) == 1
    con.close()
    assert _digest(demo_store) != before


def test_a_log_file_that_cannot_grow_fails_the_commit_and_the_same_connection_writes_after(demo_store):
    """A small import goes to DuckDB's write-ahead log: capped at 100 kB, the COMMIT fails
    (not fatally). Each attempt says the same French thing — never « no transaction is active »."""
    before = _digest(demo_store)
    con = store.connect(demo_store)
    analysis = ingest.analyse(con.cursor(), _file(3000), "programmation.csv")
    with _file_size_cap(100_000):
        for _ in range(2):
            with pytest.raises(store.WriteFailed, match="taille maximale"):
                ingest.commit(con, analysis, user=LOCAL)
    assert store.usable(con)
    assert store_ops.digest(con.cursor()) == before
    assert ingest.commit(con, analysis, user=LOCAL) == 1
    con.close()


def test_a_fatal_commit_keeps_the_store_and_a_reopened_connection_writes(demo_store):
    """The kernel refuses the checkpoint of the COMMIT (file size capped): DuckDB invalidates the
    database. The message is French; the store is unchanged; once reopened, the import works."""
    before = _digest(demo_store)
    con = store.connect(demo_store)
    analysis = ingest.analyse(con.cursor(), _file(BIG_ROWS), "programmation.csv")
    with _file_size_cap(os.path.getsize(demo_store) + HEADROOM):
        with pytest.raises(store.WriteFailed, match="taille maximale") as caught:
            ingest.commit(con, analysis, user=LOCAL)
    _no_leak(str(caught.value), demo_store)
    assert not store.usable(con)  # invalidated: its owner closes and reopens it (ui.write does)
    with pytest.raises(store.WriteFailed, match="taille maximale"):  # never « no transaction is active »
        ingest.commit(con, analysis, user=LOCAL)
    con.close()
    assert _digest(demo_store) == before
    con = store.connect(demo_store)
    assert ingest.commit(con, analysis, user=LOCAL) == 1
    con.close()


# --- the command line --------------------------------------------------------------------------


def _capped(limit: int):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    return apply


def test_command_line_import_on_a_capped_file_is_french_exit_1_and_the_next_one_works(demo_store, tmp_path):
    path = tmp_path / "programmation.csv"
    path.write_bytes(_file(BIG_ROWS))
    before = _digest(demo_store)
    env = {**os.environ, "CDV_AUTH": "aucune"}
    command = [sys.executable, "-m", "cdv_core", "import", str(path), "--store", str(demo_store)]
    done = subprocess.run(
        command,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_capped(os.path.getsize(demo_store) + HEADROOM),
    )
    assert done.returncode == 1, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith(
        "Le fichier de la base a atteint la taille maximale permise sur ce serveur : rien n'a été enregistré"
    ), done.stdout
    _no_leak(done.stdout, demo_store, tmp_path)
    assert "Traceback" not in done.stderr
    assert "Écriture refusée (fichier_trop_gros)" in done.stderr  # the detail, for the administrator
    assert _digest(demo_store) == before
    small = tmp_path / "petit.csv"
    small.write_bytes(_file(20, seed=2))
    again = subprocess.run(
        [*command[:4], str(small), *command[5:]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Import n° 1 validé." in again.stdout


def test_command_line_other_write_commands_say_a_failure_in_french(demo_store, monkeypatch, capsys):
    from cdv_core import access
    from cdv_core.__main__ import main

    monkeypatch.setenv("CDV_AUTH", "aucune")

    def read_only(*args, **kwargs):
        raise duckdb.InvalidInputException(
            'Cannot execute statement of type "INSERT" on database "cdv" which is attached in read-only mode!'
        )

    monkeypatch.setattr(access, "add_user", read_only)
    code = main(
        ["utilisateurs", "ajouter", "--email", "a@b.fr", "--role", "administrateur", "--store", str(demo_store)]
    )
    out = capsys.readouterr()
    assert code == 1
    assert "La base est en lecture seule" in out.err
    _no_leak(out.out + out.err.split("Écriture refusée (")[0], demo_store)


# --- the page ----------------------------------------------------------------------------------


def test_import_page_says_the_failure_in_french_and_the_next_import_works(app_env):
    """ui.write: the failed import is one French box (no traceback), the invalidated connection
    is reopened, and the same import then goes through."""
    before = _digest(app_env)
    at = run_app("mise_a_jour", timeout=120)
    at.file_uploader[0].set_value(("programmation.csv", _file(BIG_ROWS), "text/csv"))
    at.run()
    assert not at.exception
    with _file_size_cap(os.path.getsize(app_env) + HEADROOM):
        at.button(key="maj_valider").click().run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("Le fichier de la base a atteint la taille maximale"), errors
    _no_leak(errors[0], app_env)
    assert _digest(app_env) == before
    at.button(key="maj_valider").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert any("Import n° 1 validé" in s.value for s in at.success)


# --- the shared store (DuckLake) ---------------------------------------------------------------


def test_lake_connection_lost_during_commit_is_french_and_the_next_import_works(
    postgres, lake_data, lake_masters, monkeypatch
):
    lake = new_lake(postgres, lake_data, template=lake_masters["demo"])
    dbname = lake.split("dbname=")[1].split()[0]
    before = _digest(lake)
    con = store.connect(lake)
    analysis = ingest.analyse(con.cursor(), _file(30), "programmation.csv")
    real = store._log_write

    def connection_killed(cur, *args):  # the last statement before COMMIT, then the catalog's sessions die
        real(cur, *args)
        postgres.sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{dbname}' AND pid <> pg_backend_pid()"
        )

    monkeypatch.setattr(store, "_log_write", connection_killed)
    with pytest.raises(store.WriteFailed) as caught:
        ingest.commit(con, analysis, user=LOCAL)
    assert caught.value.cause == "connexion", caught.value.__cause__
    assert str(caught.value).startswith("La base partagée ne répond plus")
    _no_leak(str(caught.value))
    monkeypatch.setattr(store, "_log_write", real)
    assert _digest(lake) == before
    assert ingest.commit(con, analysis, user=LOCAL) == 1  # the same connection: DuckDB reconnects
    con.close()


def test_a_read_failure_is_said_in_french_without_its_detail(app_env, monkeypatch, caplog):
    """A store that stops answering while a page reads it (PostgreSQL of a shared store stopped,
    a file gone): one French box, the engine's words and the server's paths in its log only."""
    import duckdb

    from cdv_core.ui import context
    from tests.conftest import run_app

    def unreachable(*args, **kwargs):
        raise duckdb.IOException('IO Error: Cannot open file "/srv/cdv/secret/cdv.duckdb": No such file')

    monkeypatch.setattr(context, "_cached_call", unreachable)
    at = run_app("financements")
    assert not at.exception
    boxes = [e.value for e in at.error]
    assert boxes == [
        "La base ne répond pas : rechargez la page dans un moment ; si le problème persiste, prévenez "
        "l'administrateur (le détail technique est dans le journal du serveur)."
    ]
    assert "/srv/cdv/secret" in caplog.text
