//! Python's authentication handshake (3.12+, `multiprocessing/connection.py`), both roles.
//!
//! The side that *delivers* a challenge sends `#CHALLENGE#{sha256}` and 40 random bytes; the
//! side that *answers* replies `{sha256}` and the HMAC-SHA256, under the shared key, of the
//! challenge *with* its `{sha256}` prefix (so a peer cannot downgrade the digest); the deliverer
//! compares in constant time and sends `#WELCOME#` or `#FAILURE#`. A listener delivers first and
//! then answers; a client answers first and then delivers, so each side proves the key to the
//! other. Every handshake message is read with Python's 256-byte cap, before anything else of
//! the connection is read, and within the handshake's deadline.
//!
//! # Digests, and the legacy protocol
//! mproc always challenges with `{sha256}`, and answers `{sha256}` and `{sha384}` challenges.
//! Python 3.11 and earlier speak only the legacy protocol: a 20-byte challenge without prefix,
//! answered with a raw 16-byte HMAC-MD5 (and they answer any challenge that way). MD5 is weak,
//! so mproc refuses the legacy protocol (and `{md5}`) unless the end's options allow it
//! ([`Options::allow_legacy_md5`](super::Options::allow_legacy_md5)), exactly to talk to such a
//! Python; `{sha3_256}` and `{sha3_384}`, which no Python uses by default, are refused.

use std::time::Instant;

use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use sha2::{Sha256, Sha384};

use super::error::ConnectionError;
use super::frame::Stream;
use crate::sys;

const CHALLENGE: &[u8] = b"#CHALLENGE#";
const WELCOME: &[u8] = b"#WELCOME#";
const FAILURE: &[u8] = b"#FAILURE#";
/// Random bytes in a challenge (Python's `MESSAGE_LENGTH`).
const MESSAGE_LENGTH: usize = 40;
/// The length of a legacy challenge; shorter ones are refused.
const MD5_ONLY_MESSAGE_LENGTH: usize = 20;
/// The length of a legacy (raw HMAC-MD5) answer.
const MD5_DIGEST_LEN: usize = 16;
/// Python reads every handshake message with `recv_bytes(256)`.
pub(crate) const MAX_HANDSHAKE_MESSAGE: u64 = 256;
/// The longest digest name Python accepts (`sha3_384`).
const MAX_DIGEST_NAME: usize = 8;

/// What one end accepts in a handshake.
#[derive(Clone, Copy)]
pub(crate) struct Policy<'k> {
    pub(crate) key: &'k [u8],
    pub(crate) legacy_md5: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Digest {
    Md5,
    Sha256,
    Sha384,
}

impl Digest {
    fn name(self) -> &'static [u8] {
        match self {
            Self::Md5 => b"md5",
            Self::Sha256 => b"sha256",
            Self::Sha384 => b"sha384",
        }
    }

    fn from_name(name: &[u8], policy: Policy<'_>) -> Result<Self, ConnectionError> {
        match name {
            b"sha256" => Ok(Self::Sha256),
            b"sha384" => Ok(Self::Sha384),
            b"md5" if policy.legacy_md5 => Ok(Self::Md5),
            b"md5" => Err(ConnectionError::LegacyRefused),
            _ => Err(ConnectionError::UnsupportedDigest),
        }
    }

    fn mac(self, key: &[u8], message: &[u8]) -> Vec<u8> {
        fn run<M: Mac + KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
            let mut mac =
                <M as KeyInit>::new_from_slice(key).expect("invariant: HMAC takes any key");
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
        match self {
            Self::Md5 => run::<Hmac<Md5>>(key, message),
            Self::Sha256 => run::<Hmac<Sha256>>(key, message),
            Self::Sha384 => run::<Hmac<Sha384>>(key, message),
        }
    }

    /// Whether `tag` is the MAC of `message` (constant time in the tag's contents).
    fn verify(self, key: &[u8], message: &[u8], tag: &[u8]) -> bool {
        fn run<M: Mac + KeyInit>(key: &[u8], message: &[u8], tag: &[u8]) -> bool {
            let mut mac =
                <M as KeyInit>::new_from_slice(key).expect("invariant: HMAC takes any key");
            mac.update(message);
            mac.verify_slice(tag).is_ok()
        }
        match self {
            Self::Md5 => run::<Hmac<Md5>>(key, message, tag),
            Self::Sha256 => run::<Hmac<Sha256>>(key, message, tag),
            Self::Sha384 => run::<Hmac<Sha384>>(key, message, tag),
        }
    }
}

/// Splits a challenge or an answer into its digest and payload, as Python's
/// `_get_digest_name_and_payload`: 16 or 20 bytes are legacy (MD5, no prefix); anything else
/// must start with an allowed `{digest}`.
fn digest_and_payload<'m>(
    message: &'m [u8],
    policy: Policy<'_>,
) -> Result<(Digest, &'m [u8]), ConnectionError> {
    if message.len() == MD5_ONLY_MESSAGE_LENGTH || message.len() == MD5_DIGEST_LEN {
        return if policy.legacy_md5 {
            Ok((Digest::Md5, message))
        } else {
            Err(ConnectionError::LegacyRefused)
        };
    }
    let Some(rest) = message.strip_prefix(b"{") else {
        return Err(ConnectionError::UnsupportedDigest);
    };
    let window = &rest[..rest.len().min(MAX_DIGEST_NAME + 1)];
    let Some(close) = window.iter().position(|&b| b == b'}') else {
        return Err(ConnectionError::UnsupportedDigest);
    };
    let digest = Digest::from_name(&rest[..close], policy)?;
    Ok((digest, &rest[close + 1..]))
}

fn recv(stream: &Stream, deadline: Instant) -> Result<Vec<u8>, ConnectionError> {
    // Each message answers one of ours, so it is rarely there yet: waiting first saves the
    // read that would only find the socket empty (a system call per message).
    if !stream.readable(Some(deadline))? {
        return Err(ConnectionError::HandshakeTimeout);
    }
    let mut fds = Vec::new(); // descriptors sent during a handshake are closed unread
    stream
        .recv_frame(MAX_HANDSHAKE_MESSAGE, Some(deadline), &mut fds)
        .map_err(handshake_error)
}

fn send(stream: &Stream, message: &[u8], deadline: Instant) -> Result<(), ConnectionError> {
    stream
        .send_frame(message, &[], Some(deadline))
        .map_err(handshake_error)
}

fn handshake_error(e: ConnectionError) -> ConnectionError {
    match e {
        ConnectionError::Timeout => ConnectionError::HandshakeTimeout,
        ConnectionError::TooLarge { len, .. } => ConnectionError::HandshakeTooLong { len },
        other => other,
    }
}

/// Challenges the peer to prove it knows `policy.key` (Python's `deliver_challenge`).
///
/// # Errors
/// [`ConnectionError::DigestReceivedWrong`] for a wrong answer, the other handshake variants
/// for a peer that does not follow the protocol, and I/O errors; `#FAILURE#` is sent to the
/// peer for every refusal of its answer.
pub(crate) fn deliver_challenge(
    stream: &Stream,
    policy: Policy<'_>,
    deadline: Instant,
) -> Result<(), ConnectionError> {
    let mut random = [0u8; MESSAGE_LENGTH];
    sys::random::fill(&mut random).map_err(ConnectionError::os("getrandom"))?;
    let mut message = Vec::with_capacity(CHALLENGE.len() + 8 + MESSAGE_LENGTH);
    message.extend_from_slice(CHALLENGE);
    message.extend_from_slice(b"{sha256}");
    message.extend_from_slice(&random);
    send(stream, &message, deadline)?;
    let challenge = &message[CHALLENGE.len()..];
    let answer = recv(stream, deadline)?;
    let verdict = digest_and_payload(&answer, policy).and_then(|(digest, tag)| {
        if digest.verify(policy.key, challenge, tag) {
            Ok(())
        } else {
            Err(ConnectionError::DigestReceivedWrong)
        }
    });
    match verdict {
        Ok(()) => send(stream, WELCOME, deadline),
        Err(refusal) => {
            // Best effort: the peer learns why the connection ends, as from CPython.
            let _ = send(stream, FAILURE, deadline);
            Err(refusal)
        }
    }
}

/// Answers the peer's challenge with `policy.key` (Python's `answer_challenge`).
///
/// # Errors
/// [`ConnectionError::DigestSentRejected`] if the peer refuses the answer (it has another
/// key), the other handshake variants for a challenge this end does not accept, and I/O errors.
pub(crate) fn answer_challenge(
    stream: &Stream,
    policy: Policy<'_>,
    deadline: Instant,
) -> Result<(), ConnectionError> {
    let message = recv(stream, deadline)?;
    let Some(challenge) = message.strip_prefix(CHALLENGE) else {
        return Err(ConnectionError::NotAChallenge);
    };
    if challenge.len() < MD5_ONLY_MESSAGE_LENGTH {
        return Err(ConnectionError::ChallengeTooShort {
            len: challenge.len(),
        });
    }
    let (digest, _) = digest_and_payload(challenge, policy)?;
    // The MAC covers the whole challenge, its `{digest}` prefix included.
    let tag = digest.mac(policy.key, challenge);
    let legacy = challenge.len() == MD5_ONLY_MESSAGE_LENGTH;
    let mut answer = Vec::with_capacity(2 + MAX_DIGEST_NAME + tag.len());
    if !legacy {
        answer.push(b'{');
        answer.extend_from_slice(digest.name());
        answer.push(b'}');
    }
    answer.extend_from_slice(&tag);
    send(stream, &answer, deadline)?;
    if recv(stream, deadline)? == WELCOME {
        Ok(())
    } else {
        Err(ConnectionError::DigestSentRejected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: Policy<'static> = Policy {
        key: b"k",
        legacy_md5: false,
    };
    const LEGACY: Policy<'static> = Policy {
        key: b"k",
        legacy_md5: true,
    };

    #[test]
    fn digest_prefixes_parse_as_cpython_does() {
        let (d, rest) = digest_and_payload(b"{sha256}0123456789abcdefghij", STRICT).unwrap();
        assert_eq!((d, rest), (Digest::Sha256, &b"0123456789abcdefghij"[..]));
        let (d, _) = digest_and_payload(b"{sha384}0123456789abcdefghij", STRICT).unwrap();
        assert_eq!(d, Digest::Sha384);
        for refused in [
            &b"{sha3_256}0123456789abcdefghij"[..],
            b"{blake2b}0123456789abc",
        ] {
            assert!(matches!(
                digest_and_payload(refused, STRICT),
                Err(ConnectionError::UnsupportedDigest)
            ));
        }
        // No closing brace within the longest allowed name: refused, never searched further.
        assert!(matches!(
            digest_and_payload(b"{sha256sha256}0123456789", STRICT),
            Err(ConnectionError::UnsupportedDigest)
        ));
        assert!(matches!(
            digest_and_payload(b"no prefix at all, 27 bytes", STRICT),
            Err(ConnectionError::UnsupportedDigest)
        ));
        for legacy in [&[7u8; 16][..], &[7u8; 20], b"{md5}0123456789abcdefghij"] {
            assert!(matches!(
                digest_and_payload(legacy, STRICT),
                Err(ConnectionError::LegacyRefused)
            ));
            assert_eq!(digest_and_payload(legacy, LEGACY).unwrap().0, Digest::Md5);
        }
    }

    #[test]
    fn macs_match_known_vectors() {
        // RFC 4231 test case 2 (HMAC-SHA256) and RFC 2202 test case 2 (HMAC-MD5).
        let sha = Digest::Sha256.mac(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex(&sha),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let md5 = Digest::Md5.mac(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex(&md5), "750c783e6ab0b503eaa86e310a5db738");
        assert!(Digest::Sha256.verify(b"Jefe", b"what do ya want for nothing?", &sha));
        assert!(!Digest::Sha256.verify(b"Jeff", b"what do ya want for nothing?", &sha));
        assert!(!Digest::Sha256.verify(b"Jefe", b"what do ya want for nothing?", &sha[..31]));
    }

    fn hex(bytes: &[u8]) -> String {
        use std::fmt::Write as _;
        bytes.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }
}
