//! The one writer: adds run one at a time on a thread of their own, and
//! adds that queue up behind a running one go to the backend together as
//! one batch (group commit).
//!
//! Why grouping changes no answer: the library decides a batch as one run
//! over history and the batch, and a run over batches one after another
//! equals one run over their concatenation; so adds A then B, queued in
//! that order, get exactly the answers they would get one after the other
//! (a record of B may name a record of A as its original, as it would).
//! Each request's records are still added all or none, since the group
//! is. What grouping saves is the per-batch cost of a durable commit, paid
//! once per group instead of once per request.
//!
//! An add's records are analysed before it queues ([`Backend::prepare`],
//! on the request's blocking task, within a memory budget): the writer's
//! turn is spent on the index alone, and the next adds' analysis runs
//! beside it. An add queues when its analysis is done, so a small add may
//! overtake a large one sent at the same time (concurrent requests have no
//! order of their own).
//!
//! The thread, not the request, owns a running add: a client that hangs up
//! cannot let another add start beside it.

use std::sync::mpsc;
use std::sync::Arc;

use tokio::sync::oneshot;

use crate::backend::{Backend, BackendError, Outcome, Prepared, Rec};

type Answer = (Vec<Rec>, Result<Vec<Outcome>, BackendError>);

struct Job {
    records: Vec<Rec>,
    prepared: Prepared,
    reply: oneshot::Sender<Answer>,
}

enum Msg {
    Add(Job),
    /// Finish the adds queued before this one, then end.
    Stop,
}

/// The writer's queue. The thread ends when the last handle is dropped,
/// or at [`Adds::finish`].
pub(crate) struct Adds {
    queue: mpsc::Sender<Msg>,
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Adds {
    /// Starts the writer over `backend`; a group holds at most
    /// `max_group` records (a request larger than that goes alone).
    pub(crate) fn start(backend: Arc<dyn Backend>, max_group: usize) -> std::io::Result<Adds> {
        let (queue, jobs) = mpsc::channel::<Msg>();
        let thread = std::thread::Builder::new()
            .name("neardup-writer".into())
            .spawn(move || writer(&*backend, &jobs, max_group.max(1)))?;
        Ok(Adds { queue, thread: std::sync::Mutex::new(Some(thread)) })
    }

    /// Lets the adds queued so far finish, then ends the writer and waits
    /// for it (blocking). Later adds get `None`.
    pub(crate) fn finish(&self) {
        let _ = self.queue.send(Msg::Stop);
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = thread {
            let _ = t.join();
        }
    }

    /// Adds `records`, `prepared` from them by [`Backend::prepare`] (in
    /// its turn); returns them with the answer. `None` if the writer is
    /// gone.
    pub(crate) async fn add(&self, records: Vec<Rec>, prepared: Prepared) -> Option<Answer> {
        let (reply, answer) = oneshot::channel();
        self.queue.send(Msg::Add(Job { records, prepared, reply })).ok()?;
        answer.await.ok()
    }
}

fn writer(backend: &dyn Backend, jobs: &mpsc::Receiver<Msg>, max_group: usize) {
    let mut held: Option<Job> = None;
    let mut stop = false;
    loop {
        let first = match held.take() {
            Some(j) => j,
            None if stop => return,
            None => match jobs.recv() {
                Ok(Msg::Add(j)) => j,
                Ok(Msg::Stop) | Err(_) => return,
            },
        };
        let mut total = first.records.len();
        let mut group = vec![first];
        while !stop {
            match jobs.try_recv() {
                Ok(Msg::Add(next)) if total + next.records.len() > max_group => {
                    held = Some(next);
                    break;
                }
                Ok(Msg::Add(next)) => {
                    total += next.records.len();
                    group.push(next);
                }
                Ok(Msg::Stop) => stop = true,
                Err(_) => break,
            }
        }
        run_group(backend, group);
    }
}

fn run_group(backend: &dyn Backend, mut group: Vec<Job>) {
    if group.len() == 1 {
        let job = group.pop().expect("a group has a job");
        let result = backend.add_prepared(&job.records, vec![job.prepared]);
        let _ = job.reply.send((job.records, result));
        return;
    }
    let lens: Vec<usize> = group.iter().map(|j| j.records.len()).collect();
    let mut all: Vec<Rec> = Vec::with_capacity(lens.iter().sum());
    let mut parts = Vec::with_capacity(group.len());
    for j in &mut group {
        all.append(&mut j.records);
        parts.push(std::mem::take(&mut j.prepared));
    }
    let all_len = all.len();
    match backend.add_prepared(&all, parts) {
        Ok(mut outcomes) if outcomes.len() == all.len() => {
            let mut records = all.into_iter();
            let mut answers = outcomes.drain(..);
            for (job, n) in group.into_iter().zip(lens) {
                let recs: Vec<Rec> = records.by_ref().take(n).collect();
                let outs: Vec<Outcome> = answers.by_ref().take(n).collect();
                let _ = job.reply.send((recs, Ok(outs)));
            }
        }
        Ok(outcomes) => fail_all(
            group,
            lens,
            all,
            &format!("the index answered {} records for {}", outcomes.len(), all_len),
        ),
        // Nothing was added; every request of the group gets the error.
        Err(e @ BackendError::Internal(_)) => fail_all(group, lens, all, &e.to_string()),
        // One request's record was refused: nothing was added; each
        // request goes on its own, in order, so that only the faulty one
        // is refused (analysed again: the group took what was prepared).
        Err(BackendError::Record { .. }) => {
            let mut records = all.into_iter();
            for (job, n) in group.into_iter().zip(lens) {
                let recs: Vec<Rec> = records.by_ref().take(n).collect();
                let result = backend.add(&recs);
                let _ = job.reply.send((recs, result));
            }
        }
    }
}

fn fail_all(group: Vec<Job>, lens: Vec<usize>, all: Vec<Rec>, message: &str) {
    let mut records = all.into_iter();
    for (job, n) in group.into_iter().zip(lens) {
        let recs: Vec<Rec> = records.by_ref().take(n).collect();
        let err = BackendError::Internal(message.to_owned().into());
        let _ = job.reply.send((recs, Err(err)));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::backend::Status;

    /// Records every add's ids (and how many prepared parts came with
    /// it); refuses a record whose text is `FAIL`.
    #[derive(Default)]
    struct Log {
        adds: Mutex<Vec<Vec<String>>>,
        parts: Mutex<Vec<usize>>,
    }

    impl Backend for Log {
        fn check(&self, _: &[Rec]) -> Result<Vec<Outcome>, BackendError> {
            unreachable!("adds only")
        }
        fn add(&self, records: &[Rec]) -> Result<Vec<Outcome>, BackendError> {
            self.adds.lock().unwrap().push(records.iter().map(|r| r.id.clone()).collect());
            if let Some(index) = records.iter().position(|r| r.text == "FAIL") {
                return Err(BackendError::Record { index, message: "bad".into() });
            }
            let o = Outcome {
                status: Status::New,
                reason: None,
                duplicate_of: None,
                similarity: None,
                added: true,
            };
            Ok(vec![o; records.len()])
        }
        fn add_prepared(
            &self,
            records: &[Rec],
            parts: Vec<Prepared>,
        ) -> Result<Vec<Outcome>, BackendError> {
            self.parts.lock().unwrap().push(parts.len());
            self.add(records)
        }
        fn stats(&self) -> Result<serde_json::Value, BackendError> {
            unreachable!()
        }
        fn flush(&self) -> Result<(), BackendError> {
            Ok(())
        }
    }

    fn job(ids: &[&str], text: &str) -> (Job, oneshot::Receiver<Answer>) {
        let (reply, rx) = oneshot::channel();
        let records = ids.iter().map(|id| Rec { id: (*id).into(), text: text.into() }).collect();
        (Job { records, prepared: Prepared::default(), reply }, rx)
    }

    #[test]
    fn a_group_is_one_add_and_each_request_gets_its_own_answers() {
        let log = Log::default();
        let (j1, r1) = job(&["a", "b"], "t");
        let (j2, r2) = job(&["c"], "t");
        run_group(&log, vec![j1, j2]);
        assert_eq!(*log.adds.lock().unwrap(), [vec!["a", "b", "c"]]);
        assert_eq!(*log.parts.lock().unwrap(), [2], "each request's prepared part, in one add");
        let (recs, res) = r1.blocking_recv().unwrap();
        assert_eq!((recs.len(), res.unwrap().len()), (2, 2));
        let (recs, res) = r2.blocking_recv().unwrap();
        assert_eq!((recs[0].id.as_str(), res.unwrap().len()), ("c", 1));
    }

    #[test]
    fn a_refused_record_fails_only_its_request() {
        let log = Log::default();
        let (j1, r1) = job(&["a"], "t");
        let (j2, r2) = job(&["b"], "FAIL");
        let (j3, r3) = job(&["c"], "t");
        run_group(&log, vec![j1, j2, j3]);
        assert_eq!(
            *log.adds.lock().unwrap(),
            [vec!["a", "b", "c"], vec!["a"], vec!["b"], vec!["c"]],
            "the group, then each request alone"
        );
        assert!(r1.blocking_recv().unwrap().1.is_ok());
        assert!(matches!(
            r2.blocking_recv().unwrap().1,
            Err(BackendError::Record { index: 0, .. })
        ));
        assert!(r3.blocking_recv().unwrap().1.is_ok());
    }

    #[test]
    fn groups_stay_within_the_cap_and_in_order() {
        let log = Arc::new(Log::default());
        let (tx, rx) = mpsc::channel();
        let mut replies = Vec::new();
        for (k, n) in [2usize, 2, 1, 4].into_iter().enumerate() {
            let ids: Vec<String> = (0..n).map(|i| format!("{k}.{i}")).collect();
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            let (j, r) = job(&ids, "t");
            tx.send(Msg::Add(j)).unwrap();
            replies.push(r);
        }
        drop(tx);
        writer(&*log, &rx, 4);
        let groups = log.adds.lock().unwrap().clone();
        assert_eq!(
            groups,
            [vec!["0.0", "0.1", "1.0", "1.1"], vec!["2.0"], vec!["3.0", "3.1", "3.2", "3.3"]]
                .map(|g| g.into_iter().map(String::from).collect::<Vec<_>>())
        );
        for r in replies {
            assert!(r.blocking_recv().unwrap().1.is_ok());
        }
    }

    #[test]
    fn a_stop_finishes_the_adds_queued_before_it_and_no_later_one() {
        let log = Arc::new(Log::default());
        let (tx, rx) = mpsc::channel();
        let (j1, r1) = job(&["a"], "t");
        let (j2, r2) = job(&["b"], "t");
        tx.send(Msg::Add(j1)).unwrap();
        tx.send(Msg::Stop).unwrap();
        tx.send(Msg::Add(j2)).unwrap();
        writer(&*log, &rx, 4);
        drop(rx);
        assert_eq!(*log.adds.lock().unwrap(), [vec!["a"]]);
        assert!(r1.blocking_recv().unwrap().1.is_ok());
        assert!(r2.blocking_recv().is_err(), "an add queued after the stop is not run");
    }
}
