"""Wording a committee reads (issue #17, « Wording »)."""

from streamlit.proto.Metric_pb2 import Metric

from tests.conftest import run_app


def test_wording_seen_by_a_committee(app_env):
    """#17 wording: a real plural, no arrow on a ceiling, no technical words about the demo."""
    at = run_app("financements")
    assert not at.exception
    unpaid = [w.value for w in at.warning if "sans aucun versement" in w.value]
    assert unpaid and "accordée(s)" not in unpaid[0]
    assert ("lignes de financement accordées" in unpaid[0]) or ("1 ligne de financement accordée" in unpaid[0])
    card = next(m for m in at.metric if m.label == "Hors QPV déclaré (P147)")
    # no ↑ beside « plafond 2,5 % » (an arrow only when the ceiling is exceeded)
    assert card.proto.direction == Metric.MetricDirection.NONE or "dépassé" in card.proto.delta
    at = run_app("vue_ensemble")
    text = " ".join(m.value for m in at.markdown)
    assert "graine" not in text and "échelle « demo »" not in text
    assert "Territoire de démonstration généré par l'application (trois contrats fictifs)" in text
