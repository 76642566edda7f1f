"""Page runs take turns (`cdv_core.ui.runs`): at most `CDV_EXECUTIONS_SIMULTANEES` at once, the
others waiting in the order they came; a long operation steps aside; nothing waits forever."""

from __future__ import annotations

import threading
import time

import pytest

from cdv_core import settings
from cdv_core.ui import runs
from tests.conftest import run_app


@pytest.fixture
def one_turn(monkeypatch):
    """One page run at a time, whatever the machine."""
    turns = runs.Turns(1)
    monkeypatch.setattr(runs, "_made", turns)
    return turns


def _until(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.01)


def _run(name: str, events: list, hold: threading.Event | None = None, *, step_aside: bool = False):
    def body():
        with runs.turn():
            events.append(f"{name} starts")
            if step_aside:
                with runs.aside():
                    events.append(f"{name} aside")
                    assert hold is not None and hold.wait(10)
                events.append(f"{name} back")
            elif hold is not None:
                assert hold.wait(10)
            events.append(f"{name} ends")

    thread = threading.Thread(target=body)
    thread.start()
    return thread


def test_runs_beyond_the_turns_wait_and_go_in_the_order_they_came(one_turn):
    events, release_a = [], threading.Event()
    a = _run("a", events, release_a)
    _until(lambda: "a starts" in events)
    b = _run("b", events)
    _until(lambda: runs.waiting() == 1)
    c = _run("c", events)
    _until(lambda: runs.waiting() == 2)
    assert events == ["a starts"]  # b and c wait for a's turn
    release_a.set()
    for thread in (a, b, c):
        thread.join(10)
    assert events == ["a starts", "a ends", "b starts", "b ends", "c starts", "c ends"]
    assert runs.waiting() == 0


def test_a_long_operation_steps_aside_and_takes_a_turn_back(one_turn):
    events, release_a, release_b = [], threading.Event(), threading.Event()
    a = _run("a", events, release_a, step_aside=True)
    _until(lambda: "a aside" in events)
    b = _run("b", events, release_b)  # runs while a imports
    _until(lambda: "b starts" in events)
    release_a.set()
    _until(lambda: runs.waiting() == 1)  # a's import is done: it waits for b's turn to end
    assert "a back" not in events
    release_b.set()
    for thread in (a, b):
        thread.join(10)
    assert events == ["a starts", "a aside", "b starts", "b ends", "a back", "a ends"]
    assert one_turn.free == 1  # every turn given back, none twice (`give` would raise)


def test_a_run_waits_a_bounded_time_then_runs_beside_the_others(one_turn, monkeypatch, caplog):
    monkeypatch.setattr(runs, "MAX_WAIT_S", 0.3)
    assert one_turn.take(0)  # a run that never ends
    events = []
    _run("late", events).join(10)
    assert events == ["late starts", "late ends"]
    assert "waited" in caplog.text and one_turn.waiting() == 0
    one_turn.give()
    assert one_turn.free == 1  # the late run gave back no turn it had not taken


def test_a_page_of_the_app_waits_for_its_turn(one_turn):
    assert one_turn.take(0)  # every turn taken
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("at", run_app()))
    thread.start()
    _until(lambda: runs.waiting() == 1)
    assert thread.is_alive()
    one_turn.give()
    thread.join(30)
    at = result["at"]
    assert not at.exception and at.title[0].value.startswith("Vue d'ensemble")
    assert one_turn.free == 1


def test_the_number_of_turns_is_a_setting(monkeypatch):
    assert settings.load().runs_at_once == settings.default_runs_at_once() >= 1  # « auto »: the cores
    monkeypatch.setenv("CDV_EXECUTIONS_SIMULTANEES", "3")
    assert settings.load().runs_at_once == 3
    for wrong in ("0", "beaucoup", "2,5", "²"):
        monkeypatch.setenv("CDV_EXECUTIONS_SIMULTANEES", wrong)
        with pytest.raises(settings.SettingError, match=f"CDV_EXECUTIONS_SIMULTANEES : « {wrong} » .* auto ou"):
            settings.load()


def test_a_waiting_run_asked_to_stop_or_rerun_leaves_the_queue_and_keeps_no_turn(one_turn):
    class Rerun(Exception):
        pass

    assert one_turn.take(0)
    asked, outcome = threading.Event(), []

    def yield_check():  # Streamlit's, which raises when the session asks for another run
        if asked.is_set():
            raise Rerun

    def waiter():
        try:
            one_turn.take(10, yield_check)
        except Rerun:
            outcome.append("stopped waiting")

    thread = threading.Thread(target=waiter)
    thread.start()
    _until(lambda: one_turn.waiting() == 1)
    asked.set()
    thread.join(10)
    assert outcome == ["stopped waiting"] and one_turn.waiting() == 0
    one_turn.give()
    assert one_turn.free == 1


def test_a_run_ended_inside_a_turn_or_aside_gives_back_exactly_its_turn(one_turn):
    with pytest.raises(RuntimeError), runs.turn():
        raise RuntimeError("the page failed")  # or Streamlit's RerunException, StopException
    assert one_turn.free == 1
    with pytest.raises(RuntimeError), runs.turn(), runs.aside():
        raise RuntimeError("st.rerun() after an import")  # ends the run: no turn taken back
    assert one_turn.free == 1 and one_turn.waiting() == 0


def test_a_write_waits_for_the_write_lock_aside_from_its_turn(one_turn):
    from cdv_core.ui import context

    events, release_b = [], threading.Event()
    assert context._write_lock.acquire()  # a long import is writing
    try:

        def writer():
            with runs.turn():
                events.append("a starts")
                with context._writing():
                    events.append("a writes")
                events.append("a ends")

        a = threading.Thread(target=writer)
        a.start()
        _until(lambda: "a starts" in events)
        b = _run("b", events, release_b)  # gets the turn a left while it waits for the lock
        _until(lambda: "b starts" in events)
    finally:
        context._write_lock.release()
    _until(lambda: one_turn.waiting() == 1)  # a has the lock, and waits for b's turn
    release_b.set()
    for thread in (a, b):
        thread.join(10)
    assert events == ["a starts", "b starts", "b ends", "a writes", "a ends"]
    assert one_turn.free == 1


def test_the_first_run_shortens_the_interpreter_switch_interval(app_env, monkeypatch):
    import sys

    monkeypatch.setattr(runs, "_made", None)  # a fresh server process
    sys.setswitchinterval(0.005)  # Python's own; the autouse fixture puts back the one before
    assert not run_app().exception
    assert sys.getswitchinterval() == pytest.approx(runs.SWITCH_INTERVAL_S)
