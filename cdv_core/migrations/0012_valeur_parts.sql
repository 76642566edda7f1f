-- 0012: a rate's numerator and denominator (issue #20, « Rates from numerator and denominator »):
-- where both are known (demandeurs d'emploi / population active, médecins / habitants), the
-- aggregate of several QPV is sum(numerateur) / sum(denominateur), never a mean of rates; a rate
-- without its parts is shown per QPV but not aggregated (cdv_core/queries/indicateurs.aggregate).
-- Both or neither, denominateur > 0, valeur = numerateur / denominateur × the unit's scale: checked
-- by the import (cdv_core/ingest/pipeline.py) and by the store's integrity rules.

ALTER TABLE valeur_indicateur ADD COLUMN numerateur DOUBLE;
ALTER TABLE valeur_indicateur ADD COLUMN denominateur DOUBLE;
