-- 0001: the whole domain of DESIGN §2.
-- Keys are the real identifiers (code_qp, SIRET/RNA, action code). Hard rules are CHECK
-- constraints; rules that span tables (dates inside the contract period, references) are
-- checked by cdv_core.store.integrity_errors() before every commit.

CREATE TABLE store_meta (
    cle    VARCHAR PRIMARY KEY,
    valeur VARCHAR
);

CREATE TABLE contrat (
    code_contrat    VARCHAR PRIMARY KEY,
    libelle         VARCHAR NOT NULL,
    type_signataire VARCHAR NOT NULL CHECK (type_signataire IN ('EPCI', 'commune', 'EPT')),
    siren_signataire VARCHAR CHECK (siren_signataire IS NULL OR regexp_full_match(siren_signataire, '\d{9}')),
    insee_dep       VARCHAR NOT NULL,
    insee_reg       VARCHAR,
    territoire      VARCHAR NOT NULL DEFAULT 'hexagone' CHECK (territoire IN ('hexagone', 'outre-mer')),
    date_signature  DATE,
    date_debut      DATE NOT NULL,
    date_fin        DATE NOT NULL,
    signataires     VARCHAR,
    CHECK (date_fin > date_debut),
    CHECK (date_signature IS NULL OR date_signature <= date_fin)
);

CREATE TABLE quartier (
    code_qp      VARCHAR PRIMARY KEY CHECK (regexp_full_match(code_qp, 'QN(\d{3}|02[AB])\d{2}[NMIC]')),
    libelle      VARCHAR NOT NULL,
    code_contrat VARCHAR NOT NULL,
    insee_dep    VARCHAR NOT NULL,
    insee_com    VARCHAR NOT NULL,   -- main commune; others in communes
    lib_com      VARCHAR NOT NULL,
    communes     VARCHAR,            -- all INSEE codes, '; '-joined as in the official list
    siren_epci   VARCHAR,
    population   INTEGER CHECK (population IS NULL OR population >= 0),
    longitude    DOUBLE CHECK (longitude IS NULL OR longitude BETWEEN -180 AND 180),
    latitude     DOUBLE CHECK (latitude IS NULL OR latitude BETWEEN -90 AND 90),
    contour      VARCHAR             -- GeoJSON geometry, optional
);

CREATE TABLE projet_quartier (
    code_qp         VARCHAR PRIMARY KEY,
    code_contrat    VARCHAR NOT NULL,
    libelle         VARCHAR NOT NULL,
    enjeux          VARCHAR,
    date_validation DATE
);

CREATE TABLE objectif (
    code_objectif VARCHAR PRIMARY KEY,
    code_contrat  VARCHAR NOT NULL,
    code_qp       VARCHAR,            -- NULL: the contract's transversal base
    axe           VARCHAR NOT NULL,
    libelle       VARCHAR NOT NULL,
    date_creation DATE
);

CREATE TABLE porteur (
    id_porteur     VARCHAR PRIMARY KEY,  -- SIRET when known, else RNA, else a local code
    siret          VARCHAR CHECK (siret IS NULL OR regexp_full_match(siret, '\d{14}')),
    rna            VARCHAR CHECK (rna IS NULL OR regexp_full_match(rna, 'W\d[A-Z\d]\d{7}')),
    nom            VARCHAR NOT NULL,
    type_structure VARCHAR NOT NULL CHECK (type_structure IN (
        'association sans salarié', 'association avec salariés', 'collectivité',
        'établissement public', 'bailleur', 'entreprise', 'autre')),
    insee_com      VARCHAR
);

CREATE TABLE action (
    code_action      VARCHAR PRIMARY KEY,   -- action / dossier code (Dauphin)
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
    hors_qpv         BOOLEAN NOT NULL DEFAULT false,  -- poche de pauvreté
    date_decision    DATE,
    date_statut      DATE,                           -- when statut/avancement was last reported
    CHECK (annee_fin >= annee_debut),
    CHECK (date_fin IS NULL OR date_debut IS NULL OR date_fin >= date_debut)
);

CREATE TABLE action_quartier (
    code_action VARCHAR NOT NULL,
    code_qp     VARCHAR NOT NULL,
    part        DOUBLE CHECK (part IS NULL OR (part > 0 AND part <= 1)),  -- NULL: equal shares
    PRIMARY KEY (code_action, code_qp)
);

CREATE TABLE action_objectif (
    code_action   VARCHAR NOT NULL,
    code_objectif VARCHAR NOT NULL,
    PRIMARY KEY (code_action, code_objectif)
);

CREATE TABLE financement (
    code_action     VARCHAR NOT NULL,
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
    PRIMARY KEY (code_action, financeur, annee)
);

CREATE TABLE indicateur (
    code_indicateur VARCHAR PRIMARY KEY,
    libelle         VARCHAR NOT NULL,
    unite           VARCHAR NOT NULL,    -- '%', '€', 'nb', '‰', 'jours', ...
    sens            VARCHAR NOT NULL CHECK (sens IN ('hausse', 'baisse', 'neutre')),
    source          VARCHAR,
    axe             VARCHAR,
    agregation      VARCHAR NOT NULL DEFAULT 'moyenne pondérée' CHECK (agregation IN ('somme', 'moyenne pondérée'))
);

CREATE TABLE valeur_indicateur (
    code_indicateur VARCHAR NOT NULL,
    type_territoire VARCHAR NOT NULL CHECK (type_territoire IN ('QPV', 'commune', 'EPCI', 'unité urbaine', 'département', 'France')),
    code_territoire VARCHAR NOT NULL,
    date_valeur     DATE NOT NULL,
    valeur          DOUBLE,
    secret          VARCHAR CHECK (secret IS NULL OR secret IN ('nd', 'ns', 's', 'so')),
    source_fichier  VARCHAR,
    CHECK ((valeur IS NULL) = (secret IS NOT NULL)),  -- a missing value always says why
    PRIMARY KEY (code_indicateur, type_territoire, code_territoire, date_valeur)
);

CREATE TABLE cible_indicateur (
    code_indicateur  VARCHAR NOT NULL,
    code_qp          VARCHAR NOT NULL,
    valeur_reference DOUBLE,    -- baseline
    date_reference   DATE,
    valeur_cible     DOUBLE,
    date_cible       DATE,
    PRIMARY KEY (code_indicateur, code_qp)
);

CREATE TABLE objectif_indicateur (
    code_objectif   VARCHAR NOT NULL,
    code_indicateur VARCHAR NOT NULL,
    PRIMARY KEY (code_objectif, code_indicateur)
);

CREATE TABLE instance (
    code_instance VARCHAR PRIMARY KEY,
    code_contrat  VARCHAR NOT NULL,
    code_qp       VARCHAR,             -- NULL: the whole contract
    type_instance VARCHAR NOT NULL CHECK (type_instance IN (
        'COPIL', 'COTECH', 'comité des financeurs', 'équipe projet', 'conseil citoyen',
        'table de quartier', 'revue de projet de quartier', 'autre')),
    libelle       VARCHAR NOT NULL,
    cadence_mois  INTEGER NOT NULL CHECK (cadence_mois BETWEEN 1 AND 36),
    date_creation DATE
);

CREATE TABLE reunion (
    id_reunion       VARCHAR PRIMARY KEY,
    code_instance    VARCHAR NOT NULL,
    date_reunion     DATE NOT NULL,
    statut           VARCHAR NOT NULL CHECK (statut IN ('prévue', 'tenue', 'annulée', 'reportée')),
    nb_participants  INTEGER CHECK (nb_participants IS NULL OR nb_participants >= 0),
    nb_habitants     INTEGER CHECK (nb_habitants IS NULL OR nb_habitants >= 0),
    objet            VARCHAR,
    lien_compte_rendu VARCHAR,
    CHECK (nb_habitants IS NULL OR nb_participants IS NULL OR nb_habitants <= nb_participants)
);

CREATE TABLE decision (
    id_decision   VARCHAR PRIMARY KEY,
    id_reunion    VARCHAR NOT NULL,
    libelle       VARCHAR NOT NULL,
    responsable   VARCHAR,
    date_echeance DATE,
    statut        VARCHAR NOT NULL CHECK (statut IN ('à faire', 'en cours', 'faite', 'abandonnée'))
);

CREATE TABLE decision_action (
    id_decision VARCHAR NOT NULL,
    code_action VARCHAR NOT NULL,
    PRIMARY KEY (id_decision, code_action)
);

CREATE TABLE jalon (
    id_jalon         VARCHAR PRIMARY KEY,
    code_contrat     VARCHAR NOT NULL,
    type_jalon       VARCHAR NOT NULL CHECK (type_jalon IN (
        'signature', 'appel à projets', 'programmation', 'revue annuelle', 'rapport annuel',
        'consultation conseils citoyens', 'actualisation 2027', 'renouvellement CPO', 'évaluation',
        'fin du contrat', 'autre')),
    libelle          VARCHAR NOT NULL,
    date_prevue      DATE NOT NULL,
    date_realisation DATE,
    annee            INTEGER
);

CREATE SEQUENCE import_log_seq START 1;
CREATE TABLE import_log (
    id_import     INTEGER PRIMARY KEY DEFAULT nextval('import_log_seq'),
    type_import   VARCHAR NOT NULL,
    fichier       VARCHAR,
    empreinte     VARCHAR,            -- sha256 of the file
    auteur        VARCHAR,
    debut         TIMESTAMP NOT NULL,
    fin           TIMESTAMP,
    nb_lignes     INTEGER,
    compteurs     VARCHAR,            -- JSON: new / changed / unchanged per table
    version_store INTEGER,
    statut        VARCHAR NOT NULL CHECK (statut IN ('validé', 'annulé'))
);
