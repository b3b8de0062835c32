-- question: Which objects were never replicated, and how old are they? Objects older than the replication rule need Batch Replication.
-- scope: current
-- columns: age, objects, bytes, oldest_last_modified, newest_last_modified
SELECT
  age_bucket(last_modified_date) AS age,
  count(*) AS objects,
  coalesce(sum(size), 0) AS bytes,
  min(last_modified_date) AS oldest_last_modified,
  max(last_modified_date) AS newest_last_modified
FROM inventory
WHERE ${status} = 'NONE' AND ${scope}
GROUP BY 1
ORDER BY min(delivery_time() - last_modified_date)
