"""`streamlit run …` that also notes, as the server sees them, when each run is asked and when it
ends (bench only: `bench_navigateur.py` starts its server through this file; the app knows nothing
of it).

The browser bench clocks a run in the page: from the `rerun_script` message it sends to the
`script_finished` it receives. Both ends are stamped on the page's main thread, which may be busy
drawing what the run sent before (charts, tables) when the last messages arrive: on « Tous les
contrats », the page received `script_finished` 0,25–0,3 s after the server had sent it. This
journal gives the server's own side of the same run.

    CDV_BANC_JOURNAL=FILE python bench/serveur_chronometre.py run app.py [streamlit options]

Each line of FILE: `<time.time()> relance` when a `rerun_script` message is received, and
`<time.time()> fin <status>` when a `script_finished` message is sent (status 0: a run finished,
3: a fragment's run finished; Streamlit's `ForwardMsg.ScriptFinishedStatus`).
"""

from __future__ import annotations

import os
import sys
import threading
import time

_lock = threading.Lock()


def _note(path: str, what: str) -> None:
    with _lock, open(path, "a") as journal:
        journal.write(f"{time.time():.4f} {what}\n")


def install(path: str) -> None:
    """Wrap Streamlit's handling of a received BackMsg and its sending of a ForwardMsg."""
    from streamlit.runtime.app_session import AppSession
    from streamlit.runtime.runtime import Runtime

    handle = AppSession.handle_backmsg
    send = Runtime._send_message

    def handle_backmsg(self, msg):
        if msg.WhichOneof("type") == "rerun_script":
            _note(path, "relance")
        return handle(self, msg)

    def _send_message(self, session_info, msg):
        result = send(self, session_info, msg)
        if msg.WhichOneof("type") == "script_finished":
            _note(path, f"fin {msg.script_finished}")
        return result

    AppSession.handle_backmsg = handle_backmsg  # type: ignore[method-assign]
    Runtime._send_message = _send_message  # type: ignore[method-assign]


def read(path: str) -> list[tuple[float, str]]:
    """The journal's lines as (time, what); none when it does not exist yet."""
    try:
        with open(path) as journal:
            lines = journal.readlines()
    except FileNotFoundError:
        return []
    # a line the server is still writing has no end of line yet: left for the next read
    fields = [line.rstrip("\n").split(" ", 1) for line in lines if line.endswith("\n")]
    return [(float(pair[0]), pair[1]) for pair in fields if len(pair) == 2]


def server_seconds(journal: list[tuple[float, str]], sent: float, received: float, slack: float = 0.05) -> float | None:
    """The server's side of one run the page clocked from `sent` to `received` (seconds since the
    epoch, the page's clock: the same machine's): from the first `relance` noted after `sent` to
    the last end of a run noted before `received`; None when the journal has no such pair."""
    asked = next((t for t, what in journal if what == "relance" and sent - slack <= t <= received), None)
    if asked is None:
        return None
    ends = [t for t, what in journal if what in ("fin 0", "fin 3") and asked <= t <= received + slack]
    return ends[-1] - asked if ends else None


if __name__ == "__main__":
    install(os.environ["CDV_BANC_JOURNAL"])
    from streamlit.web import cli

    sys.argv = ["streamlit", *sys.argv[1:]]
    sys.exit(cli.main())
