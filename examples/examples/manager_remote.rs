//! Manager over TCP: Python's "remote manager". A server listens on loopback (on a real
//! network, a routable address) with a key of its own; a separate process connects by address
//! and key, as a program on another host would, and fills a list whose proxy it was given.
//!
//! ```text
//! $ cargo run --example manager_remote
//! manager serving on 127.0.0.1:40123
//! remote process pushed 3 items
//! the list: ["job 0 done", "job 1 done", "job 2 done"]
//! ```

use mproc::manager::{ListProxy, Manager, Server};
use mproc::prelude::*;

const KEY: &[u8] = b"a key both hosts know";

/// The remote side: connects with the key, then uses the proxy it was given (a proxy carries
/// the manager's address, never the key: it authenticates as this process's connection does).
fn remote((address, results): (String, ListProxy<String>)) -> Result<usize, String> {
    let _manager = Manager::connect(address.as_str(), KEY).map_err(|e| e.to_string())?;
    for job in 0..3 {
        results
            .push(&format!("job {job} done"))
            .map_err(|e| e.to_string())?;
    }
    results.len().map_err(|e| e.to_string())
}

fn main() -> mproc::Result<()> {
    let server = Server::bind("127.0.0.1:0", KEY)?;
    let address = server.address().to_string();
    println!("manager serving on {address}");
    let serving = std::thread::spawn(move || server.serve_forever());
    let manager = Manager::connect(address.as_str(), KEY)?;
    let results = manager.list::<String>()?;
    let child = Process::new(remote, (address.clone(), results.clone())).start()?;
    let pushed = child.join()?.map_err(std::io::Error::other)?;
    println!("remote process pushed {pushed} items");
    println!("the list: {:?}", results.snapshot()?);
    manager.shutdown()?;
    serving
        .join()
        .map_err(|_| std::io::Error::other("server thread panicked"))??;
    Ok(())
}
