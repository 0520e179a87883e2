//! KFTC Open Banking (오픈뱅킹) for Ginkgo: the wire types shared by the client and the sandbox,
//! response codes mapped to actionable errors, `bank_tran_id` allocation, and the async client.
//!
//! # Layers
//!
//! * [`wire`] — the JSON/form shapes exactly as they travel (all scalars strings, lenient on input).
//! * [`model`] — typed values parsed from wire rows: [`Transaction`] (amounts as
//!   [`ginkgo_domain::Won`], `yyyyMMdd` dates, `HHmmss` times, [`Direction`] from `inout_type`),
//!   [`Balance`], [`TokenSet`], [`UserAccounts`].
//! * [`error`] — [`BankError`] and the success rules of OPENBANKING.md §7.2.
//! * [`tran_id`] — [`BankTranId`] and the [`TranIdSource`] the client draws a fresh id from for
//!   every bank call.
//! * [`client`] — the [`OpenBankingApi`] trait and its reqwest implementation [`HttpClient`].
//!
//! # Transaction identity
//!
//! The API gives a transaction no identifier, and a history is read again and again (pages,
//! incremental syncs). A stable identity a client can build is:
//!
//! `(fintech_use_num, tran_date, tran_time, inout_type, tran_amt, after_balance_amt,
//!   print_content, tran_type, ordinal)`
//!
//! where the first eight parts are the account plus [`Transaction::identity_key`], and
//! `ordinal` (0, 1, …) numbers rows whose eight parts are all equal, in the order they appear
//! in the account's history. `after_balance_amt` separates most same-second look-alikes (two
//! 4,500원 coffees in one second leave different balances), but not all: a card payment, its
//! cancellation and the re-payment in the same second produce two rows identical in every field
//! (same amount, same balance after). The ordinal tells those apart; it is stable because such
//! rows are indistinguishable, so whichever of them is read first may take ordinal 0. To keep
//! ordinals stable across incremental syncs, re-read whole days (never start a sync in the
//! middle of a day) and count ordinals per day ([`identity_ordinals`] does the counting). The
//! sandbox's generator produces such triples.

pub mod client;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod model;
pub mod tran_id;
pub mod wire;

pub use client::{
    AuthType, AuthorizeOptions, BankAvailability, ClientConfig, HttpClient, InquiryType,
    OpenBankingApi, PAGE_SIZE, PageVerdict, PageWalk, PagingStop, SortOrder, TransactionHistory,
    TransactionPage, TransactionQuery,
};
pub use error::{BankError, check_api, check_token, classify};
pub use model::{
    Balance, Direction, Secret, TokenSet, Transaction, UserAccounts, WireError, identity_ordinals,
};
pub use tran_id::{BankTranId, InMemoryTranIdSource, TranIdError, TranIdSource};
