-- 0004: the local system of actors and the contract's engineering team (issue 10).
--
-- acteur complements porteur: a row keyed by id_porteur adds the typologies to a porteur; a row
-- with a key unknown to porteur records an actor without funding (service, collectif
-- d'habitants, bailleur…), which then needs its own nom, type_structure and contract.
-- Cross-table rules live in cdv_core.store._INTEGRITY_RULES.

CREATE TABLE acteur (
    id_acteur         VARCHAR PRIMARY KEY,  -- = porteur.id_porteur when the actor carries actions
    code_contrat      VARCHAR,              -- required for actors that are not porteurs
    nom               VARCHAR,              -- NULL for porteurs: porteur.nom is used
    type_structure    VARCHAR CHECK (type_structure IS NULL OR type_structure IN (
        'association sans salarié', 'association avec salariés', 'collectivité',
        'établissement public', 'bailleur', 'entreprise', 'autre')),
    siret             VARCHAR CHECK (siret IS NULL OR regexp_full_match(siret, '\d{14}')),
    rna               VARCHAR CHECK (rna IS NULL OR regexp_full_match(rna, 'W\d[A-Z\d]\d{7}')),
    mode_intervention VARCHAR CHECK (mode_intervention IS NULL OR mode_intervention IN (
        'installé dans le quartier', 'intervient sur le quartier', 'en proximité')),
    commentaire       VARCHAR
);

CREATE TABLE acteur_domaine (
    id_acteur VARCHAR NOT NULL,
    domaine   VARCHAR NOT NULL CHECK (domaine IN (
        'médiation', 'animation', 'action sociale', 'prévention', 'éducation', 'emploi-insertion',
        'santé', 'culture', 'sport', 'cadre de vie', 'participation', 'transition écologique',
        'accès aux droits')),
    PRIMARY KEY (id_acteur, domaine)
);

-- QPV where an actor acts besides those of its funded actions (action_quartier).
CREATE TABLE acteur_quartier (
    id_acteur VARCHAR NOT NULL,
    code_qp   VARCHAR NOT NULL,
    PRIMARY KEY (id_acteur, code_qp)
);

-- Seats of actors in the governance instances.
CREATE TABLE acteur_instance (
    id_acteur     VARCHAR NOT NULL,
    code_instance VARCHAR NOT NULL,
    role          VARCHAR,
    PRIMARY KEY (id_acteur, code_instance)
);

-- The team: posts of the contract's engineering (and imported national post lists).
CREATE TABLE poste (
    id_poste        VARCHAR PRIMARY KEY,
    code_contrat    VARCHAR,             -- NULL: not yet attached (e.g. imported with a 2015 code)
    code_qp         VARCHAR,             -- optional: the QPV the post serves
    type_poste      VARCHAR NOT NULL CHECK (type_poste IN (
        'chef de projet politique de la ville', 'chargé de mission', 'délégué du préfet',
        'adulte-relais', 'poste FONJEP', 'médiateur', 'autre')),
    intitule        VARCHAR,
    titulaire       VARCHAR,
    employeur       VARCHAR NOT NULL,
    id_employeur    VARCHAR,             -- porteur / acteur id when known
    siret_employeur VARCHAR CHECK (siret_employeur IS NULL OR regexp_full_match(siret_employeur, '\d{14}')),
    etp             DOUBLE NOT NULL DEFAULT 1 CHECK (etp > 0 AND etp <= 2),
    date_debut      DATE,
    date_fin        DATE,
    niveau_responsabilite VARCHAR CHECK (niveau_responsabilite IS NULL OR niveau_responsabilite IN (
        'pilotage', 'coordination', 'opérationnel')),
    elu_referent    VARCHAR,
    cout_annuel     DECIMAL(14, 2) CHECK (cout_annuel IS NULL OR cout_annuel >= 0),
    code_cv_2015    VARCHAR,             -- contract code of the 2015-2023 generation (national lists)
    insee_dep       VARCHAR,
    source          VARCHAR,             -- 'saisie', 'adultes-relais 2023', ...
    CHECK (date_fin IS NULL OR date_debut IS NULL OR date_fin >= date_debut)
);

-- Funding lines of a post: one per funder and year (several funders: co-funded post).
CREATE TABLE financement_poste (
    id_poste  VARCHAR NOT NULL,
    financeur VARCHAR NOT NULL CHECK (financeur IN (
        'État P147', 'État droit commun', 'commune', 'EPCI', 'département', 'région', 'CAF',
        'bailleurs', 'FSE+', 'Banque des territoires', 'autres')),
    annee     INTEGER NOT NULL CHECK (annee BETWEEN 2014 AND 2035),
    montant   DECIMAL(14, 2) NOT NULL CHECK (montant >= 0),
    PRIMARY KEY (id_poste, financeur, annee)
);

-- 2015-2023 contract codes (CV001…) attached by a user to a 2024 contract.
CREATE TABLE correspondance_contrat (
    code_cv_2015 VARCHAR PRIMARY KEY,
    code_contrat VARCHAR NOT NULL
);

-- The team's roadmap.
CREATE TABLE feuille_de_route (
    id_item       VARCHAR PRIMARY KEY,
    code_contrat  VARCHAR NOT NULL,
    libelle       VARCHAR NOT NULL,
    responsable   VARCHAR,
    id_poste      VARCHAR,               -- the owner's post, when recorded
    date_echeance DATE,
    statut        VARCHAR NOT NULL CHECK (statut IN ('à faire', 'en cours', 'faite', 'abandonnée')),
    id_decision   VARCHAR                -- the governance decision it implements, optional
);
