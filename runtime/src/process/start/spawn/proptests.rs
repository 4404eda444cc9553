//! Property tests of the spawned child's bootstrap message (issue #15): arbitrary bytes decode
//! to a `Boot` or fail, without a panic or an allocation of a declared size.

use proptest::collection::vec;
use proptest::prelude::*;

use super::Boot;
use crate::__fuzz::{self, ALLOC_LIMIT};

proptest! {
    #![proptest_config(__fuzz::proptest_config(256))]

    #[test]
    fn arbitrary_bootstrap_messages(bytes in vec(any::<u8>(), 0..400)) {
        let (_, largest) = __fuzz::largest_alloc(|| postcard::from_bytes::<Boot>(&bytes).is_ok());
        prop_assert!(largest <= ALLOC_LIMIT + 4 * bytes.len(), "{} bytes at once", largest);
    }
}
