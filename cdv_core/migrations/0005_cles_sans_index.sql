-- 0005: the four tables that imports fill by the million (actions, their funding lines and
-- QPV links, indicator values) keep their keys but lose the PRIMARY KEY index. DuckDB
-- maintains such an index row by row and rewrites it at every checkpoint: on a
-- 1 000 000-line programmation file it was two thirds of the writing time. Key uniqueness is
-- now one of the store's cross-table rules (store._INTEGRITY_RULES), checked before every
-- COMMIT that touches these tables. Each table is rebuilt with the same columns and CHECKs,
-- plus `id_import`: the import that inserted the row (NULL for the demo and the app's own
-- edits). Rolling an import back deletes its rows by this number, so an import of a million
-- new rows no longer copies their keys into `annulation.i<id>_<table>_nouveaux`.

CREATE TABLE action_0005 (
    code_action      VARCHAR NOT NULL,   -- action / dossier code (Dauphin); unique (rule)
    code_contrat     VARCHAR NOT NULL,
    id_porteur       VARCHAR NOT NULL,
    libelle          VARCHAR NOT NULL,
    thematique       VARCHAR NOT NULL CHECK (thematique IN (
        '1.1', '1.2', '1.3', '1.4', '1.5', '1.5a', '1.5b', '1.6', '2.1', '2.2', '3.1', '3.2', '4.1', '4.2')),
    mode_financement VARCHAR NOT NULL CHECK (mode_financement IN (
        'AAP', 'CPO', 'subvention de fonctionnement', 'investissement')),
    annee_debut      INTEGER NOT NULL CHECK (annee_debut BETWEEN 2014 AND 2035),
    annee_fin        INTEGER NOT NULL CHECK (annee_fin BETWEEN 2014 AND 2035),
    date_debut       DATE,
    date_fin         DATE,
    statut           VARCHAR NOT NULL CHECK (statut IN (
        'déposée', 'accordée', 'refusée', 'en cours', 'réalisée', 'abandonnée')),
    avancement       DOUBLE CHECK (avancement IS NULL OR avancement BETWEEN 0 AND 1),
    hors_qpv         BOOLEAN NOT NULL DEFAULT false,
    date_decision    DATE,
    date_statut      DATE,
    id_import        INTEGER,
    CHECK (annee_fin >= annee_debut),
    CHECK (date_fin IS NULL OR date_debut IS NULL OR date_fin >= date_debut)
);
INSERT INTO action_0005 BY NAME SELECT * FROM action ORDER BY code_action;
DROP TABLE action;
ALTER TABLE action_0005 RENAME TO action;

CREATE TABLE action_quartier_0005 (
    code_action VARCHAR NOT NULL,        -- (code_action, code_qp) unique (rule)
    code_qp     VARCHAR NOT NULL,
    part        DOUBLE CHECK (part IS NULL OR (part > 0 AND part <= 1)),
    id_import   INTEGER
);
INSERT INTO action_quartier_0005 BY NAME SELECT * FROM action_quartier ORDER BY code_action, code_qp;
DROP TABLE action_quartier;
ALTER TABLE action_quartier_0005 RENAME TO action_quartier;

CREATE TABLE financement_0005 (
    code_action     VARCHAR NOT NULL,    -- (code_action, financeur, annee) unique (rule)
    financeur       VARCHAR NOT NULL CHECK (financeur IN (
        'État P147', 'État droit commun', 'commune', 'EPCI', 'département', 'région', 'CAF',
        'bailleurs', 'FSE+', 'Banque des territoires', 'autres')),
    annee           INTEGER NOT NULL CHECK (annee BETWEEN 2014 AND 2035),
    montant_demande DECIMAL(14, 2) CHECK (montant_demande IS NULL OR montant_demande >= 0),
    montant_accorde DECIMAL(14, 2) CHECK (montant_accorde IS NULL OR montant_accorde >= 0),
    montant_verse   DECIMAL(14, 2) CHECK (montant_verse IS NULL OR montant_verse >= 0),
    date_demande    DATE,
    date_decision   DATE,
    date_versement  DATE,
    id_import       INTEGER
);
INSERT INTO financement_0005 BY NAME SELECT * FROM financement ORDER BY code_action, financeur, annee;
DROP TABLE financement;
ALTER TABLE financement_0005 RENAME TO financement;

CREATE TABLE valeur_indicateur_0005 (
    code_indicateur VARCHAR NOT NULL,    -- (code_indicateur, type_territoire, code_territoire, date_valeur) unique (rule)
    type_territoire VARCHAR NOT NULL CHECK (type_territoire IN ('QPV', 'commune', 'EPCI', 'unité urbaine', 'département', 'France')),
    code_territoire VARCHAR NOT NULL,
    date_valeur     DATE NOT NULL,
    valeur          DOUBLE,
    secret          VARCHAR CHECK (secret IS NULL OR secret IN ('nd', 'ns', 's', 'so')),
    source_fichier  VARCHAR,
    id_import       INTEGER,
    CHECK ((valeur IS NULL) = (secret IS NOT NULL))
);
INSERT INTO valeur_indicateur_0005 BY NAME SELECT * FROM valeur_indicateur
    ORDER BY code_indicateur, type_territoire, code_territoire, date_valeur;
DROP TABLE valeur_indicateur;
ALTER TABLE valeur_indicateur_0005 RENAME TO valeur_indicateur;
