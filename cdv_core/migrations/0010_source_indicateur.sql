-- 0010: the publication rhythm and lag of each source of indicators, which decide whether an
-- indicator's latest value is « à jour » (the latest vintage published at the « données au »
-- date) or « ancienne » (cdv_core/domain/freshness.py). Shared reference data: one row per
-- source, written by an administrator on the « Indicateurs » page (cdv_core/edits/sources.py).
-- Empty at first: for a source without a row, the defaults shipped in the code apply
-- (freshness.DEFAULT_SOURCES); for a source in neither, the age rule (indicator_max_age_months).
-- Written in the dialect DuckLake accepts too (no key, unique or check: the write checks them).

CREATE TABLE source_indicateur (
    source                 VARCHAR   NOT NULL,  -- as in indicateur.source (matched without case,
                                                -- accents or surrounding spaces)
    rythme_mois            INTEGER,             -- months between two vintages (12 yearly, 3 quarterly);
                                                -- empty with delai_publication_mois: the age rule
    delai_publication_mois INTEGER,             -- months from the end of the period a vintage
                                                -- describes to its publication (Filosofi: 32)
    note                   VARCHAR,             -- why these numbers, in French
    modifie_par            VARCHAR,             -- the acting user's label
    modifie_le             TIMESTAMP
);
