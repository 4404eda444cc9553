use quote::quote;

use super::super::ast::{Arg, QueueKind, Side};
use super::{errors, one_error, parsed};

#[test]
fn every_statement_form_parses() {
    let topology = parsed(quote! {
        queue jobs: Queue<Job>;
        queue done: JoinableQueue<Vec<u8>>, bounded(2 * N);
        pipe (client, server): Pipe<Request, Response>;
        pipe (rx, tx): Pipe<Event>, simplex;
        producer[i]: produce(jobs.writer(), i, config.clone()) * 3;
        worker: stages::work(jobs.reader(), done, client,) * workers, daemon;
        server: serve(server, rx, tx), start_method(StartMethod::Fork), daemon;
    });
    assert_eq!(topology.queues.len(), 2);
    assert_eq!(topology.queues[0].kind, QueueKind::Plain);
    assert_eq!(topology.queues[1].kind, QueueKind::Joinable);
    assert!(topology.queues[0].bounded.is_none());
    assert!(topology.queues[1].bounded.is_some());

    assert_eq!(topology.pipes.len(), 2);
    assert_eq!(topology.pipes[0].ends[1], "server");
    assert!(topology.pipes[0].second.is_some());
    assert!(topology.pipes[0].simplex.is_none());
    assert!(topology.pipes[1].second.is_none());
    assert!(topology.pipes[1].simplex.is_some());

    let [producer, worker, server] = &topology.processes[..] else {
        panic!("three processes");
    };
    assert_eq!(producer.index.as_ref().unwrap(), "i");
    assert!(producer.replicas.is_some() && producer.daemon.is_none());
    assert!(
        matches!(&producer.args[0], Arg::Endpoint(e) if e.queue == "jobs" && e.side == Side::Writer)
    );
    assert!(matches!(&producer.args[1], Arg::Name(n) if n == "i"));
    assert!(matches!(&producer.args[2], Arg::Expr(_)));
    assert_eq!(worker.callee.path.segments.len(), 2);
    assert_eq!(worker.args.len(), 3, "a trailing comma is allowed");
    assert!(matches!(&worker.args[0], Arg::Endpoint(e) if e.side == Side::Reader));
    assert!(worker.daemon.is_some());
    assert!(server.start_method.is_some() && server.daemon.is_some());
    assert!(server.replicas.is_none() && server.index.is_none());
}

#[test]
fn only_the_exact_endpoint_form_is_an_endpoint() {
    let topology = parsed(quote! {
        p: f(a.reader(), a.writer(), (a.reader()), a.reader(1), a.reader::<T>(), a.b.reader(), a.read());
    });
    let kinds: Vec<&str> = topology.processes[0]
        .args
        .iter()
        .map(|arg| match arg {
            Arg::Endpoint(_) => "endpoint",
            Arg::Name(_) => "name",
            Arg::Expr(_) => "expr",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "endpoint", "endpoint", "expr", "expr", "expr", "expr", "expr"
        ]
    );
}

#[test]
fn keywords_are_contextual() {
    let topology = parsed(quote! {
        queue queue: Queue<u8>;
        queue: f(queue.writer());
        pipe: g(queue.reader());
        daemon: h(), daemon;
    });
    let names: Vec<String> = topology
        .processes
        .iter()
        .map(|p| p.name.to_string())
        .collect();
    assert_eq!(names, ["queue", "pipe", "daemon"]);
}

#[test]
fn each_statement_reports_its_own_syntax_error() {
    let errors = errors(quote! {
        queue a: SimpleQueue<u8>;
        queue b: Queue<u8>;
        p: f(b.writer()) daemon;
        q: ;
    });
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(
        errors[0].contains("expected `Queue` or `JoinableQueue`"),
        "{errors:#?}"
    );
    assert!(errors[1].contains("expected `,` or `;`"), "{errors:#?}");
    assert!(
        errors[2].contains("expected the name of a function"),
        "{errors:#?}"
    );
}

#[test]
fn the_last_statement_needs_its_semicolon() {
    one_error(
        quote! {
            queue a: Queue<u8>;
            p: f(a.writer());
            q: g(a.reader())
        },
        "expected `;` after the last statement",
    );
}

#[test]
fn a_pipe_names_its_two_ends() {
    one_error(
        quote!(pipe link: Pipe<u8>;),
        "name the two ends of a pipe: `pipe (left, right): Pipe<T>;`",
    );
    one_error(quote!(pipe (a, b, c): Pipe<u8>;), "a pipe has two ends");
}

#[test]
fn options_given_twice_are_reported_each() {
    let errors = errors(quote! {
        queue a: Queue<u8>, bounded(1), bounded(2);
        p: f(a.writer()), daemon, daemon, start_method(x), start_method(y);
        pipe (r, t): Pipe<u8>, simplex, simplex;
    });
    assert_eq!(errors.len(), 4, "{errors:#?}");
    for (error, option) in errors
        .iter()
        .zip(["bounded", "daemon", "start_method", "simplex"])
    {
        assert_eq!(error, &format!("duplicate option `{option}`: give it once"));
    }
}

#[test]
fn unknown_options_name_the_known_ones() {
    one_error(
        quote!(queue a: Queue<u8>, maxsize(3);),
        "expected `bounded`",
    );
    let errors = errors(quote!(p: f(), deamon;));
    assert!(
        errors[0].contains("expected `daemon` or `start_method`"),
        "{errors:#?}"
    );
}

#[test]
fn a_process_is_a_call() {
    one_error(
        quote!(p: f;),
        "expected `(`: a process is a call of a function",
    );
    one_error(quote!(p: |x| x;), "expected the name of a function");
    one_error(quote!(p[i, j]: f();), "the replica index is one name");
}

#[test]
fn a_statement_must_start_with_a_name() {
    one_error(quote!(42: f();), "expected a statement");
}

#[test]
fn nested_types_close_their_brackets() {
    let topology = parsed(quote! {
        queue a: Queue<Vec<Vec<u8>>>;
        pipe (l, r): Pipe<Option<u8>, Vec<Option<u8>>>;
    });
    assert_eq!(topology.queues.len(), 1);
    assert_eq!(topology.pipes.len(), 1);
}
