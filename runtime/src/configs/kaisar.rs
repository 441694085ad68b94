//! Configuration of the Kaisar marketplace pallets and the accounts they use.

use alloc::{vec, vec::Vec};

use super::TreasuryAccount;
use crate::{AccountId, Balance, EXISTENTIAL_DEPOSIT};

/// Marketplace accounts funded at genesis, on top of the dev accounts:
/// - the treasury (fees land there) gets the existential deposit so that it exists.
pub fn kaisar_genesis_accounts() -> Vec<(AccountId, Balance)> {
    vec![(TreasuryAccount::get(), EXISTENTIAL_DEPOSIT)]
}
