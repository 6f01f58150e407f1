//! Training data: demonstration files and deterministic generators.

pub mod demo;
pub mod generators;
