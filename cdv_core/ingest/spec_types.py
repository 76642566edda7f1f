"""What a file kind is made of: its columns and their types (`Col`, `TYPE_LABELS`), its references
to the store (`Ref`), the kind itself (`Kind`: key, columns, links, detection hints). The kinds are
defined by family in `spec_templates`, `spec_acteurs` and `spec_national`, registered in `spec`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

# Column types (French labels shown in the template's description sheet).
TYPE_LABELS: dict[str, str] = {
    "texte": "texte",
    "entier": "nombre entier",
    "montant": "montant en euros (virgule décimale acceptée, ≥ 0)",
    "decimal": "nombre (virgule décimale acceptée)",
    "taux": "part entre 0 et 1 (ou pourcentage : 45 %)",
    "date": "date JJ/MM/AAAA (ou AAAA-MM-JJ)",
    "booleen": "oui / non",
    "choix": "une valeur de la liste",
    "code_qp": "code QPV 2024 (QN + département + 2 chiffres + lettre, ex. QN07511M)",
    "siret": "SIRET, 14 chiffres (zéros de tête restaurés)",
    "siren": "SIREN, 9 chiffres (zéros de tête restaurés)",
    "rna": "numéro RNA (W + 9 caractères)",
    "insee_com": "code commune INSEE, 5 caractères (2A/2B pour la Corse)",
    "insee_dep": "code département, 2 ou 3 caractères",
    "liste_qp": "un ou plusieurs codes QPV séparés par ; ou ,",
    "liste_insee": "un ou plusieurs codes commune séparés par ; ou ,",
    "liste_siren": "un ou plusieurs SIREN séparés par ; ou ,",
    "liste": "une ou plusieurs valeurs séparées par ; ou ,",
    "valeur_secret": "nombre, ou nd / ns / s / so (secret statistique)",
    "geojson": "géométrie GeoJSON (Polygon ou MultiPolygon, longitude/latitude)",
}


@dataclass(frozen=True)
class Col:
    name: str
    type: str
    required: bool = False
    description: str = ""
    example: str = ""
    allowed: tuple[str, ...] = ()
    target: str | None = None  # store column when it differs (multi-value links: None)
    min_value: float | None = None
    max_value: float | None = None
    warn_only_allowed: bool = False  # unknown value = warning, not error


@dataclass(frozen=True)
class Ref:
    column: str
    table: str
    table_column: str
    label: str  # French noun for messages: « contrat », « porteur »
    feminine: bool = False  # grammatical gender of `label`: « action inconnue »


@dataclass(frozen=True)
class Kind:
    code: str
    label: str
    table: str
    key: tuple[str, ...]
    columns: tuple[Col, ...]
    refs: tuple[Ref, ...] = ()
    links: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # multi-value column → (link table,
    # key col, value col)
    # Detection (see `detect.detect_kind`) and header mapping (`detect.map_headers`):
    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)  # column → headers (normalised: lower
    # case, no accents, single spaces) that name it in files of this kind
    detect_missing: int = 0  # required columns a file may lack and still be taken for this kind
    sure_columns: tuple[str, ...] = ()  # these columns found: the file is of this kind, whatever else
    first_header: str | None = None  # (normalised) a file whose first header is this one is of this kind
    exact_headers: frozenset[str] = frozenset()  # (normalised) a file with exactly these headers is of this kind

    def col(self, name: str) -> Col:
        return next(c for c in self.columns if c.name == name)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


class _Bounds(TypedDict):
    min_value: float
    max_value: float


YEAR: _Bounds = {"min_value": 2014, "max_value": 2035}  # the years a kind's year column accepts
