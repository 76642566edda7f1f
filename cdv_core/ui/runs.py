"""Page runs take turns: at most `CDV_EXECUTIONS_SIMULTANEES` of them at once in this process, the
others waiting, in the order they came, for one to end.

One Python process serves every session: left to themselves, twenty runs started in the same
second share the interpreter and the cores, and all of them end late — the costliest ones (a first
visit computing its figures) several seconds after the click. Taking turns, a run waits for those
ahead of it, then shares the machine with a few others only: the time people wait is about the
same on average, but no longer piles up on the slow pages (docs/performance.md, item 30). As many
runs as cores keeps every core busy (one run's queries on DuckDB's threads, another's Python).

A turn is handed to the longest waiting run (a queue, not a semaphore that a newcomer could take
first). A waiting run still answers a stop or a rerun (a click meanwhile, a closed tab), as
Streamlit's cache locks do. A run that works for long (an import, a rollback, exports) steps
`aside` during the long part, so that one person's import does not hold everyone else's pages. A
run waits `MAX_WAIT_S` at most, then runs anyway, so that nothing can be stuck behind a run that
never ends.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from streamlit.runtime.scriptrunner_utils.script_run_context import get_run_yield_check

from cdv_core import settings as settings_mod

MAX_WAIT_S = 60.0
POLL_S = 0.1  # how often a waiting run checks whether it was asked to stop or rerun
# How long a thread of the server may keep the interpreter lock once another asks for it. With
# Python's 5 ms, a run coming back from a DuckDB query (which ran without the lock), and the event
# loop with the messages to send, waited up to that long behind another run's Python at every step:
# 0,5 ms took ≈ 0,35 s off the stress test's p95 (docs/performance.md, item 33). Set by the first run.
SWITCH_INTERVAL_S = 0.0005

_log = logging.getLogger(__name__)
_HOLDING = contextvars.ContextVar("cdv_run_holds_a_turn", default=False)


class Turns:
    """`count` turns, handed to the waiting runs in the order they came."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.free = count
        self._lock = threading.Lock()
        self._queue: deque[threading.Event] = deque()  # each waiting run's event, set when it is handed a turn

    def waiting(self) -> int:
        return len(self._queue)

    def take(self, max_wait: float, yield_check=None) -> bool:
        """Take a turn, waiting `max_wait` seconds at most (False: none taken). `yield_check`, the
        run's own, raises when the run is asked to stop or rerun: then no turn is kept."""
        with self._lock:
            if self.free and not self._queue:
                self.free -= 1
                return True
            mine = threading.Event()
            self._queue.append(mine)
        deadline = time.monotonic() + max_wait
        try:
            while not mine.wait(POLL_S):
                if yield_check is not None:
                    yield_check()
                if time.monotonic() >= deadline:
                    with self._lock:
                        if mine.is_set():
                            return True  # handed one just now
                        self._queue.remove(mine)
                    return False
        except BaseException:
            with self._lock:
                handed = mine.is_set()
                if not handed:
                    self._queue.remove(mine)
            if handed:
                self.give()  # handed one just as the run was stopped: the next run has it
            raise
        return True

    def give(self) -> None:
        """Give a turn back: to the longest waiting run, else to the free ones."""
        with self._lock:
            if self._queue:
                self._queue.popleft().set()
                return
            if self.free >= self.count:
                raise RuntimeError("a turn was given back twice")
            self.free += 1


_made: Turns | None = None
_making = threading.Lock()


def _turns() -> Turns:
    """This process's turns, made once (the setting is read by the first run)."""
    global _made
    if _made is None:
        with _making:
            if _made is None:
                try:
                    count = settings_mod.load_runs_at_once()
                except settings_mod.SettingError:
                    count = settings_mod.default_runs_at_once()  # the page's bootstrap says what is wrong
                _made = Turns(count)
                sys.setswitchinterval(SWITCH_INTERVAL_S)
    return _made


def waiting() -> int:
    """How many runs wait for their turn now."""
    return _turns().waiting()


def _take(what: str) -> bool:
    taken = _turns().take(MAX_WAIT_S, get_run_yield_check())
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
        holding = _HOLDING.get()  # not when the run left its turn `aside` and did not take one back
        _HOLDING.reset(token)
        if holding:
            _turns().give()


@contextmanager
def aside() -> Iterator[None]:
    """Within a run's turn, give it up for a long block (an import, exports being made, waiting
    for the write lock) and take one again after it: meanwhile the other sessions' pages run. A
    block that ends the run (a rerun, a stop, an error) takes none back. Outside a turn, nothing."""
    if not _HOLDING.get():
        yield
        return
    _HOLDING.set(False)
    _turns().give()
    yield
    _HOLDING.set(_take("A run back from a long operation"))
