//! `palmkit cards`, `add-card` and `link`: the payment verbs, as the logged-in shopper
//! (tokens from the kernel keyring, as `palmkit login` stored them).

use std::io::Write as _;
use std::path::PathBuf;

use palmkit_core::payment::card::{CardInput, current_year_month};
use palmkit_core::payment::{AddCardOutcome, PaymentClient};
use zeroize::Zeroizing;

use crate::args::{ConfigArgs, DEFAULT_CONFIG};
use crate::login::account_client;

/// `palmkit link`'s arguments.
#[derive(clap::Args, Debug)]
pub struct LinkArgs {
    /// The client configuration written by `palmkit serve`.
    #[arg(long, default_value = DEFAULT_CONFIG)]
    config: PathBuf,
    /// The payment method id (`pm_…`).
    payment_method_id: String,
}
use crate::error::{CliError, Result};

/// Lists the wallet.
pub async fn cards(args: ConfigArgs) -> Result<()> {
    let account = account_client(&args.config)?;
    let wallet = PaymentClient::new(&account).wallet().await?;
    if wallet.payment_methods.is_empty() {
        println!("No cards yet. Add one with `palmkit add-card`.");
    }
    for m in &wallet.payment_methods {
        let linked = if wallet.linked_payment_method_id.as_deref() == Some(m.id.as_str()) {
            "  <- pays by palm"
        } else {
            ""
        };
        println!(
            "{}  {:<10} ****{}  {:02}/{}{linked}",
            m.id, m.brand, m.last4, m.exp_month, m.exp_year
        );
    }
    Ok(())
}

fn ask(prompt: &str) -> Result<String> {
    print!("{prompt}: ");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim().to_string())
}

/// Adds a card: the number and security code are read without echo.
pub async fn add_card(args: ConfigArgs) -> Result<()> {
    let config = &args.config;
    let account = account_client(config)?;
    let number = Zeroizing::new(rpassword::prompt_password("Card number (not shown): ")?);
    let expiry = ask("Expiry (MM/YY)")?;
    let (month, year) = expiry
        .split_once('/')
        .and_then(|(m, y)| Some((m.trim().parse().ok()?, y.trim().parse().ok()?)))
        .ok_or("write the expiry as MM/YY")
        .map_err(CliError::failed)?;
    let cvc = Zeroizing::new(rpassword::prompt_password("Security code (not shown): ")?);
    let name = ask("Name on the card")?;
    let input = CardInput {
        number,
        exp_month: month,
        exp_year: year,
        cvc,
        cardholder_name: name,
    };
    let payments = PaymentClient::new(&account);
    let spinner = crate::progress::spinner("Saving the card at the payment provider");
    let outcome = payments.add_card(input, current_year_month()).await;
    spinner.finish_and_clear();
    let method = match outcome? {
        (AddCardOutcome::Added { method }, _) => method,
        (AddCardOutcome::RequiresAction { url }, pending) => {
            let pending = pending
                .ok_or("the provider asked for an action without a card to resume")
                .map_err(CliError::failed)?;
            println!("Your bank wants you to confirm this card. Open:\n\n  {url}\n");
            ask("Press Enter once you have confirmed")?;
            payments.resume_add_card(pending).await?
        }
    };
    println!(
        "Added {} ****{} ({}). Link it with `palmkit link {}`.",
        method.brand, method.last4, method.id, method.id
    );
    Ok(())
}

/// Links a wallet method to the palm profile.
pub async fn link(args: LinkArgs) -> Result<()> {
    let account = account_client(&args.config)?;
    let payment_method_id = &args.payment_method_id;
    let key = PaymentClient::new_idempotency_key()?;
    let link = PaymentClient::new(&account)
        .link(payment_method_id, &key)
        .await?;
    println!(
        "Your palm now pays with {} (linked {}).",
        link.payment_method_id, link.linked_at
    );
    Ok(())
}
