"""The warm-up after a write (`cdv_core.ui.warm`): the reads served recently are recomputed for
the new store version in the background, most recent first, and only for a newer version."""

import threading

from cdv_core import store
from cdv_core.ui import context
from cdv_core.ui.warm import Warmer
from tests.conftest import run_app


def test_a_newer_version_replays_the_recent_reads_most_recent_first():
    warmer, replayed = Warmer(max_calls=3), []
    for name in ("a", "b", "c", "d"):  # "a" falls out: three at most
        warmer.note("base", name, name)
    warmer.note("base", "b", "b")  # used again: now the most recent
    warmer.note("autre", "x", "x")  # another store's reads are not replayed for this one

    assert warmer.seen("base", 7, lambda call, v: replayed.append((call, v))) is None  # first run: nothing to redo
    assert warmer.seen("base", 7, lambda call, v: replayed.append((call, v))) is None  # same version
    thread = warmer.seen("base", 8, lambda call, v: replayed.append((call, v)))
    thread.join(10)

    assert replayed == [("b", 8), ("d", 8), ("c", 8)]
    assert warmer.seen("base", 6, lambda call, v: replayed.append((call, v))) is None  # an older version


def test_a_replay_stops_when_a_newer_version_appears_and_survives_a_failing_read():
    warmer, replayed = Warmer(), []
    for name in ("a", "b", "c"):
        warmer.note("base", name, name)
    warmer.seen("base", 1, lambda call, v: None)
    entered, release = threading.Event(), threading.Event()

    def slow(call, version):
        if call == "c":
            raise RuntimeError("lecture impossible")  # logged, the replay goes on
        replayed.append((call, version))
        entered.set()
        release.wait(10)

    first = warmer.seen("base", 2, slow)
    assert entered.wait(10)  # "b" of version 2 is being read…
    warmer.seen("base", 3, lambda call, v: replayed.append((call, v)))  # …when version 3 appears
    release.set()
    first.join(10)
    warmer.threads[-1].join(10)

    assert ("b", 2) in replayed
    assert ("a", 2) not in replayed  # version 2's replay stopped: version 3 is newer
    assert [c for c, v in replayed if v == 3] == ["c", "b", "a"]


def test_after_a_write_the_pages_reads_are_ready_for_the_new_version(app_env, monkeypatch):
    monkeypatch.setenv("CDV_PRECALCUL", "oui")
    at = run_app("financements")
    assert not at.exception
    path = str(app_env)
    before = store.store_version(context.connection(path).cursor())
    served = list(context._warmer._calls.get(path, {}).values())  # what the page read
    assert served, "la page a lu la base par ui.cached"

    with store.transaction(context.connection(path), written=[], audit=store.Audit("test", "Écriture de test")):
        pass  # a write: the version changes, every cached read is stale
    started = len(context._warmer.threads)
    other = run_app("vue_ensemble")  # another page, another session: it sees the new version first
    assert not other.exception
    assert len(context._warmer.threads) == started + 1
    context._warmer.threads[-1].join(60)

    after = store.store_version(context.connection(path).cursor())
    assert after == before + 1

    def not_cached(cur, **kwargs):
        raise AssertionError("cette lecture aurait dû être recalculée par le préchauffage")

    # the financements reads, that the other page did not make, are now hits for the new version
    own = [call for call in served if call[0].startswith("cdv_core.queries.financements.")]
    assert len(own) >= 5
    for name, args, scope, _fn, perimetre, _slow, _shelf in own:
        context._cached_call(name, path, after, args, scope, not_cached, perimetre)
