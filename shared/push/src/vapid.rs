use base64::Engine as _;
use p256::pkcs8::EncodePrivateKey as _;
use zeroize::Zeroizing;

use crate::subscription::BASE64URL;

/// The stack's VAPID key pair (RFC 8292): a P-256 key whose public half browsers are given as
/// `applicationServerKey` and whose private half signs the JWT of every push.
#[derive(Clone)]
pub struct VapidKey {
    secret: p256::SecretKey,
    signing: jsonwebtoken::EncodingKey,
}

impl std::fmt::Debug for VapidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VapidKey").field("public_key", &self.public_key()).finish_non_exhaustive()
    }
}

/// Stored key material that is not a P-256 private key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the VAPID key is not a base64url P-256 private key (32 bytes)")]
pub struct InvalidVapidKey;

impl VapidKey {
    pub fn generate() -> Result<Self, InvalidVapidKey> {
        Self::from_secret(p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng))
    }

    /// Reads the stored form: base64url of the 32-byte private scalar, surrounding whitespace
    /// ignored.
    pub fn from_stored(text: &str) -> Result<Self, InvalidVapidKey> {
        let bytes = Zeroizing::new(BASE64URL.decode(text.trim()).map_err(|_| InvalidVapidKey)?);
        if bytes.len() != 32 {
            return Err(InvalidVapidKey);
        }
        let secret = p256::SecretKey::from_slice(&bytes).map_err(|_| InvalidVapidKey)?;
        Self::from_secret(secret)
    }

    /// The key a secret seed of exactly 32 bytes stands for (the seed reduced modulo the group
    /// order): how a host that keeps random 32-byte key files derives its VAPID key.
    pub fn from_seed(seed: &[u8]) -> Result<Self, InvalidVapidKey> {
        let bytes: [u8; 32] = seed.try_into().map_err(|_| InvalidVapidKey)?;
        let scalar = <p256::Scalar as p256::elliptic_curve::ops::Reduce<p256::U256>>::reduce_bytes(&bytes.into());
        let nonzero = Option::<p256::NonZeroScalar>::from(p256::NonZeroScalar::new(scalar)).ok_or(InvalidVapidKey)?;
        Self::from_secret(p256::SecretKey::from(nonzero))
    }

    /// The stored form: base64url of the 32-byte private scalar.
    pub fn to_stored(&self) -> Zeroizing<String> {
        Zeroizing::new(BASE64URL.encode(self.secret.to_bytes()))
    }

    /// base64url of the uncompressed public point (65 bytes): `applicationServerKey`, and the
    /// `k=` of the `Authorization: vapid` header.
    pub fn public_key(&self) -> String {
        BASE64URL.encode(self.secret.public_key().to_sec1_bytes())
    }

    /// `text` when it is a public key as [`VapidKey::public_key`] writes it: base64url of an
    /// uncompressed P-256 point, surrounding whitespace ignored. What a function that only hands
    /// the public key to browsers is configured with.
    pub fn check_public_key(text: &str) -> Result<String, InvalidVapidKey> {
        let text = text.trim();
        let point = BASE64URL.decode(text).map_err(|_| InvalidVapidKey)?;
        if point.len() != 65 || point.first() != Some(&0x04) {
            return Err(InvalidVapidKey);
        }
        p256::PublicKey::from_sec1_bytes(&point).map_err(|_| InvalidVapidKey)?;
        Ok(BASE64URL.encode(point))
    }

    fn from_secret(secret: p256::SecretKey) -> Result<Self, InvalidVapidKey> {
        let der = secret.to_pkcs8_der().map_err(|_| InvalidVapidKey)?;
        let signing = jsonwebtoken::EncodingKey::from_ec_der(der.as_bytes());
        Ok(Self { secret, signing })
    }

    /// The `Authorization` header value for a push to `audience` (the endpoint's origin),
    /// valid until `expires` (Unix seconds).
    pub(crate) fn authorization(
        &self,
        audience: &str,
        subject: &str,
        expires: i64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        #[derive(serde::Serialize)]
        struct Claims<'a> {
            aud: &'a str,
            exp: i64,
            sub: &'a str,
        }
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        let claims = Claims { aud: audience, exp: expires, sub: subject };
        let token = jsonwebtoken::encode(&header, &claims, &self.signing)?;
        Ok(format!("vapid t={token}, k={}", self.public_key()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_public_key_is_checked_as_a_point() {
        let key = VapidKey::generate().unwrap();
        assert_eq!(VapidKey::check_public_key(&format!(" {}\n", key.public_key())), Ok(key.public_key()));
        assert!(VapidKey::check_public_key(&key.to_stored()).is_err(), "a private key is refused");
        assert!(VapidKey::check_public_key(&BASE64URL.encode([4u8; 65])).is_err());
        assert!(VapidKey::check_public_key("").is_err());
    }

    use super::*;

    #[test]
    fn the_stored_form_round_trips() {
        let key = VapidKey::generate().unwrap();
        let again = VapidKey::from_stored(&format!("{}\n", key.to_stored().as_str())).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        assert_eq!(BASE64URL.decode(key.public_key()).unwrap().len(), 65);
        assert!(!format!("{key:?}").contains(key.to_stored().as_str()));
    }

    #[test]
    fn a_seed_gives_one_key() {
        let seed = [7u8; 32];
        let key = VapidKey::from_seed(&seed).unwrap();
        assert_eq!(key.public_key(), VapidKey::from_seed(&seed).unwrap().public_key());
        assert_eq!(VapidKey::from_seed(&[0xff; 32]).unwrap().public_key().len(), 87);
        assert_eq!(VapidKey::from_seed(&[0u8; 32]).unwrap_err(), InvalidVapidKey);
        assert_eq!(VapidKey::from_seed(&[7u8; 33]).unwrap_err(), InvalidVapidKey);
    }

    #[test]
    fn damaged_keys_are_refused() {
        for text in ["", "not base64!", "AAAA", &BASE64URL.encode([0u8; 32])] {
            assert_eq!(VapidKey::from_stored(text).unwrap_err(), InvalidVapidKey);
        }
    }
}
