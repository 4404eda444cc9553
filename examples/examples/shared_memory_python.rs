//! A `ShareableList` and a raw block shared between mproc processes and a real Python one,
//! attached by name from both languages.
//!
//! ```text
//! $ cargo run --example shared_memory_python
//! created psm_1a2b3c4d: [Int(3), Int(4), Str("pending"), Float(0.0)]
//! python says: saw [3, 4, 'pending', 0.0]
//! after python: [Int(3), Int(4), Str("done"), Float(5.0)]
//! after an mproc child: [Int(9), Int(16), Str("done"), Float(5.0)]
//! ```
//!
//! Python's side is the script below; it unregisters the list from its resource tracker,
//! which in Python 3.11 and 3.12 would otherwise unlink a block it only attached to.

use std::process::Command;

use mproc::prelude::*;
use mproc::shared_memory::{Item, ShareableList};

const PYTHON: &str = r"
import sys, math
from multiprocessing import shared_memory, resource_tracker
sl = shared_memory.ShareableList(name=sys.argv[1])
resource_tracker.unregister(sl.shm._name, 'shared_memory')
print('saw', list(sl))
sl[3] = math.hypot(sl[0], sl[1])
sl[2] = 'done'
sl.shm.close()
";

#[process]
fn square_ints(name: String) {
    let list = ShareableList::attach(&name).expect("the parent created it");
    for i in 0..list.len() {
        if let Item::Int(v) = list.get(i).expect("a valid item") {
            list.set(i, v * v).expect("an int fits its slot");
        }
    }
}

fn main() -> mproc::Result<()> {
    let list = ShareableList::create(&[3.into(), 4.into(), "pending".into(), 0.0.into()])?;
    let name = list.shm().name().to_owned();
    println!("created {name}: {:?}", list.to_vec()?);

    match Command::new("python3").args(["-c", PYTHON, &name]).output() {
        Ok(out) if out.status.success() => {
            print!("python says: {}", String::from_utf8_lossy(&out.stdout));
            println!("after python: {:?}", list.to_vec()?);
            assert_eq!(list.get(3)?, Item::Float(5.0));
        }
        Ok(out) => println!("python3 failed: {}", String::from_utf8_lossy(&out.stderr)),
        Err(e) => println!("no python3 here ({e}); run .ci/ensure-python3 to install it"),
    }

    square_ints::spawn(name)?.join()?;
    println!("after an mproc child: {:?}", list.to_vec()?);
    list.shm().unlink()?;
    Ok(())
}
