"""The read cache on disk: what a page's query returned, kept in files that outlive the process
and that every instance of the app on this machine shares.

The pages' reads are cached in memory on the store version (`cdv_core.ui.context.cached`); a
process that starts, or a second instance on a shared store, would otherwise compute every read
again — at national scale several seconds of CPU per page for the first visitors, on the same
cores as everyone else. Here each result is also written to a file, filed under

    <folder>/<store>/<code>/<token>/<read>.pkl

where `<store>` is a digest of the store's path or URL, `<code>` a digest of this application's
source and of the libraries that shape a result (a new version of the code never reads an older
one's results), `<token>` the data version's token (`store_meta.version_token`, migration 0017:
a random uuid drawn anew by every write that moves the store version, so never the same for
other data, even for a store rebuilt at the same place or put back from a backup then written
again) and `<read>` a digest of the query's name and arguments (the périmètre's digest among
them). A result is therefore only ever read back for the same data and the same code.

Files are written whole then renamed (a reader sees a complete file or none); a file that cannot
be read counts as absent. When a process first files a result under a new token, the other
tokens' folders of the same store left for `STALE_SECONDS` are removed (another instance may
still be serving the previous version for a moment), and other code's folders left for a day.
The folder must belong to the user running the app and be closed to others (it holds figures,
and pickle files run code when read): otherwise the cache stays in memory only, with a warning
in the log. `CDV_CACHE_DISQUE` sets the folder, or `non`.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import pickle
import shutil
import stat
import sys
import tempfile
import time
import uuid
from contextlib import suppress
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

_log = logging.getLogger(__name__)
PACKAGE = Path(__file__).resolve().parent
MAX_FILES_PER_TOKEN = 200_000  # beyond, results stay in memory only (a bound on the folder; `precalcul` of
# the national store's 400 contracts files ≈ 26 000, ≈ 200 Mo; each account view limited to one contract
# adds ≈ 130: 400 such accounts ≈ 52 000 more)
STALE_SECONDS = 300  # other tokens' folders of a store untouched for this long are removed
STALE_CODE_SECONDS = 24 * 3600  # other code's folders untouched for this long are removed
MISSING = object()  # what `Shelf.get` returns for a result not on disk


@functools.cache
def code_digest() -> str:
    """A digest of every source file of `cdv_core` and of the versions of Python, Polars and
    DuckDB: the results of another version of the code are never read."""
    digest = hashlib.sha256(f"{sys.version}|{pl.__version__}|{duckdb.__version__}".encode())
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix in (".py", ".sql") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(PACKAGE)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


class Shelf:
    """The results of one store (path or URL) for this code, on disk, by data version token."""

    def __init__(self, root: Path, store_path: str) -> None:
        self.store = root / hashlib.sha256(store_path.encode()).hexdigest()[:16]
        self.folder = self.store / code_digest()
        self._pruned: set[str] = set()
        self._counts: dict[str, int] = {}  # files per token folder: counted once, then as this process adds
        self._full: set[str] = set()  # token folders found at the bound (said once in the log)

    def _file(self, token: str, key: tuple) -> Path:
        """The file of `key` under `token`, a uuid (ValueError otherwise: it names a folder)."""
        folder = str(uuid.UUID(token))
        return self.folder / folder / (hashlib.sha256(repr(key).encode()).hexdigest() + ".pkl")

    def get(self, token: str, key: tuple) -> Any:
        """The result filed for `key` under `token`, or `MISSING`."""
        try:
            with open(self._file(token, key), "rb") as f:
                return pickle.load(f)
        except (FileNotFoundError, ValueError):
            return MISSING
        except Exception as exc:  # a damaged or unreadable file: computed again (and rewritten)
            _log.warning("Read cache: unreadable file for %s (%s)", key[0], exc)
            return MISSING

    def put(self, token: str, key: tuple, value: Any) -> None:
        """File `value` for `key` under `token` (best effort: a full disk only loses the file)."""
        try:
            target = self._file(token, key)
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if target.parent.name not in self._pruned:
                self._prune(target.parent.name)
            if (count := self._counts.get(target.parent.name)) is None:
                count = sum(1 for _ in os.scandir(target.parent))
            if count >= MAX_FILES_PER_TOKEN:
                if target.parent.name not in self._full:
                    self._full.add(target.parent.name)
                    _log.warning(
                        "Read cache: %s holds %d results, the bound: later ones stay in memory", target.parent, count
                    )
                return
            self._counts[target.parent.name] = count + 1
            fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(tmp, target)
            except BaseException:
                with suppress(OSError):
                    os.unlink(tmp)
                raise
        except (OSError, ValueError, pickle.PicklingError) as exc:
            _log.warning("Read cache: %s not written (%s)", key[0], exc)

    def _prune(self, token: str) -> None:
        """Remove this store's other tokens' folders and other code's folders left long enough."""
        self._pruned.add(token)
        now = time.time()
        for parent, keep, age in (
            (self.folder, token, STALE_SECONDS),
            (self.store, self.folder.name, STALE_CODE_SECONDS),
        ):
            for other in parent.iterdir():
                with suppress(OSError):  # removed by another instance meanwhile
                    if other.name != keep and now - other.stat().st_mtime > age:
                        shutil.rmtree(other, ignore_errors=True)


def default_folder() -> Path:
    """`$XDG_CACHE_HOME/cdv-pilotage`, else `~/.cache/cdv-pilotage`."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cdv-pilotage"


@functools.lru_cache(maxsize=64)
def shelf(folder: str, store_path: str) -> Shelf | None:
    """The shelf of a store in `folder` ('' for `default_folder()`), or None when the folder
    cannot be made private to this user (said once in the log)."""
    root = Path(folder) if folder else default_folder()
    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        info = root.stat()
    except OSError as exc:
        _log.warning("Read cache on disk off: %s cannot be created (%s)", root, exc)
        return None
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        _log.warning("Read cache on disk off: %s must belong to this user and be closed to others (chmod 700)", root)
        return None
    return Shelf(root, store_path)
