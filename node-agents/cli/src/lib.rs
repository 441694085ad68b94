//! # kaisar-cli
//!
//! The `kaisar` command line for end users of the Kaisar GPU cloud, and the pieces of it that
//! providers and tools reuse:
//!
//! - [`access`]: the sealed box (x25519 + XChaCha20-Poly1305) that carries an order's access
//!   details from the worker's agent to the user: [`access::seal`] to an order's
//!   `user_public_key`, [`access::open`] with the user's key pair.
//! - [`keystore`]: where the CLI keeps each order's access key (`~/.kaisar/keys/<order>.key`,
//!   mode 0600; see the module docs for why one random key per order).
//! - [`format`]: token amounts, GPU models and statuses as users type and read them.
//! - [`commands`]: what each `kaisar` command does, over a
//!   [`kaisar_chain_client::Client`].
//! - [`licenses`]: the checker-node commands (`license`, `referral`, `operator`).
//! - [`rewards`]: providers' and checkers' rewards (`rewards show`, `rewards claim`).
//!
//! Binaries: `kaisar` (the CLI) and `kaisar-demo` (the local devnet walkthrough that
//! `scripts/devnet` runs).

pub mod access;
pub mod commands;
pub mod format;
pub mod keystore;
pub mod licenses;
pub mod rewards;
