//! The command line: one binary, subcommands for the service and its operators.

use clap::{Parser, Subcommand};

use crate::config::Config;

#[derive(Parser, Debug)]
#[command(name = "marktrace", version, about = "The system of record for certification marks")]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP service (creates and migrates the database on first start).
    Serve,
    /// Create and migrate the database, then exit.
    Init,
    /// Read models built from the log.
    Projections {
        #[command(subcommand)]
        command: ProjectionsCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum ProjectionsCommand {
    /// Empty every projection and rebuild it from the whole log.
    Rebuild,
}
