//! `palmkit health`: checks a running server through the pinned client.

use palmkit_core::ServiceClient;

use crate::args::{ConfigArgs, read_config};
use crate::error::Result;

/// Asks the server's `/healthz` over pinned TLS and prints what it says.
pub async fn run(args: ConfigArgs) -> Result<()> {
    let config = read_config(&args.config)?;
    let client = ServiceClient::new(&config)?;
    let health = client.health().await?;
    println!(
        "{}: healthy (version {}, service key {}), pinned TLS verified",
        config.base_url, health.version, health.current_key_id
    );
    Ok(())
}
