-- 0008: validated figures. A chef de projet or an administrator validates what a séance (or a
-- rapport annuel) presented for one contract and one period (years): who, when, each figure as
-- it was shown, and, per table, a digest of the contract's rows of that period. An import that
-- would change rows of a validated period needs an explicit confirmation (cdv_core/validation.py).
-- Written in the dialect DuckLake accepts too (no key, unique or check: rules in store.py).

CREATE TABLE validation (
    id_validation INTEGER   NOT NULL,
    code_contrat  VARCHAR   NOT NULL,
    annee_debut   INTEGER   NOT NULL,   -- the validated period: the years the figures cover
    annee_fin     INTEGER   NOT NULL,
    libelle       VARCHAR   NOT NULL,   -- « Séance du 12/03/2026 — Comité de pilotage »
    id_reunion    VARCHAR,              -- the meeting that presented them, when there is one
    portee        VARCHAR,              -- JSON: how the figures were built (sections, données au, QPV,
                                        -- settings), so they can be rebuilt the same way
    empreintes    VARCHAR,              -- JSON: table → [rows, hash] of the contract's rows of the period
    valide_par    VARCHAR   NOT NULL,   -- the acting user's label
    valide_le     TIMESTAMP NOT NULL,
    version_store INTEGER               -- the store version the figures were read from
);

-- Each figure as it was on screen: its section, label, displayed value and note.
CREATE TABLE validation_chiffre (
    id_validation INTEGER NOT NULL,
    ordre         INTEGER NOT NULL,
    section       VARCHAR NOT NULL,     -- the séance section key (seance.SECTIONS)
    titre_section VARCHAR NOT NULL,
    libelle       VARCHAR NOT NULL,
    valeur        VARCHAR NOT NULL,
    note          VARCHAR
);
