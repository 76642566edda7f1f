-- 0006: the log of writes. Every committed write (`store.transaction`) records here the store
-- version it produced and the tables it wrote ('*' when the writer did not say which). Rolling
-- an import back uses it to refuse when something else wrote the same tables since: a later
-- import still in force, or an entry made through the app's forms, that the rollback would
-- otherwise erase without a word.
CREATE TABLE journal_ecriture (
    version_store INTEGER   NOT NULL,   -- the store version after the write
    horodatage    TIMESTAMP NOT NULL,
    nom_table     VARCHAR   NOT NULL,   -- a table of the store, or '*' (any table)
    id_import     INTEGER               -- the import written or rolled back; NULL for the app's forms
);
