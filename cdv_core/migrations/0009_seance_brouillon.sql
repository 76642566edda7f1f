-- 0009: the draft of a séance in progress, kept in the store so that a reconnection, a reload of
-- the page or another browser of the same person finds it again (cdv_core/edits/seance.py). One
-- row per person and contract; deleted in the transaction that records the séance. Bookkeeping:
-- writing it does not change any figure (no store version bump, nothing in the log of writes).
-- Written in the dialect DuckLake accepts too (no key, unique or check: rules in store.py).

CREATE TABLE seance_brouillon (
    proprietaire VARCHAR   NOT NULL,   -- who conducts it: the email, or « local:<name> » without accounts
    code_contrat VARCHAR   NOT NULL,
    contenu      VARCHAR   NOT NULL,   -- JSON: instance, date, agenda, frozen sections, position,
                                       -- decisions, attendance (cdv_core.seance.draft_json)
    modifie_le   TIMESTAMP NOT NULL
);
