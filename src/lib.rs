#![doc = include_str!("../README.md")]

pub mod control;
pub mod library;
pub mod logging;
pub mod model;
pub mod node;
pub mod plots;
pub mod robot;
pub mod ros;
pub mod shutdown;
pub mod train;
