-- question: Which FAILED objects are the largest?
-- param: limit = 100 (rows)
-- columns: bucket, key, version_id, size, last_modified_date, storage_class, encryption_status, is_latest
SELECT bucket, key, version_id, size, last_modified_date, storage_class, encryption_status, is_latest
FROM inventory
WHERE replication_status = 'FAILED' AND NOT is_delete_marker
ORDER BY size DESC, key, version_id
LIMIT ${limit}
