use std::borrow::Cow;

use mproc::process;

#[process]
fn shout(text: Cow<'_, str>) -> String {
    text.to_uppercase()
}

fn main() {}
