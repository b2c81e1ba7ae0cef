//! The values of the meta table: format, settings, commit state, batches.
//!
//! ```text
//! "format"                 "NDIX", u32 format version               + checksum
//! "settings"               canonical JSON of the settings           + checksum
//! "fingerprint"            32 hex digits of xxh3-128(settings)      + checksum
//! "state"                  next_seq u64, batches u64,
//!                          shape: u8 (0 none, 1 some), bands u32, slots u32,
//!                          aliases u64                              + checksum
//! "batch" + key (16 bytes) number u64, first_seq u64, count u64     + checksum
//! "bnum" + number (u64 BE) key (16 bytes), first_seq u64, count u64 + checksum
//! ```
//! `state` and the two batch entries of a batch are written together in one
//! engine write: that write is the batch's commit.

use crate::codec::{checked, seal};

/// Magic at the start of the format value.
pub(crate) const MAGIC: &[u8; 4] = b"NDIX";
/// Layout version this build writes.
/// (1: kept records only; 2: aliases too, counted in the state; 3: lookup
/// keys may list their holders in their value.)
pub const FORMAT_VERSION: u32 = 3;
/// The oldest layout this build reads: a version-2 index is a version-3
/// index whose keys all keep their holders in rows. Its first add marks it
/// 3, so that builds that know only 2 (which would read past the lists)
/// refuse it.
pub const OLDEST_READABLE: u32 = 2;

pub(crate) const FORMAT: &[u8] = b"format";
pub(crate) const SETTINGS: &[u8] = b"settings";
pub(crate) const FINGERPRINT: &[u8] = b"fingerprint";
pub(crate) const STATE: &[u8] = b"state";
pub(crate) const BATCH: &[u8] = b"batch";
pub(crate) const BATCH_NUMBER: &[u8] = b"bnum";

/// How many band keys and signature slots every record of an index has;
/// fixed by its first record with band keys. A record without band keys
/// (an alias, a text too short to shingle) fits any shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    pub(crate) bands: u32,
    pub(crate) slots: u32,
}

/// The committed state: what readers may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct State {
    /// Records committed; the next batch starts at this sequence number.
    pub(crate) next_seq: u64,
    /// Batches committed.
    pub(crate) batches: u64,
    pub(crate) shape: Option<Shape>,
    /// Of the records, how many are aliases.
    pub(crate) aliases: u64,
}

/// A committed batch, as [`Index::committed_batch`](crate::Index::committed_batch)
/// returns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BatchInfo {
    /// Sequence number of its first record.
    pub first_seq: u64,
    /// Its records: `first_seq..first_seq + count`.
    pub count: u64,
    /// Its position among the index's batches, from 0.
    pub number: u64,
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

/// A checked body of exactly `len` bytes.
fn body(value: &[u8], len: usize) -> Result<&[u8], String> {
    let b = checked(value)?;
    if b.len() != len {
        return Err(format!("{} bytes, expected {len}", b.len()));
    }
    Ok(b)
}

pub(crate) fn encode_format(version: u32) -> Vec<u8> {
    let mut v = MAGIC.to_vec();
    v.extend_from_slice(&version.to_le_bytes());
    seal(v)
}

/// The format version, or what is wrong.
pub(crate) fn decode_format(value: &[u8]) -> Result<u32, String> {
    let b = body(value, 8)?;
    if &b[..4] != MAGIC {
        return Err("bad magic".to_owned());
    }
    Ok(u32_at(b, 4))
}

pub(crate) fn encode_text(text: &str) -> Vec<u8> {
    seal(text.as_bytes().to_vec())
}

pub(crate) fn decode_text(value: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(checked(value)?).map_err(|e| format!("not UTF-8: {e}"))
}

pub(crate) fn encode_state(s: &State) -> Vec<u8> {
    let mut v = Vec::with_capacity(41);
    v.extend_from_slice(&s.next_seq.to_le_bytes());
    v.extend_from_slice(&s.batches.to_le_bytes());
    let shape = s.shape.unwrap_or(Shape { bands: 0, slots: 0 });
    v.push(u8::from(s.shape.is_some()));
    v.extend_from_slice(&shape.bands.to_le_bytes());
    v.extend_from_slice(&shape.slots.to_le_bytes());
    v.extend_from_slice(&s.aliases.to_le_bytes());
    seal(v)
}

pub(crate) fn decode_state(value: &[u8]) -> Result<State, String> {
    let b = body(value, 33)?;
    let shape = match b[16] {
        0 => None,
        1 => Some(Shape { bands: u32_at(b, 17), slots: u32_at(b, 21) }),
        x => return Err(format!("shape flag {x}, expected 0 or 1")),
    };
    Ok(State { next_seq: u64_at(b, 0), batches: u64_at(b, 8), shape, aliases: u64_at(b, 25) })
}

pub(crate) fn batch_key(key: &[u8; 16]) -> Vec<u8> {
    [BATCH, key.as_slice()].concat()
}

pub(crate) fn batch_number_key(number: u64) -> Vec<u8> {
    [BATCH_NUMBER, number.to_be_bytes().as_slice()].concat()
}

pub(crate) fn encode_batch(info: &BatchInfo) -> Vec<u8> {
    let mut v = Vec::with_capacity(32);
    for x in [info.number, info.first_seq, info.count] {
        v.extend_from_slice(&x.to_le_bytes());
    }
    seal(v)
}

pub(crate) fn decode_batch(value: &[u8]) -> Result<BatchInfo, String> {
    let b = body(value, 24)?;
    Ok(BatchInfo { number: u64_at(b, 0), first_seq: u64_at(b, 8), count: u64_at(b, 16) })
}

pub(crate) fn encode_batch_number(key: &[u8; 16], info: &BatchInfo) -> Vec<u8> {
    let mut v = key.to_vec();
    v.extend_from_slice(&info.first_seq.to_le_bytes());
    v.extend_from_slice(&info.count.to_le_bytes());
    seal(v)
}

/// The batch key, first seq and count of a `bnum` entry.
pub(crate) fn decode_batch_number(value: &[u8]) -> Result<([u8; 16], u64, u64), String> {
    let b = body(value, 32)?;
    let mut key = [0u8; 16];
    key.copy_from_slice(&b[..16]);
    Ok((key, u64_at(b, 16), u64_at(b, 24)))
}

/// Hex of a batch key, for messages.
pub(crate) fn hex(key: &[u8]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_values_round_trip_and_catch_damage() {
        let s = State {
            next_seq: 7,
            batches: 2,
            shape: Some(Shape { bands: 21, slots: 128 }),
            aliases: 3,
        };
        assert_eq!(decode_state(&encode_state(&s)), Ok(s));
        let s0 = State::default();
        assert_eq!(decode_state(&encode_state(&s0)), Ok(s0));
        let i = BatchInfo { first_seq: 10, count: 5, number: 3 };
        assert_eq!(decode_batch(&encode_batch(&i)), Ok(i));
        assert_eq!(decode_batch_number(&encode_batch_number(&[7; 16], &i)), Ok(([7; 16], 10, 5)));
        assert_eq!(decode_format(&encode_format(FORMAT_VERSION)), Ok(FORMAT_VERSION));
        assert_eq!(decode_format(&encode_format(OLDEST_READABLE)), Ok(OLDEST_READABLE));
        let mut v = encode_state(&s);
        v[3] ^= 1;
        assert!(decode_state(&v).is_err());
        assert!(decode_batch(&encode_state(&s)).is_err());
        assert!(decode_format(&[]).is_err());
    }
}
