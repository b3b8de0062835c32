-- question: How does replication status vary by storage class?
-- columns: storage_class, completed, pending, failed, replica, never_replicated, objects, bytes
SELECT
  coalesce(storage_class, '(none)') AS storage_class,
  sum(CASE WHEN replication_status = 'COMPLETED' THEN 1 ELSE 0 END) AS completed,
  sum(CASE WHEN replication_status = 'PENDING' THEN 1 ELSE 0 END) AS pending,
  sum(CASE WHEN replication_status = 'FAILED' THEN 1 ELSE 0 END) AS failed,
  sum(CASE WHEN replication_status = 'REPLICA' THEN 1 ELSE 0 END) AS replica,
  sum(CASE WHEN coalesce(replication_status, '') = '' THEN 1 ELSE 0 END) AS never_replicated,
  count(*) AS objects,
  coalesce(sum(size), 0) AS bytes
FROM inventory
WHERE is_latest AND NOT is_delete_marker
GROUP BY 1
ORDER BY bytes DESC, storage_class
