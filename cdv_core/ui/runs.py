"""Page runs take turns: at most `CDV_EXECUTIONS_SIMULTANEES` of them at once in this process, the
others waiting, in the order they came, for one to end.

One Python process serves every session: left to themselves, twenty runs started in the same
second share the interpreter and the cores, and all of them end late — the costliest ones (a first
visit computing its figures) several seconds after the click. Taking turns, each run has the
machine to itself and its cores while it lasts: the time people wait is about the same on average,
but no longer piles up on the slow pages (docs/performance.md, item 30). As many runs as cores
keeps every core busy (one run's queries on DuckDB's threads, another's Python).

A run that writes for long (an import, the séance's exports) steps `aside` during the long part, so
that one person's import does not hold everyone else's pages. A run waits `MAX_WAIT_S` at most,
then runs anyway, so that nothing can be stuck behind a run that never ends.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from cdv_core import settings as settings_mod

MAX_WAIT_S = 60.0

_log = logging.getLogger(__name__)
_HOLDING = contextvars.ContextVar("cdv_run_holds_a_turn", default=False)
_waiting = 0  # runs waiting for their turn now (tests, logs)
_count_lock = threading.Lock()


@functools.cache
def _turns() -> threading.BoundedSemaphore:
    try:
        at_once = settings_mod.load().runs_at_once
    except settings_mod.SettingError:
        at_once = settings_mod.default_runs_at_once()  # the page's bootstrap says what is wrong
    return threading.BoundedSemaphore(at_once)


def waiting() -> int:
    """How many runs wait for their turn now."""
    return _waiting


def _take(what: str) -> bool:
    global _waiting
    with _count_lock:
        _waiting += 1
    try:
        taken = _turns().acquire(timeout=MAX_WAIT_S)
    finally:
        with _count_lock:
            _waiting -= 1
    if not taken:
        _log.warning("%s has waited %.0f s for its turn: it runs beside the others", what, MAX_WAIT_S)
    return taken


@contextmanager
def turn() -> Iterator[None]:
    """Run the block in this run's turn: wait for one first if every turn is taken."""
    token = _HOLDING.set(_take("A page run"))
    try:
        yield
    finally:
        holding = _HOLDING.get()  # not when `aside` could not take a turn back in time
        _HOLDING.reset(token)
        if holding:
            _turns().release()


@contextmanager
def aside() -> Iterator[None]:
    """Within a run's turn, give it up for a long block (an import, exports being made) and take
    one again after it: meanwhile the other sessions' pages run. Outside a turn, nothing."""
    if not _HOLDING.get():
        yield
        return
    _turns().release()
    _HOLDING.set(False)
    try:
        yield
    finally:
        _HOLDING.set(_take("A run back from a long operation"))
