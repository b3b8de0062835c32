//! The one integration-test binary: every module shares the harness and links once.

mod bad_input;
mod cli;
mod conformance;
mod harness;
mod manifest;
mod output;
mod queries;
mod real_fixtures;
mod report;
mod s3;
mod summary;
