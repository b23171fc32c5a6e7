//! Sealed ballots: a poll whose results are published after the close gets its own key pair. At
//! cast time a ballot's answers are sealed to the poll's public key with HPKE (RFC 9180, base mode,
//! DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305); the private key is kept outside
//! the store (`BallotKeys`), read only by the close, and destroyed with the sealed ballots once the
//! totals are frozen.

use super::ballot::BallotAnswer;
use crate::ids::PollId;
use crate::ports::StoreError;
use async_trait::async_trait;
use hmac::{Hmac, Mac};
use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use sha2::Sha256;
use zeroize::Zeroizing;

type Kem = X25519HkdfSha256;

/// Binds every sealed ballot to this scheme and version.
const INFO: &[u8] = b"feedback sealed ballot v1";
/// The length of the encapsulated key that opens every sealed ballot.
const ENC_LEN: usize = 32;
/// Sealed contents are padded to a power of two of at least this many bytes, so that a ballot's
/// size says nothing about its answers.
const MIN_PADDED: usize = 256;

/// A poll's private ballot key. Never logged, never serialised; its bytes are wiped when dropped.
pub struct BallotKey(Zeroizing<Vec<u8>>);

impl BallotKey {
    pub fn from_bytes(bytes: Vec<u8>) -> Result<BallotKey, SealError> {
        let key = BallotKey(Zeroizing::new(bytes));
        key.private()?;
        Ok(key)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    fn private(&self) -> Result<<Kem as hpke::Kem>::PrivateKey, SealError> {
        <Kem as hpke::Kem>::PrivateKey::from_bytes(&self.0).map_err(|_| SealError::Key)
    }
}

impl std::fmt::Debug for BallotKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BallotKey(***)")
    }
}

/// A new key pair: the private key, and the public key in hex as the poll record keeps it.
pub fn new_key_pair() -> (BallotKey, String) {
    let (private, public) = Kem::gen_keypair(&mut rand::rng());
    (BallotKey(Zeroizing::new(private.to_bytes().to_vec())), hex::encode(public.to_bytes()))
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("the ballot key is not a valid key")]
    Key,
    #[error("the sealed ballot cannot be opened with this poll's key")]
    Open,
    #[error("the sealed ballot's contents are damaged")]
    Contents,
}

/// Seals a ballot's answers to the poll's public key (hex), bound to the poll's id.
pub fn seal(public_key_hex: &str, poll: &PollId, answers: &[BallotAnswer]) -> Result<Vec<u8>, SealError> {
    let public = hex::decode(public_key_hex).map_err(|_| SealError::Key)?;
    let public = <Kem as hpke::Kem>::PublicKey::from_bytes(&public).map_err(|_| SealError::Key)?;
    let plain = pad(&serde_json::to_vec(answers).map_err(|_| SealError::Contents)?);
    let aad = poll.to_string();
    let (enc, ciphertext) = hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, Kem, _>(
        &OpModeS::Base,
        &public,
        INFO,
        &plain,
        aad.as_bytes(),
        &mut rand::rng(),
    )
    .map_err(|_| SealError::Key)?;
    let mut out = enc.to_bytes().to_vec();
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// Opens a sealed ballot of `poll` with the poll's private key.
pub fn open(key: &BallotKey, poll: &PollId, sealed: &[u8]) -> Result<Vec<BallotAnswer>, SealError> {
    let (enc, ciphertext) = sealed.split_at_checked(ENC_LEN).ok_or(SealError::Open)?;
    let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(enc).map_err(|_| SealError::Open)?;
    let aad = poll.to_string();
    let plain = Zeroizing::new(
        hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, Kem>(
            &OpModeR::Base,
            &key.private()?,
            &enc,
            INFO,
            ciphertext,
            aad.as_bytes(),
        )
        .map_err(|_| SealError::Open)?,
    );
    serde_json::from_slice(unpad(&plain)?).map_err(|_| SealError::Contents)
}

/// `len (4 bytes, big-endian) ‖ contents ‖ zeros`, to a power of two of at least `MIN_PADDED`.
fn pad(contents: &[u8]) -> Vec<u8> {
    let size = (contents.len() + 4).next_power_of_two().max(MIN_PADDED);
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&u32::try_from(contents.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(contents);
    out.resize(size, 0);
    out
}

fn unpad(padded: &[u8]) -> Result<&[u8], SealError> {
    let (len, rest) = padded.split_first_chunk::<4>().ok_or(SealError::Contents)?;
    let len = usize::try_from(u32::from_be_bytes(*len)).map_err(|_| SealError::Contents)?;
    rest.get(..len).ok_or(SealError::Contents)
}

/// The id under which the close stores one free-text answer of a sealed ballot: keyed by the
/// poll's private key, so a rerun of the close writes the same rows, and once the key is destroyed
/// nothing links an answer to the sealed ballot it came from.
pub fn text_answer_id(key: &BallotKey, sealed_id: &str, question: usize) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(sealed_id.as_bytes());
    mac.update(b"\x00");
    mac.update(question.to_string().as_bytes());
    hex::encode(mac.finalize().into_bytes().get(..16).unwrap_or_default())
}

/// Custody of the polls' private ballot keys, apart from the store: an SSM SecureString parameter
/// per poll on AWS, a file per poll in the host's secrets folder locally.
#[async_trait]
pub trait BallotKeys: Send + Sync + 'static {
    /// Keeps a new poll's private key; a key already kept for the poll is a `Conflict`.
    async fn put_key(&self, poll: &PollId, key: &BallotKey) -> Result<(), StoreError>;
    async fn get_key(&self, poll: &PollId) -> Result<Option<BallotKey>, StoreError>;
    /// Destroys the poll's key; a key that is already gone is no error.
    async fn destroy_key(&self, poll: &PollId) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn answers(text: &str) -> Vec<BallotAnswer> {
        vec![
            BallotAnswer { question: 0, options: vec![2], text: None },
            BallotAnswer { question: 1, options: vec![], text: Some(text.into()) },
        ]
    }

    #[test]
    fn a_sealed_ballot_opens_with_its_polls_key_only() {
        let poll = PollId::new_at(Utc::now());
        let (key, public) = new_key_pair();
        let sealed = seal(&public, &poll, &answers("Больше фонарей у школы")).unwrap();
        assert_eq!(open(&key, &poll, &sealed).unwrap(), answers("Больше фонарей у школы"));
        // another poll's key, another poll's id, a flipped bit: refused
        let (other, _) = new_key_pair();
        assert_eq!(open(&other, &poll, &sealed), Err(SealError::Open));
        assert_eq!(open(&key, &PollId::new_at(Utc::now()), &sealed), Err(SealError::Open));
        let mut damaged = sealed.clone();
        if let Some(b) = damaged.last_mut() {
            *b ^= 1;
        }
        assert_eq!(open(&key, &poll, &damaged), Err(SealError::Open));
        assert_eq!(open(&key, &poll, &sealed[..10]), Err(SealError::Open));
        // sealing twice gives different bytes: equal ballots cannot be told apart
        assert_ne!(seal(&public, &poll, &answers("x")).unwrap(), seal(&public, &poll, &answers("x")).unwrap());
        assert_eq!(seal("zz", &poll, &answers("x")), Err(SealError::Key));
        assert!(BallotKey::from_bytes(vec![1; 5]).is_err());
        assert!(BallotKey::from_bytes(key.as_bytes().to_vec()).is_ok());
        assert_eq!(format!("{key:?}"), "BallotKey(***)");
    }

    #[test]
    fn sizes_hide_the_answers() {
        let poll = PollId::new_at(Utc::now());
        let (_, public) = new_key_pair();
        let short = seal(&public, &poll, &answers("да")).unwrap();
        let longer = seal(&public, &poll, &answers(&"длинный ответ ".repeat(5))).unwrap();
        assert_eq!(short.len(), longer.len());
        // the encapsulated key, the padded contents and the AEAD tag
        assert_eq!(short.len(), ENC_LEN + MIN_PADDED + 16);
        let padded = pad(b"abc");
        assert_eq!(padded.len(), MIN_PADDED);
        assert_eq!(unpad(&padded).unwrap(), b"abc");
        assert_eq!(pad(&[7; 300]).len(), 512);
        assert!(unpad(&[0, 0, 1, 0, 1]).is_err());
    }

    #[test]
    fn text_answer_ids_are_stable_under_the_key_and_unlinkable_without_it() {
        let (key, _) = new_key_pair();
        let (other, _) = new_key_pair();
        assert_eq!(text_answer_id(&key, "s1", 0), text_answer_id(&key, "s1", 0));
        assert_ne!(text_answer_id(&key, "s1", 0), text_answer_id(&key, "s1", 1));
        assert_ne!(text_answer_id(&key, "s1", 0), text_answer_id(&other, "s1", 0));
        assert_eq!(text_answer_id(&key, "s1", 0).len(), 32);
    }
}
