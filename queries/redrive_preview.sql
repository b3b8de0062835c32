-- question: Which lines would `s3inv manifest` write with its default selection (FAILED and PENDING, current versions, not refused by Batch Replication)?
-- scope: current
-- param: limit = 20 (rows)
-- columns: bucket, key (encoded as Batch Operations expects), version_id ('null' for null-version objects), status
SELECT
  bucket,
  batch_key(key) AS key,
  coalesce(version_id, 'null') AS version_id,
  ${status} AS status
FROM inventory
WHERE ${scope} AND ${redrive} AND ${refused} IS NULL
ORDER BY concat(bucket, ',', batch_key(key), ',', coalesce(version_id, 'null'))
LIMIT ${limit}
