//! The thread that runs success and error callbacks, so a slow callback never stalls the
//! collection of results (in Python it runs on the result-handler thread and stalls the pool).

use std::sync::mpsc::{Sender, channel};
use std::sync::{Mutex, PoisonError};
use std::thread::JoinHandle;

type Callback = Box<dyn FnOnce() + Send>;

/// Runs callbacks in order on one thread, started when the first one comes.
#[derive(Default)]
pub(crate) struct Callbacks {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    sender: Option<Sender<Callback>>,
    thread: Option<JoinHandle<()>>,
    finished: bool,
}

impl std::fmt::Debug for Callbacks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callbacks").finish_non_exhaustive()
    }
}

impl Callbacks {
    /// Queues `callbacks` to run on the callback thread.
    pub(crate) fn run(&self, callbacks: Vec<Callback>) {
        if callbacks.is_empty() {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if inner.finished {
            // After `join`: nothing runs callbacks any more but this thread.
            drop(inner);
            callbacks.into_iter().for_each(run_one);
            return;
        }
        if inner.sender.is_none() {
            let (sender, receiver) = channel::<Callback>();
            let spawned = std::thread::Builder::new()
                .name("mproc-pool-callbacks".into())
                .spawn(move || {
                    ON_CALLBACK_THREAD.set(true);
                    receiver.into_iter().for_each(run_one);
                });
            let Ok(thread) = spawned else {
                // No thread to be had: run them here rather than lose them.
                drop(inner);
                callbacks.into_iter().for_each(run_one);
                return;
            };
            inner.sender = Some(sender);
            inner.thread = Some(thread);
        }
        let sender = inner.sender.as_ref().expect("invariant: set above");
        for callback in callbacks {
            if let Err(unsent) = sender.send(callback) {
                run_one(unsent.0);
            }
        }
    }

    /// Waits until every queued callback has run, then stops the thread.
    pub(crate) fn finish(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.finished = true;
        inner.sender = None;
        let thread = inner.thread.take();
        drop(inner);
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

std::thread_local! {
    static ON_CALLBACK_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread runs callbacks (which must not wait for callbacks to have run).
pub(crate) fn on_callback_thread() -> bool {
    ON_CALLBACK_THREAD.get()
}

/// Runs one callback; a panic in it is reported and does not stop the others.
fn run_one(callback: Callback) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(callback)).is_err() {
        eprintln!("mproc: a pool callback panicked");
    }
}
