"""Compute every selection's pages ahead of the visitors, into the read cache on disk.

The read cache on disk (`cdv_core.read_cache`) keeps what a page's query returned under the data
version's token: a server that starts on data whose results are already filed reads them back
instead of computing them. After a write made while no server runs (an import by the command
line, a store just built, a deployment), nobody has viewed the new data yet: the first visitors of
each selection pay for all its queries at once, twenty people opening the dashboard in the same
minute queue on the same cores (ticket #22: a p95 of 3,5 s in the stress test on a fresh server,
1,4–1,6 s on one restarted over filed results).

`run` visits every page of « Tous les contrats » then of each contract (largest first), as a
visitor who opens them does, headless (Streamlit's `AppTest`, in this process): the results are
filed exactly under the keys the pages will ask for, with the settings of the environment (the
same `CDV_*` as the server's give the same keys). It sees the store as the administrator does
(no périmètre); then, when people log in (CDV_AUTH `oidc` or `entete`), as each account limited to
some contracts (one per role and set of contracts: `account_views`), whose reads are filed under
its périmètre — « Tous mes contrats » and each of its contracts — since a chef de projet's first
visit asks for those keys, not the administrator's.

A DuckDB file is opened by one process only: run this while the server is stopped (the server's
own warm-up, `cdv_core.ui.warm`, recomputes after the writes made through it). A shared store
(DuckLake) can be precomputed at any time, from any machine sharing the cache's folder.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from cdv_core import access, fmt, links, memo
from cdv_core import settings as settings_mod
from cdv_core.queries import territoire

APP = Path(__file__).resolve().parents[2] / "app.py"


class PrecalculError(ValueError):
    """The precompute cannot run; the message is French."""


@dataclass
class Report:
    """What a precompute did: selections done (`None` for « Tous les contrats »), the pages that
    raised (selection, page, message), and why it stopped early (None: it went through)."""

    selections: list[str | None] = field(default_factory=list)
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # (selection's label, page, message)
    stopped: str | None = None
    seconds: float = 0.0
    comptes: int = 0  # accounts limited to some contracts whose view was visited (`account_views`)
    choix: int = 0  # Financements filter values chosen one at a time (`_filter_choices`)


def headless_logging() -> None:
    """Silence Streamlit's notices of a run without a server (headless on purpose), for a command.
    Call before `run`."""
    from streamlit import logger as st_logger
    from streamlit.testing.v1 import AppTest  # noqa: F401 (importing it reads the configuration, which sets the level)

    st_logger.set_log_level("error")


@contextmanager
def _environment(store_path: str) -> Iterator[None]:
    """The server's settings, but this store, no warm-up (nothing to replay here) and the
    administrator's view (every contract)."""
    forced = {"CDV_STORE": store_path, "CDV_PRECALCUL": "non", "CDV_AUTH": "aucune", "CDV_UTILISATEUR": ""}
    saved = {k: os.environ.get(k) for k in forced}
    os.environ.update(forced)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run(
    store_path: str,
    *,
    contrats: list[str] | None = None,
    tous: bool = True,
    comptes: bool = True,
    filtres: bool = True,
    progress: Callable[[int, int, str], None] | None = None,
) -> Report:
    """Visit every page of « Tous les contrats » (`tous`) then of `contrats` (default: every
    contract, those with the most QPV first), filing their reads in the cache on disk; then, when
    people log in (CDV_AUTH `oidc` or `entete`) and `comptes`, the same as each account limited to
    some contracts sees them (`account_views`): « Tous mes contrats » and each of its contracts
    among `contrats`. On « Tous les contrats » (and on the « Tous mes contrats » of an account of
    many contracts), unless `filtres` is false, a person's first filter on Financements
    (`_filter_choices`). Stops when the store's data version moves (a write: the server that sees
    it recomputes what it served). `progress(done, total, label)` is called before each selection,
    `label` naming it in French."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    # here: importing them logs Streamlit's notices (`headless_logging`)
    from cdv_core.ui import context, identity, nav

    start = time.perf_counter()
    report = Report()
    try:
        people_log_in = comptes and settings_mod.load().auth != "aucune"
    except settings_mod.SettingError as exc:
        raise PrecalculError(str(exc)) from exc
    with _environment(store_path):
        cfg = settings_mod.load()
        if cfg.read_cache_folder is None:
            raise PrecalculError(
                "Le précalcul range les chiffres des pages dans le cache sur disque, qui est désactivé "
                "(CDV_CACHE_DISQUE=non) : réglez CDV_CACHE_DISQUE à oui ou au dossier du serveur, puis relancez."
            )
        at = _session(AppTest)
        at.run()  # opens the store (and migrates it), as the server's first run does
        if at.exception:
            raise PrecalculError(f"L'application ne s'ouvre pas sur cette base : {at.exception[0].value}")
        con = context.connection(store_path)
        first = _token(con)
        cur = con.cursor()
        try:
            known = territoire.contracts_by_size(cur)
            accounts = account_views(cur) if people_log_in else []
        finally:
            cur.close()
        if contrats is None:
            contrats = known
        elif unknown := sorted(set(contrats) - set(known)):
            raise PrecalculError(f"Contrat(s) absent(s) de la base : {', '.join(unknown)}.")
        else:  # limited to some contracts: the accounts that see one of them
            accounts = [account for account in accounts if set(account.contrats) & set(contrats)]
        visits: list[tuple[access.User | None, str | None]] = [(None, None)] if tous else []
        visits += [(None, code) for code in contrats]
        for account in accounts:
            visits += [(account, None)] if tous else []
            visits += [(account, code) for code in contrats if code in account.contrats]
        viewer: access.User | None = None
        refused: set[access.User] = set()
        viewed: set[access.User | None] = set()
        for done, (user, code) in enumerate(visits):
            label = _label(user, code, accounts)
            if progress is not None:
                progress(done, len(visits), label)
            if user in refused:
                continue
            with _as(identity, user):
                if user is not viewer:  # an account: a new session, seeing what that account sees
                    viewer = user
                    at = _session(AppTest)
                    at.run()
                    if user is not None and not _logged_in(at):  # deactivated or emptied meanwhile
                        refused.add(user)
                        report.failures.append((label, "connexion", "compte refusé (désactivé ou sans contrat)"))
                        continue
                at.sidebar.selectbox(key="sidebar_contrat").set_value(code or context.ALL_CONTRACTS)
                at.run()
                pages = nav.pages_for(user or access.local_user(""))
                for spec in pages:
                    at.switch_page(spec.path)
                    at.run()
                    if at.exception:
                        report.failures.append((label, spec.title, str(at.exception[0].value)[:300]))
                if filtres and code is None and (user is None or len(user.contrats) >= FILTER_CHOICES_MIN_CONTRACTS):
                    report.choix += _filter_choices(AppTest, pages, label, report)
            report.selections.append(code)
            viewed.add(user)
            _forget(st)  # filed on disk: the memory of one selection's results is not needed for the next
            if _token(con) != first:
                report.stopped = "les données ont changé pendant le précalcul"
                break
        report.comptes = len({user for user in viewed if user is not None})
    report.seconds = time.perf_counter() - start
    return report


FINANCEMENTS = "pages/financements.py"
# From how many contracts an account's « Tous mes contrats » has its Financements filters chosen
# ahead (`_filter_choices`), as the administrator's « Tous les contrats » always has: below, a
# filter change reads about as much as one large contract's.
FILTER_CHOICES_MIN_CONTRACTS = 20


def _filter_choices(app_test, pages: Sequence, label: str, report: Report) -> int:
    """On a selection of many contracts, a person's first gesture on the Financements page: each
    exercice, then each value of the programme's lists (`FIXED_FILTERS`: thématique, financeur, mode,
    type de porteur, statut) chosen alone, each in a new session opened on the page (a session keeps
    its filters and its detailed action, whose own read depends on them). One contract's filter
    changes read little (≈ 0,4 s at national scale); « Tous les contrats »' read every action of the
    country (ticket #22: the financeur at 0,9–1,3 s of server time). Returns how many were chosen."""
    from cdv_core.ui.financements import FIXED_FILTERS

    if not any(spec.path == FINANCEMENTS for spec in pages):
        return 0
    page = "Actions et financements"
    first = _on_financements(app_test)
    if not _has_filters(first):
        report.failures.append((label, f"{page} (ouverte par un lien)", _problem(first)))
        return 0
    year = first.selectbox(key="fin_annee")
    choices = [
        (functools.partial(_choose_year, index=i), f"{year.label} : {shown}")
        for i, shown in enumerate(year.options)
        if i != year.index
    ]
    choices += [
        (functools.partial(_choose_value, key=key, value=value), f"{first.multiselect(key=key).label} : {value}")
        for key, (_, values) in FIXED_FILTERS.items()
        for value in values
    ]
    for choose, what in choices:
        at = _on_financements(app_test)
        if _has_filters(at):
            choose(at)
            at.run()
        if at.exception or not _has_filters(at):
            report.failures.append((label, f"{page} ({what})", _problem(at)))
    return len(choices)


def _on_financements(app_test):
    """A new session opened by a link on the Financements page of the selection of every contract
    it sees (« Tous les contrats », or « Tous mes contrats » for an account)."""
    at = _session(app_test)
    at.query_params["contrat"] = links.ALL_CONTRACTS
    at.switch_page(FINANCEMENTS)
    at.run()
    return at


def _has_filters(at) -> bool:
    """Whether the run drew the Financements filters (not an exception, a login or an empty store)."""
    if at.exception:
        return False
    try:
        at.selectbox(key="fin_annee")
    except KeyError:
        return False
    return True


def _problem(at) -> str:
    if at.exception:
        return str(at.exception[0].value)[:300]
    return "les filtres de la page ne s'affichent pas"


def _choose_year(at, *, index: int) -> None:
    at.selectbox(key="fin_annee").select_index(index)


def _choose_value(at, *, key: str, value: str) -> None:
    at.multiselect(key=key).set_value([value])


def account_views(cur) -> list[access.User]:
    """One active account for each different périmètre among the accounts limited to some
    contracts (an administrator sees what `run`'s first pass visits): the same contracts read the
    same figures under the same keys, whatever the role; of those accounts, the one whose role
    reads the most (`_reach`)."""
    emails = access.users(cur).filter(pl.col("actif") & (pl.col("role") != access.ADMIN) & (pl.col("contrats") != ""))[
        "email"
    ]
    views: dict[tuple[str, ...], access.User] = {}
    for user in (access.load_user(cur, email) for email in emails.to_list()):
        if user is None or not user.contrats:
            continue
        kept = views.get(user.contrats)
        if kept is None or _reach(user) > _reach(kept):
            views[user.contrats] = user
    return list(views.values())


def _reach(user: access.User) -> tuple[bool, int]:
    """What a role reads, to choose among accounts of one périmètre: one who may write sees every
    section a reader does and the forms' own lists; then the pages it opens."""
    from cdv_core.ui import nav

    return user.can(access.WRITE), len(nav.pages_for(user))


def _logged_in(at) -> bool:
    """Whether the session's first run went past the login (the account was not refused)."""
    try:
        at.sidebar.selectbox(key="sidebar_contrat")
    except KeyError:
        return False
    return True


def _as(identity, user: access.User | None):
    """The administrator's pass runs as the environment's local user; an account's, logged in as it."""
    return nullcontext() if user is None else identity.precomputing_as(user.email)


def _label(user: access.User | None, code: str | None, accounts: list[access.User]) -> str:
    """How the progress names a selection: « CV-001 », « Tous les contrats », and for an account
    « CV-001 (compte limité n° 2 sur 5, 3 contrats) » — no email in a cron's log."""
    what = code or ("Tous les contrats" if user is None else "Tous mes contrats")
    if user is None:
        return what
    return (
        f"{what} (compte limité n° {accounts.index(user) + 1} sur {len(accounts)}, "
        f"{fmt.plural(len(user.contrats), 'contrat', 'contrats')})"
    )


def _token(con) -> str | None:
    """The store's data version token, read now (another instance's write on a shared store moves it)."""
    cur = con.cursor()
    try:
        return territoire.store_context(cur)["version_token"]
    finally:
        cur.close()


def _forget(st) -> None:
    """Empty the read cache in memory (between two runs: Streamlit says, each time, that it found
    no runtime — headless on purpose) and the figures kept by content."""
    with _quiet("streamlit.runtime.caching.cache_data_api"):
        st.cache_data.clear()
    memo.clear()


def _session(app_test):
    """A new headless session of the app (`AppTest`): outside a run, Streamlit says it has no script
    context — headless on purpose, and once per account in a cron's log without this."""
    with _quiet("streamlit.runtime.scriptrunner_utils.script_run_context"):
        return app_test.from_file(str(APP), default_timeout=600)


@contextmanager
def _quiet(logger: str) -> Iterator[None]:
    """Streamlit's notices of `logger` below ERROR silenced for the block."""
    quiet = logging.getLogger(logger)
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        yield
    finally:
        quiet.setLevel(level)
