//! One record's analysis: everything the decisions need, from its text.
//!
//! [`Analyzer::analyse`] turns a text into an [`Analysis`]: the passages it
//! repeats (cut from the later place), the hash of the canonical form of
//! the text *as it will be written* (so a record that said its body twice
//! equals a record that says it once), its length, Gopher repetition
//! statistics, and, with near duplicates on, its fingerprint (shingle set,
//! MinHash signature, LSH band keys) taken from that same canonical form.
//!
//! Every face calls this one function: the CLI's first pass, `explain`, the
//! Python package (one batch at a time, [`Analyzer::analyse_batch`] and
//! [`Columns`]), the index and the service. That is what makes them agree.
//!
//! ```
//! use neardup_core::{Analyzer, Settings};
//!
//! let a = Analyzer::new(&Settings::default(), false)?;
//! let straight = a.analyse("He said \"we will not resign\" -- and left.");
//! let curly = a.analyse("He said \u{201C}we will not resign\u{201D} \u{2014} and left.");
//! assert_eq!(straight.hash, curly.hash); // the same canonical text
//! let other = a.analyse("He said \"we will resign\" -- and left.");
//! assert_ne!(straight.hash, other.hash);
//! # Ok::<(), neardup_core::SettingError>(())
//! ```

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use neardup_sketch::{minhash, shingle, LshParams, Shingling, Sketcher};
use neardup_text::mask::Positions;
use neardup_text::{Normalizer, OffsetMap, Round};
use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_128;

use crate::repeats;
use crate::repetition::Stats;
use crate::settings::{NearSettings, SettingError, Settings};

/// A passage cut from the record's own text because it said it before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repeat {
    /// Byte offset of the cut in the original text.
    pub start: u64,
    /// Its length in bytes.
    pub len: u64,
    /// Byte offset of the earlier copy in the original text.
    pub first: u64,
}

/// What matching needs of one record's near-duplicate fingerprint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fingerprint {
    /// The sorted, distinct shingle hashes (exact Jaccard verifies on these).
    pub set: Vec<u64>,
    /// The MinHash (or OPH) signature.
    pub signature: Vec<u32>,
    /// One LSH key per band; none for a text without shingles.
    pub band_keys: Vec<u64>,
}

/// One record's analysis.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Analysis {
    /// Passages repeated inside the record, sorted and disjoint, in
    /// original bytes.
    pub repeats: Vec<Repeat>,
    /// xxh3-128 of the canonical form of the text as it will be written
    /// (repeats cut).
    pub hash: u128,
    /// Bytes of the text as it will be written.
    pub len: u64,
    /// Gopher repetition statistics, when asked for or needed.
    pub stats: Option<Box<Stats>>,
    /// The repetition threshold the record exceeds, if any (it is then
    /// removed, and takes no part in matching).
    pub filtered: Option<String>,
    /// With near duplicates on (and the record not filtered).
    pub fingerprint: Option<Fingerprint>,
    /// With repeated substrings on: the full canonical text (before
    /// in-record cuts) and its encoded offset map.
    pub canonical: Option<(String, Vec<u64>)>,
}

/// Turns texts into [`Analysis`]es for one set of [`Settings`]. Cheap to
/// share between threads (`Sync`); build it once per run.
pub struct Analyzer {
    settings: Settings,
    norm: Normalizer,
    sketching: Option<Sketching>,
    stats: bool,
    /// Nanoseconds per step, over the sampled records.
    clock: [AtomicU64; STEPS],
}

/// The steps timed: normalize, repeats, statistics, hash, fingerprint.
const STEPS: usize = 5;

/// One record in this many is timed (and the sum scaled up): a clock read
/// costs ~20 ns, a short record's whole analysis a few µs.
const SAMPLE: u32 = 8;

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
    static TICK: Cell<u32> = const { Cell::new(0) };
}

/// CPU seconds spent in each step of analysis, summed over threads
/// (estimated from one record in eight).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct AnalysisTimes {
    /// The canonical form (with its offset map).
    pub normalize: f64,
    /// Finding passages a record repeats.
    pub repeats: f64,
    /// Gopher repetition statistics.
    pub stats: f64,
    /// Hashing the text as written (normalizing it again when cut).
    pub hash: f64,
    /// Shingles, signature and band keys.
    pub fingerprint: f64,
}

/// Times the steps of one record's analysis, when it is sampled.
struct Stopwatch<'a> {
    clock: &'a [AtomicU64; STEPS],
    last: Option<Instant>,
}

impl Stopwatch<'_> {
    fn lap(&mut self, step: usize) {
        if let Some(last) = self.last.as_mut() {
            let now = Instant::now();
            let ns = now.duration_since(*last).as_nanos() as u64 * u64::from(SAMPLE);
            self.clock[step].fetch_add(ns, Ordering::Relaxed);
            *last = now;
        }
    }
}

impl Analyzer {
    /// An analyzer for `settings`; with `stats`, every analysis carries
    /// Gopher statistics (they are computed anyway when thresholds are
    /// set).
    ///
    /// # Errors
    /// Settings that cannot work ([`Settings::validate`]).
    pub fn new(settings: &Settings, stats: bool) -> Result<Analyzer, SettingError> {
        settings.validate()?;
        let sketching = settings.near.as_ref().map(Sketching::new).transpose()?;
        Ok(Analyzer {
            settings: settings.clone(),
            norm: Normalizer::new(settings.normalize.clone()),
            sketching,
            stats: stats || !settings.thresholds.is_empty(),
            clock: Default::default(),
        })
    }

    /// Time spent in each step so far.
    pub fn times(&self) -> AnalysisTimes {
        let s = |i: usize| self.clock[i].load(Ordering::Relaxed) as f64 / 1e9;
        AnalysisTimes { normalize: s(0), repeats: s(1), stats: s(2), hash: s(3), fingerprint: s(4) }
    }

    /// The settings it analyses with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The canonical form it matches on.
    pub fn normalizer(&self) -> &Normalizer {
        &self.norm
    }

    /// Whether analyses carry Gopher statistics.
    pub fn computes_stats(&self) -> bool {
        self.stats
    }

    /// Where a consumer of this analyzer's fingerprints hands their
    /// buffers back ([`Spares`]), with near duplicates on.
    pub(crate) fn spares(&self) -> Option<Arc<Spares>> {
        self.sketching.as_ref().map(|s| Arc::clone(&s.spares))
    }

    /// The LSH banding, with near duplicates on.
    pub fn banding(&self) -> Option<LshParams> {
        self.sketching.as_ref().map(|s| s.params)
    }

    /// Analyses one text.
    pub fn analyse(&self, text: &str) -> Analysis {
        SCRATCH.with(|s| self.analyse_with(text, &mut s.borrow_mut()))
    }

    /// Analyses texts in parallel; results in input order.
    pub fn analyse_batch<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Vec<Analysis> {
        texts.par_iter().map(|t| self.analyse(t.as_ref())).collect()
    }

    fn analyse_with(&self, text: &str, s: &mut Scratch) -> Analysis {
        let cfg = &self.settings;
        let mut a = Analysis::default();
        let sampled = TICK.with(|t| {
            let n = t.get().wrapping_add(1);
            t.set(n);
            n % SAMPLE == 0
        });
        let mut watch = Stopwatch { clock: &self.clock, last: sampled.then(Instant::now) };
        let with_map = cfg.min_repeat.is_some() || cfg.substrings.is_some();
        if !with_map && !self.stats && self.sketching.is_none() {
            // Only the hash is needed: skip the canonical text as a `String`.
            self.norm.normalize_bytes_into(text, &mut s.bytes);
            watch.lap(0);
            a.hash = xxh3_128(&s.bytes);
            a.len = text.len() as u64;
            watch.lap(3);
            return a;
        }
        self.norm.normalize_into(text, &mut s.canon, with_map.then_some(&mut s.map));
        watch.lap(0);
        if cfg.substrings.is_some() {
            let mut map = Vec::with_capacity(1 + 2 * s.map.pieces());
            s.map.encode(&mut map);
            a.canonical = Some((s.canon.clone(), map));
        }
        if let Some(min) = cfg.min_repeat {
            a.repeats = repeats::find(&s.canon, min)
                .into_iter()
                .filter_map(|r| {
                    let o = s.map.original_range_inner(r.range.start, r.range.end);
                    let first = s.map.to_original(r.first, Round::Up);
                    (!o.is_empty()).then_some(Repeat {
                        start: o.start as u64,
                        len: o.len() as u64,
                        first: first as u64,
                    })
                })
                .collect();
            watch.lap(1);
        }
        if self.stats {
            let stats = Stats::of(&s.canon);
            a.filtered = cfg.thresholds.exceeded(&stats);
            a.stats = Some(Box::new(stats));
            watch.lap(2);
        }
        if a.repeats.is_empty() {
            a.hash = xxh3_128(s.canon.as_bytes());
            a.len = text.len() as u64;
        } else {
            // Hash what will be written: the cut text, normalized afresh.
            cut_into(text, a.repeats.iter().map(|r| (r.start, r.len)), &mut s.cut);
            self.norm.normalize_into(&s.cut, &mut s.canon, None);
            a.hash = xxh3_128(s.canon.as_bytes());
            a.len = s.cut.len() as u64;
        }
        watch.lap(3);
        if let Some(sk) = self.sketching.as_ref().filter(|_| a.filtered.is_none()) {
            a.fingerprint = Some(sk.fingerprint(&s.canon, &mut s.near));
            watch.lap(4);
        }
        a
    }
}

/// Per-thread scratch buffers, reused across records.
#[derive(Default)]
struct Scratch {
    /// After analysis: the canonical form of the text as it will be
    /// written, which fingerprints are taken from.
    canon: String,
    map: OffsetMap,
    cut: String,
    /// The canonical bytes, when only their hash is needed.
    bytes: Vec<u8>,
    near: NearScratch,
}

/// `text` without the spans `(start, len)` (sorted, disjoint, on character
/// boundaries), into `out`: how every face applies a record's cuts.
pub fn cut_into(text: &str, spans: impl Iterator<Item = (u64, u64)>, out: &mut String) {
    out.clear();
    let mut at = 0;
    for (start, len) in spans {
        out.push_str(&text[at..start as usize]);
        at = (start + len) as usize;
    }
    out.push_str(&text[at..]);
}

/// What fingerprinting needs: read-only, shared.
pub(crate) struct Sketching {
    shingling: Shingling,
    seed: u64,
    sketcher: Sketcher,
    pub(crate) params: LshParams,
    spares: Arc<Spares>,
}

/// Per-thread fingerprinting scratch.
#[derive(Default)]
pub(crate) struct NearScratch {
    hashes: Vec<u64>,
    /// The text with line breaks as spaces.
    flat: String,
    /// Fingerprints handed back ([`Spares`]), to fill again.
    spare: Vec<Fingerprint>,
}

/// Fingerprints' buffers handed back by the thread that consumed them, for
/// the analysing threads to fill again.
///
/// A fingerprint is allocated on an analysing thread and, in a run, dropped
/// on the consumer's. glibc frees a buffer under the lock of the arena that
/// allocated it, which the analysing thread takes each time it allocates:
/// on short records most of the consumer's frees met that lock taken and
/// slept on it (87 % of the 11,500 context switches of `clusters --threads
/// 1` on the speed sample, and a fifth of its samples in the scheduler).
/// Handed back in bundles, the buffers change threads without being freed,
/// and the shared list is locked once per bundle.
#[derive(Default)]
pub(crate) struct Spares {
    bundles: Mutex<Vec<Vec<Fingerprint>>>,
}

/// Fingerprints per bundle handed back.
pub(crate) const SPARE_BUNDLE: usize = 256;

/// Bundles kept at most; more are freed.
const MAX_SPARE_BUNDLES: usize = 4;

/// A set buffer above this many hashes (16 KB) is freed, not kept.
const MAX_SPARE_SET: usize = 1 << 11;

impl Spares {
    /// Keeps `bundle`'s buffers (emptied) for reuse, or frees them when
    /// enough are kept.
    pub(crate) fn give(&self, mut bundle: Vec<Fingerprint>) {
        bundle.retain(|fp| fp.set.capacity() <= MAX_SPARE_SET);
        for fp in &mut bundle {
            fp.set.clear();
            fp.signature.clear();
            fp.band_keys.clear();
        }
        if let Ok(mut b) = self.bundles.lock() {
            if b.len() < MAX_SPARE_BUNDLES {
                b.push(bundle);
            }
        }
    }

    /// A bundle handed back, if any.
    fn take(&self) -> Option<Vec<Fingerprint>> {
        self.bundles.lock().ok()?.pop()
    }
}

impl Sketching {
    pub(crate) fn new(opts: &NearSettings) -> Result<Sketching, SettingError> {
        let sketcher = Sketcher::new(opts.sketch, opts.num_perm, opts.seed)
            .map_err(|e| SettingError::Conflict(e.to_string()))?;
        Ok(Sketching {
            shingling: opts.shingling,
            seed: opts.seed,
            sketcher,
            params: opts.banding()?,
            spares: Arc::default(),
        })
    }

    /// Fingerprints canonical `text`. Line and paragraph breaks count as
    /// spaces here: the same words wrapped differently are the same text.
    pub(crate) fn fingerprint(&self, text: &str, s: &mut NearScratch) -> Fingerprint {
        if s.spare.is_empty() {
            s.spare = self.spares.take().unwrap_or_default();
        }
        let mut fp = s.spare.pop().unwrap_or_default();
        if s.hashes.capacity() == 0 {
            // The shingles go into the spare set's room.
            s.hashes = std::mem::take(&mut fp.set);
        }
        let text = flatten_lines(text, &mut s.flat);
        self.shingling.shingle_hashes(text, self.seed, &mut s.hashes);
        // A sketch is a function of the set, so the set is sketched: each
        // shingle a text repeats (boilerplate, lists) is hashed once.
        shingle::into_set(&mut s.hashes);
        self.sketcher.sketch(&s.hashes, &mut fp.signature);
        if !minhash::is_empty_signature(&fp.signature) {
            // The signature has `num_perm ≥ bands·rows` slots: cannot fail.
            let _ = self.params.band_keys(&fp.signature, &mut fp.band_keys);
        }
        // The set moves out rather than being copied; the next record's
        // shingles take a spare's room, or reserve their own.
        fp.set = std::mem::take(&mut s.hashes);
        fp
    }
}

/// `text`'s non-empty lines joined by single spaces: `text` itself when it
/// has no line break, else written into `flat`. Lines are short, so the
/// breaks are read off block masks ([`Positions`]: `str::split`'s search, a
/// byte at a time on short haystacks, was a few percent of a default run,
/// and `memchr_iter` pays a call per line).
fn flatten_lines<'a>(text: &'a str, flat: &'a mut String) -> &'a str {
    let b = text.as_bytes();
    let mut breaks = Positions::new(b, b'\n').peekable();
    if breaks.peek().is_none() {
        return text;
    }
    flat.clear();
    let mut start = 0;
    for end in breaks.chain(std::iter::once(b.len())) {
        if end > start {
            if !flat.is_empty() {
                flat.push(' ');
            }
            flat.push_str(&text[start..end]);
        }
        start = end + 1;
    }
    flat.as_str()
}

/// Analyses of a batch as flat columns, ready to become Arrow arrays: one
/// row per record, variable-length parts as offsets into flat value
/// vectors (Arrow's list layout).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Columns {
    /// High 64 bits of the canonical hash.
    pub hash_hi: Vec<u64>,
    /// Low 64 bits of the canonical hash.
    pub hash_lo: Vec<u64>,
    /// Bytes of the text as written.
    pub len: Vec<u64>,
    /// The repetition threshold exceeded, or `None`.
    pub filtered: Vec<Option<String>>,
    /// Row `i`'s repeats are `repeat_*[repeat_offsets[i]..repeat_offsets[i + 1]]`.
    pub repeat_offsets: Vec<u64>,
    /// Repeat start offsets.
    pub repeat_start: Vec<u64>,
    /// Repeat lengths.
    pub repeat_len: Vec<u64>,
    /// Offsets of the earlier copies.
    pub repeat_first: Vec<u64>,
    /// Row `i`'s signature is `signature[signature_offsets[i]..signature_offsets[i + 1]]`
    /// (empty without near duplicates).
    pub signature_offsets: Vec<u64>,
    /// Signatures, flat.
    pub signature: Vec<u32>,
    /// Row `i`'s band keys are `band_keys[band_offsets[i]..band_offsets[i + 1]]`.
    pub band_offsets: Vec<u64>,
    /// Band keys, flat.
    pub band_keys: Vec<u64>,
}

impl Columns {
    /// The columns of `analyses`, in order.
    pub fn of(analyses: &[Analysis]) -> Columns {
        let mut c = Columns::default();
        c.repeat_offsets.push(0);
        c.signature_offsets.push(0);
        c.band_offsets.push(0);
        for a in analyses {
            c.hash_hi.push((a.hash >> 64) as u64);
            c.hash_lo.push(a.hash as u64);
            c.len.push(a.len);
            c.filtered.push(a.filtered.clone());
            for r in &a.repeats {
                c.repeat_start.push(r.start);
                c.repeat_len.push(r.len);
                c.repeat_first.push(r.first);
            }
            c.repeat_offsets.push(c.repeat_start.len() as u64);
            if let Some(fp) = &a.fingerprint {
                c.signature.extend_from_slice(&fp.signature);
                c.band_keys.extend_from_slice(&fp.band_keys);
            }
            c.signature_offsets.push(c.signature.len() as u64);
            c.band_offsets.push(c.band_keys.len() as u64);
        }
        c
    }

    /// Rows.
    pub fn len(&self) -> usize {
        self.len.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_said_twice_hashes_like_it_said_once() {
        let body = "The council approved the new budget after a long debate about \
                    schools, roads and the harbour, and the mayor thanked everyone.";
        let a = Analyzer::new(&Settings::default(), false).unwrap();
        let once = a.analyse(body);
        let twice = a.analyse(&format!("{body}\n{}", body.replace("the mayor", "The Mayor")));
        assert_eq!(twice.repeats.len(), 1);
        assert_eq!(twice.hash, once.hash);
        assert_eq!(twice.fingerprint, once.fingerprint);
    }

    proptest::proptest! {
        #[test]
        fn flattened_lines_are_the_non_empty_lines_joined_by_spaces(text in "[a \né\n]{0,40}") {
            let want: Vec<&str> = text.split('\n').filter(|p| !p.is_empty()).collect();
            let mut flat = String::new();
            proptest::prop_assert_eq!(flatten_lines(&text, &mut flat), want.join(" "));
        }
    }

    /// Buffers handed back and filled again give the fingerprints fresh
    /// ones give: a long record's buffers, reused for a text with no
    /// shingles (no band keys), must not show what they held.
    #[test]
    fn recycled_fingerprints_equal_fresh_ones() {
        let texts: Vec<String> = (0..3 * SPARE_BUNDLE)
            .map(|i| match i % 3 {
                0 => String::new(),
                1 => format!("record {i} says {}", "many different words ".repeat(i % 40 + 1)),
                _ => format!("{i}"),
            })
            .collect();
        let fresh = Analyzer::new(&Settings::default(), false).unwrap();
        let want: Vec<Option<Fingerprint>> =
            texts.iter().map(|t| fresh.analyse(t).fingerprint).collect();
        let a = Analyzer::new(&Settings::default(), false).unwrap();
        let spares = a.spares().unwrap();
        let mut spent = Vec::new();
        for (t, want) in texts.iter().zip(&want) {
            let fp = a.analyse(t).fingerprint;
            assert_eq!(&fp, want, "{t:?}");
            spent.push(fp.unwrap());
            if spent.len() == SPARE_BUNDLE {
                spares.give(std::mem::take(&mut spent));
            }
        }
        assert!(spares.take().is_some() || SCRATCH.with(|s| !s.borrow().near.spare.is_empty()));
    }

    #[test]
    fn batches_equal_records_one_by_one() {
        let a = Analyzer::new(&Settings::default(), true).unwrap();
        let texts: Vec<String> =
            (0..50).map(|i| format!("record {i} says {} things", "many ".repeat(i))).collect();
        let batch = a.analyse_batch(&texts);
        let single: Vec<Analysis> = texts.iter().map(|t| a.analyse(t)).collect();
        assert_eq!(batch, single);
        let c = Columns::of(&batch);
        assert_eq!(c.len(), 50);
        assert_eq!(*c.signature_offsets.last().unwrap() as usize, 50 * 128);
        assert_eq!(c.band_offsets[1], 21);
    }
}
