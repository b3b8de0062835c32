//! The one integration-test binary: every module shares the harness and links once.

mod bad_input;
mod cli;
mod conformance;
mod diff;
mod doctor;
mod doctor_live;
mod faults;
mod fuzz;
mod harness;
mod manifest;
mod off_path;
mod output;
mod queries;
mod readme;
mod real_fixtures;
mod report;
mod s3;
mod summary;
