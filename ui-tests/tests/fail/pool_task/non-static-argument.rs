use std::borrow::Cow;

use mproc::pool_task;

#[pool_task]
fn shout(text: Cow<'_, str>) -> String {
    text.to_uppercase()
}

fn main() {}
