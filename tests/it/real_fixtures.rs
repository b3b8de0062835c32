//! The real AWS-made inventory files (testdata/buckets/filemanager-inventory-test): every
//! decoded value is pinned, and CSV, ORC and Parquet agree.

use crate::harness::{real, sql_csv};

const ALL_ROWS: &str = "\
bucket,key,version_id,is_latest,is_delete_marker,size,last_modified_date,e_tag,storage_class,is_multipart_uploaded,replication_status,encryption_status,object_lock_retain_until_date,object_lock_mode,object_lock_legal_hold_status,intelligent_tiering_access_tier,bucket_key_status,checksum_algorithm,object_access_control_list,object_owner,lifecycle_expiration_date
filemanager-inventory-test,inventory-test/,,true,false,0,2024-05-06T22:37:48.000Z,d41d8cd98f00b204e9800998ecf8427e,STANDARD,false,,SSE-S3,,,,,DISABLED,,,,
filemanager-inventory-test,inventory-test/key1,,false,false,0,2024-05-06T22:38:00.000Z,d41d8cd98f00b204e9800998ecf8427e,STANDARD,false,,SSE-S3,,,,,DISABLED,,,,
filemanager-inventory-test,inventory-test/key1,tpinzcbxOfWpZsmjvVgdHEvSohsY4TA0,true,false,5,2024-05-06T22:44:22.000Z,d8e8fca2dc0f896fd7cb4cb0031ba249,STANDARD,false,,SSE-S3,,,,,DISABLED,,,,
filemanager-inventory-test,inventory-test/key2,zl_C7NLxrkBsMFD5HQUdybrmuV9VpvkN,false,false,5,2024-05-06T22:45:34.000Z,d8e8fca2dc0f896fd7cb4cb0031ba249,STANDARD,false,,SSE-S3,,,,,DISABLED,,,,
filemanager-inventory-test,inventory-test/key2,gdN1exfZmD7m713patv8dlQ7fTNwle3v,true,true,,2024-05-06T22:46:14.000Z,,,,,,,,,,DISABLED,,,,
";

const ORDER: &str = "SELECT * FROM inventory ORDER BY key, last_modified_date";

#[test]
fn csv_versioned_rows_are_decoded_exactly() {
    assert_eq!(sql_csv(&real("csv-all"), ORDER), ALL_ROWS);
}

#[test]
fn orc_versioned_rows_are_decoded_exactly() {
    // ORC timestamps carry no zone: read as UTC wall clock, they equal the CSV's.
    assert_eq!(sql_csv(&real("orc-all"), ORDER), ALL_ROWS);
}

#[test]
fn parquet_versioned_rows_are_decoded_exactly() {
    assert_eq!(sql_csv(&real("parquet-all"), ORDER), ALL_ROWS);
}

#[test]
fn csv_current_only_report_fills_version_fields() {
    let out = sql_csv(
        &real("csv-current"),
        "SELECT key, version_id, is_latest, is_delete_marker, size FROM inventory ORDER BY key",
    );
    assert_eq!(
        out,
        "key,version_id,is_latest,is_delete_marker,size\n\
         inventory-test/,,true,false,0\n\
         inventory-test/key1,,true,false,5\n"
    );
}

#[test]
fn canonical_types_are_the_same_in_every_format() {
    let sql = "SELECT arrow_typeof(key) k, arrow_typeof(size) s, arrow_typeof(is_latest) l, \
               arrow_typeof(last_modified_date) t, arrow_typeof(lifecycle_expiration_date) e \
               FROM inventory LIMIT 1";
    let expected = "k,s,l,t,e\nUtf8View,Int64,Boolean,\"Timestamp(ms, \"\"UTC\"\")\",\"Timestamp(ms, \"\"UTC\"\")\"\n";
    for config in ["csv-all", "csv-current", "orc-all", "parquet-all"] {
        assert_eq!(sql_csv(&real(config), sql), expected, "{config}");
    }
}

#[test]
fn the_issue_query_works_on_every_real_delivery() {
    let sql = "SELECT replication_status, count(*), sum(size) FROM inventory GROUP BY 1";
    for config in ["csv-all", "orc-all", "parquet-all"] {
        assert_eq!(
            sql_csv(&real(config), sql),
            "replication_status,count(*),sum(inventory.size)\n,5,10\n",
            "{config}"
        );
    }
}
