//! Property tests of the fork server's protocol (issue #15): a request of arbitrary bytes is
//! split into a header and arguments or refused, and only the right key answers a challenge.

use proptest::collection::vec;
use proptest::prelude::*;

use super::protocol::{
    KEY_LEN, MAC_LEN, NONCE_LEN, RequestHeader, client_answer, client_answer_ok, encode_header,
    server_answer_ok, split_request,
};
use crate::__fuzz::{self, ALLOC_LIMIT};

proptest! {
    #![proptest_config(__fuzz::proptest_config(256))]

    #[test]
    fn arbitrary_requests_split_or_are_refused(
        len in prop_oneof![Just(None), (0u32..128).prop_map(Some), any::<u32>().prop_map(Some)],
        body in vec(any::<u8>(), 0..300),
    ) {
        let mut payload = len.map(u32::to_le_bytes).map(Vec::from).unwrap_or_default();
        payload.extend_from_slice(&body);
        let (got, largest) = __fuzz::largest_alloc(|| split_request(&payload).map(|(h, a)| (h, a.len())));
        prop_assert!(largest <= ALLOC_LIMIT + 4 * payload.len(), "{} bytes at once", largest);
        if let Ok((header, args)) = got {
            // What splits re-encodes to a header no longer than the one read.
            let again = encode_header(&header).unwrap();
            prop_assert!(again.len() + args <= payload.len());
        }
    }

    /// A corrupted encoding of a real header decodes to some header or fails, never panics.
    #[test]
    fn corrupted_headers(flip in any::<(usize, u8)>(), name in ".{0,12}", path in vec(any::<u32>(), 0..4)) {
        let header = RequestHeader {
            offsets: crate::process::child::entry::EntryPoint::of(|x: u8| x).to_offsets().unwrap(),
            name,
            daemon: false,
            path,
            parent_pid: 1,
            parent_name: String::new(),
            authkey: vec![3; 32],
        };
        let mut payload = encode_header(&header).unwrap();
        let at = 4 + flip.0 % (payload.len() - 4);
        payload[at] ^= flip.1 | 1;
        let _ = split_request(&payload);
    }

    /// Only the key's own answer for that nonce and role passes, whatever else is sent.
    #[test]
    fn only_the_keys_answer_passes(
        key in any::<[u8; KEY_LEN]>(),
        nonce in vec(any::<u8>(), NONCE_LEN..=NONCE_LEN),
        answer in vec(any::<u8>(), 0..(2 * MAC_LEN)),
    ) {
        let right = client_answer(&key, &nonce);
        prop_assert_eq!(client_answer_ok(&key, &nonce, &answer), answer == right);
        prop_assert!(!server_answer_ok(&key, &nonce, &right), "the roles differ");
        prop_assert!(client_answer_ok(&key, &nonce, &right));
    }
}
