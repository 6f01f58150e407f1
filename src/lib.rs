#![doc = include_str!("../README.md")]

pub mod library;
pub mod model;
pub mod robot;
pub mod ros;
pub mod train;
