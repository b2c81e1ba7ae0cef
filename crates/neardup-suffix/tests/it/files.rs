//! Temporary files never outlive the call, and progress adds up.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use neardup_suffix::{CorpusWriter, Error, Mode, Phase, Progress};

use crate::oracle::{Gen, Run};

fn entries(dir: &Path) -> usize {
    fs_err::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

fn docs() -> Vec<Vec<u8>> {
    let mut g = Gen(1);
    let shared = g.text(200);
    (0..50)
        .map(|i| if i % 5 == 0 { shared.clone() } else { [g.text(300), shared.clone()].concat() })
        .collect()
}

/// Records progress and checks the directory whenever it is called.
struct Watch<'a> {
    dir: &'a Path,
    seen_files: AtomicBool,
    cancel_after: Option<u64>,
    calls: AtomicU64,
    totals: Mutex<Vec<(Phase, u64)>>,
    done: Mutex<Vec<(Phase, u64)>>,
    finished: Mutex<Vec<Phase>>,
}

impl<'a> Watch<'a> {
    fn new(dir: &'a Path, cancel_after: Option<u64>) -> Watch<'a> {
        Watch {
            dir,
            seen_files: AtomicBool::new(false),
            cancel_after,
            calls: AtomicU64::new(0),
            totals: Mutex::default(),
            done: Mutex::default(),
            finished: Mutex::default(),
        }
    }

    fn look(&self) {
        if entries(self.dir) > 0 {
            self.seen_files.store(true, Ordering::Relaxed);
        }
    }

    fn done(&self, phase: Phase) -> u64 {
        self.done.lock().unwrap().iter().filter(|(p, _)| *p == phase).map(|(_, n)| n).sum()
    }
}

impl Progress for Watch<'_> {
    fn start(&self, phase: Phase, total: u64) {
        self.look();
        self.totals.lock().unwrap().push((phase, total));
    }
    fn advance(&self, phase: Phase, delta: u64) {
        self.look();
        self.done.lock().unwrap().push((phase, delta));
    }
    fn finish(&self, phase: Phase) {
        self.finished.lock().unwrap().push(phase);
    }
    fn cancelled(&self) -> bool {
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        self.cancel_after.is_some_and(|k| n >= k)
    }
}

fn finish(
    docs: &[Vec<u8>],
    run: &Run,
    dir: &Path,
    watch: &Watch<'_>,
) -> neardup_suffix::Result<usize> {
    let mut w = CorpusWriter::new(run.config(dir))?;
    for d in docs {
        w.add(d)?;
    }
    let r = w.finish(watch)?;
    // The cuts live in an anonymous file: nothing in the directory even now.
    assert_eq!(entries(dir), 0);
    Ok(r.iter().count())
}

#[test]
fn the_temp_dir_stays_empty_on_success_and_progress_adds_up() {
    let docs = docs();
    for memory in [1 << 28, 8 << 10] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("work");
        let run = Run { l: 20, mode: Mode::Later, memory, threads: 2, min_tokens: 0 };
        let watch = Watch::new(&dir, None);
        let n = finish(&docs, &run, &dir, &watch).unwrap();
        assert!(n > 0);
        assert!(!watch.seen_files.load(Ordering::Relaxed), "a temporary file had a name");
        assert_eq!(entries(&dir), 0);
        let windows: u64 = docs.iter().map(|d| (d.len() + 1).saturating_sub(20) as u64).sum();
        let totals = watch.totals.lock().unwrap().clone();
        assert!(
            totals.contains(&(Phase::Build, windows)) && totals.contains(&(Phase::Find, windows))
        );
        assert_eq!(watch.done(Phase::Build), windows, "memory {memory}");
        assert_eq!(watch.done(Phase::Find), windows, "memory {memory}");
        let finished = watch.finished.lock().unwrap().clone();
        assert!(finished.contains(&Phase::Build) && finished.contains(&Phase::Find));
        assert_eq!(finished.contains(&Phase::Partition), memory < 1 << 20);
    }
}

#[test]
fn the_temp_dir_stays_empty_after_errors() {
    let docs = docs();
    for memory in [1 << 28, 8 << 10] {
        for cancel_after in [0, 1, 3, 10] {
            let tmp = tempfile::tempdir().unwrap();
            let run = Run { l: 20, mode: Mode::All, memory, threads: 3, min_tokens: 0 };
            let watch = Watch::new(tmp.path(), Some(cancel_after));
            match finish(&docs, &run, tmp.path(), &watch) {
                Err(Error::Cancelled) => {}
                Ok(_) => assert!(cancel_after > 0, "not cancelled at once"),
                Err(e) => panic!("{e}"),
            }
            assert_eq!(entries(tmp.path()), 0);
        }
    }
    // A writer dropped half way, and one that refused a document.
    let tmp = tempfile::tempdir().unwrap();
    let mut w = CorpusWriter::new(Run::new(8, Mode::Later).config(tmp.path())).unwrap();
    w.add(b"some text").unwrap();
    assert!(w.add(b"\xc3").is_err());
    drop(w);
    assert_eq!(entries(tmp.path()), 0);
}

#[test]
fn cursor_and_lookup_agree_with_iteration() {
    let docs = docs();
    let tmp = tempfile::tempdir().unwrap();
    let r = Run::new(20, Mode::Later).repeats(&docs, tmp.path());
    let all: Vec<_> = r.iter().collect::<Result<_, _>>().unwrap();
    let mut cursor = r.cursor();
    for d in 0..docs.len() as u32 {
        let want = all.iter().find(|x| x.doc == d).map(|x| x.cuts.clone()).unwrap_or_default();
        assert_eq!(cursor.cuts(d).unwrap(), want.as_slice(), "doc {d}");
    }
    assert!(cursor.cuts(3).unwrap().is_empty(), "going back gives nothing");
    for d in 0..docs.len() as u32 + 2 {
        let want = all.iter().find(|x| x.doc == d).map(|x| x.cuts.clone()).unwrap_or_default();
        assert_eq!(r.doc_cuts(d).unwrap(), want, "doc {d}");
    }
    assert_eq!(r.docs_with_cuts(), all.len() as u64);
}
