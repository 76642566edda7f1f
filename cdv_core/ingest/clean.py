"""Typed values from text cells, vectorised with Polars, and the problems found on the way:
text, dates, yes/no, choices (and their synonyms), codes (QPV, SIRET, SIREN, RNA, INSEE); the
numbers through `numbers.number_column`.

Every function here returns expressions; nothing loops over data rows in Python.
"""

from __future__ import annotations

import functools

import polars as pl

from cdv_core.domain import identifiers, model, texte
from cdv_core.ingest.model import ERROR, WARNING
from cdv_core.ingest.numbers import NUMBER_TYPES, Check, number_column
from cdv_core.ingest.spec_types import Col

QPV_2024 = model.QPV_2024_PATTERN
QPV_2015 = model.QPV_2015_PATTERN
RNA_PATTERN = r"^W\d[A-Z\d]\d{7}$"
INSEE_COM_PATTERN = r"^(\d{5}|2[AB]\d{3})$"
INSEE_DEP_PATTERN = r"^(0[1-9]|1\d|2[1-9]|2[AB]|[3-8]\d|9[0-5]|97[1-8]|98[6-8])$"
LA_POSTE_SIREN = identifiers.LA_POSTE_SIREN
# any tag (« <b onmouseover=…> », « <details ontoggle=…> », a comment), not a list of known tags;
# « a < b » and « <3 » are text
_HTML = r"(?i)(<\s*[/!?]?\s*[a-z]|javascript:)"
_SPACES = r"[\s\u00a0\u202f]"
LIST_SPLIT = r"[;,]\s*"
VALUE = "__v"  # name of the typed value column while a column's checks run

# Extra spellings people use for our allowed values (normalised form → canonical value).
CHOICE_SYNONYMS: dict[str, dict[str, str]] = {
    "financeur": {
        "etat": "État P147",
        "p147": "État P147",
        "bop 147": "État P147",
        "etat bop 147": "État P147",
        "etat - bop 147": "État P147",
        "etat p 147": "État P147",
        "politique de la ville": "État P147",
        "credits specifiques": "État P147",
        "etat - droit commun": "État droit commun",
        "ville": "commune",
        "mairie": "commune",
        "commune": "commune",
        "intercommunalite": "EPCI",
        "metropole": "EPCI",
        "conseil departemental": "département",
        "conseil regional": "région",
        "caf": "CAF",
        "caisse d allocations familiales": "CAF",
        "bailleur": "bailleurs",
        "bailleur social": "bailleurs",
        "fse": "FSE+",
        "fonds social europeen": "FSE+",
        "bdt": "Banque des territoires",
        "autre": "autres",
        # ANCT delegates the P147 credits; the other State services fund from their own programmes
        "anct": "État P147",
        "etat anct": "État P147",
        "etat droit commun": "État droit commun",
        "ars": "État droit commun",
        "education nationale": "État droit commun",
        "drac": "État droit commun",
        "fipd": "État droit commun",
        "dreets": "État droit commun",
        "ddets": "État droit commun",
        "prefecture": "État droit commun",
        "agglo": "EPCI",
        "communaute d agglomeration": "EPCI",
        "communaute de communes": "EPCI",
        "communaute urbaine": "EPCI",
        "cd": "département",
        "departement": "département",
        "region": "région",
        "bailleurs sociaux": "bailleurs",
        "caisse des depots": "Banque des territoires",
        "cdc": "Banque des territoires",
    },
    "mode_financement": {
        "appel a projets": "AAP",
        "convention pluriannuelle": "CPO",
        "convention pluriannuelle d objectifs": "CPO",
        "fonctionnement": "subvention de fonctionnement",
    },
    "statut": {
        "accorde": "accordée",
        "vote": "accordée",
        "engage": "accordée",
        "paye": "réalisée",
        "solde": "réalisée",
        "refuse": "refusée",
        "rejete": "refusée",
        "depose": "déposée",
        "en instruction": "déposée",
        "abandonne": "abandonnée",
        "realise": "réalisée",
        "instruit": "déposée",
        "demande en cours": "déposée",
        "recevable": "déposée",
        "programme": "accordée",
        "mandate": "accordée",
        "classe sans suite": "abandonnée",
        "annule": "abandonnée",
        "annulee": "abandonnée",
        "sans suite": "abandonnée",
        # a bilan's statut (these lead only to its values: reçu, accepté, à compléter)
        "recu a examiner": "reçu",
        "a examiner": "reçu",
        "en cours d examen": "reçu",
        "en examen": "reçu",
        "valide": "accepté",
        "approuve": "accepté",
        "conforme": "accepté",
        "complet": "accepté",
        "incomplet": "à compléter",
        "a reprendre": "à compléter",
        "non conforme": "à compléter",
        "pieces manquantes": "à compléter",
    },
    # INSEE codes SEXE 1 = hommes, 2 = femmes; « M » is left out: masculin to some, madame to others
    "sexe": {
        "f": "femmes",
        "femme": "femmes",
        "feminin": "femmes",
        "2": "femmes",
        "h": "hommes",
        "homme": "hommes",
        "masculin": "hommes",
        "1": "hommes",
    },
}


def normalise_text(expr: pl.Expr) -> pl.Expr:
    """Lower case, accents removed, punctuation → spaces, single spaces: for matching headers/values."""
    return (
        expr.str.normalize("NFD")
        .str.replace_all(r"\p{Mn}", "")
        .str.to_lowercase()
        .str.replace_all(r"[^a-z0-9+.%]+", " ")
        .str.strip_chars()
    )


@functools.lru_cache(maxsize=4096)
def normalise_str(value: str) -> str:
    """`normalise_text` of one string (headers, allowed values: the same few hundred, asked for
    again by every kind the detection tries, hence the cache)."""
    return pl.select(normalise_text(pl.lit(value))).item()


def age_band(raw: pl.Expr) -> pl.Expr:
    """An age band as `model.AGE_BAND_PATTERN` writes it, from the usual spellings (null when
    not one): « 15-24 », « 15 à 24 ans », « 15_24 » → « 15 à 24 ans »; « -26 », « <26 »,
    « moins de 26 ans », « moins26 » → « moins de 26 ans »; « 50+ », « 50 ans et plus », « 50 ans
    ou plus », « 50plus », « 50p » → « 50 ans et plus »."""
    s = raw.str.normalize("NFD").str.replace_all(r"\p{Mn}", "").str.to_lowercase().str.strip_chars()
    span = s.str.extract_groups(r"^(\d{1,3})\s*(?:-|_|a)\s*(\d{1,3})\s*(?:ans)?$")
    below = s.str.extract(r"^(?:-|<|moins de|moins)\s*(\d{1,3})\s*(?:ans)?$", 1)
    above = s.str.extract(r"^(\d{1,3})\s*(?:\+|p|plus|ans et plus|ans ou plus|et plus|ou plus|ans \+)$", 1)
    return (
        pl.when(span.struct.field("1").is_not_null())
        .then(pl.format("{} à {} ans", span.struct.field("1").cast(pl.Int32), span.struct.field("2").cast(pl.Int32)))
        .when(below.is_not_null())
        .then(pl.format("moins de {} ans", below.cast(pl.Int32)))
        .when(above.is_not_null())
        .then(pl.format("{} ans et plus", above.cast(pl.Int32)))
    )


def unwrap(expr: pl.Expr) -> pl.Expr:
    """`="01053"` (Excel's "keep as text" trick) → `01053`; surrounding spaces removed."""
    return expr.str.replace(r'^="(.*)"$', "$1").str.strip_chars().replace("", None)


def _digits(expr: pl.Expr) -> pl.Expr:
    return expr.str.replace_all(r"[\s\u00a0\u202f.\-]", "")


def luhn_ok(expr: pl.Expr, length: int) -> pl.Expr:
    """Luhn checksum of a `length`-digit string (callers have checked the digits)."""
    total = pl.lit(0, dtype=pl.Int32)
    for i in range(length):
        d = expr.str.slice(i, 1).cast(pl.Int32, strict=False)
        if (length - i) % 2 == 0:
            d = pl.when(d * 2 > 9).then(d * 2 - 9).otherwise(d * 2)
        total = total + d
    return (total % 10) == 0


def siret_ok(expr: pl.Expr) -> pl.Expr:
    """Luhn, or La Poste's rule — the shared rule of `cdv_core.domain.identifiers`."""
    return identifiers.siret_valid_expr(expr)


def parse_date(expr: pl.Expr) -> pl.Expr:
    s = expr.str.replace(r"^(\d{4}-\d{2}-\d{2})[ T].*$", "$1").str.replace(r"^(\d{1,2}/\d{1,2}/\d{4}) .*$", "$1")
    return pl.coalesce(
        s.str.to_date("%d/%m/%Y", strict=False),
        s.str.to_date("%Y-%m-%d", strict=False),
        s.str.to_date("%d-%m-%Y", strict=False),
        s.str.to_date("%d.%m.%Y", strict=False),
    )


def choice_map(col: Col) -> dict[str, str]:
    # Synonyms are keyed by column name, shared by every kind's « statut »: only those that lead
    # to one of this column's values apply, and never over one of its own values (a meeting's
    # « annulée » is not an action's « abandonnée »).
    mapping = {k: v for k, v in CHOICE_SYNONYMS.get(col.name, {}).items() if v in col.allowed}
    mapping.update({normalise_str(v): v for v in col.allowed})
    if col.name == "thematique":
        mapping.update({normalise_str(label): code for code, label in model.THEMATIQUES_P147.items()})
    return mapping


def typed_column(
    col: Col, raw: pl.Expr, *, groups: bool = True, dot_decimals: bool = False
) -> tuple[pl.Expr, list[Check]]:
    """The typed value of one (non-list) column and the checks that flag bad cells.

    `raw` is the unwrapped text cell (null when empty). `groups=False`: no cell of the column
    has a thousands grouping's shape (see `numbers.has_groups`), their patterns are skipped.
    `dot_decimals`: the whole column uses the dot as decimal mark (see `numbers.uses_dot_decimals`)."""
    t = col.type
    present = raw.is_not_null()
    v = pl.col(VALUE)  # checks read the typed value computed once (see `cells.evaluate`)
    checks: list[Check] = []
    if t == "texte":
        value = raw
        suspicious = raw.str.contains("<", literal=True) | raw.str.contains("javascript", literal=True)
        checks.append(
            (
                suspicious & raw.str.contains(_HTML),
                "Texte contenant du code HTML ou un script",
                "Du texte simple, sans balise < >",
                ERROR,
            )
        )
        checks.append(
            (raw.str.len_chars() > 2000, "Texte trop long (plus de 2 000 caractères)", "Un texte plus court", ERROR)
        )
    elif t in NUMBER_TYPES:
        value, checks = number_column(col, raw, v, groups=groups, dot_decimals=dot_decimals)
    elif t == "date":
        # `1/4/24`: the century is never guessed
        short_year = raw.str.contains(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2}(?:[ T].*)?$")
        value = pl.when(short_year).then(None).otherwise(parse_date(raw))
        checks.append(
            (
                present & short_year,
                "Année sur 2 chiffres : écrivez l'année en entier",
                "Une date JJ/MM/AAAA avec l'année sur 4 chiffres, ex. 01/04/2024 (et non 1/4/24)",
                ERROR,
            )
        )
        checks.append(
            (present & v.is_null() & ~short_year, "Date illisible", "Une date JJ/MM/AAAA, ex. 31/03/2024", ERROR)
        )
        checks.append(
            (v.dt.year().is_between(1990, 2100).not_(), "Date improbable", "Une date entre 1990 et 2100", ERROR)
        )
    elif t == "booleen":
        low = normalise_text(raw)
        value = (
            pl.when(low.is_in(["oui", "o", "vrai", "true", "1", "x", "yes"]))
            .then(True)
            .when(low.is_in(["non", "n", "faux", "false", "0", "no"]))
            .then(False)
            .otherwise(None)
        )
        checks.append((present & v.is_null(), "Valeur oui/non attendue", "oui ou non", ERROR))
    elif t == "choix":
        mapping = choice_map(col)
        norm = normalise_text(raw)
        if col.name == "thematique":
            code = raw.str.extract(r"^\s*(\d\.\d[ab]?)\b", 1)
            norm = pl.when(code.is_not_null()).then(code).otherwise(norm)
        value = norm.replace_strict(mapping, default=None, return_dtype=pl.String)
        allowed = ", ".join(col.allowed) if len(col.allowed) <= 16 else ", ".join(col.allowed[:16]) + "…"
        checks.append(
            (
                present & (v.is_null() | ~v.is_in(list(col.allowed))),
                "Valeur non reconnue",
                f"Une de ces valeurs : {allowed}",
                WARNING if col.warn_only_allowed else ERROR,
            )
        )
        if col.warn_only_allowed:
            value = pl.coalesce(value, raw)
    elif t == "code_qp":
        s = raw.str.to_uppercase().str.replace_all(_SPACES, "")
        value = s
        checks.append(
            (
                present & s.str.contains(QPV_2015),
                "Code QPV 2015 (ancienne géographie prioritaire)",
                "Le code QPV 2024 correspondant (QN…), voir la liste officielle de l'ANCT",
                ERROR,
            )
        )
        checks.append(
            (
                present & ~s.str.contains(QPV_2024) & ~s.str.contains(QPV_2015),
                "Code QPV mal formé",
                "QN + département (3 caractères) + 2 chiffres + N/M/I/C, ex. QN07511M",
                ERROR,
            )
        )
    elif t == "siret":
        sci = raw.str.contains(r"(?i)\d[.,]\d+e\+?\d+$")
        d = _digits(raw)
        d = pl.when(d.str.contains(r"^\d{10,13}$")).then(d.str.zfill(14)).otherwise(d)
        value = d
        checks.append(
            (
                present & sci,
                "SIRET écrit en notation scientifique par Excel (chiffres perdus)",
                "Le SIRET complet en 14 chiffres (colonne au format Texte dans Excel)",
                ERROR,
            )
        )
        checks.append((present & ~sci & ~d.str.contains(r"^\d{14}$"), "SIRET mal formé", "14 chiffres", ERROR))
        checks.append(
            (
                present & d.str.contains(r"^\d{14}$") & ~siret_ok(d),
                "SIRET invalide (clé de contrôle)",
                "Un SIRET existant : vérifiez les chiffres sur annuaire-entreprises.data.gouv.fr",
                ERROR,
            )
        )
    elif t == "siren":
        d = _digits(raw)
        d = pl.when(d.str.contains(r"^\d{6,8}$")).then(d.str.zfill(9)).otherwise(d)
        value = d
        checks.append((present & ~d.str.contains(r"^\d{9}$"), "SIREN mal formé", "9 chiffres", ERROR))
        checks.append(
            (
                present & d.str.contains(r"^\d{9}$") & ~luhn_ok(d, 9) & (d != LA_POSTE_SIREN),
                "SIREN invalide (clé de contrôle)",
                "Un SIREN existant",
                ERROR,
            )
        )
    elif t == "rna":
        s = raw.str.to_uppercase().str.replace_all(_SPACES, "")
        value = s
        checks.append(
            (
                present & ~s.str.contains(RNA_PATTERN),
                "Numéro RNA mal formé",
                "W suivi de 9 caractères, ex. W751234567",
                ERROR,
            )
        )
    elif t == "insee_com":
        s = raw.str.to_uppercase().str.replace_all(_SPACES, "")
        s = pl.when(s.str.contains(r"^\d{1,4}$")).then(s.str.zfill(5)).otherwise(s)
        value = s
        checks.append(
            (
                present & s.str.contains(r"^20\d{3}$"),
                "Code commune corse en 20…",
                "2A… (Corse-du-Sud) ou 2B… (Haute-Corse)",
                ERROR,
            )
        )
        checks.append(
            (
                present & ~s.str.contains(INSEE_COM_PATTERN),
                "Code commune INSEE mal formé",
                "5 caractères, ex. 01053, 2A004, 97411",
                ERROR,
            )
        )
    elif t == "geojson":
        value = raw
        checks.append(
            (
                present
                & ~(
                    raw.str.contains('"type"', literal=True)
                    & raw.str.contains('"coordinates"', literal=True)
                    & raw.str.contains("Polygon", literal=True)
                ),
                "Géométrie GeoJSON invalide",
                "Un Polygon ou MultiPolygon GeoJSON",
                ERROR,
            )
        )
    elif t == "insee_dep":
        s = raw.str.to_uppercase().str.replace_all(_SPACES, "")
        s = pl.when(s.str.contains(r"^\d$")).then(s.str.zfill(2)).otherwise(s)
        value = s
        checks.append(
            (
                present & ~s.str.contains(INSEE_DEP_PATTERN),
                "Code département inconnu",
                "01 à 95, 2A, 2B, 971 à 978, 986 à 988",
                ERROR,
            )
        )
    else:  # pragma: no cover - spec error
        raise ValueError(t)
    if t not in ("entier", "montant", "decimal", "taux", "valeur_secret", "date", "booleen"):
        # a number, a date or a yes/no is never stored as text: a formula there is already
        # « Valeur non numérique » (one error per cell)
        checks.append((texte.formula_expr(raw), texte.FORMULA_PROBLEM, texte.FORMULA_FIX, ERROR))
    return value, checks


LIST_ELEMENT_TYPE = {"liste_qp": "code_qp", "liste_insee": "insee_com", "liste_siren": "siren", "liste": "texte"}
