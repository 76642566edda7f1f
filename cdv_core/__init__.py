"""Application core of the contrats de ville steering dashboard (no Streamlit outside `ui`)."""

from __future__ import annotations

__version__ = "0.1.0"
