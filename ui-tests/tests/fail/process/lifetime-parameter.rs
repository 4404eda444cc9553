use mproc::process;

#[process]
fn shout<'a>(text: std::borrow::Cow<'a, str>) -> String {
    text.to_uppercase()
}

fn main() {}
