-- question: How long have PENDING objects been waiting (age at delivery time)?
-- scope: current
-- columns: age, objects, bytes, oldest_last_modified
SELECT
  age_bucket(last_modified_date) AS age,
  count(*) AS objects,
  coalesce(sum(size), 0) AS bytes,
  min(last_modified_date) AS oldest_last_modified
FROM inventory
WHERE ${status} = 'PENDING' AND ${scope}
GROUP BY 1
ORDER BY min(delivery_time() - last_modified_date)
