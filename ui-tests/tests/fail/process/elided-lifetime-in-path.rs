use mproc::process;

#[derive(serde::Serialize, serde::Deserialize)]
struct Name<'a> {
    text: &'a str,
}

#[process]
fn greet(name: Name) -> String {
    format!("hello {}", name.text)
}

fn main() {}
