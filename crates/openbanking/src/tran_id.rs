//! `bank_tran_id` (거래고유번호): institution code (10) + `U` + 9 upper-case alphanumerics,
//! unique for the institution within one KST day.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Number of distinct 9-character base-36 suffixes.
pub const SEQUENCE_LIMIT: u64 = 101_559_956_668_416; // 36^9

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranIdError {
    #[error("institution code must be 10 upper-case letters or digits")]
    InvalidInstitutionCode,
    #[error(
        "bank_tran_id must be 20 characters: institution code (10) + 'U' + 9 upper-case letters or digits"
    )]
    InvalidFormat,
    #[error("sequence {0} does not fit in 9 base-36 characters")]
    SequenceTooLarge(u64),
    #[error("bank_tran_id source unavailable: {0}")]
    Unavailable(String),
    #[error(
        "the installation prefix of bank_tran_id must be 1 to {MAX_PREFIX} upper-case letters or digits"
    )]
    InvalidPrefix,
}

/// The longest installation prefix: it leaves at least 6 base-36 characters (over 2 billion
/// ids a day) to the counter.
pub const MAX_PREFIX: usize = 3;

/// Checks the installation prefix: the first characters of the 9-character assigned part,
/// distinct per installation that shares an institution code (e.g. `P` production, `S`
/// staging), so that two installations can never send the same `bank_tran_id` on one day.
pub fn validate_tran_id_prefix(prefix: &str) -> Result<(), TranIdError> {
    if (1..=MAX_PREFIX).contains(&prefix.len()) && prefix.bytes().all(is_upper_alnum) {
        Ok(())
    } else {
        Err(TranIdError::InvalidPrefix)
    }
}

fn is_upper_alnum(b: u8) -> bool {
    b.is_ascii_digit() || b.is_ascii_uppercase()
}

/// Checks a 10-character institution code (`client_use_code`, e.g. `M202600001`).
pub fn validate_institution_code(code: &str) -> Result<(), TranIdError> {
    if code.len() == 10 && code.bytes().all(is_upper_alnum) {
        Ok(())
    } else {
        Err(TranIdError::InvalidInstitutionCode)
    }
}

/// A validated `bank_tran_id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BankTranId(String);

const DIGITS: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

impl BankTranId {
    pub fn parse(text: &str) -> Result<BankTranId, TranIdError> {
        let b = text.as_bytes();
        if b.len() != 20 || b[10] != b'U' || !b.iter().all(|&c| is_upper_alnum(c)) {
            return Err(TranIdError::InvalidFormat);
        }
        Ok(BankTranId(text.to_string()))
    }

    /// Encodes a per-day counter `n` as the 9 base-36 characters after `U`.
    pub fn from_sequence(institution_code: &str, n: u64) -> Result<BankTranId, TranIdError> {
        validate_institution_code(institution_code)?;
        if n >= SEQUENCE_LIMIT {
            return Err(TranIdError::SequenceTooLarge(n));
        }
        let mut suffix = [b'0'; 9];
        let mut rest = n;
        for slot in suffix.iter_mut().rev() {
            *slot = DIGITS[(rest % 36) as usize];
            rest /= 36;
        }
        let mut s = String::with_capacity(20);
        s.push_str(institution_code);
        s.push('U');
        s.extend(suffix.iter().map(|&c| c as char));
        Ok(BankTranId(s))
    }

    /// Encodes a per-day counter `n` after an installation prefix: `code + U + prefix +
    /// base-36(n)`, the counter taking the 9 − `prefix.len()` characters left.
    pub fn from_prefixed_sequence(
        institution_code: &str,
        prefix: &str,
        n: u64,
    ) -> Result<BankTranId, TranIdError> {
        validate_institution_code(institution_code)?;
        validate_tran_id_prefix(prefix)?;
        let width = 9 - prefix.len();
        let limit = 36u64.pow(width as u32);
        if n >= limit {
            return Err(TranIdError::SequenceTooLarge(n));
        }
        let mut digits = vec![b'0'; width];
        let mut rest = n;
        for slot in digits.iter_mut().rev() {
            *slot = DIGITS[(rest % 36) as usize];
            rest /= 36;
        }
        let mut s = String::with_capacity(20);
        s.push_str(institution_code);
        s.push('U');
        s.push_str(prefix);
        s.extend(digits.iter().map(|&c| c as char));
        Ok(BankTranId(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 10 characters.
    pub fn institution_code(&self) -> &str {
        &self.0[..10]
    }

    /// The 9 characters after `U`.
    pub fn assigned(&self) -> &str {
        &self.0[11..]
    }

    /// The counter encoded by [`BankTranId::from_sequence`].
    pub fn sequence(&self) -> u64 {
        self.assigned().bytes().fold(0u64, |acc, c| {
            let d = if c.is_ascii_digit() {
                c - b'0'
            } else {
                c - b'A' + 10
            };
            acc * 36 + u64::from(d)
        })
    }
}

impl fmt::Display for BankTranId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for BankTranId {
    type Error = TranIdError;
    fn try_from(value: String) -> Result<Self, TranIdError> {
        BankTranId::parse(&value)
    }
}

impl From<BankTranId> for String {
    fn from(value: BankTranId) -> Self {
        value.0
    }
}

/// Where the client gets a fresh `bank_tran_id` for every request. The store implements it
/// with an atomic per-day counter in the database so that replicas never collide.
#[async_trait]
pub trait TranIdSource: Send + Sync {
    async fn next_tran_id(&self) -> Result<BankTranId, TranIdError>;
}

/// An in-process counter (tests and the sandbox-only demo). Ids are unique within the process;
/// two processes sharing an institution code should use the database-backed source.
#[derive(Debug)]
pub struct InMemoryTranIdSource {
    institution_code: String,
    next: AtomicU64,
}

impl InMemoryTranIdSource {
    /// Starts at a random point of the sequence space, so that a restarted process is unlikely
    /// to repeat ids the server saw earlier the same day.
    pub fn new(institution_code: &str) -> Result<Self, TranIdError> {
        let start = rand::random::<u64>() % (SEQUENCE_LIMIT / 2);
        Self::starting_at(institution_code, start)
    }

    /// Starts at `first` (deterministic; tests).
    pub fn starting_at(institution_code: &str, first: u64) -> Result<Self, TranIdError> {
        validate_institution_code(institution_code)?;
        Ok(InMemoryTranIdSource {
            institution_code: institution_code.to_string(),
            next: AtomicU64::new(first),
        })
    }
}

#[async_trait]
impl TranIdSource for InMemoryTranIdSource {
    async fn next_tran_id(&self) -> Result<BankTranId, TranIdError> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        BankTranId::from_sequence(&self.institution_code, n % SEQUENCE_LIMIT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_encode_as_nine_base36_characters() {
        let id = BankTranId::from_sequence("M202600001", 0).expect("id");
        assert_eq!(id.as_str(), "M202600001U000000000");
        let id = BankTranId::from_sequence("M202600001", 36 * 36 + 35).expect("id");
        assert_eq!(id.as_str(), "M202600001U00000010Z");
        assert_eq!(id.sequence(), 36 * 36 + 35);
        let max = BankTranId::from_sequence("M202600001", SEQUENCE_LIMIT - 1).expect("id");
        assert_eq!(max.assigned(), "ZZZZZZZZZ");
        assert_eq!(
            BankTranId::from_sequence("M202600001", SEQUENCE_LIMIT),
            Err(TranIdError::SequenceTooLarge(SEQUENCE_LIMIT))
        );
        assert_eq!(
            BankTranId::from_sequence("m202600001", 1),
            Err(TranIdError::InvalidInstitutionCode)
        );
    }

    #[test]
    fn installations_with_distinct_prefixes_never_collide() {
        let staging = BankTranId::from_prefixed_sequence("M202600001", "S", 7).expect("id");
        let production = BankTranId::from_prefixed_sequence("M202600001", "P", 7).expect("id");
        assert_eq!(staging.as_str(), "M202600001US00000007");
        assert_ne!(staging, production);
        assert!(BankTranId::parse(production.as_str()).is_ok());
        let two = BankTranId::from_prefixed_sequence("M202600001", "P2", 36).expect("id");
        assert_eq!(two.assigned(), "P20000010");
        // The counter only has the characters the prefix leaves.
        assert_eq!(
            BankTranId::from_prefixed_sequence("M202600001", "ABC", 36u64.pow(6)),
            Err(TranIdError::SequenceTooLarge(36u64.pow(6)))
        );
        for bad in ["", "p", "ABCD", "A-"] {
            assert_eq!(
                BankTranId::from_prefixed_sequence("M202600001", bad, 1),
                Err(TranIdError::InvalidPrefix),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn parse_checks_the_format() {
        assert!(BankTranId::parse("M202113854UXAPFH0CED").is_ok());
        for bad in [
            "M202113854UXAPFH0CE",
            "M202113854OXAPFH0CED",
            "M202113854Uxapfh0ced",
            "M202113854UXAPFH0CE-",
        ] {
            assert_eq!(
                BankTranId::parse(bad),
                Err(TranIdError::InvalidFormat),
                "{bad}"
            );
        }
        let id = BankTranId::parse("M202113854UXAPFH0CED").expect("id");
        assert_eq!(id.institution_code(), "M202113854");
        assert_eq!(id.assigned(), "XAPFH0CED");
    }

    #[test]
    fn round_trips_for_many_sequences() {
        let mut n = 1u64;
        while n < SEQUENCE_LIMIT {
            let id = BankTranId::from_sequence("F123456789", n).expect("id");
            assert_eq!(BankTranId::parse(id.as_str()).as_ref(), Ok(&id));
            assert_eq!(id.sequence(), n);
            n = n * 7 + 3;
        }
    }

    #[tokio::test]
    async fn the_in_memory_source_never_repeats() {
        let src = InMemoryTranIdSource::starting_at("M202600001", 5).expect("source");
        let a = src.next_tran_id().await.expect("id");
        let b = src.next_tran_id().await.expect("id");
        assert_ne!(a, b);
        assert_eq!(a.sequence(), 5);
        assert_eq!(b.sequence(), 6);
    }
}
