use std::borrow::Cow;

use mproc::process;

#[process]
async unsafe fn run<T: Clone>(name: &str, items: Vec<T>, label: Cow<'_, str>) -> impl Sized
where
    T: Send,
{
    let _ = (name, items, label);
}

fn main() {}
