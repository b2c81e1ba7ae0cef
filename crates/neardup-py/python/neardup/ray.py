"""neardup on Ray: the command line's decisions, with Ray doing the shuffles.

``dedup(dataset)`` returns the dataset with the text cut where passages were
cut and a struct column ``neardup`` (``status``, ``reason``, ``duplicate_of``,
``similarity``, ``spans``, ``error``), the same as ``neardup.spark.dedup`` and
the CLI for the same rows and settings; rows come out in the order they were
read.

The plan is ``neardup.spark``'s (read it for the steps). Every step is a Ray
task over Arrow tables, and every per-row step is Rust: analysis, bucket
pairs, verification, the greedy per component, cuts. Between steps the rows
are hash-partitioned by the step's key with the classic Ray shuffle (each map
task splits its table into ``partitions`` parts, each reduce task takes its
part from every map task), so a group (an exact hash, an LSH bucket, a
component) is whole inside one task. Joins are lookups against a table
whose key is unique, partitioned by that key. Components come from
large-star / small-star rounds; the driver holds object references and
reads back one integer per task per round (whether the graph is a forest of
stars yet), never rows.

Ray Data's own ``groupby``/``join`` would do, but each starts actors and
costs seconds per shuffle on a small machine; plain tasks cost
milliseconds, and the plan needs a few dozen shuffles.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, List, Optional, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from neardup import _native
from neardup._plan import ID, ORDER, Plan, analyse, analysis_fields, cut, similarity

try:
    import ray
    import ray.data
except ImportError as e:  # pragma: no cover
    raise ImportError("neardup.ray needs ray: pip install 'neardup[ray]'") from e

#: The position a row was read at (for putting rows back in their blocks).
ROW = "__nd_row"

Ref = Any  # ray.ObjectRef[pa.Table]

_I64 = pa.int64()
_MEMBER = pa.struct([("key", _I64), ("idx", _I64)])
_KEPT_MEMBER = pa.struct([("key", _I64), ("idx", _I64), ("kept", pa.bool_())])
_EDGE = pa.struct([("a", _I64), ("ka", _I64), ("b", _I64), ("kb", _I64), ("sim", pa.float64())])
_SPAN = pa.struct([("offset", _I64), ("length", _I64)])


def _schema(*cols: Any) -> pa.Schema:
    return pa.schema([pa.field(n, t) for n, t in cols])


PAIRS = _schema(("later", _I64), ("earlier", _I64))
EDGES = _schema(("u", _I64), ("v", _I64))
DECISIONS = _schema(("idx", _I64), ("duplicate_of", _I64), ("similarity", pa.float32()))


# --- shuffles and lookups ---------------------------------------------------


def _hash(t: pa.Table, keys: Sequence[str]) -> np.ndarray:
    h = np.zeros(t.num_rows, np.uint64)
    with np.errstate(over="ignore"):
        for k in keys:
            x = t.column(k).to_numpy(zero_copy_only=False).astype(np.int64).view(np.uint64)
            h = (h ^ x) * np.uint64(0x9E3779B97F4A7C15)
            h ^= h >> np.uint64(31)
    return h


@ray.remote
def _split(t: pa.Table, keys: Sequence[str], n: int) -> Any:
    if n == 1:
        return t
    part = (_hash(t, keys) % np.uint64(n)).astype(np.int64)
    order = np.argsort(part, kind="stable")
    t = t.take(pa.array(order))
    ends = np.cumsum(np.bincount(part, minlength=n))
    starts = np.concatenate([[0], ends[:-1]])
    return tuple(t.slice(int(s), int(e - s)) for s, e in zip(starts, ends))


def shuffle(refs: Sequence[Ref], keys: Sequence[str], n: int) -> List[List[Ref]]:
    """``refs`` hash-partitioned by ``keys``: for each of ``n`` partitions,
    its part of every input table."""
    outs = [_split.options(num_returns=n).remote(r, list(keys), n) for r in refs]
    if n == 1:
        return [list(outs)]
    return [[o[i] for o in outs] for i in range(n)]


def _concat(parts: Sequence[pa.Table]) -> pa.Table:
    return pa.concat_tables(list(parts), promote_options="permissive") if len(parts) > 1 else parts[0]


@ray.remote
def _reduce(fn: Callable[..., Any], sizes: Sequence[int], *parts: pa.Table) -> Any:
    tables, at = [], 0
    for s in sizes:
        tables.append(_concat(parts[at : at + s]))
        at += s
    return fn(*tables)


def co_map(
    fn: Callable[..., Any], inputs: Sequence[Any], n: int, num_returns: int = 1
) -> List[Any]:
    """Runs ``fn`` on each of ``n`` partitions of the inputs, each a pair
    (refs, keys): the tables of every input, partitioned alike by their keys."""
    shuffled = [shuffle(refs, keys, n) for refs, keys in inputs]
    out = []
    for i in range(n):
        parts = [s[i] for s in shuffled]
        out.append(
            _reduce.options(num_returns=num_returns).remote(
                fn, [len(p) for p in parts], *[r for p in parts for r in p]
            )
        )
    return out


@ray.remote
def _apply(fn: Callable[[pa.Table], pa.Table], t: pa.Table) -> pa.Table:
    return fn(t)


def each(fn: Callable[[pa.Table], pa.Table], refs: Sequence[Ref]) -> List[Ref]:
    """``fn`` on every table, no shuffle."""
    return [_apply.remote(fn, r) for r in refs]


def lookup(keys: pa.ChunkedArray, right: pa.Table, key: str, cols: Sequence[str]) -> List[pa.Array]:
    """Columns ``cols`` of ``right``'s row whose ``key`` equals each of
    ``keys`` (null where none); ``right``'s key is unique. Works for every
    column type (Acero's join does not take list columns)."""
    at = pc.index_in(keys, value_set=right.column(key).combine_chunks())
    return [right.column(c).take(at) for c in cols]


def _distinct(t: pa.Table, keys: Sequence[str]) -> pa.Table:
    return t.group_by(list(keys), use_threads=False).aggregate([]).select(list(keys))


def _runs(sorted_keys: List[np.ndarray]) -> np.ndarray:
    """Start offsets (plus the end) of runs of equal keys in sorted columns."""
    n = len(sorted_keys[0]) if sorted_keys else 0
    if n == 0:
        return np.zeros(1, np.int64)
    change = np.zeros(n, bool)
    change[0] = True
    for k in sorted_keys:
        change[1:] |= k[1:] != k[:-1]
    return np.append(np.flatnonzero(change), n).astype(np.int64)


def _np(t: pa.Table, c: str) -> np.ndarray:
    return t.column(c).to_numpy(zero_copy_only=False)


def _empty(schema: pa.Schema) -> pa.Table:
    return schema.empty_table()


# --- the driver -----------------------------------------------------------


def dedup(
    dataset: "ray.data.Dataset",
    text: str = "text",
    id: str = "id",
    order: Optional[str] = None,
    on_error: str = "fail",
    partitions: Optional[int] = None,
    **settings: Any,
) -> "ray.data.Dataset":
    """Deduplicates ``dataset`` as ``neardup dedup`` would its rows.

    Arguments as ``neardup.spark.dedup``; ``partitions`` is the number of
    partitions of each shuffle (default: the number of input blocks).
    Returns a dataset with ``text`` cut where modified and a struct column
    ``neardup``, rows in the order read.
    """
    plan = Plan.of(settings, on_error)
    js = plan.settings_json
    if "neardup" in dataset.columns():
        raise ValueError("the input already has a `neardup` column")
    blocks = list(dataset.to_arrow_refs())
    n = partitions or max(1, len(blocks))

    # Positions as read: one integer per block comes back.
    sizes = ray.get(each(lambda t: t.num_rows, blocks)) if blocks else []
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64) if sizes else []

    def prepare(t: pa.Table, start: int) -> pa.Table:
        """The block with its position, order and id columns."""
        if text not in t.column_names:
            raise _native.NeardupError(f"no column `{text}`")
        t = t.append_column(ROW, pa.array(np.arange(start, start + t.num_rows, dtype=np.int64)))
        if order is not None:
            if order not in t.column_names:
                raise ValueError(f"no order column `{order}`")
            o = pc.cast(t.column(order), _I64)
            if o.null_count:
                raise ValueError(f"the order column `{order}` has nulls")
        else:
            o = t.column(ROW)
        t = t.append_column(ORDER, o)
        ids = t.column(id).cast(pa.string()) if id in t.column_names else pc.cast(t.column(ORDER), pa.string())
        t = t.append_column(ID, ids)
        a = pa.Table.from_batches(
            [analyse(js, text, b) for b in t.select([text, ORDER]).to_batches() if b.num_rows],
            schema=pa.schema(analysis_fields()),
        )
        for f in analysis_fields()[:-1]:
            t = t.append_column(f.name, a.column(f.name))
        return t

    rows = [_apply.remote(functools.partial(prepare, start=int(s)), b) for b, s in zip(blocks, starts)]

    info = each(lambda t: t.select([ORDER, ROW, ID]), rows)
    if order is not None:
        twice = ray.get(co_map(_repeated, [(info, [ORDER])], n))
        dups = [x for x in twice if x is not None]
        if dups:
            raise ValueError(f"the order column `{order}` has the value {min(dups)} twice")
    if plan.on_error == "fail":
        first = ray.get(each(_first_error, rows))
        errs = [e for e in first if e is not None]
        if errs:
            o, i, msg = min(errs)
            raise _native.NeardupError(f"row {i}: {msg}")

    cols = ["hash_hi", "hash_lo", "exact_key", "near_key", "band_keys", ORDER]
    alive = each(
        lambda t: t.filter(pc.and_(pc.is_null(t.column("error")), pc.is_null(t.column("filtered")))).select(cols),
        rows,
    )
    if plan.exact:
        both = co_map(_exact, [(alive, ["hash_hi", "hash_lo"])], n, num_returns=2)
        exact_dups = [b[0] for b in both]
        near_in = [b[1] for b in both]
    else:
        exact_dups, near_in = [], alive
    near = _near(plan, near_in, rows, text, n) if plan.near else []

    # Decisions by ORDER: near, and exact ones (a chain through a near
    # decision points at the row kept for it).
    if exact_dups:
        chained = co_map(_chain, [(exact_dups, ["of"]), (near or [ray.put(_empty(DECISIONS))], ["idx"])], n)
    else:
        chained = []
    decisions = [*each(_as_near, near), *chained]
    # The kept row's id; then each decision to its row's block.
    named = co_map(_name, [(decisions, ["duplicate_of"]), (info, [ORDER])], n) if decisions else []
    if order is not None and named:
        named = co_map(_to_row, [(named, [ORDER]), (info, [ORDER])], n)
    elif named:
        named = each(lambda t: t.append_column(ROW, t.column(ORDER)), named)
    by_block = _by_block(named, [int(x) for x in starts], [int(x) for x in sizes])
    out = [
        _assemble.remote(js, text, r, *parts) for r, parts in zip(rows, by_block)
    ]
    return ray.data.from_arrow_refs(out)


def _repeated(t: pa.Table) -> Optional[int]:
    """An order value this partition holds twice, if any."""
    c = t.group_by(ORDER, use_threads=False).aggregate([(ORDER, "count")])
    c = c.filter(pc.greater(c.column(f"{ORDER}_count"), 1))
    return pc.min(c.column(ORDER)).as_py() if c.num_rows else None


def _first_error(t: pa.Table) -> Any:
    bad = t.filter(pc.is_valid(t.column("error")))
    if bad.num_rows == 0:
        return None
    r = bad.sort_by(ORDER).slice(0, 1).to_pylist()[0]
    return (r[ORDER], r[ID], r["error"])


def _exact(t: pa.Table) -> Any:
    """Exact groups (whole in this partition): the copies (``idx``, ``of``)
    and the survivors (near-stage input)."""
    t = t.sort_by([("hash_hi", "ascending"), ("hash_lo", "ascending"), ("exact_key", "ascending"), (ORDER, "ascending")])
    runs = _runs([_np(t, "hash_hi"), _np(t, "hash_lo")])
    first = np.zeros(t.num_rows, bool)
    first[runs[:-1]] = True
    survivor = np.repeat(_np(t, ORDER)[runs[:-1]], np.diff(runs))
    copies = pa.table({"idx": t.column(ORDER).filter(pa.array(~first)), "of": pa.array(survivor[~first], _I64)})
    return copies, t.filter(pa.array(first)).select(["near_key", "band_keys", ORDER])


def _chain(copies: pa.Table, near: pa.Table) -> pa.Table:
    """Exact copies as decisions; a copy of a row removed as a near
    duplicate points at the row kept for it (reason ``near``)."""
    of, sim = lookup(copies.column("of"), near, "idx", ["duplicate_of", "similarity"])
    hit = pc.is_valid(of)
    return pa.table(
        {
            "idx": copies.column("idx"),
            "duplicate_of": pc.if_else(hit, of, copies.column("of")),
            "similarity": pc.if_else(hit, sim, pa.scalar(1.0, pa.float32())),
            "reason": pc.if_else(hit, "near", "exact"),
        }
    )


def _as_near(t: pa.Table) -> pa.Table:
    return t.append_column("reason", pa.array(["near"] * t.num_rows, pa.string()))


def _name(d: pa.Table, info: pa.Table) -> pa.Table:
    (name,) = lookup(d.column("duplicate_of"), info, ORDER, [ID])
    return pa.table(
        {ORDER: d.column("idx"), "dup_id": name, "similarity": d.column("similarity"), "reason": d.column("reason")}
    )


def _to_row(d: pa.Table, info: pa.Table) -> pa.Table:
    (row,) = lookup(d.column(ORDER), info, ORDER, [ROW])
    return d.append_column(ROW, row)


def _by_block(named: List[Ref], starts: List[int], sizes: List[int]) -> List[List[Ref]]:
    """Each block's decisions: a range partition of ``named`` by ``ROW``."""
    nb = len(starts)
    if nb == 0:
        return []
    if not named:
        return [[] for _ in range(nb)]
    bounds = np.asarray(starts[1:], np.int64)

    @ray.remote
    def split(t: pa.Table) -> Any:
        part = np.searchsorted(bounds, _np(t, ROW), side="right")
        pieces = tuple(t.filter(pa.array(part == i)) for i in range(nb))
        return pieces if nb > 1 else pieces[0]

    outs = [split.options(num_returns=nb).remote(r) for r in named]
    if nb == 1:
        return [list(outs)]
    return [[o[i] for o in outs] for i in range(nb)]


@ray.remote
def _assemble(js: str, text: str, t: pa.Table, *decisions: pa.Table) -> pa.Table:
    """The block's rows, text cut where modified, with the ``neardup`` column."""
    if decisions:
        d = _concat(decisions)
        dup, sim, reason = lookup(t.column(ROW), d, ROW, ["dup_id", "similarity", "reason"])
    else:
        dup = reason = pa.nulls(t.num_rows, pa.string())
        sim = pa.nulls(t.num_rows, pa.float32())
    err, filt, reps = t.column("error"), t.column("filtered"), t.column("repeats")
    has_rep = pc.greater(pc.list_value_length(reps), 0)
    removed = pc.or_(pc.is_valid(filt), pc.is_valid(reason))
    status = pc.case_when(
        pa.StructArray.from_arrays(
            [pc.is_valid(err).combine_chunks(), removed.combine_chunks(), has_rep.combine_chunks()], names=["e", "r", "m"]
        ),
        "rejected",
        "removed",
        "modified",
        "kept",
    )
    modified = pc.equal(status, "modified")
    why = pc.if_else(
        pc.is_valid(err),
        pa.scalar(None, pa.string()),
        pc.if_else(pc.is_valid(filt), "repetition", pc.if_else(pc.is_valid(reason), reason, pc.if_else(modified, "repeat", pa.scalar(None, pa.string())))),
    )
    similar = pc.if_else(pc.is_valid(reason), sim, pc.if_else(modified, pa.scalar(1.0, pa.float32()), pa.scalar(None, pa.float32())))
    no_reps = pa.array([[]] * t.num_rows, reps.type)
    cuts = pc.if_else(modified, reps, no_reps)
    t = t.append_column("__nd_cut", cuts)
    t = pa.Table.from_batches([cut(js, text, b) for b in t.to_batches() if b.num_rows], schema=t.schema)
    cuts = _arr(cuts)
    flat = cuts.flatten()
    spans = pa.ListArray.from_arrays(
        cuts.offsets,
        pa.StructArray.from_arrays([flat.field("start"), flat.field("len")], names=["offset", "length"]),
    )
    nd = pa.StructArray.from_arrays(
        [
            _arr(status),
            _arr(why),
            _arr(pc.if_else(pc.is_valid(reason), dup, pa.scalar(None, pa.string()))),
            _arr(similar),
            spans,
            _arr(pc.coalesce(err, filt)),
        ],
        names=["status", "reason", "duplicate_of", "similarity", "spans", "error"],
    )
    drop = {"__nd_cut", ROW, ORDER, ID, *(f.name for f in analysis_fields())}
    keep = [c for c in t.column_names if c not in drop]
    return t.select(keep).append_column("neardup", nd)


def _arr(x: Any) -> pa.Array:
    return x.combine_chunks() if isinstance(x, pa.ChunkedArray) else x


# --- near duplicates ------------------------------------------------------


def _members(t: pa.Table) -> pa.Table:
    """One row per (band, bucket key, member)."""
    bk = t.column("band_keys").combine_chunks()
    flat = pc.list_flatten(bk)
    parent = pc.list_parent_indices(bk).to_numpy(zero_copy_only=False)
    offsets = bk.offsets.to_numpy()
    band = np.arange(len(flat), dtype=np.int64) - offsets[parent]
    return pa.table(
        {
            "band": pa.array(band, _I64),
            "bkey": flat,
            "key": t.column("near_key").take(pa.array(parent)),
            "idx": t.column(ORDER).take(pa.array(parent)),
        }
    )


def _buckets(m: pa.Table, cap: int) -> Any:
    """Buckets whole in this partition: candidate pairs (with both rows'
    keys), and the members of buckets larger than the cap."""
    m = _distinct(m, ["band", "bkey", "key", "idx"]).sort_by(
        [("band", "ascending"), ("bkey", "ascending"), ("key", "ascending"), ("idx", "ascending")]
    )
    runs = _runs([_np(m, "band"), _np(m, "bkey")])
    size = np.diff(runs)
    multi = size > 1
    lens = size[multi]
    sub = m.filter(pa.array(np.repeat(multi, size)))
    lists = pa.ListArray.from_arrays(
        pa.array(np.concatenate([[0], np.cumsum(lens)]).astype(np.int32)),
        pa.StructArray.from_arrays([_arr(sub.column("key")), _arr(sub.column("idx"))], fields=list(_MEMBER)),
    )
    p = _native.bucket_pairs(pa.record_batch([lists], names=["members"]), "members", cap)
    pairs = pa.Table.from_batches([p])
    keys = _distinct(sub.select(["idx", "key"]), ["idx", "key"])
    (ka,) = lookup(pairs.column("later"), keys, "idx", ["key"])
    (kb,) = lookup(pairs.column("earlier"), keys, "idx", ["key"])
    pairs = pa.table({"later": pairs.column("later"), "earlier": pairs.column("earlier"), "ka": ka, "kb": kb})
    big = np.repeat(size > cap + 1, size)
    return _distinct(pairs, ["later", "earlier", "ka", "kb"]), m.filter(pa.array(big))


def _with_text(col: str, out: str) -> Callable[[pa.Table, pa.Table], pa.Table]:
    def f(pairs: pa.Table, texts: pa.Table) -> pa.Table:
        (t,) = lookup(pairs.column(col), texts, ORDER, ["__text"])
        return pairs.append_column(out, t)

    return f


def _near(plan: Plan, near_in: List[Ref], rows: List[Ref], text: str, n: int) -> List[Ref]:
    """Near-duplicate decisions (``idx``, ``duplicate_of``, ``similarity``)."""
    js, cap = plan.settings_json, plan.cap
    members = each(_members, near_in)
    both = co_map(lambda m: _buckets(m, cap), [(members, ["band", "bkey"])], n, num_returns=2)
    pairs = [b[0] for b in both]
    large = [b[1] for b in both]
    texts = each(lambda t: t.select([ORDER, text]).rename_columns([ORDER, "__text"]), rows)

    def verify(p: List[Ref]) -> List[Ref]:
        p = co_map(_with_text("later", "a_text"), [(p, ["later"]), (texts, [ORDER])], n)
        p = co_map(_with_text("earlier", "b_text"), [(p, ["earlier"]), (texts, [ORDER])], n)
        return each(lambda t: _verified(js, t), p)

    verified = co_map(lambda t: _distinct(t, ["later", "earlier", "ka", "kb"]), [(pairs, ["later", "earlier"])], n)
    verified = verify(verified)
    has_large = sum(ray.get(each(lambda t: t.num_rows, large))) > 0
    while True:
        edges = each(lambda t: _passing(plan, t), verified)
        comp = components(each(lambda t: t.select(["later", "earlier"]).rename_columns(["u", "v"]), edges), n)
        tagged = co_map(_tag, [(edges, ["later"]), (comp, ["node"])], n)
        decisions = co_map(_greedy, [(tagged, ["comp"])], n)
        ray.wait(decisions, num_returns=len(decisions))
        if not has_large:
            return decisions
        flagged = co_map(_flag, [(large, ["idx"]), (decisions, ["idx"])], n)
        missed = co_map(_missed(cap), [(flagged, ["band", "bkey"])], n)
        new = co_map(_new, [(missed, ["later", "earlier"]), (verified, ["later", "earlier"])], n)
        if sum(ray.get(each(lambda t: t.num_rows, new))) == 0:
            return decisions
        verified = [*verified, *verify(new)]


def _verified(js: str, t: pa.Table) -> pa.Table:
    if t.num_rows == 0:
        return pa.table({c: t.column(c) for c in ["later", "earlier", "ka", "kb"]} | {"sim": pa.array([], pa.float64())})
    b = t.combine_chunks().to_batches()[0]
    s = similarity(js, b).column("sim")
    return pa.table({c: t.column(c) for c in ["later", "earlier", "ka", "kb"]} | {"sim": s})


def _passing(plan: Plan, t: pa.Table) -> pa.Table:
    if plan.trust:
        return t
    return t.filter(pc.fill_null(pc.greater_equal(t.column("sim"), plan.threshold), False))


def _tag(edges: pa.Table, comp: pa.Table) -> pa.Table:
    (c,) = lookup(edges.column("later"), comp, "node", ["comp"])
    return edges.append_column("comp", c)


def _greedy(t: pa.Table) -> pa.Table:
    """The CLI's greedy inside each component (whole in this partition)."""
    if t.num_rows == 0:
        return _empty(DECISIONS)
    t = t.sort_by([("comp", "ascending")])
    runs = _runs([_np(t, "comp")])
    edges = pa.StructArray.from_arrays(
        [_arr(t.column(c)) for c in ["later", "ka", "earlier", "kb"]] + [_arr(pc.cast(t.column("sim"), pa.float64()))],
        fields=list(_EDGE),
    )
    lists = pa.ListArray.from_arrays(pa.array(runs.astype(np.int32)), edges)
    g = _native.greedy(pa.record_batch([lists], names=["edges"]), "edges")
    return pa.Table.from_batches([g])


def _flag(large: pa.Table, decisions: pa.Table) -> pa.Table:
    """Large-bucket members with whether they are kept so far."""
    (of,) = lookup(large.column("idx"), decisions, "idx", ["duplicate_of"])
    return large.append_column("kept", pc.is_null(of))


def _missed(cap: int) -> Callable[[pa.Table], pa.Table]:
    def f(m: pa.Table) -> pa.Table:
        """Pairs the cap left out of each large bucket (whole here), with keys."""
        m = m.sort_by([("band", "ascending"), ("bkey", "ascending"), ("key", "ascending"), ("idx", "ascending")])
        runs = _runs([_np(m, "band"), _np(m, "bkey")])
        lists = pa.ListArray.from_arrays(
            pa.array(runs.astype(np.int32)),
            pa.StructArray.from_arrays(
                [_arr(m.column("key")), _arr(m.column("idx")), _arr(m.column("kept"))], fields=list(_KEPT_MEMBER)
            ),
        )
        p = pa.Table.from_batches([_native.missed_pairs(pa.record_batch([lists], names=["members"]), "members", cap)])
        keys = _distinct(m.select(["idx", "key"]), ["idx", "key"])
        (ka,) = lookup(p.column("later"), keys, "idx", ["key"])
        (kb,) = lookup(p.column("earlier"), keys, "idx", ["key"])
        return pa.table({"later": p.column("later"), "earlier": p.column("earlier"), "ka": ka, "kb": kb})

    return f


def _new(missed: pa.Table, verified: pa.Table) -> pa.Table:
    k = verified.select(["later", "earlier"])
    return _distinct(missed, ["later", "earlier", "ka", "kb"]).join(k, ["later", "earlier"], join_type="left anti")


# --- components -----------------------------------------------------------


def components(edges: List[Ref], n: int) -> List[Ref]:
    """Connected components of ``edges`` (``u``, ``v``) as (``node``,
    ``comp``: the smallest node of its component), by large-star and
    small-star rounds until the graph is a forest of stars."""
    e = each(_orient, edges)
    while True:
        both = each(lambda t: pa.concat_tables([t, t.select(["v", "u"]).rename_columns(["u", "v"])]), e)
        out = co_map(_large_star, [(both, ["u"])], n, num_returns=3)
        if sum(ray.get([o[2] for o in out])) == 0:
            return [o[1] for o in out]
        large = [o[0] for o in out]
        e = co_map(_small_star, [(large, ["u"])], n)


def _orient(t: pa.Table) -> pa.Table:
    u, v = t.column("u"), t.column("v")
    t = pa.table({"u": pc.max_element_wise(u, v), "v": pc.min_element_wise(u, v)})
    return t.filter(pc.not_equal(t.column("u"), t.column("v")))


def _large_star(t: pa.Table) -> Any:
    """Large star over each node's neighbours (all here); also the node's
    component if the graph is already a forest of stars, and how many
    nodes break that."""
    t = _distinct(t, ["u", "v"])
    g = t.group_by("u", use_threads=False).aggregate([("v", "min"), ("v", "count")])
    (m, cnt) = lookup(t.column("u"), g, "u", ["v_min", "v_count"])
    m = pc.min_element_wise(m, t.column("u"))
    up = pc.greater(t.column("v"), t.column("u"))
    large = pa.table({"u": t.column("v").filter(up), "v": m.filter(up)})
    # A node breaks the star form if it has a smaller neighbour and more
    # than one neighbour.
    u, vmin, vcnt = g.column("u"), g.column("v_min"), g.column("v_count")
    bad = pc.sum(pc.and_(pc.less(vmin, u), pc.greater(vcnt, 1))).as_py() or 0
    comp = pa.table({"node": u, "comp": pc.min_element_wise(vmin, u)})
    return large, comp, bad


def _small_star(t: pa.Table) -> pa.Table:
    """Small star: each node and its smaller neighbours join the smallest."""
    t = _distinct(t, ["u", "v"])
    g = t.group_by("u", use_threads=False).aggregate([("v", "min")])
    (m,) = lookup(t.column("u"), g, "u", ["v_min"])
    m = pc.min_element_wise(m, t.column("u"))
    own = pa.table({"u": g.column("u"), "v": pc.min_element_wise(g.column("v_min"), g.column("u"))})
    return _orient(pa.concat_tables([pa.table({"u": t.column("v"), "v": m}), own]))
