//! Byte layouts of keys and values.
//!
//! Keys are big-endian so that the engine's byte order is numeric order:
//! records come back in sequence order, the later holders of a band key in
//! insertion order. Values are little-endian and end with an xxh3-64
//! checksum of everything before it, so a flipped byte anywhere is caught
//! when the value is read (the engine checks its own blocks too, but not
//! what a buggy writer or a hand edit put there).
//!
//! A kept record's value (format 1):
//! ```text
//! u8 format = 1
//! varint id length, id bytes (UTF-8)
//! u128 hash
//! varint len
//! varint band count,      u64 per band key
//! varint signature slots, u32 per slot
//! varint set size,        u64 per shingle hash (ascending, distinct)
//! u64 xxh3-64 of all the bytes above
//! ```
//! A record removed as a near duplicate of a kept one, an *alias*
//! (format 2): its exact hash finds where its text lives.
//! ```text
//! u8 format = 2
//! varint id length, id bytes (UTF-8)
//! u128 hash
//! varint len
//! u64 seq of the kept record (earlier than the alias)
//! u8 reason (0 exact, 1 near, 2 repeat, 3 substring, 4 repetition)
//! f32 similarity to the kept record
//! u64 xxh3-64 of all the bytes above
//! ```
//! Varints are LEB128. Decoding checks every length against the bytes
//! left, so a damaged value is an error, never a panic or a huge
//! allocation.

use neardup_core::ledger::Reason;
use xxhash_rust::xxh3::xxh3_64;

/// Layout tag of a kept record's value.
pub(crate) const RECORD_FORMAT: u8 = 1;
/// Layout tag of an alias's value.
pub(crate) const ALIAS_FORMAT: u8 = 2;

/// A record as stored, returned by [`Index::record`](crate::Index::record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Sequence number: its position in the index's history.
    pub seq: u64,
    /// The record's id.
    pub id: String,
    /// Hash of its canonical text (the exact key).
    pub hash: u128,
    /// Length of its text, in bytes.
    pub len: u64,
    /// One LSH band key per band.
    pub bands: Vec<u64>,
    /// Its MinHash signature.
    pub signature: Vec<u32>,
    /// Its shingle hashes, ascending and distinct.
    pub set: Vec<u64>,
    /// For an alias (a record removed as a duplicate of a kept record,
    /// kept only so that its exact copies find where its text lives): the
    /// kept record. An alias has no band keys, signature or set.
    pub alias: Option<Alias>,
}

/// Where the text of an alias lives ([`Stored::alias`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Alias {
    /// Sequence number of the kept record, earlier than the alias.
    pub of: u64,
    /// Why the alias was removed in its favour.
    pub reason: Reason,
    /// Similarity to it.
    pub similarity: f32,
}

impl Eq for Alias {}

/// A record removed as a duplicate of a kept record, to add with
/// [`Index::add_batch`](crate::Index::add_batch) so that a later exact copy
/// of its text is sent where that text lives (what one run over all
/// batches would say). Only its exact hash is a lookup key.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlias {
    /// The record's id.
    pub id: String,
    /// Hash of its canonical text (the exact key).
    pub hash: u128,
    /// Length of its text, in bytes.
    pub len: u64,
    /// The kept record its text lives in.
    pub of: Target,
    /// Why it was removed in that record's favour.
    pub reason: Reason,
    /// Similarity to that record.
    pub similarity: f32,
}

/// The kept record an alias points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A committed record, by sequence number.
    Seq(u64),
    /// A record of the same batch, by its position in the batch (from 0),
    /// earlier than the alias.
    InBatch(u64),
}

/// One entry of a batch: a kept record or an alias.
#[derive(Debug, Clone, PartialEq)]
pub enum NewEntry {
    /// A kept record, found by exact hash and band keys.
    Record(NewRecord),
    /// A removed record, found by exact hash, pointing to a kept one.
    Alias(NewAlias),
}

impl From<NewRecord> for NewEntry {
    fn from(r: NewRecord) -> NewEntry {
        NewEntry::Record(r)
    }
}

impl From<NewAlias> for NewEntry {
    fn from(a: NewAlias) -> NewEntry {
        NewEntry::Alias(a)
    }
}

impl NewEntry {
    /// The entry's id.
    pub fn id(&self) -> &str {
        match self {
            NewEntry::Record(r) => &r.id,
            NewEntry::Alias(a) => &a.id,
        }
    }

    /// The entry's exact hash.
    pub fn hash(&self) -> u128 {
        match self {
            NewEntry::Record(r) => r.hash,
            NewEntry::Alias(a) => a.hash,
        }
    }

    /// Its band keys (none for an alias).
    pub fn bands(&self) -> &[u64] {
        match self {
            NewEntry::Record(r) => &r.bands,
            NewEntry::Alias(_) => &[],
        }
    }
}

/// A record to add with [`Index::add_batch`](crate::Index::add_batch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecord {
    /// The record's id.
    pub id: String,
    /// Hash of its canonical text (the exact key).
    pub hash: u128,
    /// Length of its text, in bytes.
    pub len: u64,
    /// One LSH band key per band; keys of band `b` are looked up per band.
    pub bands: Vec<u64>,
    /// Its MinHash signature.
    pub signature: Vec<u32>,
    /// Its shingle hashes, ascending and distinct (exact Jaccard needs them).
    pub set: Vec<u64>,
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Encodes a record value into `out` (cleared first).
pub(crate) fn encode_record(r: &NewRecord, out: &mut Vec<u8>) {
    out.clear();
    out.reserve(48 + r.id.len() + 8 * r.bands.len() + 4 * r.signature.len() + 8 * r.set.len());
    out.push(RECORD_FORMAT);
    put_varint(out, r.id.len() as u64);
    out.extend_from_slice(r.id.as_bytes());
    out.extend_from_slice(&r.hash.to_le_bytes());
    put_varint(out, r.len);
    put_varint(out, r.bands.len() as u64);
    for b in &r.bands {
        out.extend_from_slice(&b.to_le_bytes());
    }
    put_varint(out, r.signature.len() as u64);
    for s in &r.signature {
        out.extend_from_slice(&s.to_le_bytes());
    }
    put_varint(out, r.set.len() as u64);
    for s in &r.set {
        out.extend_from_slice(&s.to_le_bytes());
    }
    let sum = xxh3_64(out);
    out.extend_from_slice(&sum.to_le_bytes());
}

fn reason_code(r: Reason) -> u8 {
    match r {
        Reason::Exact => 0,
        Reason::Near => 1,
        Reason::Repeat => 2,
        Reason::Substring => 3,
        Reason::Repetition => 4,
    }
}

fn reason_of(code: u8) -> Option<Reason> {
    Some(match code {
        0 => Reason::Exact,
        1 => Reason::Near,
        2 => Reason::Repeat,
        3 => Reason::Substring,
        4 => Reason::Repetition,
        _ => return None,
    })
}

/// Encodes an alias's value into `out` (cleared first); `of` is the kept
/// record's sequence number, resolved.
pub(crate) fn encode_alias(a: &NewAlias, of: u64, out: &mut Vec<u8>) {
    out.clear();
    out.push(ALIAS_FORMAT);
    put_varint(out, a.id.len() as u64);
    out.extend_from_slice(a.id.as_bytes());
    out.extend_from_slice(&a.hash.to_le_bytes());
    put_varint(out, a.len);
    out.extend_from_slice(&of.to_le_bytes());
    out.push(reason_code(a.reason));
    out.extend_from_slice(&a.similarity.to_le_bytes());
    let sum = xxh3_64(out);
    out.extend_from_slice(&sum.to_le_bytes());
}

/// Reads fields off a byte slice; every read checks the bytes left.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.bytes.len() {
            return Err(format!("truncated: needs {n} more bytes, {} left", self.bytes.len()));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let [b] = self.array::<1>()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("varint longer than 10 bytes".to_owned())
    }

    /// A count of items of `width` bytes each, checked against what is left.
    fn count(&mut self, what: &str, width: usize) -> Result<usize, String> {
        let n = self.varint()?;
        match usize::try_from(n) {
            Ok(n) if n.checked_mul(width).is_some_and(|b| b <= self.bytes.len()) => Ok(n),
            _ => Err(format!("{what} count {n} exceeds the {} bytes left", self.bytes.len())),
        }
    }
}

/// Checks the trailing checksum of a value and returns the bytes before it.
pub(crate) fn checked(value: &[u8]) -> Result<&[u8], String> {
    if value.len() < 8 {
        return Err(format!("{} bytes, too short for a checksum", value.len()));
    }
    let (body, sum) = value.split_at(value.len() - 8);
    let mut want = [0u8; 8];
    want.copy_from_slice(sum);
    let got = xxh3_64(body);
    if got != u64::from_le_bytes(want) {
        return Err(format!(
            "checksum mismatch (stored {:016x}, computed {got:016x})",
            u64::from_le_bytes(want)
        ));
    }
    Ok(body)
}

/// Appends the checksum of `body` to it.
pub(crate) fn seal(mut body: Vec<u8>) -> Vec<u8> {
    let sum = xxh3_64(&body);
    body.extend_from_slice(&sum.to_le_bytes());
    body
}

/// Decodes a record value; `Err` says what is wrong.
pub(crate) fn decode_record(seq: u64, value: &[u8]) -> Result<Stored, String> {
    let body = checked(value)?;
    let mut r = Reader { bytes: body };
    let [format] = r.array::<1>()?;
    if format != RECORD_FORMAT && format != ALIAS_FORMAT {
        return Err(format!(
            "record format {format}, expected {RECORD_FORMAT} (kept) or {ALIAS_FORMAT} (alias)"
        ));
    }
    let n = r.count("id length", 1)?;
    let id =
        std::str::from_utf8(r.take(n)?).map_err(|e| format!("id is not UTF-8: {e}"))?.to_owned();
    let hash = u128::from_le_bytes(r.array()?);
    let len = r.varint()?;
    if format == ALIAS_FORMAT {
        let of = u64::from_le_bytes(r.array()?);
        let [code] = r.array::<1>()?;
        let reason = reason_of(code).ok_or_else(|| format!("reason code {code} is unknown"))?;
        let similarity = f32::from_le_bytes(r.array()?);
        if !r.bytes.is_empty() {
            return Err(format!("{} bytes left over after the alias", r.bytes.len()));
        }
        if of >= seq {
            return Err(format!("alias of record {of}, which is not earlier"));
        }
        let alias = Some(Alias { of, reason, similarity });
        return Ok(Stored {
            seq,
            id,
            hash,
            len,
            bands: vec![],
            signature: vec![],
            set: vec![],
            alias,
        });
    }
    let n = r.count("band", 8)?;
    let mut bands = Vec::with_capacity(n);
    for _ in 0..n {
        bands.push(u64::from_le_bytes(r.array()?));
    }
    let n = r.count("signature", 4)?;
    let mut signature = Vec::with_capacity(n);
    for _ in 0..n {
        signature.push(u32::from_le_bytes(r.array()?));
    }
    let n = r.count("set", 8)?;
    let mut set = Vec::with_capacity(n);
    for _ in 0..n {
        set.push(u64::from_le_bytes(r.array()?));
    }
    if !r.bytes.is_empty() {
        return Err(format!("{} bytes left over after the record", r.bytes.len()));
    }
    Ok(Stored { seq, id, hash, len, bands, signature, set, alias: None })
}

/// Key of a record.
pub(crate) fn record_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// Tag of an exact-hash lookup key.
pub(crate) const EXACT: u8 = 0;
/// Tag of a band lookup key.
pub(crate) const BAND: u8 = 1;

/// Lookup key of an exact hash: tag 0, the hash big-endian (17 bytes).
pub(crate) fn exact_lookup(hash: u128) -> [u8; 17] {
    let mut k = [0u8; 17];
    k[0] = EXACT;
    k[1..].copy_from_slice(&hash.to_be_bytes());
    k
}

/// Lookup key of a band key: tag 1, band and key big-endian (11 bytes).
pub(crate) fn band_lookup(band: u16, key: u64) -> [u8; 11] {
    let mut k = [0u8; 11];
    k[0] = BAND;
    k[1..3].copy_from_slice(&band.to_be_bytes());
    k[3..].copy_from_slice(&key.to_be_bytes());
    k
}

/// Length of the lookup key that starts with `tag`.
pub(crate) fn lookup_len(tag: u8) -> Option<usize> {
    match tag {
        EXACT => Some(17),
        BAND => Some(11),
        _ => None,
    }
}

/// A holder key: the lookup key, then the sequence number big-endian, so
/// a key's holders are adjacent and in history order.
pub(crate) fn holder_key(lookup: &[u8], seq: u64) -> Vec<u8> {
    [lookup, &seq.to_be_bytes()].concat()
}

/// Splits a holder key into its lookup key and sequence number.
pub(crate) fn split_holder(key: &[u8]) -> Option<(&[u8], u64)> {
    let n = lookup_len(*key.first()?)?;
    if key.len() != n + 8 {
        return None;
    }
    let (lookup, seq) = key.split_at(n);
    Some((lookup, be_u64(seq)?))
}

/// Holders a lookup key lists in its own value at most: past this, its
/// holders move to the holders table (see [`encode_holders`]).
pub(crate) const INLINE_HOLDERS: usize = 32;

/// Encodes the value of a lookup key that lists its holders itself:
/// `varint count, varint first seq, varint gap to each next seq`, then the
/// low 32 bits of the xxh3-64 of those bytes. `seqs` ascending, distinct,
/// not empty, at most [`INLINE_HOLDERS`].
///
/// The keys table's values say where a key's holders are. An empty value
/// (every index before this layout, and a key with more than
/// [`INLINE_HOLDERS`]): the rows of the holders table. A list: exactly
/// those, and no row. Most band keys have one holder, so a hit is one point
/// read instead of a scan across every level of the holders table.
pub(crate) fn encode_holders(seqs: &[u64], out: &mut Vec<u8>) {
    out.clear();
    put_varint(out, seqs.len() as u64);
    let mut last = 0;
    for (i, &s) in seqs.iter().enumerate() {
        put_varint(out, if i == 0 { s } else { s - last });
        last = s;
    }
    let sum = xxh3_64(out) as u32;
    out.extend_from_slice(&sum.to_le_bytes());
}

/// Decodes a value of [`encode_holders`] into `out` (cleared first);
/// `Err` says what is wrong.
pub(crate) fn decode_holders(value: &[u8], out: &mut Vec<u64>) -> Result<(), String> {
    out.clear();
    if value.len() < 5 {
        return Err(format!("a holder list of {} bytes is too short", value.len()));
    }
    let (body, sum) = value.split_at(value.len() - 4);
    let stored = u32::from_le_bytes([sum[0], sum[1], sum[2], sum[3]]);
    let got = xxh3_64(body) as u32;
    if got != stored {
        return Err(format!(
            "holder list checksum mismatch (stored {stored:08x}, computed {got:08x})"
        ));
    }
    let mut r = Reader { bytes: body };
    let n = r.count("holder", 1)?;
    if n == 0 || n > INLINE_HOLDERS {
        return Err(format!("a holder list of {n} holders (1 to {INLINE_HOLDERS} fit)"));
    }
    let mut seq = 0u64;
    for i in 0..n {
        let v = r.varint()?;
        seq = match i {
            0 => v,
            _ if v == 0 => return Err("holders listed twice or out of order".to_owned()),
            _ => seq
                .checked_add(v)
                .ok_or_else(|| "a holder past the last sequence number".to_owned())?,
        };
        out.push(seq);
    }
    if !r.bytes.is_empty() {
        return Err(format!("{} bytes left over after the holder list", r.bytes.len()));
    }
    Ok(())
}

/// Checks a key of the keys table.
pub(crate) fn is_lookup(key: &[u8]) -> bool {
    key.first().and_then(|&t| lookup_len(t)) == Some(key.len())
}

/// Readable form of a lookup key, for messages.
pub(crate) fn show_lookup(key: &[u8]) -> String {
    match (key.first(), key.len()) {
        (Some(&EXACT), 17) => format!("hash {}", crate::meta::hex(&key[1..])),
        (Some(&BAND), 11) => {
            format!(
                "band {} key {}",
                u16::from_be_bytes([key[1], key[2]]),
                crate::meta::hex(&key[3..])
            )
        }
        _ => format!("key {}", crate::meta::hex(key)),
    }
}

/// Decodes a big-endian `u64` key (or key suffix) of exactly 8 bytes.
pub(crate) fn be_u64(bytes: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(bytes).ok().map(u64::from_be_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_record() -> impl Strategy<Value = NewRecord> {
        (
            ".{0,20}",
            any::<u128>(),
            any::<u64>(),
            proptest::collection::vec(any::<u64>(), 0..30),
            proptest::collection::vec(any::<u32>(), 0..200),
            proptest::collection::btree_set(any::<u64>(), 0..300),
        )
            .prop_map(|(id, hash, len, bands, signature, set)| NewRecord {
                id,
                hash,
                len,
                bands,
                signature,
                set: set.into_iter().collect(),
            })
    }

    proptest! {
        #[test]
        fn record_round_trips(r in arb_record(), seq in any::<u64>()) {
            let mut v = Vec::new();
            encode_record(&r, &mut v);
            let s = decode_record(seq, &v).unwrap();
            prop_assert_eq!(s.seq, seq);
            prop_assert_eq!(&s.id, &r.id);
            prop_assert_eq!(s.hash, r.hash);
            prop_assert_eq!(s.len, r.len);
            prop_assert_eq!(&s.bands, &r.bands);
            prop_assert_eq!(&s.signature, &r.signature);
            prop_assert_eq!(&s.set, &r.set);
        }

        #[test]
        fn alias_round_trips(
            id in ".{0,20}", hash in any::<u128>(), len in any::<u64>(),
            of in 0u64..1000, gap in 1u64..1000, code in 0u8..5, similarity in 0f32..=1.0,
        ) {
            let reason = reason_of(code).unwrap();
            let a = NewAlias { id: id.clone(), hash, len, of: Target::Seq(of), reason, similarity };
            let mut v = Vec::new();
            encode_alias(&a, of, &mut v);
            let s = decode_record(of + gap, &v).unwrap();
            prop_assert_eq!((s.id, s.hash, s.len), (id, hash, len));
            prop_assert_eq!(s.alias, Some(Alias { of, reason, similarity }));
            prop_assert!(s.bands.is_empty() && s.signature.is_empty() && s.set.is_empty());
            // An alias names an earlier record.
            prop_assert!(decode_record(of, &v).is_err());
            let mut flipped = v.clone();
            flipped[(code as usize * 7) % v.len()] ^= 0x40;
            prop_assert!(decode_record(of + gap, &flipped).is_err());
        }

        #[test]
        fn damaged_records_are_errors_not_panics(
            r in arb_record(),
            pos in any::<prop::sample::Index>(),
            xor in 1u8..=255,
            cut in any::<prop::sample::Index>(),
        ) {
            let mut v = Vec::new();
            encode_record(&r, &mut v);
            let mut flipped = v.clone();
            let i = pos.index(flipped.len());
            flipped[i] ^= xor;
            prop_assert!(decode_record(0, &flipped).is_err());
            let n = cut.index(v.len());
            prop_assert!(decode_record(0, &v[..n]).is_err());
        }

        #[test]
        fn holder_lists_round_trip_and_damage_is_caught(
            seqs in proptest::collection::btree_set(any::<u64>(), 1..=INLINE_HOLDERS),
            pos in any::<prop::sample::Index>(),
            xor in 1u8..=255,
            cut in any::<prop::sample::Index>(),
        ) {
            let seqs: Vec<u64> = seqs.into_iter().collect();
            let mut v = Vec::new();
            encode_holders(&seqs, &mut v);
            let mut got = vec![7];
            decode_holders(&v, &mut got).unwrap();
            prop_assert_eq!(&got, &seqs);
            let mut flipped = v.clone();
            flipped[pos.index(v.len())] ^= xor;
            prop_assert!(decode_holders(&flipped, &mut got).is_err());
            prop_assert!(decode_holders(&v[..cut.index(v.len())], &mut got).is_err());
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            // With a valid checksum, the body is parsed: lengths must be checked.
            let _ = decode_record(0, &seal(bytes.clone()));
            let _ = decode_record(0, &bytes);
            let mut seqs = Vec::new();
            let _ = decode_holders(&bytes, &mut seqs);
            let mut sealed = bytes.clone();
            let sum = xxh3_64(&sealed) as u32;
            sealed.extend_from_slice(&sum.to_le_bytes());
            let _ = decode_holders(&sealed, &mut seqs);
        }
    }

    #[test]
    fn keys_sort_numerically_and_split() {
        assert!(record_key(255) < record_key(256));
        let b = |band, key, seq| holder_key(&band_lookup(band, key), seq);
        assert!(b(1, 5, 9) < b(1, 5, 10));
        assert!(b(1, 5, u64::MAX) < b(1, 6, 0));
        assert!(b(1, u64::MAX, 0) < b(2, 0, 0));
        assert_eq!(split_holder(&b(3, 4, 5)), Some((&band_lookup(3, 4)[..], 5)));
        let e = holder_key(&exact_lookup(9), 2);
        assert_eq!(split_holder(&e), Some((&exact_lookup(9)[..], 2)));
        assert_eq!(split_holder(&e[..20]), None);
        assert_eq!(split_holder(&[7; 19]), None);
        assert!(is_lookup(&exact_lookup(1)) && is_lookup(&band_lookup(1, 2)));
        assert!(!is_lookup(&[1, 2]) && !is_lookup(&[]));
        assert_eq!(be_u64(&record_key(77)), Some(77));
        assert_eq!(be_u64(&[1, 2]), None);
    }
}
