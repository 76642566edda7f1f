-- 0002: frozen baselines (« référence gelée ») for the « Jalons et actualisation 2027 » screen.
-- A baseline is a snapshot of one contract's state at a chosen date (signature by default),
-- written once by cdv_core.edits.jalons.freeze_baseline and never updated: imports write to
-- the live tables only, so later imports cannot alter a snapshot. The rows are keyed by id_gel.

CREATE TABLE reference_gel (
    id_gel              INTEGER PRIMARY KEY,   -- max + 1 at freeze time (no sequence: demo rows carry ids)
    code_contrat        VARCHAR NOT NULL,
    libelle             VARCHAR NOT NULL,
    date_gel            DATE NOT NULL,          -- the state frozen is the one at this date
    annee_programmation INTEGER NOT NULL,       -- the programmation year snapshotted (year of date_gel)
    created_at          TIMESTAMP NOT NULL,     -- when the snapshot was taken
    auteur              VARCHAR
);

CREATE TABLE reference_gel_objectif (
    id_gel        INTEGER NOT NULL,
    code_objectif VARCHAR NOT NULL,
    code_qp       VARCHAR,
    axe           VARCHAR NOT NULL,
    libelle       VARCHAR NOT NULL,
    PRIMARY KEY (id_gel, code_objectif)
);

CREATE TABLE reference_gel_thematique (
    id_gel          INTEGER NOT NULL,
    thematique      VARCHAR NOT NULL,
    nb_actions      INTEGER NOT NULL,
    montant_accorde DOUBLE NOT NULL,
    PRIMARY KEY (id_gel, thematique)
);

CREATE TABLE reference_gel_indicateur (
    id_gel          INTEGER NOT NULL,
    code_indicateur VARCHAR NOT NULL,
    code_qp         VARCHAR NOT NULL,
    date_valeur     DATE NOT NULL,
    valeur          DOUBLE,
    secret          VARCHAR,
    PRIMARY KEY (id_gel, code_indicateur, code_qp)
);
