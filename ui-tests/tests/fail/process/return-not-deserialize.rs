use mproc::process;

#[derive(serde::Serialize)]
struct Report {
    lines: u32,
}

#[process]
fn report(lines: u32) -> Report {
    Report { lines }
}

fn main() {}
