-- question: Which FAILED objects are the largest?
-- scope: current
-- param: limit = 100 (rows)
-- columns: bucket, key, version_id, size, last_modified_date, storage_class, encryption_status, is_latest
SELECT bucket, key, version_id, size, last_modified_date, storage_class, encryption_status, is_latest
FROM inventory
WHERE ${status} = 'FAILED' AND ${scope}
ORDER BY size DESC, key, version_id
LIMIT ${limit}
