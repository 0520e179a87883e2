//! Ginkgo's domain: the types and pure rules every other crate shares.
//!
//! Nothing here does IO. Values are parsed once at the edge ("parse, don't validate") and carried
//! as newtypes from then on: [`Won`], [`AccountNumber`], [`Isin`], [`CustomerName`].

pub mod deposit;
#[doc(hidden)]
pub mod fuzzing;
pub mod ids;
pub mod money;
pub mod rng;
pub mod snapshot;
pub mod time;
pub mod valuation;

pub use deposit::{Signature, deposit_signature};
pub use ids::{AccountNumber, CustomerName, Isin, ParseError};
pub use money::{MoneyError, Won};
pub use valuation::{ReturnRate, Valuation};
