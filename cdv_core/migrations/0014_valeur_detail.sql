-- 0014: breakdowns of an indicator value (issue #20, « Breakdowns »): the same indicator, territory
-- and date, for one category of a dimension — sexe first (égalité femmes-hommes, a Quartiers 2030
-- priority: femmes / hommes), then âge (a band: « moins de 26 ans », « 26 à 49 ans », « 50 ans et
-- plus »). The total stays in valeur_indicateur, so every figure computed on totals is unchanged;
-- the breakdowns are shown side by side on « Indicateurs » (cdv_core/queries/indicateurs.py).
-- Imported from the « valeurs d'indicateurs » template (columns sexe / tranche_age) and from INSEE
-- wide files whose variables carry them (suffixes _F / _H, _15_24…). Same rules as a value
-- (a missing value says why, numerator and denominator together), checked by the import and by
-- the store's integrity rules. Written in the dialect DuckLake accepts too (no key, unique or
-- check: the write checks them); `id_import` as in the other bulk tables (migration 0005).

CREATE TABLE valeur_indicateur_detail (
    code_indicateur VARCHAR NOT NULL,
    type_territoire VARCHAR NOT NULL,   -- as in valeur_indicateur
    code_territoire VARCHAR NOT NULL,
    date_valeur     DATE    NOT NULL,
    dimension       VARCHAR NOT NULL,   -- 'sexe' or 'âge' (cdv_core.domain.model.DIMENSIONS)
    modalite        VARCHAR NOT NULL,   -- 'femmes' / 'hommes'; an age band (model.AGE_BAND_PATTERN)
    valeur          DOUBLE,
    secret          VARCHAR,            -- nd / ns / s / so when valeur is missing
    numerateur      DOUBLE,
    denominateur    DOUBLE,
    source_fichier  VARCHAR,
    id_import       INTEGER
);
