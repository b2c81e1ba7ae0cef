//! The stages as batch functions: Arrow columns in, Arrow columns out, for
//! drivers (Spark, Ray) that do the shuffles themselves and call these
//! inside their map tasks, so that no row is ever looped over in Python.
//!
//! The distributed decision is the single machine's, piece by piece:
//!
//! 1. [`Stages::analyse`]: per row, the canonical hash, the length as
//!    written, the keep keys (exact and near; [`neardup_core::decide::keep_key`]
//!    mapped to order-preserving `int64`: Spark has no unsigned integers),
//!    the passages cut inside the record, the LSH band keys.
//! 2. Exact groups: the driver groups by hash and keeps the row with the
//!    smallest `(exact_key, order)`.
//! 3. Near candidates: the driver groups the surviving rows by `(band,
//!    key)`; [`bucket_pairs`] pairs each member with the first
//!    [`MAX_PARTNERS`] before it in keep order, as the CLI does.
//! 4. [`Stages::similarity`] verifies pairs from their texts.
//! 5. The driver finds connected components of the verified pairs;
//!    [`greedy`] runs the CLI's greedy in keep order inside each (the
//!    decision per component equals the global one).
//! 6. [`missed_pairs`]: the pairs the cap left out in large buckets,
//!    against the records kept so far; the driver verifies them and goes
//!    back to 5 until there are none, which makes the cap exact.
//! 7. [`Stages::cut`]: the text with its in-record repeats cut.

use std::sync::Arc;

use arrow_array::builder::{Int64Builder, ListBuilder, StringBuilder, StructBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float32Array, Float64Array, Int64Array, RecordBatch,
};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};
use neardup_core::decide::{keep_key, near};
use neardup_core::{Analysis, Analyzer, Settings, Similarity, Verify};
use rayon::prelude::*;

use crate::column::TextColumn;
use crate::error::{Error, Result};

pub use neardup_core::decide::near::MAX_PARTNERS;

/// `u64` to `i64`, order kept (the sign bit flipped).
pub fn ordered_i64(x: u64) -> i64 {
    (x ^ (1 << 63)) as i64
}

/// The inverse of [`ordered_i64`].
pub fn ordered_u64(x: i64) -> u64 {
    (x as u64) ^ (1 << 63)
}

fn repeat_fields() -> Fields {
    Fields::from(vec![
        Field::new("start", DataType::Int64, false),
        Field::new("len", DataType::Int64, false),
        Field::new("first", DataType::Int64, false),
    ])
}

/// The schema of [`Stages::analyse`]'s output.
pub fn analysis_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("hash_hi", DataType::Int64, false),
        Field::new("hash_lo", DataType::Int64, false),
        Field::new("len", DataType::Int64, false),
        Field::new("exact_key", DataType::Int64, false),
        Field::new("near_key", DataType::Int64, false),
        Field::new("filtered", DataType::Utf8, true),
        Field::new("error", DataType::Utf8, true),
        Field::new(
            "repeats",
            DataType::List(Arc::new(Field::new("item", DataType::Struct(repeat_fields()), true))),
            false,
        ),
        Field::new(
            "band_keys",
            DataType::List(Arc::new(Field::new("item", DataType::Int64, true))),
            false,
        ),
    ]))
}

/// The stages for one set of settings; build once per worker.
pub struct Stages {
    analyzer: Analyzer,
}

impl Stages {
    /// Stages for `settings`.
    ///
    /// # Errors
    /// Settings that cannot work.
    pub fn new(settings: &Settings) -> Result<Stages> {
        if settings.substrings.is_some() {
            return Err(Error::Usage(
                "repeated substrings (`substrings`) need one suffix array over the whole corpus: \
                 the Spark and Ray drivers do not run them; run `neardup substrings` on the output"
                    .to_string(),
            ));
        }
        Ok(Stages { analyzer: Analyzer::new(settings, false)? })
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        self.analyzer.settings()
    }

    /// The analyzer.
    pub fn analyzer(&self) -> &Analyzer {
        &self.analyzer
    }

    /// Analyses `texts` (any string layout) whose input positions are
    /// `order` (distinct); `field` names the text column in messages.
    /// Returns [`analysis_schema`] columns, one row per text; a null or a
    /// column that is not text gives every row an `error`.
    ///
    /// # Errors
    /// `order` has nulls or another length.
    pub fn analyse(&self, texts: &ArrayRef, order: &ArrayRef, field: &str) -> Result<RecordBatch> {
        let n = texts.len();
        let order = int64(order, "order")?;
        if order.len() != n || order.null_count() > 0 {
            return Err(Error::Usage(
                "the order column must be a non-null integer per row".to_string(),
            ));
        }
        let col = TextColumn::from_array(texts);
        let rows: Vec<std::result::Result<&str, String>> = (0..n)
            .map(|i| match &col {
                Some(c) => c.text(i, field).map_err(|e| e.to_string()),
                None => Err(neardup_io::RecordError::WrongType {
                    field: field.to_string(),
                    found: crate::column::kind(texts.data_type()),
                    expected: "a string",
                }
                .to_string()),
            })
            .collect();
        let analyses: Vec<Option<Analysis>> =
            rows.par_iter().map(|r| r.as_ref().ok().map(|t| self.analyzer.analyse(t))).collect();
        let s = self.settings();
        let containment = s.near.as_ref().is_some_and(|n| n.similarity == Similarity::Containment);
        let mut hi = Int64Builder::with_capacity(n);
        let mut lo = Int64Builder::with_capacity(n);
        let mut len = Int64Builder::with_capacity(n);
        let mut ek = Int64Builder::with_capacity(n);
        let mut nk = Int64Builder::with_capacity(n);
        let mut filtered = StringBuilder::new();
        let mut error = StringBuilder::new();
        let mut repeats = ListBuilder::new(StructBuilder::from_fields(repeat_fields(), 0));
        let mut bands = ListBuilder::new(Int64Builder::new());
        for (i, (a, r)) in analyses.iter().zip(&rows).enumerate() {
            let index = ordered_u64(order.value(i));
            let a_len = a.as_ref().map_or(0, |a| a.len);
            let key = |longest| ordered_i64(keep_key(s.keep, longest, index, a_len).0);
            hi.append_value(a.as_ref().map_or(0, |a| (a.hash >> 64) as u64 as i64));
            lo.append_value(a.as_ref().map_or(0, |a| a.hash as u64 as i64));
            len.append_value(a_len as i64);
            ek.append_value(key(false));
            nk.append_value(key(containment));
            filtered.append_option(a.as_ref().and_then(|a| a.filtered.as_deref()));
            error.append_option(r.as_ref().err());
            let rb = repeats.values();
            for rep in a.iter().flat_map(|a| &a.repeats) {
                for (j, v) in [rep.start, rep.len, rep.first].into_iter().enumerate() {
                    rb.field_builder::<Int64Builder>(j).expect("int64").append_value(v as i64);
                }
                rb.append(true);
            }
            repeats.append(true);
            let keys = a.as_ref().and_then(|a| a.fingerprint.as_ref()).map(|f| &f.band_keys);
            for &k in keys.into_iter().flatten() {
                bands.values().append_value(k as i64);
            }
            bands.append(true);
        }
        let cols: Vec<ArrayRef> = vec![
            Arc::new(hi.finish()),
            Arc::new(lo.finish()),
            Arc::new(len.finish()),
            Arc::new(ek.finish()),
            Arc::new(nk.finish()),
            Arc::new(filtered.finish()),
            Arc::new(error.finish()),
            Arc::new(repeats.finish()),
            Arc::new(bands.finish()),
        ];
        Ok(RecordBatch::try_new(analysis_schema(), cols)?)
    }

    /// The similarity the threshold applies to, of each pair of texts
    /// (`a[i]`, `b[i]`), as the CLI verifies it: exact Jaccard (or
    /// containment) of the shingle sets, or the MinHash estimate.
    ///
    /// # Errors
    /// Columns that are not text, or of other lengths; near duplicates off.
    pub fn similarity(&self, a: &ArrayRef, b: &ArrayRef) -> Result<Float64Array> {
        let Some(near) = self.settings().near.as_ref() else {
            return Err(Error::Usage("near duplicates are off".to_string()));
        };
        let (Some(ta), Some(tb)) = (TextColumn::from_array(a), TextColumn::from_array(b)) else {
            return Err(Error::Usage("similarity takes two string columns".to_string()));
        };
        if ta.len() != tb.len() {
            return Err(Error::Usage("similarity takes two columns of one length".to_string()));
        }
        let (verify, containment) = (near.verify, near.similarity == Similarity::Containment);
        let sims: Vec<Option<f64>> = (0..ta.len())
            .into_par_iter()
            .map(|i| {
                let (x, y) = (ta.get(i)?, tb.get(i)?);
                let (fx, fy) =
                    (self.analyzer.analyse(x).fingerprint?, self.analyzer.analyse(y).fingerprint?);
                Some(match verify {
                    Verify::Jaccard if containment => neardup_sketch_containment(&fx.set, &fy.set),
                    Verify::Jaccard => neardup_sketch_jaccard(&fx.set, &fy.set),
                    Verify::Signature | Verify::None => {
                        neardup_sketch_estimate(&fx.signature, &fy.signature)
                    }
                })
            })
            .collect();
        Ok(sims.into_iter().collect())
    }

    /// Each text with its in-record repeats (`repeats`, as
    /// [`Stages::analyse`] returns them) cut; the same string layout.
    ///
    /// # Errors
    /// Columns of other types or lengths, spans outside a text.
    pub fn cut(&self, texts: &ArrayRef, repeats: &ArrayRef) -> Result<ArrayRef> {
        let t = TextColumn::from_array(texts)
            .ok_or_else(|| Error::Usage("cut takes a string column".to_string()))?;
        let lists = repeats
            .as_list_opt::<i32>()
            .ok_or_else(|| Error::Usage("repeats must be a list of structs".to_string()))?;
        if lists.len() != t.len() {
            return Err(Error::Usage("texts and repeats differ in length".to_string()));
        }
        let mut out: Vec<Option<String>> = Vec::with_capacity(t.len());
        let mut buf = String::new();
        for i in 0..t.len() {
            let Some(text) = t.get(i) else {
                out.push(None);
                continue;
            };
            let spans = if lists.is_null(i) { Vec::new() } else { spans(&lists.value(i))? };
            if !spans_fit(text, &spans) {
                return Err(Error::Usage(format!("row {i}: a cut falls outside its text")));
            }
            neardup_core::analysis::cut_into(text, spans.into_iter(), &mut buf);
            out.push(Some(buf.clone()));
        }
        Ok(match t {
            TextColumn::Utf8(_) => Arc::new(arrow_array::StringArray::from(out)),
            TextColumn::Large(_) => Arc::new(arrow_array::LargeStringArray::from(out)),
            TextColumn::View(_) => Arc::new(arrow_array::StringViewArray::from(out)),
        })
    }
}

fn neardup_sketch_jaccard(a: &[u64], b: &[u64]) -> f64 {
    neardup_sketch::jaccard::jaccard(a, b)
}

fn neardup_sketch_containment(a: &[u64], b: &[u64]) -> f64 {
    neardup_sketch::jaccard::containment(a, b)
}

fn neardup_sketch_estimate(a: &[u32], b: &[u32]) -> f64 {
    neardup_sketch::estimate_jaccard(a, b)
}

/// Whether every span is inside `text` and on character boundaries.
fn spans_fit(text: &str, spans: &[(u64, u64)]) -> bool {
    spans.iter().all(|&(s, l)| {
        let (s, e) = (s as usize, (s + l) as usize);
        e <= text.len() && text.is_char_boundary(s) && text.is_char_boundary(e)
    })
}

/// `(start, len)` of a list of repeat structs.
fn spans(a: &ArrayRef) -> Result<Vec<(u64, u64)>> {
    let s = a
        .as_struct_opt()
        .ok_or_else(|| Error::Usage("repeats must be a list of structs".to_string()))?;
    let start = int64(s.column(0), "start")?;
    let len = int64(s.column(1), "len")?;
    Ok((0..s.len()).map(|i| (start.value(i) as u64, len.value(i) as u64)).collect())
}

fn int64<'a>(a: &'a ArrayRef, what: &str) -> Result<&'a Int64Array> {
    a.as_primitive_opt::<Int64Type>()
        .ok_or_else(|| Error::Usage(format!("`{what}` must be int64, not {}", a.data_type())))
}

/// Members of one bucket per row: `list<struct<key: int64, idx: int64>>`,
/// plus, for [`missed_pairs`], `kept: bool`.
fn members(list: &ArrayRef, i: usize, with_kept: bool) -> Result<Vec<(i64, i64, bool)>> {
    let l = list
        .as_list_opt::<i32>()
        .ok_or_else(|| Error::Usage("members must be a list of structs".to_string()))?;
    let v = l.value(i);
    let s = v
        .as_struct_opt()
        .ok_or_else(|| Error::Usage("members must be a list of structs".to_string()))?;
    let key = int64(s.column(0), "key")?;
    let idx = int64(s.column(1), "idx")?;
    let kept: Option<&BooleanArray> = if with_kept { s.column(2).as_boolean_opt() } else { None };
    if with_kept && kept.is_none() {
        return Err(Error::Usage("members need a boolean `kept`".to_string()));
    }
    let mut m: Vec<(i64, i64, bool)> = (0..s.len())
        .map(|j| (key.value(j), idx.value(j), kept.is_none_or(|k| k.value(j))))
        .collect();
    m.sort_unstable();
    m.dedup_by_key(|x| x.1);
    Ok(m)
}

/// The schema of a pair batch: `later`, `earlier` (input positions).
pub fn pair_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("later", DataType::Int64, false),
        Field::new("earlier", DataType::Int64, false),
    ]))
}

fn pair_batch(later: Vec<i64>, earlier: Vec<i64>) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        pair_schema(),
        vec![Arc::new(Int64Array::from(later)), Arc::new(Int64Array::from(earlier))],
    )?)
}

/// Candidate pairs of each bucket (row): each member paired with the first
/// `cap` members before it in keep order (`(key, idx)` ascending), as
/// [`near::bucket_pairs`] does on one machine.
///
/// # Errors
/// A column of another type.
pub fn bucket_pairs(members_col: &ArrayRef, cap: usize) -> Result<RecordBatch> {
    let (mut later, mut earlier) = (Vec::new(), Vec::new());
    for i in 0..members_col.len() {
        let m = members(members_col, i, false)?;
        let ranks: Vec<u32> = (0..m.len() as u32).collect();
        near::bucket_pairs(&ranks, cap, |l, e| {
            later.push(m[l as usize].1);
            earlier.push(m[e as usize].1);
        });
    }
    pair_batch(later, earlier)
}

/// The pairs `(later, kept earlier)` of each bucket that
/// [`bucket_pairs`] with `cap` left out ([`near::missed_pairs`]); members
/// carry their current `kept` flag.
///
/// # Errors
/// A column of another type.
pub fn missed_pairs(members_col: &ArrayRef, cap: usize) -> Result<RecordBatch> {
    let (mut later, mut earlier) = (Vec::new(), Vec::new());
    for i in 0..members_col.len() {
        let m = members(members_col, i, true)?;
        let ranks: Vec<u32> = (0..m.len() as u32).collect();
        let kept: Vec<bool> = m.iter().map(|x| x.2).collect();
        near::missed_pairs(&ranks, cap, &kept, |l, e| {
            later.push(m[l as usize].1);
            earlier.push(m[e as usize].1);
        });
    }
    pair_batch(later, earlier)
}

/// The schema of [`greedy`]'s output.
pub fn decision_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("idx", DataType::Int64, false),
        Field::new("duplicate_of", DataType::Int64, false),
        Field::new("similarity", DataType::Float32, false),
    ]))
}

/// The CLI's greedy in keep order, per component (row): `edges` is
/// `list<struct<a, ka, b, kb: int64, sim: float64>>`, the verified pairs
/// that reach the threshold between records `a` and `b` with near keys
/// `ka`, `kb`. Returns one row per record removed: its `idx`, the kept
/// record's, and their similarity.
///
/// # Errors
/// A column of another type.
pub fn greedy(edges_col: &ArrayRef) -> Result<RecordBatch> {
    let l = edges_col
        .as_list_opt::<i32>()
        .ok_or_else(|| Error::Usage("edges must be a list of structs".to_string()))?;
    let (mut idx, mut of, mut sims) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..l.len() {
        let v = l.value(i);
        let s = v
            .as_struct_opt()
            .ok_or_else(|| Error::Usage("edges must be a list of structs".to_string()))?;
        let (a, ka, b, kb) = (
            int64(s.column(0), "a")?,
            int64(s.column(1), "ka")?,
            int64(s.column(2), "b")?,
            int64(s.column(3), "kb")?,
        );
        let sim = s
            .column(4)
            .as_primitive_opt::<Float64Type>()
            .ok_or_else(|| Error::Usage("`sim` must be float64".to_string()))?;
        // Nodes in keep order; ranks are places in it.
        let mut nodes: Vec<(i64, i64)> = (0..s.len())
            .flat_map(|j| [(ka.value(j), a.value(j)), (kb.value(j), b.value(j))])
            .collect();
        nodes.sort_unstable();
        nodes.dedup();
        let rank = |key: (i64, i64)| nodes.binary_search(&key).map(|r| r as u32);
        let mut pairs: Vec<(u32, u32, f64)> = Vec::with_capacity(s.len());
        for j in 0..s.len() {
            let (ra, rb) = (rank((ka.value(j), a.value(j))), rank((kb.value(j), b.value(j))));
            let (Ok(ra), Ok(rb)) = (ra, rb) else { continue };
            if ra != rb {
                pairs.push((ra.max(rb), ra.min(rb), sim.value(j)));
            }
        }
        pairs.sort_unstable_by_key(|p| (p.0, p.1));
        pairs.dedup_by_key(|p| (p.0, p.1));
        let mut it = pairs.iter();
        let mut cur = 0usize;
        let decisions = near::greedy(
            nodes.len(),
            || Ok::<_, ()>(it.next().map(|&(l, e, _)| (l, e))),
            |l, e| {
                // Pairs come sorted: find this one from where the last was.
                while cur < pairs.len() && (pairs[cur].0, pairs[cur].1) < (l, e) {
                    cur += 1;
                }
                Ok(pairs.get(cur).map_or(0.0, |p| p.2))
            },
            0.0,
            true,
            None,
        )
        .map_err(|()| Error::Usage("greedy failed".to_string()))?;
        for (r, d) in decisions.iter().enumerate() {
            if let Some((e, s)) = d {
                idx.push(nodes[r].1);
                of.push(nodes[*e as usize].1);
                sims.push(*s);
            }
        }
    }
    Ok(RecordBatch::try_new(
        decision_schema(),
        vec![
            Arc::new(Int64Array::from(idx)),
            Arc::new(Int64Array::from(of)),
            Arc::new(Float32Array::from(sims)),
        ],
    )?)
}
