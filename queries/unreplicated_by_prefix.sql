-- question: Where are the bytes that did not replicate (PENDING, FAILED, never replicated)?
-- scope: current
-- param: depth = 2 (prefix depth: the key up to its N-th '/')
-- param: limit = 50 (number of prefixes)
-- columns: prefix, pending_bytes, failed_bytes, never_replicated_bytes, unreplicated_bytes, unreplicated_objects
SELECT
  key_prefix(key, ${depth}) AS prefix,
  coalesce(sum(CASE WHEN ${status} = 'PENDING' THEN size END), 0) AS pending_bytes,
  coalesce(sum(CASE WHEN ${status} = 'FAILED' THEN size END), 0) AS failed_bytes,
  coalesce(sum(CASE WHEN ${status} = 'NONE' THEN size END), 0) AS never_replicated_bytes,
  coalesce(sum(size), 0) AS unreplicated_bytes,
  count(*) AS unreplicated_objects
FROM inventory
WHERE ${scope} AND ${unreplicated}
GROUP BY 1
ORDER BY unreplicated_bytes DESC, prefix
LIMIT ${limit}
