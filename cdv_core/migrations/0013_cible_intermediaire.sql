-- 0013: an intermediate target per indicator and QPV (issue #20, « Targets per period »): the
-- value aimed at by an intermediate date (the 2027 actualisation) between the reference and the
-- 2030 target. The trajectory runs reference → intermediate target → final target, and the
-- progress rule (cdv_core/domain/progress.py) judges a value against the target of its period.
-- Both or neither; the date strictly between the reference's and the target's: checked by the
-- import and by the store's integrity rules.

ALTER TABLE cible_indicateur ADD COLUMN valeur_cible_intermediaire DOUBLE;
ALTER TABLE cible_indicateur ADD COLUMN date_cible_intermediaire DATE;
