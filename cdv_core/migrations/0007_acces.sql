-- 0007: accounts, roles per contract, validated figures, and who wrote what.
-- Written in the dialect DuckLake accepts too (no key, unique or check: rules in store.py).

-- The people who may open the app when CDV_AUTH is `oidc` or `entete` (with `aucune` nobody
-- logs in and this table is not read). Email in lower case: the identity the provider returns.
CREATE TABLE utilisateur (
    email      VARCHAR   NOT NULL,
    nom        VARCHAR,
    role       VARCHAR   NOT NULL,   -- lecteur | partenaire | chef_de_projet | administrateur
    actif      BOOLEAN   NOT NULL,
    cree_le    TIMESTAMP,
    modifie_le TIMESTAMP
);

-- The contracts a user sees (and, for a chef de projet, writes). An administrator has every
-- contract and no rows here.
CREATE TABLE utilisateur_contrat (
    email        VARCHAR NOT NULL,
    code_contrat VARCHAR NOT NULL
);

-- The log of writes, extended into an audit: who, what, for which contracts, with keys and counts.
ALTER TABLE journal_ecriture ADD COLUMN auteur VARCHAR;
ALTER TABLE journal_ecriture ADD COLUMN operation VARCHAR;
ALTER TABLE journal_ecriture ADD COLUMN contrats VARCHAR;   -- codes separated by « , »; NULL: none (common data)
ALTER TABLE journal_ecriture ADD COLUMN detail VARCHAR;     -- JSON: keys and counts

-- The contracts an import touched (codes separated by « , »): its rollback is checked against them.
ALTER TABLE import_log ADD COLUMN contrats VARCHAR;
