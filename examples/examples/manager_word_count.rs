//! Manager: a pool of workers counts words into one shared dict held by a manager process.
//! Each worker gets the dict's proxy as a task argument; `add` runs in the manager, so no
//! count is lost (Python's `d[w] = d.get(w, 0) + 1` loses updates under contention). A
//! `Namespace` carries a field that every worker reads.
//!
//! ```text
//! $ cargo run --example manager_word_count
//! counting words of 4 lines with 2 workers (manager pid 8001)
//! the: 8
//! dog: 3
//! fox: 3
//! ...
//! total: 31 words, 4 lines done
//! ```

use mproc::manager::{DictProxy, Manager, NamespaceProxy};
use mproc::prelude::*;

const LINES: [&str; 4] = [
    "the quick brown fox jumps over the lazy dog",
    "the dog sleeps and the fox runs",
    "a lazy afternoon for the quick fox",
    "the end of the story of the dog",
];

/// One pool task: counts the words of one line into the manager's dict.
fn count_line(
    (counts, settings, line): (DictProxy<String, u64>, NamespaceProxy, String),
) -> Result<usize, String> {
    let lowercase: bool = settings
        .get("lowercase")
        .map_err(|e| e.to_string())?
        .unwrap_or(false);
    let mut n = 0;
    for word in line.split_whitespace() {
        let word = if lowercase {
            word.to_lowercase()
        } else {
            word.to_owned()
        };
        counts.add(&word, 1).map_err(|e| e.to_string())?;
        n += 1;
    }
    settings
        .set("last_line", &line)
        .map_err(|e| e.to_string())?;
    Ok(n)
}

fn main() -> mproc::Result<()> {
    let manager = Manager::start()?;
    let counts = manager.dict::<String, u64>()?;
    let settings = manager.namespace()?;
    settings.set("lowercase", &true)?;
    let pool = Pool::new(2)?;
    println!(
        "counting words of {} lines with 2 workers (manager pid {})",
        LINES.len(),
        manager.pid().unwrap_or_default()
    );
    let tasks = LINES
        .iter()
        .map(|line| (counts.clone(), settings.clone(), (*line).to_owned()));
    let per_line = pool.map(count_line, tasks).run()?;
    let words: usize = per_line
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(std::io::Error::other)?
        .into_iter()
        .sum();
    let mut items = counts.items()?;
    items.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    for (word, n) in items.iter().take(3) {
        println!("{word}: {n}");
    }
    println!("...");
    let total: u64 = items.iter().map(|(_, n)| n).sum();
    assert_eq!(total, words as u64, "every count arrived");
    println!("total: {total} words, {} lines done", LINES.len());
    pool.close();
    pool.join()?;
    manager.shutdown()?;
    Ok(())
}
