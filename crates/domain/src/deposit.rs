//! The deposit signature of the two-phase protocol: SHA-512 (lowercase hex) of
//! account number + holder name + amount, compared in constant time.

use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;

use crate::{AccountNumber, Won};

/// The lowercase hex SHA-512 that phase 2 must present.
pub fn deposit_signature(account: &AccountNumber, holder_name: &str, amount: Won) -> String {
    let mut h = Sha512::new();
    h.update(account.as_str().as_bytes());
    h.update(holder_name.as_bytes());
    h.update(amount.get().to_string().as_bytes());
    hex::encode(h.finalize())
}

/// A signature as presented by a client: 128 hex characters (case-insensitive on input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature([u8; 64]);

impl Signature {
    pub fn parse(text: &str) -> Option<Signature> {
        let t = text.trim();
        if t.len() != 128 {
            return None;
        }
        let mut out = [0u8; 64];
        hex::decode_to_slice(t, &mut out).ok()?;
        Some(Signature(out))
    }

    /// Constant-time comparison with the expected signature for the stored phase-1 data.
    pub fn matches(&self, account: &AccountNumber, holder_name: &str, amount: Won) -> bool {
        let mut h = Sha512::new();
        h.update(account.as_str().as_bytes());
        h.update(holder_name.as_bytes());
        h.update(amount.get().to_string().as_bytes());
        let expected = h.finalize();
        self.0.ct_eq(expected.as_slice()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_contract_example() {
        let account = AccountNumber::parse("123123").expect("valid");
        let sig = deposit_signature(&account, "아이작", Won::new(1000));
        // sha512("123123아이작1000"), computed independently with `sha512sum`.
        assert_eq!(
            sig,
            "7e2ab3b8f8a84c6af56b964bf1c8b715ae0edbffa09b2817f39ca5a9a5b0634733181131a89e5c4f1d29b374827a3a236fc454b8ddeb87f73516026d312e833f"
        );
        assert!(sig.bytes().all(|b| !b.is_ascii_uppercase()));
        let parsed = Signature::parse(&sig).expect("hex");
        assert!(parsed.matches(&account, "아이작", Won::new(1000)));
        assert!(!parsed.matches(&account, "아이작", Won::new(1001)));
        assert!(!parsed.matches(&account, "아이삭", Won::new(1000)));
        assert!(Signature::parse(&sig.to_uppercase()).is_some());
        assert!(Signature::parse("abc").is_none());
        assert!(Signature::parse(&"g".repeat(128)).is_none());
    }
}
