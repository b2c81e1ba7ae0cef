//! The per-record table that the stages share.
//!
//! Pass 1 fills one [`Info`] per record read, in input order; index `i` in
//! the table is record `i`, and stages refer to records by that index (it is
//! also the tie-breaker of every keep decision). An entry holds no text:
//! about 100 bytes plus the id, whatever the record's size.

use neardup_io::{RecordError, Source};

use crate::ledger::Reason;
use crate::repetition::Stats;

/// A span cut from a record's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cut {
    /// Byte offset in the text.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
    /// The record holding the earlier copy (this one, for repeats).
    pub first_record: u32,
    /// Offset of the earlier copy in that record's text.
    pub first_offset: u64,
    /// Why it is cut.
    pub reason: Reason,
}

/// What the stages learned about one record.
pub(crate) struct Info {
    pub(crate) source: u32,
    pub(crate) line: u64,
    pub(crate) id: Option<Box<str>>,
    /// Hash of the canonical form of the text as it will be written.
    pub(crate) hash: u128,
    /// Length in bytes of the text as it will be written.
    pub(crate) len: u64,
    /// Spans to cut, sorted and disjoint.
    pub(crate) cuts: Vec<Cut>,
    pub(crate) stats: Option<Box<Stats>>,
    pub(crate) state: State,
    pub(crate) decision: Decision,
}

/// Whether a record takes part in matching at all.
pub(crate) enum State {
    Ok,
    /// Could not be read or parsed.
    Rejected(Box<RecordError>),
    /// Above a repetition threshold (the message says which).
    Filtered(Box<str>),
}

/// What becomes of a record that takes part.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Decision {
    Keep,
    Duplicate { of: u32, reason: Reason, similarity: f32 },
}

impl Info {
    /// An entry for a record at `source:line`, kept until a stage says
    /// otherwise.
    pub(crate) fn new(source: u32, line: u64) -> Info {
        Info {
            source,
            line,
            id: None,
            hash: 0,
            len: 0,
            cuts: Vec::new(),
            stats: None,
            state: State::Ok,
            decision: Decision::Keep,
        }
    }

    /// Whether the record takes part in matching and is still kept.
    pub(crate) fn alive(&self) -> bool {
        matches!(self.state, State::Ok) && self.decision == Decision::Keep
    }

    /// Its id: the id field, else `source:line`, else the path.
    pub(crate) fn id(&self, sources: &[Source]) -> String {
        match &self.id {
            Some(id) => id.to_string(),
            None => {
                let src = &sources[self.source as usize];
                if self.line == 0 {
                    src.name.clone()
                } else {
                    format!("{}:{}", src.name, self.line)
                }
            }
        }
    }
}

/// Points every duplicate at the record finally kept for it: an exact
/// duplicate of a record later removed as a near duplicate of `k` becomes a
/// near duplicate of `k`, with that similarity (their texts are the same).
pub(crate) fn resolve_chains(infos: &mut [Info]) {
    for i in 0..infos.len() {
        let Decision::Duplicate { mut of, mut reason, mut similarity } = infos[i].decision else {
            continue;
        };
        // Chains are short (exact, then near); the bound guards against a
        // cycle that no stage should make.
        for _ in 0..infos.len() {
            match infos[of as usize].decision {
                Decision::Duplicate { of: next, reason: r, similarity: s } if next != of => {
                    of = next;
                    reason = r;
                    similarity = similarity.min(s);
                }
                _ => break,
            }
        }
        infos[i].decision = Decision::Duplicate { of, reason, similarity };
    }
}

/// `text` without the `cuts` (sorted, disjoint), into `out`.
pub(crate) fn apply_cuts(text: &str, cuts: &[Cut], out: &mut String) {
    out.clear();
    let mut at = 0;
    for c in cuts {
        out.push_str(&text[at..c.start as usize]);
        at = (c.start + c.len) as usize;
    }
    out.push_str(&text[at..]);
}
