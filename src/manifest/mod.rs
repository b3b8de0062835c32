//! Inventory deliveries: the `manifest.json` format, finding a delivery from a LOCATION,
//! and verifying checksums and sizes.
//!
//! Data files are taken only from the manifest's `files[]` (never by listing `data/`,
//! which every delivery shares). Reading the data files is left to `format` and `table`.

mod discover;
mod json;
mod verify;

pub use discover::{
    AtSpec, ChecksumState, DataFile, Delivery, DeliveryInfo, list_deliveries, open_delivery,
    where_to_look,
};
pub use json::{FileFormat, InventoryManifest, ManifestFile};
pub use verify::{md5_hex, verify_data_files};
