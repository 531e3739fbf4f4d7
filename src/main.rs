use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "hearth",
    version,
    about = "FHIR R4 gateway for patient-centred medical homes"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a synthetic population (files or straight into a FHIR server).
    Generate(hearth::generate::GenerateArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Generate(args) => hearth::generate::run(args).await?,
    }
    Ok(())
}
