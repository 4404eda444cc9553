//! A type with a `'static` lifetime is owned enough to cross a process boundary.

use std::borrow::Cow;
use std::time::Duration;

use mproc::prelude::*;

#[process]
fn shout(text: Cow<'static, str>) -> Cow<'static, str> {
    Cow::Owned(text.to_uppercase())
}

fn main() {
    let child = shout::spawn(Cow::Borrowed("hi")).expect("start");
    let got = child
        .join_timeout(Duration::from_secs(30))
        .expect("joined in time");
    assert_eq!(got, "HI");
}
