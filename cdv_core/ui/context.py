"""Every page starts with `bootstrap()`: page config, store, sidebar context, URL query string.

`bootstrap()` is idempotent and self-sufficient, so a page opened by deep link on a fresh server
(Streamlit then runs the page file without `app.py`) gets the same config, store and sidebar.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import inspect
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date

import duckdb
import streamlit as st

from cdv_core import access, demo, fmt, links, memo, read_cache, store
from cdv_core import settings as settings_mod
from cdv_core.edits import historique
from cdv_core.queries import territoire
from cdv_core.ui import francais, identity, nav, runs, warm
from cdv_core.ui.widgets import base_style

ALL_CONTRACTS = "__tous__"
# The app's own icon, as a data URL: given the file, Streamlit reads it, converts it and files it
# with its media again at every run (≈ 1 % of the server's interpreter time under load).
FAVICON = "data:image/png;base64," + base64.b64encode(
    (settings_mod.PROJECT_ROOT / "static" / "favicon.png").read_bytes()
).decode("ascii")
_CTX_CONTRAT = "ctx_contrat"  # non-widget keys: they survive page changes
_CTX_AU = "ctx_donnees_au"
_FLASH = "ui_flash"  # the success message of the last write, shown after its rerun
_FLASH_WARNINGS = "ui_flash_avertissements"  # and its warnings (e.g. control characters removed from a text)
# One write at a time per process, to keep a session's write from racing another's in the same
# process; what makes writes safe, across processes too, is the store's transaction (see store.py).
_write_lock = threading.Lock()
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Context:
    store_path: str
    version: int
    contrat: str | None  # None: « Tous les contrats »
    contrat_libelle: str
    donnees_au: date
    demo: str | None
    settings: settings_mod.Settings
    user: access.User
    version_token: str | None = None  # the version's token (migration 0017): the read cache on disk's key

    @property
    def perimetre(self) -> tuple[str, ...] | None:
        """The contracts this session may read (None: all); every cached query is filtered by it."""
        return self.user.perimetre

    def can_write(self, contrat: str | None = None) -> bool:
        """Whether to offer writing for `contrat` (default: the selected one; « Tous les contrats »:
        any in scope). The core checks again inside each write."""
        return self.user.can(access.WRITE, contrat or self.contrat)


@st.cache_resource(show_spinner="Ouverture des données…")
def _open(store_path: str) -> tuple[duckdb.DuckDBPyConnection, bool]:
    con, created = demo.open_or_create(store_path)
    if created:
        _CREATED_AT[store_path] = time.monotonic()
    return con, created


_CREATED_AT: dict[str, float] = {}  # when this process created a store (the demo): said for a few minutes
_JUST_CREATED_S = 600


def connection(store_path: str) -> duckdb.DuckDBPyConnection:
    return _open(store_path)[0]


def _reopen_if_broken(store_path: str) -> None:
    """After a failed write: when the process's connection no longer answers (a fatal error,
    e.g. a checkpoint that found the disk full, invalidates a DuckDB database until it is opened
    again), close it and forget it, so that the next read or write opens the store anew."""
    try:
        con = connection(store_path)
    except store.StoreError:
        return  # not open: the next bootstrap says why
    if store.usable(con):
        return
    with suppress(duckdb.Error):
        con.close()
    _open.clear(store_path)


@st.cache_data(show_spinner=False, max_entries=1024)
def _cached_call(
    name: str,
    store_path: str,
    version: int,
    kwargs: tuple,
    scope: str | None,
    _fn,
    _perimetre=None,
    _slow: float | None = None,
    _disk: tuple[read_cache.Shelf, str] | None = None,
    _token: str | None = None,
):
    """`scope`: None when `_fn` takes no périmètre, else `_scope_key(_perimetre)` — the cache
    hashes that short key, not the périmètre itself (hundreds of codes, on every call). Runs only
    on a cache miss: that is where a query is timed (`_slow`, see `_timed`). With `_disk` (the
    store's shelf of the read cache on disk, `cdv_core.read_cache`, and the version's token), a
    result this or another process filed for the same data and code is read back instead of
    computed; one computed is filed. `_token`: the version's token; with the store and the version,
    it names the data version (`memo.reading`) under which the query functions several reads call
    share their results (digested here, on a miss only)."""
    key = (name, kwargs, scope)
    if _disk is not None and (found := _disk[0].get(_disk[1], key)) is not read_cache.MISSING:
        return found
    cur = connection(store_path).cursor()
    try:
        with _timed(name, kwargs, _slow), memo.reading(memo.token_of((store_path, version, _token))):
            result = _fn(cur, **dict(kwargs), **({} if scope is None else {"perimetre": _perimetre}))
    finally:
        cur.close()
    if _disk is not None:
        _disk[0].put(_disk[1], key, result)
    return result


@contextmanager
def _timed(name: str, kwargs: tuple, slow: float | None) -> Iterator[None]:
    """Log a query at WARNING when it took `slow` seconds or more (`CDV_SLOW_QUERY_SECONDS`;
    None: not timed): its function, its arguments (codes, dates, flags) and its duration."""
    start = time.perf_counter()
    yield
    seconds = time.perf_counter() - start
    if slow is not None and seconds >= slow:
        _log.warning(
            "Slow query: %s(%s) took %.3f s (threshold %s s)",
            name,
            store.describe(", ".join(f"{k}={v!r}" for k, v in kwargs))[:300],
            seconds,
            slow,
        )


@functools.cache
def _takes_perimetre(fn) -> bool:
    return "perimetre" in inspect.signature(fn).parameters


@functools.cache
def _takes_warnings(fn) -> bool:
    """Whether a write function reports what it changed on the way in (`edits.typed_text`)."""
    return "warnings" in inspect.signature(fn).parameters


@functools.lru_cache(maxsize=256)
def _scope_key(perimetre: tuple[str, ...] | None) -> str:
    return "*" if perimetre is None else hashlib.sha256("\x1f".join(perimetre).encode()).hexdigest()


def cached(ctx: Context, fn, /, **kwargs):
    """Run a `cdv_core.queries` function on a fresh cursor, cached on the store version and,
    when the function takes one, filtered by the session's `perimetre` (its contracts)."""
    name = f"{fn.__module__}.{fn.__qualname__}"
    scope = _scope_key(ctx.perimetre) if _takes_perimetre(fn) else None
    args = tuple(sorted(kwargs.items()))
    folder = ctx.settings.read_cache_folder
    # on disk only what cdv_core computes: its source is the code digest the files are filed under
    on_disk = folder is not None and name.startswith("cdv_core.")
    shelf = read_cache.shelf(folder, ctx.store_path) if on_disk else None
    call = (name, args, scope, fn, ctx.perimetre, ctx.settings.slow_query_seconds, shelf)
    _warmer.note(ctx.store_path, (name, args, scope), call)
    try:
        result = _replay(ctx.store_path, call, ctx.version, ctx.version_token)
    except duckdb.Error as exc:  # e.g. the shared store's PostgreSQL stopped answering
        _store_unreachable(ctx.store_path, exc)
    if (token := read_token(ctx, name, args, scope)) is not None:
        memo.tag(result, token)  # the figures built from these frames hash this key, not their rows
    return result


def read_token(ctx: Context, name: str, args: tuple, scope: str | None) -> bytes | None:
    """The token naming the content of a read (`cdv_core.memo.tag`): its function, arguments and
    périmètre, the store, and the data version with its token, which every write changes."""
    token = memo.token_of((name, ctx.store_path, ctx.version, ctx.version_token, args, scope))
    return None if token is None else b"read:" + token


# The reads served recently, recomputed for a newer store version as soon as a session sees it
# (`cdv_core.ui.warm`): after a write, the next visitors find their pages computed.
_warmer = warm.Warmer()


def _replay(store_path: str, call: tuple, version: int, token: str | None = None):
    name, args, scope, fn, perimetre, slow, shelf = call
    disk = None if shelf is None or token is None else (shelf, token)
    # by keyword: Streamlit names a positional argument through `inspect.signature` at every call
    # (≈ 3 % of a warm rerun's CPU); the key is the same either way (names and values, in order)
    return _cached_call(
        name=name,
        store_path=store_path,
        version=version,
        kwargs=args,
        scope=scope,
        _fn=fn,
        _perimetre=perimetre,
        _slow=slow,
        _disk=disk,
        _token=token,
    )


def deferred(ctx: Context, fn, /, **kwargs):
    """`fn(cur, **kwargs)` as a callable run later on a fresh cursor, with the session's
    `perimetre` when `fn` takes one (as `cached`): the file of a download button, built when it is
    clicked (on Streamlit's download thread). Not cached: such files are big and rarely asked."""

    def run():
        cur = connection(ctx.store_path).cursor()
        try:
            with _timed(
                f"{fn.__module__}.{fn.__qualname__}", tuple(sorted(kwargs.items())), ctx.settings.slow_query_seconds
            ):
                return fn(cur, **kwargs, **({"perimetre": ctx.perimetre} if _takes_perimetre(fn) else {}))
        finally:
            cur.close()

    return run


def own(ctx: Context, fn, /, **kwargs):
    """Run a read of the session user's own bookkeeping, e.g. the drafts of their séances, with
    `user=`: not cached, since such rows change without a store version bump."""
    try:
        cur = connection(ctx.store_path).cursor()
        try:
            with _timed(
                f"{fn.__module__}.{fn.__qualname__}", tuple(sorted(kwargs.items())), ctx.settings.slow_query_seconds
            ):
                return fn(cur, user=ctx.user, **kwargs)
        finally:
            cur.close()
    except duckdb.Error as exc:
        _store_unreachable(ctx.store_path, exc)


def _store_unreachable(store_path: str, exc: Exception):
    _reopen_if_broken(store_path)  # a database invalidated by a fatal error: the reload opens it anew
    store.log_failure("Lecture impossible", exc)  # the detail (paths, engine's words) for the server's log only
    st.error(
        "La base ne répond pas : rechargez la page dans un moment ; si le problème persiste, prévenez "
        "l'administrateur (le détail technique est dans le journal du serveur).",
        icon=":material/error:",
    )
    st.stop()


def bootstrap(page_title: str) -> Context:
    """Page config, store, sidebar (contract, « données au »), URL sync. Call first on every page."""
    # A local favicon: a Material icon as page icon would make the browser fetch it from Google.
    st.set_page_config(page_title=f"{page_title} · Contrats de ville", layout="wide", page_icon=FAVICON)
    store.configure_logging()  # writes, refused writes, slow queries: to stderr unless the host set up logging
    francais.inject()  # Streamlit's own strings (menus, tooltips, dialogs) in French, before anything can stop
    try:
        cfg = settings_mod.load()
    except settings_mod.SettingError as exc:
        st.error(fmt.md(str(exc)), icon=":material/error:")  # messages quote values: text, not Markdown
        st.stop()
    store_path = str(cfg.store_path)
    try:
        con, created = _open(store_path)
    except store.StoreError as exc:
        st.error(fmt.md(str(exc)), icon=":material/error:")
        st.stop()
    cur = con.cursor()
    try:
        info = territoire.store_context(cur)
    except duckdb.Error as exc:
        _store_unreachable(store_path, exc)
    finally:
        cur.close()
    if cfg.warm_up:
        _warmer.seen(store_path, info["version"], functools.partial(_replay, store_path, token=info["version_token"]))
    probe = Context(
        store_path,
        info["version"],
        None,
        "",
        info["donnees_au"] or date.today(),
        info["demo"],
        cfg,
        access.local_user(""),
        info["version_token"],
    )
    user = identity.identify(cfg, lambda email: cached(probe, access.load_user, email=email), con.cursor)
    if nav.remember(user):  # app.py drew the menu before knowing the user (an administrator's first run)
        st.rerun()
    probe = Context(
        store_path, info["version"], None, "", probe.donnees_au, info["demo"], cfg, user, info["version_token"]
    )
    contracts = cached(probe, territoire.contracts)
    codes = contracts["code_contrat"].to_list()
    labels = dict(zip(codes, contracts["libelle"].to_list()))

    # « données au »: from the year before the first contract to the contracts' end (31/12/2030 at most)
    first_day, last_day = links.donnees_au_bounds(contracts["date_debut"], contracts["date_fin"], probe.donnees_au)
    _init_from_url(
        codes,
        probe.donnees_au,
        first_day,
        last_day,
        everything="tous les contrats" if user.perimetre is None else "tous vos contrats",
    )
    with st.sidebar:
        if not nav.from_entrypoint():  # deep link without app.py: replace the file-name menu
            st.html(nav.HIDE_FILE_MENU)
            for spec in nav.pages_for(user):
                st.page_link(spec.path, label=spec.title, icon=spec.icon)
            st.divider()
        st.markdown("**Pilotage des contrats de ville**")
        options = [ALL_CONTRACTS, *codes]
        current = st.session_state.get(_CTX_CONTRAT, ALL_CONTRACTS)
        choice = st.selectbox(
            "Contrat",
            options,
            index=options.index(current) if current in options else 0,
            format_func=lambda c: (
                ("Tous les contrats" if user.perimetre is None else "Tous mes contrats")
                if c == ALL_CONTRACTS
                else fmt.short_contract(labels.get(c) or c)
            ),
            key="sidebar_contrat",
            help="Le contrat de toutes les pages ; son nom complet est rappelé sous le titre.",
        )
        # No date after the contracts' end (31/12/2030 at most, contrats 2024-2030): nothing is planned beyond it.
        wanted_au = min(max(st.session_state.get(_CTX_AU, probe.donnees_au), first_day), last_day)
        au = st.date_input(
            "Données au",
            value=wanted_au,
            min_value=first_day,
            max_value=last_day,
            format="DD/MM/YYYY",
            key="sidebar_donnees_au",
            help="Date à laquelle les retards, échéances et comptes à rebours sont évalués "
            f"(du {fmt.day(first_day)} au {fmt.day(last_day)}, fin des contrats).",
        )
        if info["donnees_au"] and au > info["donnees_au"]:
            st.warning(
                f"Les données s'arrêtent au {fmt.day(info['donnees_au'])} : après cette date, les actions, "
                "montants, réunions et retards ne sont pas encore connus.",
                icon=":material/warning:",
            )
        st.session_state[_CTX_CONTRAT] = choice
        st.session_state[_CTX_AU] = au
        if info["demo"]:
            st.info("**Données de démonstration** : territoire fictif, chiffres générés.", icon=":material/science:")
            if created and time.monotonic() - _CREATED_AT.get(store_path, 0.0) < _JUST_CREATED_S:
                st.caption("La base de démonstration vient d'être créée.")
        kind = "Base partagée" if store.is_lake(store_path) else "Base"
        st.caption(f"{kind} : version {info['version']} · {fmt.day(info['donnees_au'])}")
        identity.sidebar(cfg, user)
    contrat = None if choice == ALL_CONTRACTS else choice
    st.query_params["contrat"] = choice if contrat else "tous"
    st.query_params["au"] = au.isoformat()
    everything = "Tous les contrats" if user.perimetre is None else "Tous mes contrats"
    return Context(
        store_path,
        info["version"],
        contrat,
        labels.get(contrat, everything) if contrat else everything,
        au,
        info["demo"],
        cfg,
        user,
        info["version_token"],
    )


def _init_from_url(codes: list[str], default_au: date, first_au: date, last_au: date, *, everything: str) -> None:
    """On a session's first run, take the selection from the URL (a shared link); a bad value is
    ignored with a French toast that says so (`cdv_core.links`)."""
    if _CTX_CONTRAT in st.session_state:
        return
    contrat, problem = links.contract(st.query_params.get("contrat"), codes, everything=everything)
    st.session_state[_CTX_CONTRAT] = contrat or ALL_CONTRACTS
    au, problem_au = links.day("au", st.query_params.get("au"), first=first_au, last=last_au, default=default_au)
    st.session_state[_CTX_AU] = au
    for message in (problem, problem_au):
        if message:
            url_warning(message)


def url_warning(message: str) -> None:
    """A parameter of the URL was ignored: say so, briefly (the page shows its default instead)."""
    st.toast(message, icon=":material/link_off:", duration="long")


def page_header(title: str, ctx: Context, *, subtitle: str | None = None) -> None:
    """Title, selection caption, and the success message (and warnings) of the write that led here."""
    base_style()
    st.title(title)
    parts = [f"**{fmt.md(ctx.contrat_libelle)}**", f"données au **{fmt.day(ctx.donnees_au)}**"]
    if subtitle:
        parts.append(subtitle)
    st.caption(" · ".join(parts))
    flash = st.session_state.pop(_FLASH, None)
    if flash:
        st.success(flash, icon=":material/check_circle:")
        # …and where the user is looking: the form or the button may be far below the title
        st.toast(flash, icon=":material/check_circle:")
    for warning in st.session_state.pop(_FLASH_WARNINGS, ()):
        st.warning(fmt.md(warning), icon=":material/warning:")


def _version_moved(ctx: Context) -> bool:
    """Whether the store version differs from the one this run started with: a write that changes
    figures bumps it (`store.transaction`); bookkeeping written in a plain transaction does not.
    Recomputing every QPV's status takes ≈ 1,3 s at national scale: a séance's « Suivant », which
    saves its draft, paid it at every click. When unsure (the store does not answer), True."""
    cur = None
    try:
        cur = connection(ctx.store_path).cursor()
        return store.store_version(cur) != ctx.version
    except (store.StoreError, duckdb.Error):
        return True
    finally:
        if cur is not None:
            cur.close()


def _record_statuses(ctx: Context) -> None:
    """After a write, the QPV statuses it changed join their history (`edits.historique`). A
    failure there never undoes the write: it is logged for the server's administrator."""
    try:
        historique.record_statuses(connection(ctx.store_path), auteur=ctx.user.label)
    except (store.StoreError, duckdb.Error, OSError) as exc:
        store.log_failure("Historique des statuts des QPV", exc)
        _reopen_if_broken(ctx.store_path)


def write(ctx: Context, fn, /, *args, success, on_success=None, rerun: bool = True, **kwargs):
    """The one way a page writes: `fn(connection, *args, user=<the session's user>, **kwargs)`,
    one write at a time in this process. A write returns its result or raises: a refusal or a
    failure (store.StoreError; a duckdb.Error or OSError, said in French by `store.write_error`)
    is shown in one French box (`refusal_text`) and returns None: nothing was written. A refusal
    made before any transaction is logged here (`store.log_refusal`; the transaction logs the
    others). A connection such a failure left unusable is reopened. On success: `success` (text,
    or a function of the result) is shown after the rerun with the French warnings of a function
    that takes `warnings` (e.g. a control character removed from a typed text),
    `on_success(result)` runs first (e.g. to reset a form), then the page reruns. Every success
    records the QPV statuses it changed (`edits.historique`)."""
    warnings: list[str] = []
    if _takes_warnings(fn):
        kwargs["warnings"] = warnings
    try:
        with _writing():
            result = fn(connection(ctx.store_path), *args, user=ctx.user, **kwargs)
    except (store.StoreError, duckdb.Error, OSError) as exc:
        error = store.write_error(exc)
        if isinstance(error, store.WriteRefused):
            store.log_refusal(error, auteur=ctx.user.label, what=f"{fn.__module__}.{fn.__qualname__}")
        with _write_lock:
            _reopen_if_broken(ctx.store_path)
        st.error(refusal_text(error), icon=":material/error:")
        return None
    with _write_lock:
        if _version_moved(ctx):  # not after bookkeeping (a séance's draft): no figure, no status changed
            _record_statuses(ctx)
    st.session_state[_FLASH] = success(result) if callable(success) else success
    st.session_state[_FLASH_WARNINGS] = list(dict.fromkeys(warnings))
    if on_success is not None:
        on_success(result)
    if rerun:
        st.rerun()
    return result


@contextmanager
def _writing() -> Iterator[None]:
    """The write lock. When another write holds it (an import, a rollback), it is waited for aside
    from the run's turn (`runs.aside`): the runs holding the turns are never all stuck behind it."""
    if not _write_lock.acquire(blocking=False):
        with runs.aside():
            _write_lock.acquire()
    try:
        yield
    finally:
        _write_lock.release()


def refusal_text(error: store.StoreError) -> str:
    """What the box of a refused or failed write says (Markdown): its French message, or, when it
    lists several problems (a form's validation), each on its line under « Écriture refusée »."""
    problems = error.problems
    if len(problems) > 1:
        return fmt.md(store.REFUSED + " :") + "\n\n" + "\n".join(f"- {fmt.md(p)}" for p in problems)
    return fmt.md(str(error))  # a message may quote a value: text, not Markdown
