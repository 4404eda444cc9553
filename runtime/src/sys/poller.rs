//! Waiting on many descriptors at once (epoll), and waking a waiting thread (eventfd).

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};

/// An epoll instance whose registrations carry a `u64` token.
#[derive(Debug)]
pub(crate) struct Poller {
    epoll: Epoll,
    events: Vec<EpollEvent>,
}

impl Poller {
    pub(crate) fn new() -> io::Result<Self> {
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        Ok(Self {
            epoll,
            events: vec![EpollEvent::empty(); 64],
        })
    }

    /// Watches `fd` for readability (and hang-up) under `token`.
    pub(crate) fn add(&self, fd: BorrowedFd<'_>, token: u64) -> io::Result<()> {
        self.epoll
            .add(fd, EpollEvent::new(EpollFlags::EPOLLIN, token))?;
        Ok(())
    }

    /// Stops watching `fd` (already-closed descriptors leave epoll on their own).
    pub(crate) fn remove(&self, fd: BorrowedFd<'_>) {
        let _ = self.epoll.delete(fd);
    }

    /// Waits for events for at most `timeout` (`None`: as long as it takes) and appends the
    /// tokens of the ready descriptors to `ready`. `EINTR` returns with nothing ready.
    pub(crate) fn wait(
        &mut self,
        ready: &mut Vec<u64>,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        let timeout = match timeout {
            None => EpollTimeout::NONE,
            // Round up, so a short timeout still sleeps instead of spinning.
            Some(t) => EpollTimeout::try_from(t + Duration::from_nanos(999_999))
                .unwrap_or(EpollTimeout::MAX),
        };
        match self.epoll.wait(&mut self.events, timeout) {
            Ok(n) => {
                ready.extend(self.events[..n].iter().map(EpollEvent::data));
                Ok(())
            }
            Err(nix::Error::EINTR) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// Wakes a thread blocked in [`Poller::wait`] on this waker's descriptor.
#[derive(Debug)]
pub(crate) struct Waker(EventFd);

impl Waker {
    pub(crate) fn new() -> io::Result<Self> {
        Ok(Self(EventFd::from_flags(
            EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK,
        )?))
    }

    /// Makes the descriptor readable until [`Waker::reset`].
    pub(crate) fn wake(&self) {
        // Only fails when the counter would overflow, which leaves it readable anyway.
        let _ = self.0.write(1);
    }

    /// Makes the descriptor unreadable again.
    pub(crate) fn reset(&self) {
        let _ = self.0.read();
    }
}

impl AsFd for Waker {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}
