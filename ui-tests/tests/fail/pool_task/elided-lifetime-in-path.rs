use mproc::pool_task;

#[derive(serde::Serialize, serde::Deserialize)]
struct Name<'a> {
    text: &'a str,
}

#[pool_task]
fn greet(name: Name) -> String {
    format!("hello {}", name.text)
}

fn main() {}
