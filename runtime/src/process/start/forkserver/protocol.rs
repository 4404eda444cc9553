//! What a program and its fork server say to each other.
//!
//! Three channels:
//!
//! - the *life-line*, a socketpair whose server end is the server's standard input at exec:
//!   the program sends [`Startup`] on it, the server answers [`Ready`], and after that only
//!   its end matters: when the program is gone (however it ended) the server reads end of
//!   stream and exits;
//! - the *listener*, a `SOCK_SEQPACKET` socket in the abstract namespace, which any local
//!   process can connect to, so every connection must first prove it knows the key;
//! - per connection, after the handshake, requests ([`RequestHeader`] and the argument bytes,
//!   with descriptors). They are answered on the new child's result socket (see `client`).
//!
//! The handshake is a mutual challenge (as Python 3.14's fork server, with HMAC-SHA256):
//!
//! ```text
//! server -> client   nonce_s                                  (NONCE_LEN bytes)
//! client -> server   mac(key, CLIENT, nonce_s) ++ nonce_c     (MAC_LEN + NONCE_LEN bytes)
//! server -> client   mac(key, SERVER, nonce_c)                (MAC_LEN bytes)
//! ```
//!
//! The server reads nothing else from a connection before the client's MAC checks out, and
//! never more than a fixed small number of bytes: a connection without the key is closed
//! before any payload is decoded. The client also checks the server's MAC and the kernel's
//! record of the peer's pid, so it never sends a request to an impostor.

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::process::child::entry::Offsets;

/// Bytes in the key shared by a program and its server.
pub(super) const KEY_LEN: usize = 32;
/// Bytes in a challenge.
pub(super) const NONCE_LEN: usize = 32;
/// Bytes in an answer to a challenge.
pub(super) const MAC_LEN: usize = 32;

/// The shared secret.
pub(super) type Key = [u8; KEY_LEN];

/// What the client's answer proves, and what the server's does (distinct, so neither answer can
/// be replayed as the other).
const CLIENT: &[u8] = b"mproc fork server v1: client";
const SERVER: &[u8] = b"mproc fork server v1: server";

/// Sent by the program on the life-line right after the server was started.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Startup {
    pub(super) key: Key,
    /// The abstract socket name to listen on (without the leading NUL).
    pub(super) address: Vec<u8>,
}

/// The server's answer on the life-line: listening, or why not.
pub(super) type Ready = Result<(), String>;

/// The fixed part of a request. On the wire: its length (`u32`, little endian), its postcard
/// encoding, then the encoded arguments. Descriptors: the child's end of its result socket,
/// then the arguments' descriptors.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct RequestHeader {
    pub(super) offsets: Offsets,
    pub(super) name: String,
    pub(super) daemon: bool,
    pub(super) path: Vec<u32>,
    pub(super) parent_pid: libc::pid_t,
    pub(super) parent_name: String,
    /// The program's authkey *now* (it may have changed since the server started), installed
    /// in the child before its function runs.
    pub(super) authkey: Vec<u8>,
}

/// Splits a request payload into its header and the argument bytes.
pub(super) fn split_request(payload: &[u8]) -> Result<(RequestHeader, &[u8]), String> {
    let (len, rest) = payload
        .split_first_chunk::<4>()
        .ok_or("request shorter than its length prefix")?;
    let len = usize::try_from(u32::from_le_bytes(*len)).map_err(|e| e.to_string())?;
    if len > rest.len() {
        return Err("request header longer than the request".into());
    }
    let (header, args) = rest.split_at(len);
    let header = postcard::from_bytes(header).map_err(|e| format!("request header: {e}"))?;
    Ok((header, args))
}

/// The length prefix and encoding of `header`, to be followed by the arguments.
pub(super) fn encode_header(header: &RequestHeader) -> Result<Vec<u8>, postcard::Error> {
    let body = postcard::to_allocvec(header)?;
    let len = u32::try_from(body.len()).map_err(|_| postcard::Error::SerializeBufferFull)?;
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

fn mac(key: &Key, role: &[u8], nonce: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("invariant: HMAC takes any key");
    mac.update(role);
    mac.update(nonce);
    mac
}

/// The client's answer to the server's challenge.
pub(super) fn client_answer(key: &Key, nonce: &[u8]) -> [u8; MAC_LEN] {
    mac(key, CLIENT, nonce).finalize().into_bytes().into()
}

/// The server's answer to the client's challenge.
pub(super) fn server_answer(key: &Key, nonce: &[u8]) -> [u8; MAC_LEN] {
    mac(key, SERVER, nonce).finalize().into_bytes().into()
}

/// Checks a client's answer (in constant time).
pub(super) fn client_answer_ok(key: &Key, nonce: &[u8], answer: &[u8]) -> bool {
    mac(key, CLIENT, nonce).verify_slice(answer).is_ok()
}

/// Checks the server's answer (in constant time).
pub(super) fn server_answer_ok(key: &Key, nonce: &[u8], answer: &[u8]) -> bool {
    mac(key, SERVER, nonce).verify_slice(answer).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_check_out_only_with_the_key_and_role() {
        let key = [7u8; KEY_LEN];
        let nonce = [1u8; NONCE_LEN];
        let answer = client_answer(&key, &nonce);
        assert!(client_answer_ok(&key, &nonce, &answer));
        assert!(!client_answer_ok(&[8u8; KEY_LEN], &nonce, &answer));
        assert!(!client_answer_ok(&key, &[2u8; NONCE_LEN], &answer));
        assert!(!server_answer_ok(&key, &nonce, &answer), "roles differ");
        assert!(!client_answer_ok(&key, &nonce, &answer[..MAC_LEN - 1]));
    }

    #[test]
    fn a_request_splits_into_header_and_arguments() {
        let header = RequestHeader {
            offsets: crate::process::child::entry::EntryPoint::of(|x: u8| x)
                .to_offsets()
                .unwrap(),
            name: "n".into(),
            daemon: true,
            path: vec![1, 2],
            parent_pid: 42,
            parent_name: "p".into(),
            authkey: vec![3; 32],
        };
        let mut payload = encode_header(&header).unwrap();
        payload.extend_from_slice(b"args");
        let (back, args) = split_request(&payload).unwrap();
        assert_eq!(
            (back.name.as_str(), back.daemon, back.parent_pid),
            ("n", true, 42)
        );
        assert_eq!(args, b"args");
        assert!(split_request(&payload[..2]).is_err());
        let mut lying = payload.clone();
        lying[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(split_request(&lying).is_err());
    }
}
