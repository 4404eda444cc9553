use mproc::pool_task;

#[derive(serde::Serialize)]
struct Report {
    lines: u32,
}

#[pool_task]
fn report(lines: u32) -> Report {
    Report { lines }
}

fn main() {}
