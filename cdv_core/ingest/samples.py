"""Synthetic programmation extracts (Dauphin-style French headers), for tests and the bench.
Vectorised with numpy; deterministic for a seed."""

from __future__ import annotations

import io

import numpy as np
import polars as pl

from cdv_core.domain import identifiers

HEADERS = {
    "code_action": "N° dossier",
    "annee": "Exercice",
    "code_contrat": "Code contrat ville",
    "libelle": "Libellé de l'action",
    "siret": "Code SIRET",
    "nom_porteur": "Raison sociale",
    "thematique": "Thème",
    "financeur": "Financeur",
    "montant_demande": "Montant demandé",
    "montant_accorde": "Montant engagé",
    "montant_verse": "Montant versé",
    "date_decision": "Date de décision",
    "quartiers": "Quartiers prioritaires",
}
_THEMES = ["1.1 Éducation", "1.2 Santé", "2.1 Emploi", "1.5a Jeunesse", "3.2 Tranquillité publique"]
_WORDS = ["Atelier", "Accompagnement", "Chantier", "Festival", "Permanence"]


def _luhn_siret(body: np.ndarray) -> np.ndarray:
    """Complete 13-digit bodies (int64) into Luhn-valid 14-digit SIRET strings."""
    digits = (body[:, None] // 10 ** np.arange(12, -1, -1)) % 10
    check = identifiers.luhn_check_digit(digits)
    return np.char.add(np.char.zfill(body.astype(str), 13), check.astype(str))


def programmation(
    n: int, *, contracts: dict[str, list[str]], year: int = 2025, seed: int = 1, porteurs: int | None = None
) -> pl.DataFrame:
    """`n` rows (one dossier each, financeur État P147) spread over `contracts` {code: [QPV…]}."""
    rng = np.random.default_rng(seed)
    codes = list(contracts)
    ci = rng.integers(0, len(codes), n)
    n_porteurs = porteurs or max(1, n // 20)
    pid = rng.integers(0, n_porteurs, n)
    sirets = _luhn_siret(np.arange(n_porteurs, dtype=np.int64) * 7919 + 1_000_000_000_000)
    qpv_per_contract = [contracts[c] for c in codes]
    quartiers = np.array(["; ".join(q[:2]) for q in qpv_per_contract])[ci]  # per contract, not per row
    accorde = rng.integers(500, 60_000, n) * 1.0 + rng.integers(0, 100, n) / 100
    verse = np.floor(accorde * rng.uniform(0, 1, n) * 100) / 100
    return pl.DataFrame(
        {
            HEADERS["code_action"]: np.char.add(f"D{year}-", np.char.zfill(np.arange(n).astype(str), 7)),
            HEADERS["annee"]: np.full(n, year),
            HEADERS["code_contrat"]: np.array(codes)[ci],
            HEADERS["libelle"]: np.char.add(
                np.array(_WORDS)[rng.integers(0, len(_WORDS), n)], np.char.add(" œuvre’s n° ", np.arange(n).astype(str))
            ),
            HEADERS["siret"]: sirets[pid],
            HEADERS["nom_porteur"]: np.char.add("Association Cœur’s ", pid.astype(str)),
            HEADERS["thematique"]: np.array(_THEMES)[rng.integers(0, len(_THEMES), n)],
            HEADERS["financeur"]: np.full(n, "État P147"),
            HEADERS["montant_demande"]: accorde + 1000,
            HEADERS["montant_accorde"]: accorde,
            HEADERS["montant_verse"]: verse,
            HEADERS["date_decision"]: np.full(n, f"15/04/{year}"),
            HEADERS["quartiers"]: quartiers,
        }
    )


def to_csv(frame: pl.DataFrame, *, encoding: str = "utf-8-sig") -> bytes:
    """`;`, decimal comma, as Excel's « CSV UTF-8 » (BOM) or « CSV (séparateur : point-virgule) » (cp1252)."""
    buffer = io.BytesIO()
    frame.write_csv(buffer, separator=";", decimal_comma=True, include_bom=False)
    text = buffer.getvalue().decode("utf-8")
    if encoding == "utf-8-sig":
        return b"\xef\xbb\xbf" + text.encode("utf-8")
    return text.replace("œuvre’s", "œuvre’s €").encode(encoding)
