//! `mysql_native_password`: SHA1(password) XOR SHA1(salt + SHA1(SHA1(password))).

use sha1::{Digest, Sha1};

use crate::Credential;

/// SHA1(SHA1(password)), the stored form of a password.
pub fn scramble_password(password: &str) -> [u8; 20] {
    let once: [u8; 20] = Sha1::digest(password.as_bytes()).into();
    Sha1::digest(once).into()
}

/// Checks a client's 20-byte auth response against the stored credential.
pub(crate) fn verify(cred: &Credential, salt: &[u8], response: &[u8]) -> bool {
    match cred {
        Credential::Empty => response.is_empty(),
        Credential::DoubleSha1(stage2) => {
            if response.len() != 20 {
                return false;
            }
            let mut h = Sha1::new();
            h.update(salt);
            h.update(stage2);
            let mix: [u8; 20] = h.finalize().into();
            // response = SHA1(pw) XOR mix, so SHA1(response XOR mix) must equal stage2.
            let stage1: Vec<u8> = response.iter().zip(mix).map(|(a, b)| a ^ b).collect();
            let check: [u8; 20] = Sha1::digest(&stage1).into();
            check == *stage2
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_password_round_trip() {
        let salt = b"abcdefghijklmnopqrst";
        let pw = "secret";
        let stage1: [u8; 20] = Sha1::digest(pw.as_bytes()).into();
        let stage2 = scramble_password(pw);
        let mut h = Sha1::new();
        h.update(salt);
        h.update(stage2);
        let mix: [u8; 20] = h.finalize().into();
        let response: Vec<u8> = stage1.iter().zip(mix).map(|(a, b)| a ^ b).collect();
        assert!(verify(&Credential::DoubleSha1(stage2), salt, &response));
        assert!(!verify(&Credential::DoubleSha1(stage2), salt, &[0u8; 20]));
        assert!(verify(&Credential::Empty, salt, &[]));
        assert!(!verify(&Credential::Empty, salt, &response));
    }
}
