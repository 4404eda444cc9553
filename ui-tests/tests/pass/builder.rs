//! `f::builder()` with every option, under both start methods.

use std::time::Duration;

use mproc::prelude::*;

#[process]
fn report(tag: u32) -> (u32, String, bool) {
    let me = current_process();
    (tag, me.name().to_owned(), me.daemon())
}

fn main() {
    for method in [StartMethod::Fork, StartMethod::Spawn] {
        let child = report::builder()
            .name("reporter")
            .daemon(true)
            .start_method(method)
            .spawn(7)
            .expect("start");
        assert_eq!(child.name(), "reporter");
        assert!(child.daemon());
        let got = child
            .join_timeout(Duration::from_secs(30))
            .expect("joined in time");
        assert_eq!(got, (7, "reporter".to_owned(), true), "{method:?}");
    }
}
