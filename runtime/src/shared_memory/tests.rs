//! In-process tests of named blocks and `ShareableList`, including hostile block contents.

use std::path::Path;

use super::*;

/// A name no other test (or test run) uses.
fn fresh(tag: &str) -> String {
    let random = crate::sys::random::bytes::<6>().expect("getrandom");
    let hex = u64::from_le_bytes([
        random[0], random[1], random[2], random[3], random[4], random[5], 0, 0,
    ]);
    format!("mproc-test-{tag}-{hex:012x}")
}

fn exists(name: &str) -> bool {
    Path::new("/dev/shm").join(name).exists()
}

#[test]
fn a_block_is_shared_by_name_and_gone_after_unlink() {
    let name = fresh("share");
    let a = SharedMemory::create_named(&name, 100).unwrap();
    assert_eq!((a.name(), a.size()), (name.as_str(), 100));
    assert!(
        a.to_vec().iter().all(|&b| b == 0),
        "a new block is zero-filled"
    );
    a.write_at(95, b"hello").unwrap();
    let b = SharedMemory::attach(&name).unwrap();
    assert_eq!(b.size(), 100);
    let mut buf = [0; 5];
    b.read_at(95, &mut buf).unwrap();
    assert_eq!(&buf, b"hello");
    assert!(exists(&name));
    b.unlink().unwrap();
    assert!(!exists(&name));
    // Still mapped: unlinking removes the name, not the memory.
    a.read_at(95, &mut buf).unwrap();
    assert_eq!(&buf, b"hello");
    assert!(matches!(a.unlink(), Err(SharedMemoryError::NotFound(n)) if n == name));
}

#[test]
fn random_names_look_like_pythons_and_do_not_collide() {
    let a = SharedMemory::create(1).unwrap();
    let b = SharedMemory::create(1).unwrap();
    for block in [&a, &b] {
        assert!(
            block.name().starts_with("psm_") && block.name().len() == 12,
            "{}",
            block.name()
        );
    }
    assert_ne!(a.name(), b.name());
    a.unlink().unwrap();
    b.unlink().unwrap();
    assert!(!exists(a.name()) && !exists(b.name()));
}

#[test]
fn misuse_gets_the_error_python_raises() {
    let name = fresh("misuse");
    assert!(matches!(
        SharedMemory::create_named(&name, 0),
        Err(SharedMemoryError::ZeroSize)
    ));
    assert!(matches!(
        SharedMemory::create(0),
        Err(SharedMemoryError::ZeroSize)
    ));
    assert!(matches!(
        SharedMemory::attach(&name),
        Err(SharedMemoryError::NotFound(_))
    ));
    for bad in ["", "a\0b", "a/b", ".", "..", &"x".repeat(255)] {
        assert!(
            matches!(
                SharedMemory::attach(bad),
                Err(SharedMemoryError::InvalidName { .. })
            ),
            "{bad:?}"
        );
    }
    let block = SharedMemory::create_named(&name, 8).unwrap();
    assert!(matches!(
        SharedMemory::create_named(&name, 8),
        Err(SharedMemoryError::Exists(n)) if n == name
    ));
    assert!(matches!(
        block.write_at(4, &[0; 5]),
        Err(SharedMemoryError::OutOfBounds {
            offset: 4,
            len: 5,
            size: 8
        })
    ));
    assert!(matches!(
        block.read_at(usize::MAX, &mut [0; 2]),
        Err(SharedMemoryError::OutOfBounds { .. })
    ));
    block.unlink().unwrap();
    assert!(matches!(
        block.unlink(),
        Err(SharedMemoryError::NotFound(_))
    ));
    assert!(!exists(&name));
}

#[test]
fn a_handle_travels_as_its_name() {
    let block = SharedMemory::create(16).unwrap();
    block.write_at(0, b"by name").unwrap();
    let bytes = postcard::to_allocvec(&block).unwrap();
    let copy: SharedMemory = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(copy.name(), block.name());
    let mut buf = [0; 7];
    copy.read_at(0, &mut buf).unwrap();
    assert_eq!(&buf, b"by name");
    block.unlink().unwrap();
    assert!(
        postcard::from_bytes::<SharedMemory>(&bytes).is_err(),
        "attach to a missing name"
    );
}

fn sample() -> Vec<Item> {
    vec![
        Item::Int(-5),
        Item::Float(2.5),
        Item::Bool(true),
        Item::Str("héllo".into()),
        Item::Bytes(b"\x01\x02".to_vec()),
        Item::None,
        Item::Str(String::new()),
        Item::Bool(false),
    ]
}

#[test]
fn a_list_round_trips_and_attaches_by_name() {
    let list = ShareableList::create(&sample()).unwrap();
    assert_eq!(list.len(), 8);
    assert_eq!(list.to_vec().unwrap(), sample());
    assert_eq!(
        list.format_string().unwrap(),
        "qdxxxxxxx?8s8sxxxxxx?x8sxxxxxxx?"
    );
    let other = ShareableList::attach(list.shm().name()).unwrap();
    other.set(0, 42).unwrap();
    other.set(3, "seven ch").unwrap(); // exactly the 8 bytes the slot holds
    assert_eq!(list.get(0).unwrap(), Item::Int(42));
    assert_eq!(list.get(3).unwrap(), Item::from("seven ch"));
    assert_eq!(list.count(&Item::Bool(false)).unwrap(), 1);
    assert_eq!(list.index(&Item::None).unwrap(), Some(5));
    assert_eq!(list.index(&Item::Int(7)).unwrap(), None);
    list.shm().unlink().unwrap();
}

#[test]
fn items_are_replaced_as_python_replaces_them() {
    let list = ShareableList::create(&[Item::from("abc"), Item::from(1)]).unwrap();
    assert!(matches!(
        list.set(0, "123456789"),
        Err(ShareableListError::TooLong {
            index: 0,
            len: 9,
            capacity: 8
        })
    ));
    list.set(0, 3.5).unwrap(); // a str slot can take a number ...
    assert_eq!(list.get(0).unwrap(), Item::Float(3.5));
    list.set(0, b"xy".as_slice()).unwrap(); // ... and text again
    assert_eq!(list.get(0).unwrap(), Item::Bytes(b"xy".to_vec()));
    list.set(1, "12345678").unwrap(); // an int slot holds 8 bytes of text
    assert_eq!(list.get(1).unwrap(), Item::from("12345678"));
    list.set(1, Item::None).unwrap();
    assert_eq!(list.get(1).unwrap(), Item::None);
    assert!(matches!(
        list.get(2),
        Err(ShareableListError::IndexOutOfRange { index: 2, len: 2 })
    ));
    list.shm().unlink().unwrap();
}

#[test]
fn an_empty_list_is_valid() {
    let list = ShareableList::create(&[]).unwrap();
    assert!(list.is_empty());
    assert_eq!(ShareableList::attach(list.shm().name()).unwrap().len(), 0);
    list.shm().unlink().unwrap();
}

/// A list of `sample()` whose bytes a hostile writer then changes with `poison`.
fn poisoned(
    poison: impl FnOnce(&SharedMemory, usize),
) -> (String, Result<ShareableList, ShareableListError>) {
    let list = ShareableList::create(&sample()).unwrap();
    let name = list.shm().name().to_owned();
    let attacker = SharedMemory::attach(&name).unwrap();
    poison(&attacker, sample().len());
    (name.clone(), ShareableList::attach(&name))
}

#[test]
fn a_hostile_header_is_refused_when_attached() {
    let write = |at: usize, v: i64| {
        move |shm: &SharedMemory, _: usize| shm.write_at(at, &v.to_ne_bytes()).unwrap()
    };
    for (what, poison) in [
        (
            "count 2^62",
            Box::new(write(0, 1 << 62)) as Box<dyn FnOnce(&SharedMemory, usize)>,
        ),
        ("negative count", Box::new(write(0, -1))),
        ("offsets out of order", Box::new(write(16, 1 << 40))),
        ("last offset past the end", Box::new(write(8 * 9, 1 << 40))),
        ("negative offset", Box::new(write(8 * 9, -8))),
    ] {
        let (name, attached) = poisoned(poison);
        assert!(
            matches!(attached, Err(ShareableListError::Corrupted(_))),
            "{what}: {attached:?}"
        );
        SharedMemory::unlink_name(&name).unwrap();
    }
}

#[test]
fn hostile_items_are_typed_errors_and_others_still_read() {
    let list = ShareableList::create(&sample()).unwrap();
    let attacker = SharedMemory::attach(list.shm().name()).unwrap();
    let n = list.len();
    let formats = list.format_at(0);
    // item 0: an unknown format; item 1: a text format longer than its slot; item 2: a code
    // that does not match its format; item 3: a str that is not UTF-8.
    attacker.write_at(formats, b"Q\0\0\0\0\0\0\0").unwrap();
    attacker.write_at(formats + 8, b"9999999s").unwrap();
    attacker.write_at(list.code_at(2), &[7]).unwrap();
    attacker.write_at(list.slot_at(3), &[0xff, 0xfe]).unwrap();
    for i in 0..4 {
        assert!(
            matches!(list.get(i), Err(ShareableListError::Corrupted(_))),
            "item {i}: {:?}",
            list.get(i)
        );
    }
    for (i, want) in sample().iter().enumerate().skip(4).take(n - 4) {
        assert_eq!(&list.get(i).unwrap(), want);
    }
    // Writing a valid item repairs a garbled slot.
    list.set(0, 9).unwrap();
    assert_eq!(list.get(0).unwrap(), Item::Int(9));
    list.set(1, "x").unwrap();
    assert_eq!(list.get(1).unwrap(), Item::from("x"));
    list.shm().unlink().unwrap();
}
