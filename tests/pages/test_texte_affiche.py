"""Text from the store, the URL and uploaded files is shown as text: never read as Markdown.

A title that passes validation must not become a link (« Session expirée : reconnectez-vous »
to any site), an image every viewer's browser fetches from outside, a colour or a formula. Every
Streamlit call that renders Markdown gets such values through `fmt.md`; AppTest keeps an
element's Markdown source, so these tests assert on the escaped source (they fail when a page
stops escaping). The browser side (nothing clickable, no outside request) is in
tests/e2e/test_texte_affiche.py.
"""

from __future__ import annotations

import re

import duckdb
import pytest

from cdv_core import fmt, settings
from cdv_core.ingest import samples
from cdv_core.queries import gouvernance as gouv
from tests.conftest import DEMO_AU, run_app

# A link, an image, a Streamlit colour directive and a formula: what a hostile title could hold.
PAYLOAD = (
    "[Session expirée : reconnectez-vous](https://exemple.invalid/piege) "
    "![x](https://exemple.invalid/pixel.png) :red[alerte] $x$"
)
SHOWN = fmt.md(PAYLOAD)
CONTRAT = "CV-DEMO-VERM"


# --- the escaping function ---------------------------------------------------------------------


def _unescaped(text: str) -> str:
    """What the escaped source displays: backslash escapes resolved, word joiners dropped."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        out.append(text[i])
        i += 1
    return "".join(out).replace(fmt.WORD_JOINER, "").replace("  \n", "\n")


@pytest.mark.parametrize(
    "text",
    [
        PAYLOAD,
        "<https://exemple.invalid/a> www.exemple.invalid https://exemple.invalid/b contact@exemple.invalid",
        ":material/home: :material_home: :streamlit: :smile: :+1: a -> b <= c -- d",
        "**gras** _it_ ~~barré~~ ~x~ `code` <b>html</b> &amp; &#65; | a | b |",
        "# titre",
        "- liste",
        "+ liste",
        "1. liste",
        "12) liste",
        "> citation",
        "===",
        "***",
        "ligne 1\n\n# ligne 2\n    ligne 3\n- ligne 4",
        "[x][ref]\n\n[ref]: https://exemple.invalid/ref",
        ':color[texte]{foreground="red"} :small[petit] :help[aide] $$y$$ \\(z\\)',
    ],
)
def test_md_escapes_what_streamlit_would_interpret(text):
    shown = fmt.md(text)
    # the text reads back as typed, and every special character is escaped (an odd run of backslashes)
    assert _unescaped(shown) == "\n".join(line.strip() for line in text.split("\n"))
    for found in re.finditer(r"(\\*)([\[\]()!<>*_~`#|{}$:&])", shown):
        assert len(found[1]) % 2 == 1, (found[2], shown)
    # no line starts a list, a heading, a quote, a setext underline or a code block
    for line in shown.split("  \n"):
        assert not re.match(r"[-+=#>*]|\d+[.)]|\s", line), line
    # nothing Streamlit rewrites after parsing is left whole: addresses, shortcodes, arrows
    for whole in ("https://", "https:/", "www.", ":material", ":smile:", ":streamlit:", "->", "<=", "--"):
        assert whole not in shown.replace("\\", "")


def test_md_keeps_plain_french_text_readable():
    plain = "Vue d'ensemble — 12,5 % « été » 2024-2030"
    assert fmt.md(plain) == plain
    assert fmt.md("Objectif : emploi (2024)") == "Objectif \\: emploi \\(2024\\)"
    assert fmt.md(None) == "—"
    assert fmt.md("a \n b") == "a  \nb"


# --- pages -------------------------------------------------------------------------------------


def _texts(at) -> list[str]:
    """The Markdown source of everything a page rendered as Markdown (bodies and labels)."""
    texts = []
    for kind in ("markdown", "caption", "title", "header", "subheader", "info", "warning", "error", "success", "toast"):
        texts += [e.value for e in getattr(at, kind)]
    texts += [e.label for e in at.expander] + [e.label for e in at.tabs]
    texts += [t for m in at.metric for t in (m.label, m.value)]
    return texts


def _shows_escaped(at, escaped: str = SHOWN, raw: str = PAYLOAD) -> None:
    assert not at.exception, [e.value for e in at.exception]
    texts = _texts(at)
    assert any(escaped in t for t in texts), "valeur attendue (échappée) absente de la page"
    assert not any(raw in t for t in texts), [t for t in texts if raw in t]


@pytest.fixture
def hostile(app_env):
    """The demo store with the payload in the contract's label and in the titles of its actions,
    porteurs, quartiers and instances. Returns (action, porteur, quartier) codes to look at."""
    con = duckdb.connect(str(app_env))
    try:
        late = gouv.instance_cadence(
            con.cursor(), contrat=CONTRAT, donnees_au=DEMO_AU, tolerance_days=settings.load().cadence_tolerance_days
        ).filter("en_retard")
        assert late.height, "the demo contract should have a late instance"
        suffix = " " + PAYLOAD
        con.execute("UPDATE contrat SET libelle = libelle || $s WHERE code_contrat = $c", {"s": suffix, "c": CONTRAT})
        con.execute("UPDATE action SET libelle = libelle || $s WHERE code_contrat = $c", {"s": suffix, "c": CONTRAT})
        con.execute("UPDATE quartier SET libelle = libelle || $s WHERE code_contrat = $c", {"s": suffix, "c": CONTRAT})
        con.execute("UPDATE instance SET libelle = libelle || $s WHERE code_contrat = $c", {"s": suffix, "c": CONTRAT})
        carriers = "SELECT id_porteur FROM action WHERE code_contrat = $c"
        con.execute(f"UPDATE porteur SET nom = nom || $s WHERE id_porteur IN ({carriers})", {"s": suffix, "c": CONTRAT})
        con.execute(f"UPDATE acteur SET nom = nom || $s WHERE id_acteur IN ({carriers})", {"s": suffix, "c": CONTRAT})
        action, porteur = con.execute(
            "SELECT code_action, id_porteur FROM action WHERE code_contrat = $c ORDER BY code_action LIMIT 1",
            {"c": CONTRAT},
        ).fetchone()
        (quartier,) = con.execute(
            "SELECT min(code_qp) FROM quartier WHERE code_contrat = $c", {"c": CONTRAT}
        ).fetchone()
    finally:
        con.close()
    return action, porteur, quartier


def test_overview_shows_the_contract_label_and_instances_as_text(hostile):
    at = run_app(None, query={"contrat": CONTRAT})
    _shows_escaped(at)
    assert any(c.startswith("**") and SHOWN in c for c in at.caption.values)  # the page header's selection


def test_financements_shows_action_and_porteur_as_text(hostile):
    action, _, _ = hostile
    at = run_app("financements", query={"contrat": CONTRAT, "fin_annee": "tous", "fin_action": action})
    _shows_escaped(at)
    assert at.selectbox(key="fin_action").value == action
    assert any(m.startswith("#### ") and SHOWN in m for m in at.markdown.values)  # the title
    assert any(m.startswith("**Porteur** : ") and SHOWN in m for m in at.markdown.values)


def test_projets_shows_the_quartier_as_text(hostile):
    _, _, quartier = hostile
    at = run_app("projets_quartier", query={"contrat": CONTRAT, "qpv": quartier})
    _shows_escaped(at)
    assert SHOWN in at.header[0].value


def test_acteurs_shows_the_porteur_as_text(hostile):
    _, porteur, _ = hostile
    at = run_app("acteurs", query={"contrat": CONTRAT})
    at.selectbox(key="acteurs_choix").set_value(porteur).run()
    _shows_escaped(at)
    assert any(m.startswith("**") and SHOWN in m for m in at.markdown.values)


def test_gouvernance_and_seance_show_instances_as_text(hostile):
    at = run_app("gouvernance", query={"contrat": CONTRAT})
    _shows_escaped(at)
    assert any(SHOWN in w for w in at.warning.values)  # the late instances, named
    at = run_app("seance", query={"contrat": CONTRAT})
    at.button(key="seance_start").click().run()
    _shows_escaped(at)
    assert any(c.startswith("**") and SHOWN in c for c in at.caption.values)  # the instance of the séance


def test_a_contract_in_the_url_is_quoted_as_text(app_env):
    wanted = "[cliquez ici](https://exemple.invalid/p)"
    at = run_app(None, query={"contrat": wanted})
    _shows_escaped(at, fmt.md(wanted), wanted)
    assert any(fmt.md(wanted) in t.value for t in at.toast)


def test_an_uploaded_file_name_is_quoted_as_text(app_env):
    name = "![x](https://exemple.invalid/pixel.png) [cliquez ici](https://exemple.invalid/p).csv"
    at = run_app("mise_a_jour")
    data = samples.to_csv(samples.programmation(5, contracts={CONTRAT: ["QN00281M"]}))
    at.file_uploader[0].set_value((name, data, "text/csv"))
    at.run()
    at.button(key="maj_valider").click().run()
    _shows_escaped(at, fmt.md(name), name)
    assert any("validé : " + fmt.md(name) in s.value for s in at.success)


def test_a_column_header_of_a_file_is_a_label_as_text(app_env):
    header = "[x](https://exemple.invalid/p)"
    at = run_app("mise_a_jour")
    at.file_uploader[0].set_value(("insee.csv", f"CODGEO;{header}\nQN00281M;12,5\n".encode(), "text/csv"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    labels = [s.label for s in at.selectbox if (s.key or "").startswith("maj_assoc_")]
    assert fmt.md(header) in labels and header not in labels


def test_md_leaves_out_control_characters():
    assert fmt.md("Asso\x1b[31m du \x07quartier\x00") == "Asso\\[31m du quartier"
    assert fmt.md("a\tb\r\nc") == "a b  \nc"
