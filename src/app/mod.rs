//! The wiring: settings, the application (keys, stores, route table,
//! servers) and the log format. Everything below is built from here.

pub mod config;
pub mod logging;
pub mod startup;
