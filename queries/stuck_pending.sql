-- question: Which PENDING objects are stuck (pending longer than live replication should take)?
-- scope: current (the objects `summary` counts as stuck and `manifest --pending-older-than` re-drives)
-- param: older_than_hours = 24 (PENDING objects older than this at delivery time are stuck)
-- param: limit = 1000 (rows)
-- columns: bucket, key, version_id, size, last_modified_date, pending_hours, storage_class, encryption_status
SELECT
  bucket, key, version_id, size, last_modified_date,
  CAST((CAST(delivery_time() AS BIGINT) - CAST(last_modified_date AS BIGINT)) / 3600000 AS BIGINT) AS pending_hours,
  storage_class, encryption_status
FROM inventory
WHERE ${status} = 'PENDING' AND ${scope}
  AND CAST(last_modified_date AS BIGINT) < CAST(delivery_time() AS BIGINT) - ${older_than_hours} * 3600000
ORDER BY last_modified_date, key, version_id
LIMIT ${limit}
