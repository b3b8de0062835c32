//! The one integration-test binary: every module shares the harness and links once.

mod harness;
mod conformance;
mod real_fixtures;
mod s3;
