-- question: What would a Batch Replication manifest for FAILED, PENDING and never-replicated objects contain?
-- param: limit = 20 (rows)
-- columns: bucket, key (encoded as Batch Operations expects), version_id ('null' for null-version objects), status
SELECT
  bucket,
  batch_key(key) AS key,
  coalesce(version_id, 'null') AS version_id,
  coalesce(nullif(replication_status, ''), 'NONE') AS status
FROM inventory
WHERE NOT is_delete_marker
  AND (replication_status IN ('FAILED', 'PENDING') OR coalesce(replication_status, '') = '')
  AND coalesce(storage_class, '') NOT IN ('GLACIER', 'DEEP_ARCHIVE')
ORDER BY bucket, key, version_id
LIMIT ${limit}
