-- 0015: the rapport annuel of a contract (décret n° 2015-1118, issue #19). Per contract and year:
-- the texts the team writes, reused in the generated draft (cdv_core/rapport/), and the report's
-- life cycle — draft sent to the conseils citoyens, their contributions received (annexes of the
-- report), vote of each assembly (the EPCI and the communes, with the deliberation's reference),
-- publication (date and link). The 2027 checklist and « Jalons et actualisation 2027 » read it:
-- a report is « produit » when voted after the conseils citoyens had it at least a month before.
-- Written in the dialect DuckLake accepts too (no key, unique or check: the write checks them).

CREATE TABLE rapport_annuel (
    code_contrat        VARCHAR NOT NULL,
    annee               INTEGER NOT NULL,   -- the year the report describes
    orientations        VARCHAR,            -- the contract's orientations and the year's priorities
    evolution           VARCHAR,            -- the team's reading of the year: the evolution of the QPV
    participation       VARCHAR,            -- governance and residents' participation, in words
    perspectives        VARCHAR,
    date_envoi_conseils DATE,               -- the draft sent to the conseils citoyens
    date_publication    DATE,
    lien_publication    VARCHAR,            -- where the published report is (https://…)
    modifie_par         VARCHAR,
    modifie_le          TIMESTAMP
);

CREATE TABLE rapport_annuel_vote (
    code_contrat           VARCHAR NOT NULL,
    annee                  INTEGER NOT NULL,
    assemblee              VARCHAR NOT NULL,  -- 'EPCI' or 'commune'
    code_collectivite      VARCHAR NOT NULL,  -- SIREN of the EPCI, INSEE code of the commune
    libelle_collectivite   VARCHAR,
    date_vote              DATE    NOT NULL,
    reference_deliberation VARCHAR,           -- « DEL-2026-045 »
    modifie_par            VARCHAR,
    modifie_le             TIMESTAMP
);

CREATE TABLE rapport_annuel_contribution (
    code_contrat   VARCHAR NOT NULL,
    annee          INTEGER NOT NULL,
    conseil        VARCHAR NOT NULL,  -- the conseil citoyen (or table de quartier) that wrote it
    date_reception DATE    NOT NULL,
    texte          VARCHAR NOT NULL,  -- its contribution, annexed to the report as written
    modifie_par    VARCHAR,
    modifie_le     TIMESTAMP
);
