-- question: How many objects here are replicas written by replication from another bucket?
-- param: depth = 1 (prefix depth)
-- columns: prefix, objects, bytes, newest_last_modified
SELECT
  key_prefix(key, ${depth}) AS prefix,
  count(*) AS objects,
  coalesce(sum(size), 0) AS bytes,
  max(last_modified_date) AS newest_last_modified
FROM inventory
WHERE replication_status = 'REPLICA' AND is_latest AND NOT is_delete_marker
GROUP BY 1
ORDER BY bytes DESC, prefix
