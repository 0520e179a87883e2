use std::io::BufRead;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Subcommand;
use ginkgo_server::auth::{hash_password, random_token};
use ginkgo_server::routes::auth::{check_password_policy, normalize_email};
use ginkgo_store::{NewUser, Role, Store};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a login. The password is read from standard input with --password-stdin;
    /// otherwise a random one is generated and printed once.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = ["customer", "operator"], default_value = "customer")]
        role: String,
        /// Link the login to the customer with this name.
        #[arg(long)]
        customer: Option<String>,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Link an existing login to a customer record by the customer's name.
    Link {
        #[arg(long)]
        email: String,
        #[arg(long)]
        customer: String,
    },
    /// Set a new password (read from standard input, or generated and printed).
    SetPassword {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// List logins.
    List,
}

fn read_password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        let p = line.trim_end_matches(['\r', '\n']).to_string();
        check_password_policy(&p).map_err(|e| anyhow::anyhow!(e.message))?;
        Ok((p, false))
    } else {
        Ok((random_token(), true))
    }
}

pub async fn run(cmd: UserCommand, store: Arc<dyn Store>) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Create {
            email,
            role,
            customer,
            password_stdin,
        } => {
            let email = normalize_email(&email).map_err(|e| anyhow::anyhow!(e.message))?;
            let role = Role::parse(&role).unwrap_or(Role::Customer);
            let customer_id = match customer {
                Some(name) => Some(
                    store
                        .customer_by_name(&name)
                        .await?
                        .with_context(|| format!("no customer named '{name}'"))?
                        .id,
                ),
                None => None,
            };
            let (password, generated) = read_password(password_stdin)?;
            let hash = hash_password(&password).map_err(|e| anyhow::anyhow!(e.message))?;
            let user = store
                .create_user(NewUser {
                    email,
                    password_hash: hash,
                    role,
                    customer_id,
                })
                .await?;
            println!("created {} ({}) id={}", user.email, role.as_str(), user.id);
            if generated {
                println!("password: {password}");
            }
        }
        UserCommand::Link { email, customer } => {
            let creds = store
                .credentials_by_email(&email.trim().to_lowercase())
                .await?
                .context("no such login")?;
            let c = store
                .customer_by_name(&customer)
                .await?
                .with_context(|| format!("no customer named '{customer}'"))?;
            let u = store.link_customer(creds.user.id, c.id).await?;
            println!("linked {} to customer {} (id {})", u.email, c.name, c.id);
        }
        UserCommand::SetPassword {
            email,
            password_stdin,
        } => {
            let creds = store
                .credentials_by_email(&email.trim().to_lowercase())
                .await?
                .context("no such login")?;
            let (password, generated) = read_password(password_stdin)?;
            let hash = hash_password(&password).map_err(|e| anyhow::anyhow!(e.message))?;
            store.set_password_hash(creds.user.id, &hash).await?;
            println!("password changed for {}", creds.user.email);
            if generated {
                println!("password: {password}");
            }
        }
        UserCommand::List => {
            let users = store.list_users().await?;
            if users.is_empty() {
                bail!(
                    "no logins yet: create one with `ginkgo user create --email … --role operator`"
                );
            }
            for u in users {
                println!(
                    "{:>5}  {:<32} {:<9} {}",
                    u.id,
                    u.email,
                    u.role.as_str(),
                    u.customer_name.unwrap_or_else(|| "-".into())
                );
            }
        }
    }
    Ok(())
}
