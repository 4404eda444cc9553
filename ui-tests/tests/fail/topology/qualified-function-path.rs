use mproc::topology::process;

trait Job {
    fn run();
}

struct Backup;

impl Job for Backup {
    fn run() {}
}

fn main() {
    let _ = process! {
        backup: <Backup as Job>::run();
    };
}
