-- 0006: the log of writes. Every committed write (`store.transaction`) records here the store
-- version it produced and the tables it wrote ('*' when the writer did not say which). Rolling
-- an import back uses it to refuse when something else wrote the same tables since: a later
-- import still in force, or an entry made through the app's forms, that the rollback would
-- otherwise erase without a word.
CREATE TABLE journal_ecriture (
    version_store INTEGER   NOT NULL,   -- the store version after the write
    horodatage    TIMESTAMP,            -- NULL: before this log existed (see below)
    nom_table     VARCHAR   NOT NULL,   -- a table of the store, or '*' (any table)
    id_import     INTEGER               -- the import written or rolled back; NULL for the app's forms
);

-- Nothing written before this migration is known: an import still in force may have had its
-- rows edited through the forms since. One '*' row at this migration's version (the store
-- version + 1, bumped by `store.migrate`) makes the rollback of such an import refuse rather
-- than erase what it cannot see.
INSERT INTO journal_ecriture
SELECT CAST(valeur AS INTEGER) + 1, NULL, '*', NULL FROM store_meta
WHERE cle = 'store_version' AND EXISTS (SELECT 1 FROM import_log WHERE statut = 'validé');
