//! `#[derive(ShmSafe)]` on what may live in shared memory: integers, floats, `ShmBool`, arrays,
//! tuples, nested derived structs, a generic struct, `repr(C, align)`, `repr(transparent)` and a
//! tuple struct; each then used as a `Value` or `Array` element.

use mproc::{Array, ShmBool, ShmSafe, Value};

#[derive(Clone, Copy, Debug, PartialEq, ShmSafe)]
#[repr(C)]
struct Particle {
    pos: [f32; 3],
    alive: ShmBool,
    hits: u32,
    pair: (u8, i64),
}

#[derive(Clone, Copy, Debug, PartialEq, ShmSafe)]
#[repr(C, align(16))]
struct Cell<T> {
    value: T,
    particle: Particle,
}

#[derive(Clone, Copy, Debug, PartialEq, ShmSafe)]
#[repr(transparent)]
struct Meters(f64);

#[derive(Clone, Copy, Debug, PartialEq, ShmSafe)]
#[repr(C)]
struct Flags([ShmBool; 4], u16);

fn main() {
    let particle = Particle {
        pos: [1.0, 2.0, 3.0],
        alive: ShmBool::TRUE,
        hits: 7,
        pair: (1, -1),
    };
    let cell = Value::new(Cell { value: Meters(2.5), particle }).unwrap();
    assert_eq!(cell.get().value, Meters(2.5));
    assert_eq!(cell.get().particle.alive.to_bool(), Ok(true));

    let flags = Array::<Flags>::new(2).unwrap();
    assert_eq!(flags.get(1).unwrap(), Flags([ShmBool::FALSE; 4], 0));
    flags.set(0, Flags([true.into(); 4], 9)).unwrap();
    assert_eq!(flags.get(0).unwrap().0[3], ShmBool::TRUE);
}
