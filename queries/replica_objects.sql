-- question: How many objects here are replicas written by replication from another bucket?
-- scope: current
-- param: depth = 1 (prefix depth)
-- columns: prefix, objects, bytes, newest_last_modified
SELECT
  key_prefix(key, ${depth}) AS prefix,
  count(*) AS objects,
  coalesce(sum(size), 0) AS bytes,
  max(last_modified_date) AS newest_last_modified
FROM inventory
WHERE ${status} = 'REPLICA' AND ${scope}
GROUP BY 1
ORDER BY bytes DESC, prefix
