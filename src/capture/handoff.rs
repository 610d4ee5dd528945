//! The hand-off between a producer that must never wait (a camera) and a consumer that may be
//! slower (the processing side): one slot holding the newest frame. Putting a frame replaces
//! whatever the consumer has not taken yet, and that frame counts as dropped; taking waits
//! only when the slot is empty. Stale frames are never queued, so latency stays bounded.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

struct Slot<T> {
    newest: Option<T>,
    dropped: u64,
    delivered: u64,
    closed: bool,
}

/// A latest-value-wins slot shared by one producer and one consumer.
pub struct Handoff<T> {
    slot: Mutex<Slot<T>>,
    ready: Condvar,
}

impl<T> Default for Handoff<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Handoff<T> {
    pub fn new() -> Self {
        Self {
            slot: Mutex::new(Slot {
                newest: None,
                dropped: 0,
                delivered: 0,
                closed: false,
            }),
            ready: Condvar::new(),
        }
    }

    /// The slot even if a thread panicked while holding it: the counters and the frame inside
    /// are still consistent (each update is a single assignment).
    fn lock(&self) -> MutexGuard<'_, Slot<T>> {
        self.slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Offers the newest value; never blocks. A value not yet taken is replaced and counted as
    /// dropped.
    pub fn put(&self, value: T) {
        let mut slot = self.lock();
        if slot.newest.replace(value).is_some() {
            slot.dropped += 1;
        }
        self.ready.notify_one();
    }

    /// The newest value, waiting up to `timeout` for one; `None` on timeout or once the
    /// producer has closed the slot and it is empty.
    pub fn take(&self, timeout: Duration) -> Option<T> {
        let slot = self.lock();
        let (mut slot, _) = self
            .ready
            .wait_timeout_while(slot, timeout, |s| s.newest.is_none() && !s.closed)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let value = slot.newest.take();
        slot.delivered += u64::from(value.is_some());
        value
    }

    /// The producer is done (the video ended, the camera was lost); a waiting consumer wakes.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    pub fn is_closed(&self) -> bool {
        let slot = self.lock();
        slot.closed && slot.newest.is_none()
    }

    /// Values replaced before the consumer took them.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    pub fn delivered(&self) -> u64 {
        self.lock().delivered
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Instant;

    /// With nobody taking, every put still returns at once: the producer finishes, only the
    /// newest value is kept and the rest count as dropped.
    #[test]
    fn put_never_waits_for_the_consumer() {
        let handoff = Arc::new(Handoff::new());
        let producer = {
            let handoff = Arc::clone(&handoff);
            std::thread::spawn(move || (0..1000u32).for_each(|i| handoff.put(i)))
        };
        producer.join().unwrap();
        assert_eq!(handoff.dropped(), 999);
        assert_eq!(handoff.take(Duration::ZERO), Some(999));
    }

    /// A fast producer and a slow consumer (a synthetic 5 ms stage): the consumer gets values
    /// in order, always the newest, the last one is never lost, and every value is either
    /// delivered or counted as dropped.
    #[test]
    fn a_slow_consumer_gets_the_newest_values_in_order() {
        let handoff = Arc::new(Handoff::new());
        let producer = {
            let handoff = Arc::clone(&handoff);
            std::thread::spawn(move || {
                for i in 0..200u32 {
                    handoff.put(i);
                    std::thread::sleep(Duration::from_millis(1));
                }
                handoff.close();
            })
        };
        let mut taken = Vec::new();
        while let Some(value) = handoff.take(Duration::from_secs(5)) {
            taken.push(value);
            std::thread::sleep(Duration::from_millis(5));
        }
        producer.join().unwrap();
        assert!(
            taken.windows(2).all(|w| w[0] < w[1]),
            "values arrive in order"
        );
        assert_eq!(taken.last(), Some(&199), "the last value is never lost");
        assert_eq!(handoff.delivered() + handoff.dropped(), 200);
        assert!(handoff.is_closed());
    }

    #[test]
    fn take_times_out_on_an_empty_open_slot() {
        let handoff: Handoff<u8> = Handoff::new();
        let started = Instant::now();
        assert_eq!(handoff.take(Duration::from_millis(30)), None);
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert!(!handoff.is_closed());
    }
}
