-- 0003: imports (issue 8). Header mappings the user confirmed once, and what each import needs
-- for an exact rollback: per touched table, the rows as they were before (changed or deleted)
-- and the keys of the rows it inserted, kept in tables of the `annulation` schema named
-- i<id_import>_<table>_avant / i<id_import>_<table>_nouveaux.
CREATE SCHEMA IF NOT EXISTS annulation;

CREATE TABLE import_correspondance (
    type_import VARCHAR NOT NULL,
    entete      VARCHAR NOT NULL,   -- the file's header, normalised (lower case, no accents)
    colonne     VARCHAR NOT NULL,   -- our column
    PRIMARY KEY (type_import, entete)
);

CREATE TABLE import_annulation (
    id_import   INTEGER NOT NULL,
    ordre       INTEGER NOT NULL,   -- order of the writes; a rollback undoes them in reverse
    nom_table   VARCHAR NOT NULL,
    cle         VARCHAR NOT NULL,   -- key columns, comma-separated
    nb_avant    INTEGER NOT NULL,
    nb_nouveaux INTEGER NOT NULL,
    PRIMARY KEY (id_import, ordre)
);

ALTER TABLE import_log ADD COLUMN encodage VARCHAR;
ALTER TABLE import_log ADD COLUMN separateur VARCHAR;
ALTER TABLE import_log ADD COLUMN nb_avertissements INTEGER;
ALTER TABLE import_log ADD COLUMN duree_s DOUBLE;
ALTER TABLE import_log ADD COLUMN annule_le TIMESTAMP;
ALTER TABLE import_log ADD COLUMN resume VARCHAR;      -- French one-line summary of compteurs
