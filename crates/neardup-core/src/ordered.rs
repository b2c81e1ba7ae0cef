//! Parallel map over a stream of batches, results consumed in input order.
//!
//! Each batch goes to one rayon task whole; up to `2 × threads` batches are
//! in flight, so a batch holding one huge record does not stall the others
//! (as a per-batch barrier would), and results are handed to the consumer
//! strictly in input order through a small reorder buffer. This is what
//! makes every run's output independent of thread count and batch size.

use std::collections::BTreeMap;

/// Maps `f` over `batches` in parallel and feeds the results to `consume`
/// in input order. Stops at the first error from `consume` (tasks already
/// started finish first) and returns it.
pub(crate) fn map_ordered<B, R, E>(
    batches: impl IntoIterator<Item = B>,
    f: impl Fn(B) -> R + Sync,
    mut consume: impl FnMut(R) -> Result<(), E>,
) -> Result<(), E>
where
    B: Send,
    R: Send,
{
    let max_in_flight = 2 * rayon::current_num_threads().max(1);
    let (tx, rx) = crossbeam_channel::unbounded::<(u64, std::thread::Result<R>)>();
    let f = &f;
    rayon::in_place_scope(|scope| {
        let mut pending: BTreeMap<u64, std::thread::Result<R>> = BTreeMap::new();
        let (mut issued, mut next) = (0u64, 0u64);
        let mut drain = |pending: &mut BTreeMap<u64, std::thread::Result<R>>,
                         next: &mut u64|
         -> Result<(), E> {
            while let Some(r) = pending.remove(next) {
                *next += 1;
                match r {
                    Ok(r) => consume(r)?,
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            Ok(())
        };
        for batch in batches {
            while issued - next >= max_in_flight as u64 {
                // Wait for a result; keep the order.
                let Some((seq, r)) = wait(&rx) else { break };
                pending.insert(seq, r);
                drain(&mut pending, &mut next)?;
            }
            let tx = tx.clone();
            let seq = issued;
            issued += 1;
            scope.spawn(move |_| {
                // A panic is carried to the consumer's thread and resumed
                // there, rather than leaving it waiting for this result.
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(batch)));
                let _ = tx.send((seq, r));
            });
        }
        while next < issued {
            let Some((seq, r)) = wait(&rx) else { break };
            pending.insert(seq, r);
            drain(&mut pending, &mut next)?;
        }
        Ok(())
    })
}

/// Receives the next result. On a rayon worker (the caller ran us inside
/// `install`), blocking would starve the tasks we wait for, so the worker
/// runs pending tasks itself while it waits.
fn wait<T>(rx: &crossbeam_channel::Receiver<T>) -> Option<T> {
    loop {
        match rx.try_recv() {
            Ok(v) => return Some(v),
            Err(crossbeam_channel::TryRecvError::Disconnected) => return None,
            Err(crossbeam_channel::TryRecvError::Empty) => {}
        }
        match rayon::yield_now() {
            None => return rx.recv().ok(),
            Some(rayon::Yield::Executed) => {}
            Some(rayon::Yield::Idle) => {
                match rx.recv_timeout(std::time::Duration::from_millis(1)) {
                    Ok(v) => return Some(v),
                    Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return None,
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_input_order_at_any_thread_count() {
        for threads in [1, 2, 5] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let mut got = Vec::new();
            pool.install(|| {
                map_ordered(
                    0..200u64,
                    |i| {
                        // Uneven work so that tasks finish out of order.
                        std::thread::sleep(std::time::Duration::from_micros((i * 37) % 500));
                        i * 2
                    },
                    |r| {
                        got.push(r);
                        Ok::<(), ()>(())
                    },
                )
                .unwrap();
            });
            assert_eq!(got, (0..200).map(|i| i * 2).collect::<Vec<_>>());
        }
    }

    #[test]
    #[should_panic(expected = "task 7 panicked")]
    fn a_panicking_task_panics_the_caller_instead_of_hanging() {
        let _ = map_ordered(
            0..20,
            |i| if i == 7 { panic!("task 7 panicked") } else { i },
            |_| Ok::<(), ()>(()),
        );
    }

    #[test]
    fn an_error_stops_consumption() {
        let mut seen = 0;
        let r = map_ordered(
            0..100,
            |i| i,
            |i| {
                seen += 1;
                if i == 10 {
                    Err(i)
                } else {
                    Ok(())
                }
            },
        );
        assert_eq!(r, Err(10));
        assert_eq!(seen, 11);
    }
}
