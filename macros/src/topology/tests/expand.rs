//! Snapshots of the expansion, pretty-printed; `MPROC_BLESS=1` rewrites them.

use proc_macro2::TokenStream;
use quote::quote;

use super::super::{expand, resolve};
use super::parsed;

#[track_caller]
fn snapshot(name: &str, input: TokenStream) {
    let topology = parsed(input);
    let wiring = resolve::Wiring::new(&topology);
    let expr = expand::expand(&topology, &wiring);
    // Wrapped in a function so prettyplease prints it as a statement.
    let file: syn::File =
        syn::parse2(quote!(fn topology() { let _ = #expr; })).expect("expansion parses");
    let text = prettyplease::unparse(&file);
    let path = format!(
        "{}/src/topology/snapshots/{name}.rs",
        env!("CARGO_MANIFEST_DIR")
    );
    if std::env::var_os("MPROC_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        text, expected,
        "expansion of {name} changed (MPROC_BLESS=1 to accept); new text:\n{text}"
    );
}

/// The seeds' producer/consumer: 3 producers, 2 consumers, no sentinels.
#[test]
fn producer_consumer() {
    snapshot(
        "producer_consumer",
        quote! {
            queue items: Queue<Item>;
            producer[i]: produce(items.writer(), i) * 3;
            consumer: consume(items.reader()) * 2;
        },
    );
}

/// A 3-stage pipeline with a bounded queue, a daemon stage, a whole-queue argument and a
/// process path.
#[test]
fn pipeline() {
    snapshot(
        "pipeline",
        quote! {
            queue lines: Queue<String>, bounded(64);
            queue words: JoinableQueue<Vec<String>>;
            queue log: Queue<String>;
            read: stages::read(path.clone(), lines.writer());
            transform: stages::split(lines.reader(), words.writer(), log) * workers, daemon;
            write: stages::write(words.reader(), log.reader());
        },
    );
}

/// Request/response over a duplex pipe, events over a simplex one, a start method.
#[test]
fn request_response() {
    snapshot(
        "request_response",
        quote! {
            pipe (client, server): Pipe<Request, Response>;
            pipe (events, notify): Pipe<Event>, simplex;
            asker: ask(client, events, 10);
            answerer: answer(server, notify), start_method(StartMethod::Fork);
        },
    );
}
