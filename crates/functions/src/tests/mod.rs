//! End-to-end tests: SQL through a `SessionContext` with every function registered.

mod aggregate;
mod arrays;
mod conditional;
mod convert;
mod datetime;
mod generator;
mod harness;
mod random;
mod regex;
mod strings;
mod variant;
