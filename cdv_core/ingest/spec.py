"""The registry of file kinds: one column specification per import kind (`spec_types.Kind`, defined
by family in `spec_templates`, `spec_acteurs` and `spec_national`) drives reading, detection,
validation, templates and docs."""

from __future__ import annotations

from cdv_core.ingest.spec_acteurs import ACTEURS_TEMPLATES
from cdv_core.ingest.spec_national import NATIONAL
from cdv_core.ingest.spec_templates import CONTRACT_TEMPLATES
from cdv_core.ingest.spec_types import Kind

# The kinds of the downloadable templates (and of the current data's export), in this order.
TEMPLATES: tuple[Kind, ...] = (*CONTRACT_TEMPLATES, *ACTEURS_TEMPLATES)

KINDS: dict[str, Kind] = {k.code: k for k in (*TEMPLATES, *NATIONAL)}
