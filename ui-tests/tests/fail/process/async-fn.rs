use mproc::process;

#[process]
async fn fetch(id: u32) -> u32 {
    id
}

fn main() {}
