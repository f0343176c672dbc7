//! The command line: one binary, subcommands for the service and its operators.

use std::ffi::OsString;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::Config;

/// Parses a command line, printing help or a usage error and exiting as clap does, then
/// resolves the configuration (file, validation).
pub fn parse_from<I, T>(args: I) -> anyhow::Result<Cli>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let matches = Cli::command().get_matches_from(args);
    let mut cli = Cli::from_arg_matches(&matches)?;
    cli.config = cli.config.resolve(&matches)?;
    Ok(cli)
}

#[derive(Parser, Debug)]
#[command(
    name = "marktrace",
    version,
    about = "The system of record for certification marks"
)]
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
