//! Runs the code that `#[process]` generated in the lint-wall library (`src/lib.rs`), and
//! uses the macro once more in a test target under the same lints (clippy checks test targets
//! with `--all-targets`; `missing_docs` is not applied to test builds, hence the library).

#![deny(
    warnings,
    clippy::all,
    clippy::pedantic,
    unreachable_pub,
    unused_qualifications,
    unused_results
)]

use std::time::Duration;

use mproc::prelude::*;
use ui_tests::Job;

const TIMEOUT: Duration = Duration::from_secs(30);

#[process]
fn halve(x: u64) -> u64 {
    x / 2
}

#[test]
fn public_functions_spawn() {
    let job = Job {
        id: 1,
        values: vec![1, 2, 3],
    };
    assert_eq!(job.id, 1);
    let child = ui_tests::total::spawn(job).expect("start");
    assert_eq!(child.join_timeout(TIMEOUT).expect("joined in time"), 6);

    ui_tests::nothing::builder()
        .name("nothing")
        .daemon(false)
        .start_method(StartMethod::Spawn)
        .spawn()
        .expect("start")
        .join_timeout(TIMEOUT)
        .expect("joined in time");

    let child = ui_tests::spread::spawn((b'o', b'k'), "is ".into()).expect("start");
    assert_eq!(
        child.join_timeout(TIMEOUT).expect("joined in time"),
        "is ok"
    );
}

#[test]
fn private_functions_spawn() {
    let job = Job {
        id: 2,
        values: vec![1, -2],
    };
    let (scaled, negated) = ui_tests::scale_and_negate(10, job, 5, TIMEOUT).expect("children ran");
    assert_eq!((scaled, negated), (vec![10, -20], -5));

    let child = halve::spawn(9).expect("start");
    assert_eq!(child.join_timeout(TIMEOUT).expect("joined in time"), 4);
    assert_eq!(halve(8), 4);
}

#[test]
fn pool_tasks_run() {
    let job = Job {
        id: 2,
        values: vec![1, -2, 3],
    };
    let (squares, offsets) = ui_tests::pooled(job, 2, TIMEOUT).expect("pool tasks");
    assert_eq!(squares, [1, 4, 9]);
    assert_eq!(offsets, [11, 22]);
}

#[test]
fn topology_runs() {
    let values: Vec<i64> = (1..=100).collect();
    let totals = ui_tests::topology_totals(values, 3, TIMEOUT).expect("the topology ran");
    assert_eq!(totals.fed, 100);
    assert_eq!(totals.per_adder.len(), 3);
    assert_eq!(totals.per_adder.iter().sum::<i64>(), 5050);
    assert_eq!(totals.collected, 5050);
    assert_eq!(totals.report, "total 5050, flag 1");
    assert_eq!(totals.echoed, 6);
    assert_eq!((totals.failed, totals.stopped), (0, 2));
}

#[test]
fn managed_objects_are_called() {
    let counts = ui_tests::managed_tally(&["a", "b", "a"]).expect("the manager ran");
    assert_eq!(counts, [("a".to_owned(), 2), ("b".to_owned(), 1)]);
}
