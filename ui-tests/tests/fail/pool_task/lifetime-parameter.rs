use mproc::pool_task;

#[pool_task]
fn shout<'a>(text: std::borrow::Cow<'a, str>) -> String {
    text.to_uppercase()
}

fn main() {}
