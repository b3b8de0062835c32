-- question: Do FAILED objects cluster on an encryption type (SSE-KMS needs SseKmsEncryptedObjects and key permissions)?
-- scope: current
-- columns: encryption_status, bucket_key_status, objects, bytes, failed_share (% of that encryption type's objects that FAILED)
SELECT
  coalesce(encryption_status, '(none)') AS encryption_status,
  coalesce(bucket_key_status, '(none)') AS bucket_key_status,
  sum(CASE WHEN ${status} = 'FAILED' THEN 1 ELSE 0 END) AS objects,
  coalesce(sum(CASE WHEN ${status} = 'FAILED' THEN size END), 0) AS bytes,
  round(100.0 * sum(CASE WHEN ${status} = 'FAILED' THEN 1 ELSE 0 END) / count(*), 3) AS failed_share
FROM inventory
WHERE ${scope}
GROUP BY 1, 2
HAVING sum(CASE WHEN ${status} = 'FAILED' THEN 1 ELSE 0 END) > 0
ORDER BY objects DESC, encryption_status, bucket_key_status
