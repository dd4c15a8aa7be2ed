//! The `authd` binary as an operator meets it, by topic: its subcommands,
//! their help and usage errors, startup refused on bad settings, what
//! startup warns about, logs that never carry secrets, the settings' docs,
//! and a graceful stop.

mod commands;
mod logs;
mod refusals;
mod settings;
mod shutdown;
mod usage;
mod warnings;
mod world;
