use quote::quote;

use super::{errors, one_error};

#[test]
fn a_well_wired_topology_is_valid() {
    let errors = errors(quote! {
        queue jobs: Queue<Job>, bounded(10);
        queue results: JoinableQueue<Report>;
        queue log: Queue<String>;
        pipe (client, server): Pipe<Request, Response>;
        pipe (rx, tx): Pipe<u8>, simplex;
        producer[i]: produce(jobs.writer(), i, Some(3), vec![1, 2]) * 3;
        worker: work(jobs.reader(), results.writer(), log) * (n + 1), daemon;
        sink: collect(results.reader(), log.reader(), Config { log: 1 }, cfg.log);
        asker: ask(client, tx);
        answerer: answer(server, rx), start_method(StartMethod::Fork);
    });
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn unknown_queue_with_a_suggestion() {
    one_error(
        quote! {
            queue jobs: Queue<u8>;
            a: f(jobs.writer());
            b: g(jbos.reader());
        },
        "unknown queue `jbos`; did you mean `jobs`?",
    );
}

#[test]
fn unknown_queue_without_a_suggestion() {
    let errors = errors(quote! {
        queue jobs: Queue<u8>;
        a: f(jobs.writer(), jobs.reader());
        b: g(config.reader());
    });
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].starts_with("unknown queue `config`: declare it with `queue config: Queue<T>;`")
    );
    assert!(errors[0].contains("wrap it in parentheses: `(config.reader())`"));
}

#[test]
fn a_pipe_end_has_no_reader() {
    one_error(
        quote! {
            pipe (a, b): Pipe<u8>;
            p: f(a.reader());
            q: g(b);
        },
        "`a` is a pipe end, not a queue: it has no `reader()`; pass it as `a`",
    );
}

#[test]
fn a_queue_method_that_is_no_endpoint() {
    one_error(
        quote! {
            queue jobs: Queue<u8>;
            a: f(jobs.writer());
            b: g(jobs.read());
        },
        "queue `jobs` has no endpoint `read()`; did you mean `jobs.reader()`?",
    );
    one_error(
        quote! {
            queue jobs: Queue<u8>;
            a: f(jobs.writer(), jobs.reader());
            b: g(jobs.get_all());
        },
        "queue `jobs` has no endpoint `get_all()`: pass `jobs.reader()`, `jobs.writer()`, or `jobs`",
    );
}

#[test]
fn queue_methods_suggest_the_endpoint_they_likely_meant() {
    for (method, endpoint) in [
        ("read", "reader"),
        ("readr", "reader"),
        ("get", "reader"),
        ("recv", "reader"),
        ("write", "writer"),
        ("put", "writer"),
        ("send", "writer"),
    ] {
        let method = quote::format_ident!("{method}");
        let errors = errors(quote! {
            queue jobs: Queue<u8>;
            a: f(jobs.#method());
        });
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(
            errors[0].ends_with(&format!("did you mean `jobs.{endpoint}()`?")),
            "{errors:#?}"
        );
    }
}

#[test]
fn channels_inside_expressions_are_refused_wherever_they_hide() {
    let errors = errors(quote! {
        queue jobs: Queue<u8>;
        pipe (a, b): Pipe<u8>;
        p: f(jobs.writer(), a, Some(jobs.reader()), vec![b], S { field: jobs });
        q: g(jobs.reader(), b);
        r: h() * jobs.len(), start_method(pick(a));
    });
    assert_eq!(errors.len(), 5, "{errors:#?}");
    assert!(errors[0].starts_with("queue `jobs` cannot be used inside an expression"));
    assert!(errors[1].starts_with("pipe end `b` cannot be used inside an expression"));
    assert!(errors[2].starts_with("queue `jobs` cannot be used inside an expression"));
    assert!(errors[3].starts_with("queue `jobs` cannot be used inside an expression"));
    assert!(errors[4].starts_with("pipe end `a` cannot be used inside an expression"));
}

#[test]
fn names_that_only_look_like_channels_are_not_uses() {
    let errors = errors(quote! {
        queue jobs: Queue<u8>;
        p: f(jobs.writer(), cfg.jobs, S { jobs: 1 }, jobs::LIMIT, jobs!(), other::jobs, 'jobs: loop {});
        q: g(jobs.reader());
    });
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn a_capacity_cannot_name_a_channel() {
    one_error(
        quote! {
            queue a: Queue<u8>;
            queue b: Queue<u8>, bounded(a.len());
            p: f(a.writer(), b.writer());
            q: g(a.reader(), b.reader());
        },
        "queue `a` cannot be used inside an expression",
    );
}

#[test]
fn queue_with_writers_but_no_reader() {
    one_error(
        quote! {
            queue jobs: Queue<u8>;
            a: f(jobs.writer());
            b: f(jobs.writer()) * 2;
        },
        "queue `jobs` has writers (`a` and `b`) but no reader: pass `jobs.reader()`",
    );
}

#[test]
fn queue_with_readers_but_no_writer() {
    one_error(
        quote! {
            queue jobs: Queue<u8>;
            a: f(jobs.reader());
        },
        "queue `jobs` has readers (`a`) but no writer: pass `jobs.writer()`",
    );
}

#[test]
fn a_misspelt_whole_queue_is_suggested_where_it_leaves_a_gap() {
    one_error(
        quote! {
            queue jobs: Queue<u8>;
            producer[i]: f(jobs.writer(), i);
            consumer: g(jbos);
        },
        "queue `jobs` has writers (`producer`) but no reader: pass `jobs.reader()` to the \
         process that gets its items; is `jbos`, given to `consumer`, a misspelling of `jobs`?",
    );
    one_error(
        quote! {
            pipe (client, server): Pipe<u8>;
            a: f(client);
            b: g(sever);
        },
        "; is `sever`, given to `b`, a misspelling of `server`?",
    );
    let errors = errors(quote! {
        queue q: Queue<u8>;
        a[i]: f(q.writer(), i);
    });
    assert!(
        !errors[0].contains("misspelling"),
        "not the replica index: {errors:?}"
    );
}

#[test]
fn a_whole_queue_counts_as_writer_and_reader() {
    assert!(errors(quote! { queue jobs: Queue<u8>; a: f(jobs); }).is_empty());
}

#[test]
fn unused_queue() {
    one_error(
        quote! {
            queue jobs: Queue<u8>;
            a: f();
        },
        "queue `jobs` is not used by any process",
    );
}

#[test]
fn pipe_end_given_to_two_processes() {
    one_error(
        quote! {
            pipe (a, b): Pipe<u8>;
            p: f(a);
            q: g(a, b);
        },
        "pipe end `a` is already given to `p`: a pipe end belongs to one process; declare \
         another pipe for `q`",
    );
}

#[test]
fn pipe_end_given_twice_to_one_process() {
    one_error(
        quote! {
            pipe (a, b): Pipe<u8>;
            p: f(a, a);
            q: g(b);
        },
        "pipe end `a` is passed twice to `p`",
    );
}

#[test]
fn pipe_end_given_to_a_replicated_process() {
    one_error(
        quote! {
            pipe (a, b): Pipe<u8>;
            p: f(a) * 1;
            q: g(b);
        },
        "pipe end `a` cannot go to `p`, a replicated process (`* n`)",
    );
}

#[test]
fn pipe_end_given_to_no_process() {
    one_error(
        quote! {
            pipe (a, b): Pipe<u8>;
            p: f(a);
        },
        "pipe end `b` is not given to any process: its peer `a` (given to `p`) would talk to \
         no one",
    );
    one_error(
        quote! {
            pipe (a, b): Pipe<u8>;
            p: f();
        },
        "pipe `(a, b)` is not used by any process",
    );
}

#[test]
fn duplicate_process_names() {
    one_error(
        quote! {
            queue q: Queue<u8>;
            worker: f(q.writer());
            worker: g(q.reader());
        },
        "a process named `worker` is already declared: process names must be unique",
    );
}

#[test]
fn duplicate_channel_names() {
    let errors = errors(quote! {
        queue q: Queue<u8>;
        queue q: Queue<u16>;
        pipe (q, r): Pipe<u8>;
        pipe (s, s): Pipe<u8>;
        a: f(q, r, s);
    });
    assert_eq!(
        errors.len(),
        3,
        "no more: the duplicates are not also unused; {errors:#?}"
    );
    assert!(
        errors[0].starts_with("a queue named `q` is already declared"),
        "{errors:#?}"
    );
    assert!(
        errors[1].starts_with("`q` names both a queue and a pipe end"),
        "{errors:#?}"
    );
    assert!(
        errors[2].starts_with("a pipe end named `s` is already declared"),
        "{errors:#?}"
    );
}

#[test]
fn a_replica_index_cannot_hide_a_channel() {
    one_error(
        quote! {
            queue jobs: Queue<u8>;
            a[jobs]: f(jobs) * 2;
        },
        "the replica index `jobs` would hide the queue `jobs` in the arguments of `a`",
    );
}

#[test]
fn zero_replicas() {
    for zero in [quote!(0), quote!(0usize), quote!(0x0), quote!((0))] {
        one_error(
            quote! { queue q: Queue<u8>; a: f(q) * #zero; },
            "`* 0` starts no `a` process: the replica count must be at least 1",
        );
    }
    assert!(errors(quote! { queue q: Queue<u8>; a: f(q) * 1; }).is_empty());
    assert!(
        errors(quote! { queue q: Queue<u8>; a: f(q) * n; }).is_empty(),
        "checked at run time"
    );
}

#[test]
fn zero_capacity() {
    one_error(
        quote! { queue q: Queue<u8>, bounded(0); a: f(q); },
        "`bounded(0)` leaves no room in queue `q`: the capacity must be at least 1",
    );
}

#[test]
fn a_simplex_pipe_carries_one_type() {
    one_error(
        quote! {
            pipe (r, t): Pipe<u8, u16>, simplex;
            a: f(r);
            b: g(t);
        },
        "a simplex pipe carries one type, one way",
    );
}

#[test]
fn the_callee_is_a_plain_function_name() {
    let errors = errors(quote! {
        queue q: Queue<u8>;
        a: f::<u8>(q);
        b: <S as T>::g(q);
        c: m::h::<u8>::i(q);
    });
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(errors[0].starts_with("a process's function takes no generic arguments"));
    assert!(errors[1].starts_with("expected the name of a function, found a qualified path"));
    assert!(errors[2].starts_with("a process's function takes no generic arguments"));
}

#[test]
fn a_topology_needs_a_process() {
    one_error(quote!(), "a topology needs at least one process");
}

#[test]
fn every_mistake_is_reported_at_once() {
    let errors = errors(quote! {
        queue jobs: Queue<u8>, bounded(0);
        queue unused: Queue<u8>;
        pipe (a, b): Pipe<u8>;
        p: f(jbos.writer(), a) * 0;
        p: g(jobs.reader(), a);
    });
    let expected = [
        "`bounded(0)` leaves no room",
        "a process named `p` is already declared",
        "`* 0` starts no `p` process",
        "unknown queue `jbos`; did you mean `jobs`?",
        "pipe end `a` cannot go to `p`, a replicated process",
        "pipe end `a` is already given to `p`",
        // Not "queue `jobs` has readers but no writer": `jbos.writer()` meant it.
        "queue `unused` is not used by any process",
        "pipe end `b` is not given to any process",
    ];
    assert_eq!(errors.len(), expected.len(), "{errors:#?}");
    for (error, expected) in errors.iter().zip(expected) {
        assert!(
            error.starts_with(expected),
            "{error:?} should start with {expected:?}"
        );
    }
}
