use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "hearth", about = "FHIR R4 interoperability gateway")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Quality measures.
    #[command(subcommand)]
    Measure(MeasureCommand),
}

#[derive(Subcommand)]
enum MeasureCommand {
    /// Run the published test cases in DIR (measures/, libraries/, valuesets/, tests/).
    Test {
        dir: PathBuf,
        /// Cases whose differences are known and explained.
        #[arg(long, default_value = "measure-known-differences.md")]
        known: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Measure(MeasureCommand::Test { dir, known }) => {
            let summary = hearth::measure::conformance::run(&dir, &known)?;
            print!("{}", summary.render());
            let unexpected = summary.unexpected();
            if unexpected > 0 {
                anyhow::bail!("{unexpected} unexpected measure test failures");
            }
            Ok(())
        }
    }
}
