"""Command line: French messages and exit codes."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "cdv_core", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_demo_command_is_deterministic_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "a.duckdb"
    done = _cli("demo", "--out", str(out), "--seed", "3")
    assert done.returncode == 0, done.stderr
    assert "écrit dans" in done.stdout
    again = _cli("demo", "--out", str(out))
    assert again.returncode == 1
    assert "existe déjà" in again.stderr
    info = _cli("info", "--store", str(out))
    assert info.returncode == 0 and "contrat" in info.stdout


def test_bad_usage_exits_2():
    assert _cli("nimporte-quoi").returncode == 2


def test_help_and_usage_errors_are_in_french():
    from cdv_core.__main__ import main

    english = (
        "usage:",
        "positional arguments",
        "the following arguments",
        "unrecognized",
        "invalid choice",
        "expected one argument",
        "show this help",
    )
    cases = {
        ("import", "--help"): "arguments :",
        ("export",): "arguments obligatoires manquants : --contract",
        ("demo", "--scale", "x"): "valeur 'x' inconnue (possibles : 'demo', 'national')",
        ("info", "--bogus"): "arguments inconnus : --bogus",
        ("demo", "--seed"): "une valeur est attendue",
        ("demo", "--seed", "abc"): "valeur 'abc' invalide",
        (): "arguments obligatoires manquants : COMMANDE",
    }
    for args, expected in cases.items():
        done = _cli(*args)
        text = done.stdout + done.stderr
        assert done.returncode == (0 if "--help" in args else 2), args
        assert expected in text, (args, text)
        assert not any(word in text for word in english), (args, text)
    assert main(["import"]) == 2


def test_a_bad_setting_is_a_french_message_not_a_traceback(monkeypatch, capsys):
    from cdv_core.__main__ import main

    monkeypatch.setenv("CDV_SEUIL_SECRET", "0")
    assert main(["info"]) == 2
    err = capsys.readouterr().err
    assert "Réglage CDV_SEUIL_SECRET : « 0 » n'est pas accepté" in err and "relancez la commande" in err
    assert "Traceback" not in err
