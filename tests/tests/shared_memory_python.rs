//! Named shared memory shared with real Python processes, in both directions: a block or a
//! `ShareableList` created by one side is read and written by the other, with Python's own
//! `multiprocessing.shared_memory`. Hostile bytes written by Python are typed errors in mproc.
//! Every test unlinks what it made and checks `/dev/shm` holds nothing of it afterwards.

use std::path::Path;

use integration_tests::{TIMEOUT, python};
use mproc::shared_memory::{Item, ShareableList, ShareableListError, SharedMemory};

/// Python prelude: attach without letting Python 3.11's resource tracker unlink the block when
/// this interpreter exits (it tracks attached blocks as if it had created them).
const PRELUDE: &str = r"
import sys, json
from multiprocessing import shared_memory, resource_tracker
def untrack(shm):
    resource_tracker.unregister(shm._name, 'shared_memory')
def show(v):
    return v.hex() if isinstance(v, bytes) else v
";

fn script(body: &str) -> String {
    format!("{PRELUDE}\n{body}")
}

fn fresh_name(tag: &str) -> String {
    format!("mproc-py-{tag}-{}", std::process::id())
}

fn gone(name: &str) -> bool {
    !Path::new("/dev/shm").join(name).exists()
}

#[test]
fn a_list_python_created_is_read_and_written_by_mproc() {
    let name = fresh_name("pylist");
    let created = python::run(
        &script(
            r"
sl = shared_memory.ShareableList([7, 2.5, True, 'héllo', b'by\x00tes', None, 'x' * 20], name=sys.argv[1])
untrack(sl.shm)
print(sl.format)
",
        ),
        &[&name],
        TIMEOUT,
    );
    let list = ShareableList::attach(&name).unwrap();
    assert_eq!(list.format_string().unwrap(), created.trim());
    assert_eq!(
        list.to_vec().unwrap(),
        vec![
            Item::Int(7),
            Item::Float(2.5),
            Item::Bool(true),
            Item::from("héllo"),
            Item::Bytes(b"by\x00tes".to_vec()),
            Item::None,
            Item::from("x".repeat(20)),
        ]
    );
    list.set(0, "seven").unwrap();
    list.set(2, false).unwrap();
    list.set(5, -1i64 << 40).unwrap();
    list.set(6, "short").unwrap();
    let seen = python::run(
        &script(
            r"
sl = shared_memory.ShareableList(name=sys.argv[1])
untrack(sl.shm)
print(json.dumps([show(v) for v in sl]))
",
        ),
        &[&name],
        TIMEOUT,
    );
    assert_eq!(
        seen.trim(),
        r#"["seven", 2.5, false, "h\u00e9llo", "627900746573", -1099511627776, "short"]"#
    );
    list.shm().unlink().unwrap();
    assert!(gone(&name));
}

#[test]
fn a_list_mproc_created_is_read_and_written_by_python() {
    let list = ShareableList::create(&[
        Item::Int(-3),
        Item::from("ünï"),
        Item::Bytes(vec![0, 1, 2]),
        Item::None,
        Item::Float(0.125),
    ])
    .unwrap();
    let name = list.shm().name().to_owned();
    let seen = python::run(
        &script(
            r"
sl = shared_memory.ShareableList(name=sys.argv[1])
untrack(sl.shm)
print(json.dumps([show(v) for v in sl]))
sl[0] = 'changed'
sl[3] = True
sl[4] = 10**12
",
        ),
        &[&name],
        TIMEOUT,
    );
    // bytes lose their trailing NULs only: `\x00\x01\x02` keeps its leading one.
    assert_eq!(
        seen.trim(),
        r#"[-3, "\u00fcn\u00ef", "000102", null, 0.125]"#
    );
    assert_eq!(list.get(0).unwrap(), Item::from("changed"));
    assert_eq!(list.get(3).unwrap(), Item::Bool(true));
    assert_eq!(list.get(4).unwrap(), Item::Int(1_000_000_000_000));
    list.shm().unlink().unwrap();
    assert!(gone(&name));
}

#[test]
fn a_block_is_shared_both_ways() {
    let ours = SharedMemory::create(5000).unwrap();
    ours.write_at(4990, b"from rust!").unwrap();
    let theirs = fresh_name("pyblock");
    let seen = python::run(
        &script(
            r"
ours = shared_memory.SharedMemory(sys.argv[1])
untrack(ours)
print(ours.size, bytes(ours.buf[4990:5000]).decode())
ours.buf[0:6] = b'python'
ours.close()
theirs = shared_memory.SharedMemory(sys.argv[2], create=True, size=4097)
untrack(theirs)
theirs.buf[4096] = 42
theirs.close()
",
        ),
        &[ours.name(), &theirs],
        TIMEOUT,
    );
    assert_eq!(seen.trim(), "5000 from rust!");
    let mut head = [0; 6];
    ours.read_at(0, &mut head).unwrap();
    assert_eq!(&head, b"python");
    let block = SharedMemory::attach(&theirs).unwrap();
    assert_eq!(block.size(), 4097);
    let mut last = [0];
    block.read_at(4096, &mut last).unwrap();
    assert_eq!(last, [42]);
    ours.unlink().unwrap();
    block.unlink().unwrap();
    assert!(gone(ours.name()) && gone(&theirs));
}

#[test]
fn garbage_python_writes_into_a_list_is_a_typed_error() {
    let list = ShareableList::create(&[Item::Int(1), Item::from("two")]).unwrap();
    let name = list.shm().name().to_owned();
    // Python rewrites a format, a code and the item count through a raw view of the block.
    let printed = python::run(
        &script(
            r"
import struct
shm = shared_memory.SharedMemory(sys.argv[1])
untrack(shm)
n = struct.unpack_from('q', shm.buf, 0)[0]
offsets = struct.unpack_from('q' * (n + 1), shm.buf, 8)
formats = (n + 2) * 8 + offsets[-1]
struct.pack_into('8s', shm.buf, formats, b'zz')
struct.pack_into('b', shm.buf, formats + 8 * n + 1, 9)
struct.pack_into('q', shm.buf, 0, 2**62)
shm.close()
",
        ),
        &[&name],
        TIMEOUT,
    );
    assert_eq!(printed, "");
    // The list attached before keeps its checked header; both items are refused.
    for i in 0..2 {
        assert!(
            matches!(list.get(i), Err(ShareableListError::Corrupted(_))),
            "{i}"
        );
    }
    // A new attach sees the hostile count and refuses the block.
    assert!(matches!(
        ShareableList::attach(&name),
        Err(ShareableListError::Corrupted(_))
    ));
    list.shm().unlink().unwrap();
    assert!(gone(&name));
}
