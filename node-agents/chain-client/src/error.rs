//! Errors of the chain client.

use subxt::error::{DispatchError, TransactionEventsError};

/// What went wrong talking to the chain.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// No connection could be made to the node within the retry budget.
    #[error("cannot connect to {url} after {attempts} attempts: {last_error}")]
    Connect {
        /// The node's WebSocket URL.
        url: String,
        /// How many times it was tried.
        attempts: u32,
        /// The last connection error.
        last_error: String,
    },
    /// The transaction was included but a pallet returned an error (`System::ExtrinsicFailed`
    /// with a `Module` dispatch error), e.g. `Orders::NotWorkerAgent`.
    #[error("{pallet}::{error}{}", if docs.is_empty() { String::new() } else { format!(": {docs}") })]
    Module {
        /// The pallet's name in the runtime, e.g. `Orders`.
        pallet: String,
        /// The error variant, e.g. `NotWorkerAgent`.
        error: String,
        /// The error's doc comment.
        docs: String,
    },
    /// The transaction was included but failed with a non-module dispatch error (bad origin,
    /// token or arithmetic error...).
    #[error("transaction failed: {0}")]
    Dispatch(String),
    /// The node refused or dropped the transaction before inclusion (invalid signature, bad
    /// nonce, cannot pay fees, ...).
    #[error("transaction not included: {0}")]
    Rejected(String),
    /// The transaction was not included in a block in time.
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(std::time::Duration, String),
    /// A secret URI or dev account name could not be turned into a key.
    #[error("bad signer `{input}`: {reason}")]
    BadSigner {
        /// What was given (secrets are not echoed: only dev names and derivation paths).
        input: String,
        /// Why it was refused.
        reason: String,
    },
    /// A raw RPC call failed.
    #[error("rpc `{method}` failed: {error}")]
    Rpc {
        /// The RPC method.
        method: String,
        /// The error.
        error: String,
    },
    /// Any other subxt error (connection, metadata mismatch, decoding, ...). Boxed: subxt's
    /// error is large.
    #[error(transparent)]
    Subxt(Box<subxt::Error>),
}

impl From<subxt::Error> for ChainError {
    fn from(error: subxt::Error) -> Self {
        ChainError::Subxt(Box::new(error))
    }
}

impl ChainError {
    /// Wrap anything subxt can turn into its error type.
    pub(crate) fn subxt(error: impl Into<subxt::Error>) -> Self {
        ChainError::Subxt(Box::new(error.into()))
    }
}

impl ChainError {
    /// Whether this is the module error `pallet::error`, e.g. `("Orders", "NotWorkerAgent")`.
    pub fn is_module_error(&self, pallet: &str, error: &str) -> bool {
        matches!(self, ChainError::Module { pallet: p, error: e, .. } if p == pallet && e == error)
    }

    /// `(pallet, error)` names of a module error.
    pub fn module_error(&self) -> Option<(&str, &str)> {
        match self {
            ChainError::Module { pallet, error, .. } => Some((pallet, error)),
            _ => None,
        }
    }

    /// Turn a dispatch error into [`ChainError::Module`] (with the pallet's and error's names
    /// from the metadata) or [`ChainError::Dispatch`].
    pub(crate) fn from_dispatch(error: DispatchError) -> Self {
        if let DispatchError::Module(module) = &error {
            if let Ok(details) = module.details() {
                return ChainError::Module {
                    pallet: details.pallet.name().to_string(),
                    error: details.variant.name.clone(),
                    docs: details.variant.docs.join(" ").trim().to_string(),
                };
            }
        }
        ChainError::Dispatch(error.to_string())
    }

    pub(crate) fn from_events_error(error: TransactionEventsError) -> Self {
        match error {
            TransactionEventsError::ExtrinsicFailed(e) => Self::from_dispatch(e),
            other => ChainError::subxt(other),
        }
    }
}

/// A result with a [`ChainError`].
pub type Result<T, E = ChainError> = std::result::Result<T, E>;
