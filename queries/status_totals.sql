-- question: How many objects and bytes are in each replication status?
-- scope: current (current versions that are not delete markers, as `summary` counts)
-- columns: status, objects, bytes, object_share (% of objects), byte_share (% of bytes)
SELECT
  ${status} AS status,
  count(*) AS objects,
  coalesce(sum(size), 0) AS bytes,
  round(100.0 * count(*) / sum(count(*)) OVER (), 3) AS object_share,
  round(100.0 * coalesce(sum(size), 0) / nullif(sum(sum(size)) OVER (), 0), 3) AS byte_share
FROM inventory
WHERE ${scope}
GROUP BY 1
ORDER BY bytes DESC, status
