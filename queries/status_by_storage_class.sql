-- question: How does replication status vary by storage class?
-- scope: current
-- columns: storage_class, completed, pending, failed, replica, never_replicated, other (statuses AWS may add), objects, bytes
SELECT
  coalesce(storage_class, '(none)') AS storage_class,
  sum(CASE WHEN ${status} = 'COMPLETED' THEN 1 ELSE 0 END) AS completed,
  sum(CASE WHEN ${status} = 'PENDING' THEN 1 ELSE 0 END) AS pending,
  sum(CASE WHEN ${status} = 'FAILED' THEN 1 ELSE 0 END) AS failed,
  sum(CASE WHEN ${status} = 'REPLICA' THEN 1 ELSE 0 END) AS replica,
  sum(CASE WHEN ${status} = 'NONE' THEN 1 ELSE 0 END) AS never_replicated,
  sum(CASE WHEN ${status} IN ('COMPLETED', 'PENDING', 'FAILED', 'REPLICA', 'NONE') THEN 0 ELSE 1 END) AS other,
  count(*) AS objects,
  coalesce(sum(size), 0) AS bytes
FROM inventory
WHERE ${scope}
GROUP BY 1
ORDER BY bytes DESC, storage_class
