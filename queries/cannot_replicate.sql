-- question: Which objects can replication not handle as they are, and why?
-- scope: current
-- reasons: GLACIER / DEEP_ARCHIVE objects and Intelligent-Tiering objects in the ARCHIVE / DEEP_ARCHIVE
--   access tiers are never replicated, and Batch Replication refuses them (`manifest` skips them);
--   SSE-KMS / DSSE-KMS objects replicate only when the rule enables SseKmsEncryptedObjects;
--   objects owned by another account than the bucket's usual owner need the owner override / ACL setup.
--   (SSE-C objects replicate: not a reason.)
-- columns: reason, replication_status, objects, bytes
WITH owners AS (
  SELECT object_owner FROM inventory
  WHERE object_owner IS NOT NULL AND object_owner <> 'UNAVAILABLE'
    AND ${scope}
  GROUP BY 1 ORDER BY count(*) DESC, object_owner LIMIT 1
),
reasons AS (
  SELECT ${status} AS replication_status, size,
    CASE
      WHEN ${refused} IS NOT NULL THEN 'archived (' || ${refused} || ')'
      WHEN encryption_status IN ('SSE-KMS', 'DSSE-KMS') THEN 'kms-encrypted (' || encryption_status || ')'
      WHEN object_owner IS NOT NULL AND object_owner <> 'UNAVAILABLE'
           AND object_owner <> (SELECT object_owner FROM owners) THEN 'owned by another account'
    END AS reason
  FROM inventory
  WHERE ${scope}
)
SELECT reason, replication_status,
  count(*) AS objects, coalesce(sum(size), 0) AS bytes
FROM reasons
WHERE reason IS NOT NULL
GROUP BY 1, 2
ORDER BY reason, replication_status
