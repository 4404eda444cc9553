//! The fork hooks: a registered hook runs in all three places, and every process-global lock
//! in the crate is claimed by a hook or listed with the reason it needs none.

use std::sync::atomic::{AtomicU32, Ordering};

use super::{HOOKS, STDIO_HOOK};
use crate::process::{Process, StartMethod};
use crate::sys::fork_hook::{ForkContext, ForkHook, Held};

static PREPARED: AtomicU32 = AtomicU32::new(0);
static IN_PARENT: AtomicU32 = AtomicU32::new(0);
/// Counted in the child only: a child's copy starts at the parent's value, which stays 0.
static IN_CHILD: AtomicU32 = AtomicU32::new(0);

/// A hook that counts its steps (registered in `TEST_HOOKS`).
pub(super) static PROBE: ForkHook = ForkHook {
    guards: &[],
    prepare: || {
        PREPARED.fetch_add(1, Ordering::SeqCst);
        Ok(Some(Box::new(Probe)))
    },
};

struct Probe;

impl Held for Probe {
    fn in_parent(self: Box<Self>, _: &mut ForkContext) {
        IN_PARENT.fetch_add(1, Ordering::SeqCst);
    }
    fn in_child(&mut self, _: &mut ForkContext) {
        IN_CHILD.fetch_add(1, Ordering::SeqCst);
    }
}

fn probe_counts((): ()) -> (u32, u32, u32) {
    (
        PREPARED.load(Ordering::SeqCst),
        IN_PARENT.load(Ordering::SeqCst),
        IN_CHILD.load(Ordering::SeqCst),
    )
}

#[test]
fn a_registered_hook_runs_before_the_fork_in_the_parent_and_in_the_child() {
    let before = probe_counts(());
    let child = Process::new(probe_counts, ())
        .start_method(StartMethod::Fork)
        .start()
        .unwrap();
    let (prepared, in_parent, in_child) = child
        .join_timeout(std::time::Duration::from_secs(30))
        .unwrap();
    // The child saw its own prepare step (copied from the parent) and ran its child step once.
    assert!(prepared > before.0, "prepare did not run before the fork");
    assert_eq!(
        in_child, 1,
        "the child step ran {in_child} times in the child"
    );
    // Other tests fork meanwhile: the parent's count only grows.
    let after = probe_counts(());
    assert!(after.1 > before.1, "the parent step did not run");
    assert_eq!(after.2, 0, "a child step ran in the parent");
    let _ = in_parent;
}

/// Statics that are locks or lazily made but need no hook, each with the reason.
const NEEDS_NO_HOOK: &[(&str, &str)] = &[
    (
        "mproc::sys::owner::ATFORK",
        "a `Once` completed before `main` runs (`.init_array`), while there is one thread",
    ),
    (
        "mproc::process::parent::registry::HOOK",
        "a `Once` that `launch` completes in the forking thread before every start",
    ),
    (
        "mproc::process::start_method::CHOSEN",
        "fixed by the first `get_start_method`, which a start without an explicit method calls \
         before forking; it is not made early on purpose (that would fix the program's method). \
         A `Fork` start with an explicit method racing another thread's first \
         `get_start_method` is not covered (its initializer reads one environment variable)",
    ),
    (
        "mproc::process::parent::overflow::ONE_AT_A_TIME",
        "test-only: serializes unit tests, never taken across a fork",
    ),
];

/// `runtime/src/a/b.rs` → `mproc::a::b` (`mod.rs` and `lib.rs` name their folder).
fn module_of(path: &std::path::Path, src: &std::path::Path) -> String {
    let rel = path.strip_prefix(src).expect("invariant: under src");
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    std::iter::once("mproc".to_owned())
        .chain(parts)
        .collect::<Vec<_>>()
        .join("::")
}

/// The names of the statics in `text` that are locks or lazily made (`static NAME: Mutex<…>`
/// and the like, at any indentation, private or `pub`).
fn lock_statics(text: &str) -> Vec<&str> {
    const KINDS: [&str; 5] = ["Mutex<", "RwLock<", "OnceLock<", "LazyLock<", "Once "];
    text.lines()
        .filter_map(|line| {
            let line = line.trim_start();
            let rest = ["static ", "pub(crate) static ", "pub static "]
                .iter()
                .find_map(|p| line.strip_prefix(p))?;
            let (name, ty) = rest.split_once(':')?;
            let ty = ty.split('=').next().unwrap_or_default().to_owned() + " ";
            KINDS.iter().any(|k| ty.contains(k)).then_some(name.trim())
        })
        .collect()
}

#[test]
fn the_scan_recognizes_the_forms_of_a_global_lock() {
    let text = "static A: Mutex<u8> = Mutex::new(0);\n\
                \x20   pub(crate) static B: std::sync::RwLock<Vec<u8>> = RwLock::new(Vec::new());\n\
                static C: OnceLock<bool> = OnceLock::new();\n\
                pub static D: Once = Once::new();\n\
                static E: AtomicU32 = AtomicU32::new(0);\n\
                let f: Mutex<u8> = Mutex::new(0);\n";
    assert_eq!(lock_statics(text), ["A", "B", "C", "D"]);
}

/// The lock statics of the crate's source, outside test files: `module::NAME` each.
fn global_locks() -> Vec<String> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                // Test modules (`tests/`, `loom_tests/`) hold test-only statics.
                if name != "__fuzz" && !name.contains("tests") {
                    dirs.push(path);
                }
                continue;
            }
            let test_file = name.contains("tests") || name.starts_with("proptests");
            if test_file || path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let module = module_of(&path, &src);
            found.extend(
                lock_statics(&text)
                    .iter()
                    .map(|name| format!("{module}::{name}")),
            );
        }
    }
    found.sort();
    found
}

#[test]
fn every_global_lock_has_a_fork_hook_or_a_reason() {
    let claimed: Vec<&str> = HOOKS
        .iter()
        .chain([&&STDIO_HOOK])
        .flat_map(|h| h.guards.iter().copied())
        .collect();
    let found = global_locks();
    assert!(
        found.iter().any(|s| s == "mproc::pipe::inherited::LIVE"),
        "the scan finds nothing: {found:?}"
    );
    let missing: Vec<&String> = found
        .iter()
        .filter(|s| !claimed.contains(&s.as_str()))
        .filter(|s| !NEEDS_NO_HOOK.iter().any(|(n, _)| n == s))
        .collect();
    assert!(
        missing.is_empty(),
        "process-global locks with no fork hook (add one to `HOOKS` in process/start/fork.rs, \
         or a reason to `NEEDS_NO_HOOK`): {missing:?}"
    );
    // And nothing claimed or excused is stale.
    let stale: Vec<&str> = claimed
        .iter()
        .copied()
        .chain(NEEDS_NO_HOOK.iter().map(|(n, _)| *n))
        .filter(|n| n.starts_with("mproc::") && !found.iter().any(|s| s == n))
        .collect();
    assert!(stale.is_empty(), "no such static: {stale:?}");
}
