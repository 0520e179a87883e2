//! Encryption at rest for bank tokens: AES-256-GCM, a fresh random nonce per value, stored as
//! `nonce (12 bytes) || ciphertext+tag`. The key is SHA-256 of the configured secret.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use sha2::{Digest, Sha256};

#[derive(Clone)]
pub struct TokenCipher {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCipher(***)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("a stored token could not be decrypted (wrong key or damaged data)")]
pub struct DecryptError;

impl TokenCipher {
    pub fn new(secret: &str) -> TokenCipher {
        let key = Sha256::digest(secret.as_bytes());
        TokenCipher {
            cipher: Aes256Gcm::new(&key),
        }
    }

    pub fn encrypt(&self, plain: &str) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        // Encryption with a valid key and nonce cannot fail for inputs of this size.
        out.extend(
            self.cipher
                .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
                .unwrap_or_default(),
        );
        out
    }

    pub fn decrypt(&self, data: &[u8]) -> Result<String, DecryptError> {
        if data.len() < 12 + 16 {
            return Err(DecryptError);
        }
        let (nonce, body) = data.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), body)
            .map_err(|_| DecryptError)?;
        String::from_utf8(plain).map_err(|_| DecryptError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_tampering() {
        let c = TokenCipher::new("a key of at least thirty-two characters!");
        let a = c.encrypt("eyJhbGciOi.token");
        let b = c.encrypt("eyJhbGciOi.token");
        assert_ne!(a, b, "a fresh nonce every time");
        assert!(
            !a.windows(5).any(|w| w == b"eyJhb"),
            "no plain text at rest"
        );
        assert_eq!(c.decrypt(&a).expect("decrypt"), "eyJhbGciOi.token");
        let mut bad = a.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(c.decrypt(&bad).is_err());
        assert!(
            TokenCipher::new("another key another key another key")
                .decrypt(&a)
                .is_err()
        );
        assert!(c.decrypt(&[1, 2, 3]).is_err());
    }
}
