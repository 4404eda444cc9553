//! # The trust model: what mproc believes, about whom, and why
//!
//! Handles travel: a lock, a queue or a pipe end can be sent to a process that did not create
//! it, and every process holding a handle can write the shared memory or the socket behind it.
//! So a process running mproc draws one line:
//!
//! - It trusts **what it created** and **what its own program tree sends it, where that is
//!   proven**: by the *program authkey* (Python's `current_process().authkey`, see
//!   [`CurrentProcess::authkey`](crate::CurrentProcess::authkey)), or by a channel that only its
//!   program can hold (a socketpair made by the parent and installed in the child at start).
//! - Everything else that arrives is **untrusted input**: bytes and records on sockets,
//!   descriptors beside them, shared segments received from another process, and every byte a
//!   peer can write in a segment it shares. Untrusted input may produce typed errors. It may
//!   never produce a call to a code address it chose, a panic, an invalid value, a read or write
//!   outside a mapping, or an allocation of a size it declared.
//!
//! A peer that shares an object can always *misuse* it: take a lock and never release it, put
//! items nobody wants, reset a barrier, write nonsense into a `Value`. That is a denial of
//! service among cooperating processes, as in Python, and out of scope. What a peer must never
//! get is control of the receiver, a crash of the receiver, or a lie the receiver cannot detect
//! about who holds what.
//!
//! ## The program authkey
//!
//! 32 random bytes, made once in the program's first process (or set with
//! [`set_authkey`](crate::set_authkey)), inherited by every child under every start method
//! *before its function runs*: in memory under `Fork` (the key is made before the first fork),
//! in the bootstrap message on the child's private socket under `Spawn`, and in each request to
//! the fork server (the key at request time). It never travels in the environment, argv or
//! anything else another user can read in `/proc`. Each use of it is an HMAC-SHA256 with its
//! own domain string (`crate::auth`), so a code made for one purpose is never accepted for
//! another.
//!
//! ## Where a code address crosses a process boundary
//!
//! | what | channel | why it is trusted |
//! |---|---|---|
//! | the function of a `Fork` child | the child's copy of the parent's memory | nothing crosses: it is the parent's own pointer |
//! | the function of a `Spawn` child (trampoline and target, as offsets from a base symbol) | the bootstrap message on descriptor 0, a socketpair the parent made and installed at exec | nobody else holds that socket; a layout marker catches a different executable (it is no authentication); a privileged (set-user-ID) exec ignores the environment marker altogether, so whoever runs it cannot choose the descriptor it reads offsets from |
//! | the function of a `ForkServer` child | a request on the fork server's abstract socket | the connection first proves knowledge of the server's key (mutual HMAC challenge) before any byte of a request is read |
//! | a pool task (the offset of its monomorphized chunk trampoline) | the worker's own socketpair with its pool | made by the pool for that worker and inherited at start; no other process holds it but the pool's own forked descendants, which are the program tree |
//! | a barrier's action | the barrier's shared segment, writable by every holder | stored with an HMAC under the program key; the last party copies the offset and the code out of shared memory, checks the code, and calls only what checked out ([`BarrierError::ActionRejected`](crate::BarrierError::ActionRejected) otherwise) |
//! | a `Fork` child's result (which may carry descriptors, that is handles) | a result slot in an anonymous shared mapping, or a connection to the parent's abstract overflow listener | the slot is mapped before the fork and reachable only by the parent's forked children; a listener delivery must carry an HMAC of an unguessable ticket under a secret made for that one child before the fork, one delivery per ticket; unauthenticated connections are capped and time out |
//!
//! `process!` topologies start their processes through the same paths, and add no channel of
//! their own.
//!
//! ## Identity: who holds a lock
//!
//! Robust primitives record their holder as `(pid, start time)` and judge a holder dead only
//! when that pair no longer runs. A process's identity is read from `/proc/self/stat` before
//! user code runs (at load, and in the child of every fork or clone, without allocating), so a
//! full descriptor table at the first lock use can no longer make a live holder look dead. An
//! identity that still cannot be read (no `/proc`, say) is never guessed: it is marked *start
//! unknown*, and every other process judges such a holder alive while any process has its
//! pid. A contender can then only wait too long (if the holder died and its pid was reused),
//! never take a lock from a live holder.
//!
//! ## Shared memory a peer writes
//!
//! - **Segment headers** (magic, layout version, kind, element type, sizes) are checked when a
//!   received segment is mapped, and the segment must be sealed against growing and shrinking,
//!   so a peer cannot truncate it under a reader (`SIGBUS`).
//! - **Type tags** (a fingerprint of an element type's name, size and alignment in a
//!   `Value`/`Array` header) stop honest mistakes, a `Value<u64>` received as a `Value<i32>`;
//!   they authenticate nothing, and nothing relies on them for soundness: the element size is
//!   checked against the mapping, and every element type is valid for every bit pattern.
//! - **`Value` and `Array` elements** are [`ShmSafe`](crate::ShmSafe): valid for every bit
//!   pattern, pointer-free. Whatever a peer writes, a torn write included, reads back as a
//!   valid value; where a type has invalid bit patterns the check moves into the read
//!   ([`ShmBool::to_bool`](crate::ShmBool::to_bool) returns
//!   [`InvalidBool`](crate::InvalidBool)). Values are copied in and out under the lock; an
//!   [`ArrayGuard`](crate::ArrayGuard)'s slice is the one place where a reference into shared
//!   memory is handed out, and there the holder also relies on its peers honouring the lock.
//! - **Lock words, semaphore counts, barrier and event states** are atomics; unknown states
//!   count as broken, counts are checked before use. The slots of a `Value`'s gate (where a
//!   lock-free operation announces itself) name a process: a lock holder waits only while that
//!   process runs, and clears a slot whose process is gone.
//! - **Queue rings**: every index, length and counter read from the ring is checked before
//!   it is used; a corrupted ring is [`QueueError::Corrupted`](crate::QueueError::Corrupted),
//!   never a panic, a write outside the ring, or a `put` that returns `Ok` for an item that is
//!   then dropped.
//! - **Queue overflows** (where an unbounded queue puts what its ring cannot take): a
//!   growable memfd, accepted only if sealed against shrinking with its seals final, and only
//!   ever read and written at offsets (`pread`/`pwrite`), never mapped, so a peer that
//!   rewrites or grows it cannot cause a `SIGBUS`. Its positions and records are checked as
//!   the ring's are; a record's bytes are allocated only once the file proved it holds them
//!   (no hole, not past its end), so a sparse file that declares a large record costs the
//!   reader nothing. A record holds at most 1 GiB, as a spilled item does.
//! - **Named blocks** ([`shared_memory`](crate::shared_memory), shared with Python by name)
//!   carry no header and no seals: any process of the user can write, resize or unlink them.
//!   Their bytes are copied with atomic loads and stores (torn values, never a data race);
//!   a [`ShareableList`](crate::shared_memory::ShareableList) checks its item count and
//!   offsets against the block when attached, and each item's format, code, slot and UTF-8
//!   when read, so garbage is [`Corrupted`](crate::shared_memory::ShareableListError::Corrupted).
//!   A block shrunk by a peer while mapped is the exception, in the list below.
//!
//! ## Bytes and records a peer sends
//!
//! - Records on pipes and queue side sockets are bounded by the receiver's limit before
//!   anything is allocated. A payload carried in a memfd must be sealed against writing and
//!   resizing, its real size (`fstat`) must equal the declared length, and its allocated
//!   blocks must cover that size (a sparse memfd costs its sender nothing): only then is it
//!   copied, so what a receiver allocates is bounded by what the sender really committed,
//!   never by a number it wrote. The 1 GiB default maximum is a policy on top of that.
//! - A zero-length record is not the end of the stream: end of stream is the peer's close
//!   (`POLLRDHUP`) with nothing left queued. mproc never sends an empty record, so one from a
//!   live peer is a typed `Malformed` error, consumed like any bad record.
//! - Decoders (records, descriptor tables, postcard bytes, segment headers, queue records)
//!   are fuzzed (`fuzz/`) and property-tested: arbitrary input gives a typed error, no panic,
//!   and no allocation beyond a small multiple of what arrived.
//!
//! ## What is not defended
//!
//! - A peer holding the program authkey (any process of the program tree) is trusted: it can
//!   forge what the key authenticates. Keep the key away from other programs, as in Python.
//! - A named shared-memory block that a peer shrinks (`ftruncate`) while this process has it
//!   mapped: the next access past the new end raises `SIGBUS`, as in Python. POSIX
//!   shared-memory objects cannot be sealed; the unnamed segments of the rest of mproc are.
//! - Denial of service among processes sharing an object (see above), and resource exhaustion
//!   by a peer that sends many well-formed messages.
//! - Another process of the same user that attaches with `ptrace` or writes `/proc/<pid>/mem`:
//!   the kernel lets it do anything, and no library can defend against it.
