"""Recompute the read cache when the store changes, before anyone asks.

Every cached read (`ui.cached`) is keyed on the store version, so a write (an import, a form, a
rollback, or another instance's write on the shared store) empties the cache for everyone: the
next visitor of each page would pay for all its queries at once (up to 2 s for « Tous les
contrats » at national scale). This module remembers the reads the process served recently and,
when a session first sees a newer version, replays them for that version in a background thread:
the heavy per-selection aggregates are computed once, right after the write, while the people
who will look at them are still on their way.

Bounded: the `MAX_CALLS` most recently used reads, most recent first; a replay stops when a newer
version appears or when the process stops. A read that fails is logged, never raised: it will be
computed (and its error shown) by the page that needs it.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

MAX_CALLS = 300
_log = logging.getLogger(__name__)


class Warmer:
    """The recent reads of each store, and the version each store was last seen at."""

    def __init__(self, max_calls: int = MAX_CALLS):
        self.max_calls = max_calls
        self._lock = threading.Lock()
        self._calls: dict[str, OrderedDict[Hashable, Any]] = {}
        self._seen: dict[str, int] = {}
        self.threads: list[threading.Thread] = []  # the replays started (tests join them)

    def note(self, store_path: str, key: Hashable, call: Any) -> None:
        """A read was served: `call` is what `replay` needs to run it again."""
        with self._lock:
            calls = self._calls.setdefault(store_path, OrderedDict())
            calls[key] = call
            calls.move_to_end(key)
            while len(calls) > self.max_calls:
                calls.popitem(last=False)

    def seen(self, store_path: str, version: int, replay: Callable[[Any, int], None]) -> threading.Thread | None:
        """A session read `version`: when it is newer than the last one seen (not the first of the
        process), start replaying the recent reads for it, most recent first."""
        with self._lock:
            last = self._seen.get(store_path)
            if last is not None and version <= last:
                return None
            self._seen[store_path] = version
            if last is None:
                return None  # the process's first run: nothing read yet
            calls: list[Any] = list(reversed(self._calls.get(store_path, {}).values()))
        if not calls:
            return None
        thread = threading.Thread(
            target=self._replay, args=(store_path, version, calls, replay), name=f"cdv-warm-{version}", daemon=True
        )
        self.threads.append(thread)
        thread.start()
        return thread

    def _replay(self, store_path: str, version: int, calls: list, replay: Callable[[Any, int], None]) -> None:
        for call in calls:
            if self._seen.get(store_path) != version:
                _log.info("Warm-up of version %s stopped: a newer version was seen", version)
                return
            try:
                replay(call, version)
            except Exception as exc:  # a read that fails is the page's to report, not the warm-up's
                _log.warning("Warm-up read failed for version %s: %s", version, exc)
        _log.info("Warm-up of version %s: %d reads recomputed", version, len(calls))
