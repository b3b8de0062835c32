-- question: Where are the bytes that did not replicate (PENDING, FAILED, never replicated)?
-- param: depth = 2 (prefix depth: the key up to its N-th '/')
-- param: limit = 50 (number of prefixes)
-- columns: prefix, pending_bytes, failed_bytes, never_replicated_bytes, unreplicated_bytes, unreplicated_objects
SELECT
  key_prefix(key, ${depth}) AS prefix,
  coalesce(sum(CASE WHEN replication_status = 'PENDING' THEN size END), 0) AS pending_bytes,
  coalesce(sum(CASE WHEN replication_status = 'FAILED' THEN size END), 0) AS failed_bytes,
  coalesce(sum(CASE WHEN coalesce(replication_status, '') = '' THEN size END), 0) AS never_replicated_bytes,
  coalesce(sum(size), 0) AS unreplicated_bytes,
  count(*) AS unreplicated_objects
FROM inventory
WHERE is_latest AND NOT is_delete_marker
  AND (replication_status IN ('PENDING', 'FAILED') OR coalesce(replication_status, '') = '')
GROUP BY 1
ORDER BY unreplicated_bytes DESC, prefix
LIMIT ${limit}
