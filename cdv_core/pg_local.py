"""A throwaway PostgreSQL cluster on a loopback port, for tests, benchmarks and the local
deployment example (`deploy/`): initdb in a folder, start, create databases, stop.

It uses the Debian `postgresql` package's binaries. As root the server runs as the `postgres`
user (PostgreSQL refuses to run as root); otherwise as the current user.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from cdv_core import store


class PostgresMissing(RuntimeError):
    """PostgreSQL's server binaries are not installed (Debian package `postgresql`)."""


def binaries() -> Path:
    """The folder of initdb / pg_ctl (the newest installed major version)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(os.path.realpath(on_path)).parent
    raise PostgresMissing("PostgreSQL n'est pas installé : apt-get install -y postgresql")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    folder: Path
    port: int

    def conninfo(self, dbname: str) -> str:
        return f"dbname={dbname} host=127.0.0.1 port={self.port} user=postgres"

    def lake_url(self, dbname: str) -> str:
        return f"{store.LAKE_PREFIX}postgres:{self.conninfo(dbname)}"

    def sql(self, statement: str, dbname: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.conninfo(dbname), autocommit=True) as con:
            con.execute(statement)

    def create_database(self, name: str, *, template: str | None = None) -> None:
        statement = "CREATE DATABASE {name}" + (" TEMPLATE {source}" if template else "")
        self.sql(store.sql(statement, name=name, **({"source": template} if template else {})))

    def stop(self) -> None:
        _run([str(binaries() / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "stop"], check=False)


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _run(cmd: list[str], *, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(_as_server_user(cmd), capture_output=True, text=True, check=check)


def start(folder: Path | str, *, port: int | None = None, durable: bool = False) -> Cluster:
    """initdb (trust authentication, loopback only) in `folder` and start the server; `durable`
    False (tests, benchmarks) turns fsync off."""
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        folder.chmod(0o755)
        for parent in folder.parents:  # the server user must reach its folder
            if parent.stat().st_mode & 0o001 == 0 and parent != Path("/"):
                parent.chmod(parent.stat().st_mode | 0o001)
    port = port or free_port()
    bin_dir = binaries()
    data = folder / "data"
    if not data.exists():
        _run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"])
    _run(
        [
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(folder / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
            + ("" if durable else " -c fsync=off"),
            "start",
        ]
    )
    cluster = Cluster(folder, port)
    deadline = time.monotonic() + 30
    while True:
        try:
            cluster.sql("SELECT 1")
            return cluster
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
