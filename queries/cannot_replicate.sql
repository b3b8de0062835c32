-- question: Which objects can replication not handle as they are, and why?
-- reasons: GLACIER / DEEP_ARCHIVE objects are never replicated (Batch Replication refuses them too);
--   SSE-KMS / DSSE-KMS objects replicate only when the rule enables SseKmsEncryptedObjects;
--   SSE-C objects replicate only with current S3 (older setups skip them);
--   objects owned by another account than the bucket's usual owner need the owner override / ACL setup.
-- columns: reason, replication_status, objects, bytes
WITH owners AS (
  SELECT object_owner FROM inventory
  WHERE object_owner IS NOT NULL AND object_owner <> 'UNAVAILABLE'
  GROUP BY 1 ORDER BY count(*) DESC, object_owner LIMIT 1
),
reasons AS (
  SELECT i.replication_status, i.size,
    CASE
      WHEN i.storage_class IN ('GLACIER', 'DEEP_ARCHIVE') THEN 'archived (' || i.storage_class || ')'
      WHEN i.encryption_status IN ('SSE-KMS', 'DSSE-KMS') THEN 'kms-encrypted (' || i.encryption_status || ')'
      WHEN i.encryption_status = 'SSE-C' THEN 'customer-key encrypted (SSE-C)'
      WHEN i.object_owner IS NOT NULL AND i.object_owner <> 'UNAVAILABLE'
           AND i.object_owner <> (SELECT object_owner FROM owners) THEN 'owned by another account'
    END AS reason
  FROM inventory i
  WHERE i.is_latest AND NOT i.is_delete_marker
)
SELECT reason, coalesce(nullif(replication_status, ''), 'NONE') AS replication_status,
  count(*) AS objects, coalesce(sum(size), 0) AS bytes
FROM reasons
WHERE reason IS NOT NULL
GROUP BY 1, 2
ORDER BY reason, replication_status
