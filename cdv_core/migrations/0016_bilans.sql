-- 0016: the bilans that porteurs owe for each subsidy (compte rendu financier, CERFA n° 15059,
-- within six months of the end of the year: a setting), issue #19. One row per action and
-- exercice whose bilan was received: its date and what the team made of it. A bilan that is
-- due and has no row is « manquant ». And the porteur's contact, for the reminders.
-- Written in the dialect DuckLake accepts too (no key, unique or check: the write checks them).

CREATE TABLE bilan_action (
    code_action    VARCHAR NOT NULL,
    annee          INTEGER NOT NULL,   -- the exercice the bilan accounts for
    date_reception DATE    NOT NULL,
    statut         VARCHAR NOT NULL,   -- 'reçu' (to examine), 'accepté', 'à compléter'
    commentaire    VARCHAR,
    id_import      INTEGER,            -- the import that inserted the row (as the bulk tables)
    modifie_par    VARCHAR,
    modifie_le     TIMESTAMP
);

ALTER TABLE porteur ADD COLUMN contact_nom VARCHAR;
ALTER TABLE porteur ADD COLUMN contact_email VARCHAR;
ALTER TABLE porteur ADD COLUMN contact_telephone VARCHAR;
