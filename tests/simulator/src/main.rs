//! `openphone-sim`: runs the OpenPhone API simulator until interrupted.
//!
//! ```text
//! openphone-sim [--listen 127.0.0.1:8788] [--spec PATH] [--rate-limit 10]
//! OPENPHONE_API_BASE_URL=http://127.0.0.1:8788 openphone-mcp ...
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use openphone_sim::{SimConfig, Simulator, spec};

/// Simulator of the OpenPhone (Quo) public API, validating requests against its OpenAPI spec.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8788")]
    listen: SocketAddr,
    /// OpenAPI spec (JSON) to validate requests against.
    #[arg(long, env = spec::SPEC_PATH_ENV)]
    spec: Option<PathBuf>,
    /// Requests per second per API key before 429; 0 disables the limit.
    #[arg(long, default_value_t = openphone_sim::DEFAULT_RATE_LIMIT)]
    rate_limit: u32,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let config = SimConfig {
        listen: args.listen,
        spec_path: args.spec.unwrap_or_else(spec::default_spec_path),
        rate_limit_per_second: (args.rate_limit > 0).then_some(args.rate_limit),
        ..SimConfig::default()
    };
    let workspaces = config.seed.workspaces.clone();
    let spec_path = config
        .spec_path
        .canonicalize()
        .unwrap_or_else(|_| config.spec_path.clone());
    let sim = Simulator::start_with(config)
        .await
        .context("starting the OpenPhone simulator")?;

    println!("OpenPhone API simulator listening on {}", sim.base_url());
    println!("  spec: {}", spec_path.display());
    println!("  use:  OPENPHONE_API_BASE_URL={}", sim.base_url());
    println!("  admin: POST /__sim/faults, GET /__sim/requests, GET /__sim/violations,");
    println!("         GET /__sim/sent-messages, POST /__sim/reset");
    println!("Seeded workspaces (fake test keys; send them raw in `Authorization`):");
    for workspace in &workspaces {
        println!(
            "  {} [{} plan, {} credits]  key: {}",
            workspace.name,
            workspace.plan.as_str(),
            workspace.credits,
            workspace.key
        );
        for number in &workspace.phone_numbers {
            println!("    {} {} {}", number.id, number.number, number.name);
        }
    }
    println!(
        "Participants: Alice {}, Bob {}, Carol {}, Dave {}; A2P-unapproved recipient {}",
        openphone_sim::ALICE,
        openphone_sim::BOB,
        openphone_sim::CAROL,
        openphone_sim::DAVE,
        openphone_sim::A2P_UNAPPROVED_NUMBER
    );

    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    drop(sim);
    Ok(())
}
