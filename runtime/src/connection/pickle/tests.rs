//! Unit tests of the pickle codec: round trips, pickles written by Python, and hostile bytes
//! (code, truncation, huge lengths, deep nesting, memo bombs), each refused with a typed error
//! before `serde-pickle` parses anything.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_pickle::Value;

use super::{PickleError, PickleLimits, dumps, loads};
use crate::codec::ByteBuf;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn limits() -> PickleLimits {
    PickleLimits::default()
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Job {
    name: String,
    sizes: Vec<u32>,
    weight: f64,
    done: bool,
    note: Option<String>,
    data: ByteBuf,
}

#[test]
fn plain_values_round_trip() {
    let job = Job {
        name: "büro".into(),
        sizes: vec![0, 1, 255, 65_536, u32::MAX],
        weight: -2.5,
        done: true,
        note: None,
        data: ByteBuf(vec![0, 159, 255]),
    };
    assert_eq!(loads::<Job>(&dumps(&job).unwrap(), &limits()).unwrap(), job);
    let nested = vec![(1i64, "a".to_owned()), (i64::MIN, String::new())];
    let back: Vec<(i64, String)> = loads(&dumps(&nested).unwrap(), &limits()).unwrap();
    assert_eq!(back, nested);
    let map: BTreeMap<String, Vec<Option<bool>>> =
        [("k".to_owned(), vec![Some(true), None])].into();
    assert_eq!(
        loads::<BTreeMap<_, _>>(&dumps(&map).unwrap(), &limits()).unwrap(),
        map
    );
}

/// `{'a': [1, 2.5, None, True, -7, 300, 70000, 2**40], 'b': (b'xy', 'zé'),
/// 'c': {'k': (1, 2, 3, 4)}, 's': {5}, 'f': frozenset([6])}` pickled by Python 3.13 with
/// protocol 4 (multiprocessing's default there) and 5.
const CPYTHON_P4: &str = "80049569000000000000007d94288c0161945d94284b014740040000000000004e884af9ffffff4d2c014a701101008a06000000000001658c01629443027879948c037ac3a99486948c0163947d948c016b94284b014b024b034b047494738c0173948f94284b05908c016694284b069194752e";

#[derive(Debug, PartialEq, Deserialize)]
struct FromPython {
    a: (i64, f64, Option<u8>, bool, i32, u16, u32, u64),
    b: (ByteBuf, String),
    c: BTreeMap<String, Vec<u8>>,
    s: HashSet<u8>,
    f: Vec<u8>,
}

#[test]
fn cpython_pickles_decode_as_the_types_they_match() {
    for pickle in [
        CPYTHON_P4.to_owned(),
        CPYTHON_P4.replacen("8004", "8005", 1),
    ] {
        let got: FromPython = loads(&hex(&pickle), &limits()).unwrap();
        assert_eq!(got.a, (1, 2.5, None, true, -7, 300, 70_000, 1 << 40));
        assert_eq!(got.b, (ByteBuf(b"xy".to_vec()), "zé".to_owned()));
        assert_eq!(got.c["k"], [1, 2, 3, 4]);
        assert_eq!(got.s, HashSet::from([5]));
        assert_eq!(got.f, [6]);
    }
    // A string shared three times (`[s, s, s]`): memo references, copied out.
    let shared = hex("80049512000000000000005d94288c067368617265649468016801652e");
    assert_eq!(
        loads::<Vec<String>>(&shared, &limits()).unwrap(),
        ["shared"; 3]
    );
}

/// serde-pickle counts references per memo entry, not per copy, so shared values inside shared
/// values run out: Python's `s = 'xxx'; a = [s, s]; [a, a]` is a (typed) decode error.
#[test]
fn nested_sharing_is_a_decode_error_of_serde_pickle() {
    let nested = hex("80049513000000000000005d94285d94288c03787878946802656801652e");
    let got = loads::<Vec<Vec<String>>>(&nested, &limits());
    assert!(
        matches!(got, Err(PickleError::Decode { ref detail, .. }) if detail.contains("recursive")),
        "{got:?}"
    );
}

#[test]
fn plain_data_of_another_type_is_a_decode_error() {
    let text = dumps("text").unwrap();
    assert!(matches!(
        loads::<u32>(&text, &limits()),
        Err(PickleError::Decode {
            type_name: "u32",
            ..
        })
    ));
    // 2**70 from CPython: an int beyond i64.
    let big = hex("8004950c000000000000008a090000000000000000402e");
    assert!(matches!(
        loads::<u64>(&big, &limits()),
        Err(PickleError::Decode { .. })
    ));
    // `Vec<u8>` is a list of ints; bytes need a byte buffer.
    let bytes = dumps(&ByteBuf(vec![1, 2])).unwrap();
    assert!(matches!(
        loads::<Vec<u8>>(&bytes, &limits()),
        Err(PickleError::Decode { .. })
    ));
}

fn refused_name(pickle: &[u8]) -> &'static str {
    match loads::<Value>(pickle, &limits()) {
        Err(PickleError::Refused { name, .. }) => name,
        other => panic!("not refused: {other:?}"),
    }
}

#[test]
fn code_is_never_called_nor_named() {
    // Protocol 0 `os.system('echo pwned')`, the classic.
    let classic = b"cos\nsystem\n(Vecho pwned\ntR.";
    assert_eq!(refused_name(classic), "GLOBAL");
    // CPython 3.13, `pickle.dumps(os.system, 4)`: STACK_GLOBAL.
    let function = hex("80049514000000000000008c05706f736978948c0673797374656d9493942e");
    assert_eq!(refused_name(&function), "STACK_GLOBAL");
    // A REDUCE without a GLOBAL before it: refused on its own.
    assert_eq!(refused_name(b"\x80\x04)\x85R."), "REDUCE");
    // `builtins.set` + REDUCE, which serde-pickle alone would honour: refused too.
    let set = b"\x80\x02c__builtin__\nset\n]K\x05a\x85R.";
    assert_eq!(refused_name(set), "GLOBAL");
    // A bytearray pickled with protocol 4 is a REDUCE of builtins.bytearray.
    let bytearray = hex(
        "80049522000000000000008c086275696c74696e73948c0962797465617272617994939443017894859452942e",
    );
    assert_eq!(refused_name(&bytearray), "STACK_GLOBAL");
    for (opcode, name) in [
        (b'b', "BUILD"),
        (b'o', "OBJ"),
        (0x81, "NEWOBJ"),
        (0x92, "NEWOBJ_EX"),
        (0x82, "EXT1"),
        (b'Q', "BINPERSID"),
        (0x97, "NEXT_BUFFER"),
        (0xff, "unknown"),
    ] {
        assert_eq!(refused_name(&[0x80, 4, b'N', b'N', opcode, b'.']), name);
    }
}

#[test]
fn every_truncation_is_a_typed_error() {
    let full = hex(CPYTHON_P4);
    for end in 0..full.len() {
        let got = loads::<Value>(&full[..end], &limits());
        assert!(
            matches!(got, Err(PickleError::Truncated { .. })),
            "{end}: {got:?}"
        );
    }
    let mut trailing = full.clone();
    trailing.push(b'N');
    assert!(matches!(
        loads::<Value>(&trailing, &limits()),
        Err(PickleError::Malformed {
            reason: "bytes after STOP",
            ..
        })
    ));
}

#[test]
fn huge_declared_lengths_are_refused_unread() {
    let mut cases: Vec<Vec<u8>> = Vec::new();
    for opcode in [0x8e, 0x8d, 0x96] {
        // BINBYTES8, BINUNICODE8, BYTEARRAY8: 2^63 and 2^64 - 1 bytes declared.
        for len in [1u64 << 63, u64::MAX] {
            let mut p = vec![0x80, 5, opcode];
            p.extend(len.to_le_bytes());
            p.extend(b"abc.");
            cases.push(p);
        }
    }
    for opcode in [b'B', b'X'] {
        let mut p = vec![0x80, 4, opcode];
        p.extend(u32::MAX.to_le_bytes());
        p.extend(b"abc.");
        cases.push(p);
    }
    let mut long4 = vec![0x80, 4, 0x8b];
    long4.extend(i32::MAX.to_le_bytes());
    cases.push(long4);
    for case in cases {
        let got = loads::<Value>(&case, &limits());
        assert!(
            matches!(got, Err(PickleError::Truncated { offset: 2 })),
            "{got:?}"
        );
    }
    let mut negative = vec![0x80, 4, 0x8b];
    negative.extend((-5i32).to_le_bytes());
    assert!(matches!(
        loads::<Value>(&negative, &limits()),
        Err(PickleError::Malformed { .. })
    ));
}

/// `depth` lists nested in each other, with protocol 4's opcodes.
fn nested_lists(depth: usize) -> Vec<u8> {
    let mut p = vec![0x80, 4];
    p.extend(std::iter::repeat_n(b']', depth));
    p.extend(std::iter::repeat_n(b'a', depth - 1));
    p.push(b'.');
    p
}

#[test]
fn deep_nesting_is_refused_and_the_limit_decodes_on_a_small_stack() {
    for hostile in [nested_lists(100_000), {
        let mut marks = vec![0x80, 4];
        marks.extend(std::iter::repeat_n(b'(', 100_000));
        marks
    }] {
        let got = loads::<Value>(&hostile, &limits());
        assert!(
            matches!(got, Err(PickleError::TooDeep { limit: 128, .. })),
            "{got:?}"
        );
    }
    assert!(matches!(
        loads::<Value>(&nested_lists(129), &limits()),
        Err(PickleError::TooDeep { .. })
    ));
    // At the limit, decoding (which recurses per level) fits in a quarter of the 2 MiB a
    // thread has by default, even unoptimized.
    let deepest = nested_lists(128);
    let decoded = std::thread::Builder::new()
        .stack_size(512 << 10)
        .spawn(move || loads::<Value>(&deepest, &PickleLimits::default()).is_ok())
        .unwrap()
        .join()
        .unwrap();
    assert!(decoded);
}

/// A "billion laughs" through the memo: a 1 KiB string, then `levels` lists each holding
/// ten references to the one before. Copied out, the last holds 10^levels strings.
fn memo_bomb(levels: u32) -> Vec<u8> {
    let mut p = vec![0x80, 4, b'X'];
    p.extend(1024u32.to_le_bytes());
    p.extend([b'l'; 1024]);
    p.push(0x94); // MEMOIZE: entry 0
    for level in 0..levels {
        p.push(b']');
        p.push(0x94); // entry level + 1
        p.push(b'(');
        for _ in 0..10 {
            p.push(b'j'); // LONG_BINGET
            p.extend(level.to_le_bytes());
        }
        p.push(b'e'); // APPENDS
    }
    p.push(b'.');
    p
}

#[test]
fn memo_bombs_are_refused_before_anything_is_built() {
    let bomb = memo_bomb(30);
    assert!(bomb.len() < 3 << 10, "{}", bomb.len());
    let got = loads::<Value>(&bomb, &limits());
    assert!(
        matches!(got, Err(PickleError::TooLarge { limit, .. }) if limit == 256 << 20),
        "{got:?}"
    );
    // Small enough to build: ten copies of the string.
    let fine: Vec<String> = loads(&memo_bomb(1), &limits()).unwrap();
    assert_eq!(fine, vec!["l".repeat(1024); 10]);
    // The same under a lower limit: refused.
    assert!(matches!(
        loads::<Value>(&memo_bomb(3), &PickleLimits::new().max_decoded(512 << 10)),
        Err(PickleError::TooLarge { .. })
    ));
}

#[test]
fn copies_recursion_and_memo_tricks_are_refused() {
    // DUP doubles a list per two bytes.
    let mut dup = vec![0x80, 4, b']'];
    for _ in 0..64 {
        dup.extend(b"2a");
    }
    dup.push(b'.');
    assert_eq!(refused_name(&dup), "DUP");
    // Memoizing a memo reference copies the value in serde-pickle.
    assert!(matches!(
        loads::<Value>(b"\x80\x04]q\x00q\x01.", &limits()),
        Err(PickleError::Malformed { .. })
    ));
    // An entry written twice, and a reference to an entry never written.
    assert!(matches!(
        loads::<Value>(b"\x80\x04]q\x00]q\x00.", &limits()),
        Err(PickleError::Malformed { .. })
    ));
    assert!(matches!(
        loads::<Value>(b"\x80\x04h\x07.", &limits()),
        Err(PickleError::Malformed { .. })
    ));
    // CPython 3.13, `l = []; l.append(l)`.
    let recursive = hex("80049506000000000000005d946800612e");
    assert!(matches!(
        loads::<Value>(&recursive, &limits()),
        Err(PickleError::Recursive { .. })
    ));
    // A list referenced, then grown: the reference would change size behind the check.
    assert!(matches!(
        loads::<Value>(b"\x80\x04]q\x00]h\x00a0Na.", &limits()),
        Err(PickleError::Recursive { .. })
    ));
}

#[test]
fn stack_abuse_is_malformed() {
    for hostile in [
        &b"."[..],
        b"\x80\x04a.",
        b"\x80\x04Ns.",
        b"\x80\x04e.",
        b"\x80\x04(Nd.",
        b"\x80\x04Na.",
        b"\x80\x09N.",
        b"\x80\x04\x8c\x02\xff\xfe.",
    ] {
        let got = loads::<Value>(hostile, &limits());
        assert!(
            matches!(got, Err(PickleError::Malformed { .. })),
            "{hostile:?}: {got:?}"
        );
    }
}

#[test]
fn wide_tuples_count_the_mark_buffers_serde_pickle_keeps() {
    // 10,000 four-tuples: serde-pickle keeps a 128-slot buffer for each (about 50 MB).
    let mut p = vec![0x80, 4, b']', b'('];
    for _ in 0..10_000 {
        p.extend(b"(NNNNt");
    }
    p.extend(b"e.");
    assert!(loads::<Vec<Value>>(&p, &limits()).is_ok());
    assert!(matches!(
        loads::<Vec<Value>>(&p, &PickleLimits::new().max_decoded(16 << 20)),
        Err(PickleError::TooLarge { .. })
    ));
}

#[test]
fn handles_cannot_be_pickled() {
    let (a, _b) = crate::Pipe::<u8>::new().unwrap();
    assert!(matches!(
        dumps(&a),
        Err(crate::codec::CodecError::Serialize { .. })
    ));
}
