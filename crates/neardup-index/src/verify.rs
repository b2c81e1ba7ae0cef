//! [`Index::verify`]: checksums and invariants, in a few sequential scans
//! with memory bounded whatever the index's size; and [`Index::export`].
//!
//! What is checked:
//! - meta: format, settings and their fingerprint, state, and every batch:
//!   batches numbered `0..batches`, tiling `0..records` in order, each
//!   reachable by its key;
//! - records: keys dense `0..records` (nothing past it: no leftover of an
//!   unfinished batch), every value's checksum and layout, one shape
//!   (records without band keys fit any), every alias names an earlier
//!   kept record, and the state counts the aliases;
//! - holders: the rows (lookup key, seq) that the records list — their
//!   exact hash and band keys — are the rows the holders table holds
//!   (compared as a count and a sum of 64-bit hashes, so nothing is held
//!   in memory), and none names a record past the end;
//!   Holders are listed in their lookup key's value or are rows of the holders
//!   table, never both;
//! - lookup keys: each has holders, and each key with holders is there
//!   (one merge of the two tables, both in lookup-key order).

use std::io::Write;

use xxhash_rust::xxh3::xxh3_64;

use crate::codec::{
    band_lookup, be_u64, decode_holders, decode_record, exact_lookup, holder_key, is_lookup,
    show_lookup, split_holder,
};
use crate::error::{Error, Result};
use crate::index::Index;
use crate::meta::{self, Shape};
use crate::settings;
use crate::store::Table;

/// Problems kept in a [`Report`]; the rest are only counted.
const MAX_PROBLEMS: usize = 100;

/// What [`Index::verify`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// Records checked.
    pub records: u64,
    /// Batches checked.
    pub batches: u64,
    /// The first problems found, one sentence each.
    pub problems: Vec<String>,
    /// All problems found (more than `problems` holds when many).
    pub problems_total: u64,
}

impl Report {
    /// True when nothing is wrong.
    pub fn is_sound(&self) -> bool {
        self.problems_total == 0
    }

    fn problem(&mut self, what: String) {
        self.problems_total += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(what);
        }
    }
}

/// Order-free digest of a set of holder rows.
#[derive(Default, PartialEq, Eq, Debug, Clone, Copy)]
struct Digest {
    count: u64,
    sum: u64,
}

impl Digest {
    fn add(&mut self, holder: &[u8]) {
        self.count += 1;
        self.sum = self.sum.wrapping_add(xxh3_64(holder));
    }
}

fn no_holders(key: &[u8]) -> String {
    if is_lookup(key) {
        format!("keys: {} has no holders", show_lookup(key))
    } else {
        format!("keys: key {} is malformed", meta::hex(key))
    }
}

#[derive(serde::Serialize)]
struct ExportLine<'a> {
    seq: u64,
    id: &'a str,
    hash: String,
    len: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<&'a [u32]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bands: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duplicate_of: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<neardup_core::ledger::Reason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    similarity: Option<f32>,
}

impl Index {
    /// Checks checksums and invariants (see the [module
    /// documentation](self)); problems go in the report, only a failing
    /// engine is an error. Waits for an add in progress, and holds adds
    /// off while it runs.
    pub fn verify(&self) -> Result<Report> {
        let _w = self.lock_writer();
        let mut rep = Report::default();
        let store = self.store();
        let scan_err = |e| self.store_error(e);

        // Meta.
        match self.get(Table::Meta, meta::FORMAT)?.map(|v| meta::decode_format(&v)) {
            Some(Ok(v)) if (meta::OLDEST_READABLE..=meta::FORMAT_VERSION).contains(&v) => {}
            Some(Ok(v)) => rep.problem(format!("meta: format version {v}")),
            Some(Err(w)) => rep.problem(format!("meta: format: {w}")),
            None => rep.problem("meta: the format entry is missing".to_owned()),
        }
        match self.get(Table::Meta, meta::SETTINGS)? {
            None => rep.problem("meta: the settings are missing".to_owned()),
            Some(v) => match meta::decode_text(&v) {
                Err(w) => rep.problem(format!("meta: settings: {w}")),
                Ok(t) if t != settings::canonical(self.settings()) => rep.problem(
                    "meta: the stored settings changed since the index was opened".to_owned(),
                ),
                Ok(_) => {}
            },
        }
        match self.get(Table::Meta, meta::FINGERPRINT)? {
            None => rep.problem("meta: the settings fingerprint is missing".to_owned()),
            Some(v) => match meta::decode_text(&v) {
                Err(w) => rep.problem(format!("meta: settings fingerprint: {w}")),
                Ok(f) if f != settings::fingerprint(self.settings()) => rep.problem(format!(
                    "meta: stored settings fingerprint {f} does not match the settings ({})",
                    self.fingerprint()
                )),
                Ok(_) => {}
            },
        }
        let state = match self.load_state() {
            Ok(s) => s,
            Err(e) => {
                rep.problem(e.to_string());
                return Ok(rep);
            }
        };
        let records = state.next_seq;
        let mut next_first = 0u64;
        for (number, entry) in (0u64..).zip(store.scan_prefix(Table::Meta, meta::BATCH_NUMBER)) {
            let (k, v) = entry.map_err(scan_err)?;
            rep.batches += 1;
            let got = k.get(meta::BATCH_NUMBER.len()..).and_then(be_u64);
            if got != Some(number) {
                rep.problem(format!("meta: batch number {got:?} where {number} was expected"));
            }
            let (key, first, count) = match meta::decode_batch_number(&v) {
                Ok(x) => x,
                Err(w) => {
                    rep.problem(format!("meta: batch number {number}: {w}"));
                    continue;
                }
            };
            if first != next_first {
                rep.problem(format!(
                    "meta: batch {number} starts at record {first}, expected {next_first}"
                ));
            }
            next_first = first.saturating_add(count);
            match self.get(Table::Meta, &meta::batch_key(&key))?.map(|v| meta::decode_batch(&v)) {
                Some(Ok(i)) if (i.number, i.first_seq, i.count) == (number, first, count) => {}
                Some(Ok(i)) => rep.problem(format!(
                    "meta: batch {} is recorded as {i:?} by key and as number {number}, \
                     first {first}, count {count} by number",
                    meta::hex(&key)
                )),
                Some(Err(w)) => rep.problem(format!("meta: batch {}: {w}", meta::hex(&key))),
                None => rep.problem(format!(
                    "meta: batch number {number} names key {}, which is missing",
                    meta::hex(&key)
                )),
            }
        }
        if rep.batches != state.batches {
            rep.problem(format!(
                "meta: {} batches numbered, the state counts {}",
                rep.batches, state.batches
            ));
        }
        if next_first != records {
            rep.problem(format!(
                "meta: batches cover {next_first} records, the state counts {records}"
            ));
        }
        let mut keyed = 0u64;
        for entry in store.scan_prefix(Table::Meta, meta::BATCH) {
            entry.map_err(scan_err)?;
            keyed += 1;
        }
        if keyed != state.batches {
            rep.problem(format!(
                "meta: {keyed} batch keys, the state counts {} batches",
                state.batches
            ));
        }

        // Records, in one pass, with a digest of the holders they list.
        let mut from_records = Digest::default();
        let mut shape: Option<Shape> = None;
        let mut expected = 0u64;
        let (mut past, mut past_count) = (None, 0u64);
        let mut unreadable = 0u64;
        // One bit per record: is it an alias (an alias must name a kept
        // record, always an earlier one). 1.25 MB at 10 M records.
        let mut alias_bits: Vec<u64> = Vec::new();
        let mut aliases = 0u64;
        for entry in store.scan(Table::Records, &[], None) {
            let (k, v) = entry.map_err(scan_err)?;
            let Some(seq) = be_u64(&k) else {
                rep.problem(format!("records: key {} is not 8 bytes", meta::hex(&k)));
                continue;
            };
            if seq >= records {
                past.get_or_insert((seq, seq)).1 = seq;
                past_count += 1;
                continue;
            }
            if seq != expected {
                rep.problem(format!("records: records {expected}..{seq} are missing"));
            }
            expected = seq + 1;
            rep.records += 1;
            let r = match decode_record(seq, &v) {
                Ok(r) => r,
                Err(w) => {
                    rep.problem(format!("records: record {seq}: {w}"));
                    unreadable += 1;
                    continue;
                }
            };
            if let Some(a) = r.alias {
                aliases += 1;
                let (word, bit) = ((seq / 64) as usize, seq % 64);
                if alias_bits.len() <= word {
                    alias_bits.resize(word + 1, 0);
                }
                alias_bits[word] |= 1 << bit;
                if alias_bits.get((a.of / 64) as usize).is_some_and(|w| w >> (a.of % 64) & 1 == 1) {
                    rep.problem(format!(
                        "records: alias {seq} names record {}, an alias itself",
                        a.of
                    ));
                }
            }
            let this = Shape { bands: r.bands.len() as u32, slots: r.signature.len() as u32 };
            match shape {
                _ if this.bands == 0 => {}
                None => shape = Some(this),
                Some(s) if s != this => rep.problem(format!(
                    "records: record {seq} has {} band keys and {} slots, record 0 has {} and {}",
                    this.bands, this.slots, s.bands, s.slots
                )),
                Some(_) => {}
            }
            from_records.add(&holder_key(&exact_lookup(r.hash), seq));
            for (band, &key) in (0u16..).zip(&r.bands) {
                from_records.add(&holder_key(&band_lookup(band, key), seq));
            }
        }
        if expected != records {
            rep.problem(format!("records: records {expected}..{records} are missing"));
        }
        if let Some((first, last)) = past {
            rep.problem(format!(
                "records: {past_count} records ({first}..={last}) are past the {records} \
                 committed (left by an unfinished batch)"
            ));
        }
        if unreadable == 0 && expected == records && aliases != state.aliases {
            rep.problem(format!("records: {aliases} aliases, the state counts {}", state.aliases));
        }
        if shape.is_some() && shape != state.shape {
            rep.problem(format!(
                "records: they have {shape:?} band keys and slots, the state says {:?}",
                state.shape
            ));
        }

        // Holders: the ones the records list, each under a lookup key,
        // listed in the key's value or as rows of the holders table (never
        // both); lookup keys: each with holders. Both tables are in
        // lookup-key order, so one merge of two scans checks both ways.
        let mut from_holders = Digest::default();
        let mut rows = store.scan(Table::Holders, &[], None);
        // The next well-formed row (lookup key, seq), counted in the digest.
        let mut next_row = |rep: &mut Report| -> Result<Option<(Vec<u8>, u64)>> {
            for entry in rows.by_ref() {
                let (k, _) = entry.map_err(scan_err)?;
                let Some((lookup, seq)) = split_holder(&k) else {
                    rep.problem(format!("holders: key {} is malformed", meta::hex(&k)));
                    continue;
                };
                if seq >= records {
                    rep.problem(format!(
                        "holders: {} names record {seq}, past the end",
                        show_lookup(lookup)
                    ));
                }
                from_holders.add(&k);
                return Ok(Some((lookup.to_vec(), seq)));
            }
            Ok(None)
        };
        let mut row = next_row(&mut rep)?;
        let mut listed = Vec::new();
        let mut from_lists = Digest::default();
        for entry in store.scan(Table::Keys, &[], None) {
            let (key, value) = entry.map_err(scan_err)?;
            let mut here = 0u64;
            while let Some((lookup, _)) = &row {
                match lookup.as_slice().cmp(&key) {
                    std::cmp::Ordering::Less => {
                        rep.problem(format!(
                            "keys: {} has holders but no key",
                            show_lookup(lookup)
                        ));
                        let orphan = lookup.clone();
                        while row.as_ref().is_some_and(|(l, _)| *l == orphan) {
                            row = next_row(&mut rep)?;
                        }
                    }
                    std::cmp::Ordering::Equal => {
                        here += 1;
                        row = next_row(&mut rep)?;
                    }
                    std::cmp::Ordering::Greater => break,
                }
            }
            if !is_lookup(&key) || value.is_empty() {
                if here == 0 {
                    rep.problem(no_holders(&key));
                }
                continue;
            }
            match decode_holders(&value, &mut listed) {
                Err(w) => rep.problem(format!("keys: {}: {w}", show_lookup(&key))),
                Ok(()) => {
                    if here > 0 {
                        rep.problem(format!(
                            "keys: {} lists its holders and has {here} holder rows too",
                            show_lookup(&key)
                        ));
                    }
                    for &seq in &listed {
                        if seq >= records {
                            rep.problem(format!(
                                "keys: {} lists record {seq}, past the end",
                                show_lookup(&key)
                            ));
                        }
                        from_lists.add(&holder_key(&key, seq));
                    }
                }
            }
        }
        while let Some((lookup, _)) = row.take() {
            rep.problem(format!("keys: {} has holders but no key", show_lookup(&lookup)));
            row = next_row(&mut rep)?;
            while row.as_ref().is_some_and(|(l, _)| *l == lookup) {
                row = next_row(&mut rep)?;
            }
        }
        from_holders.count += from_lists.count;
        from_holders.sum = from_holders.sum.wrapping_add(from_lists.sum);
        if unreadable > 0 {
            // Their holders cannot be told from stray ones: say so once
            // rather than report every consequence.
            rep.problem(format!(
                "holders: not compared with the records, {unreadable} of which are unreadable"
            ));
        } else if from_holders != from_records {
            rep.problem(format!(
                "holders: the table holds {} rows, the records list {} (or the rows differ)",
                from_holders.count, from_records.count
            ));
        }
        Ok(rep)
    }

    /// Writes every committed record as a JSON line: `seq`, `id`, `hash`
    /// (32 hex digits), `len`, then for a kept record `signature` (numbers)
    /// and `bands` (16 hex digits each: band keys are 64-bit, beyond what
    /// JSON numbers carry exactly), for an alias `duplicate_of` (the kept
    /// record's seq), `reason` and `similarity`. Returns the number of
    /// lines.
    pub fn export(&self, out: &mut dyn Write) -> Result<u64> {
        let mut n = 0u64;
        let write_err = |source| Error::Export { path: self.path().to_owned(), source };
        for r in self.view().iter() {
            let r = r?;
            let kept = r.alias.is_none();
            let line = ExportLine {
                seq: r.seq,
                id: &r.id,
                hash: format!("{:032x}", r.hash),
                len: r.len,
                signature: kept.then_some(&r.signature[..]),
                bands: kept.then(|| r.bands.iter().map(|b| format!("{b:016x}")).collect()),
                duplicate_of: r.alias.map(|a| a.of),
                reason: r.alias.map(|a| a.reason),
                similarity: r.alias.map(|a| a.similarity),
            };
            serde_json::to_writer(&mut *out, &line)
                .map_err(|e| write_err(std::io::Error::other(e)))?;
            out.write_all(b"\n").map_err(write_err)?;
            n += 1;
        }
        out.flush().map_err(write_err)?;
        Ok(n)
    }
}
