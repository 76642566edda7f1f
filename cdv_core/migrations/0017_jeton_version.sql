-- 0017: the data version's token, a random uuid drawn anew by every write that moves the store
-- version (store._bump_version). The read cache on disk (cdv_core/read_cache.py) files results
-- under it: unlike the version number, a token is never drawn twice, so a store rebuilt at the
-- same place, or put back from a backup then written again, never reads figures computed for
-- other data. (This migration's own version bump draws the first token.)

INSERT INTO store_meta SELECT 'version_token', CAST(uuid() AS VARCHAR)
WHERE NOT EXISTS (SELECT 1 FROM store_meta WHERE cle = 'version_token');
