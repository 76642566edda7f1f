-- 0011: the history of each QPV's progress status (cdv_core/edits/historique.py), so that a
-- committee sees « à surveiller depuis mars 2026 » and a line of statuses over time. A row is
-- added when a QPV's status at the « données au » date differs from its last recorded one:
-- after every write of the app or the command line that changes it, and by the monthly
-- `python -m cdv_core statuts` (the passing of time alone moves statuses). Append-only.
-- Written in the dialect DuckLake accepts too (no key, unique or check).

CREATE TABLE statut_qpv_historique (
    code_qp       VARCHAR   NOT NULL,
    donnees_au    DATE      NOT NULL,   -- the date the status describes
    statut        VARCHAR   NOT NULL,   -- cdv_core.domain.progress.STATUTS
    ecart         DOUBLE,               -- réalisé − attendu (None: not measured)
    version_store INTEGER   NOT NULL,   -- the store version the status was computed on
    enregistre_le TIMESTAMP NOT NULL
);
