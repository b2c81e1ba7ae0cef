"""neardup on Ray Data: the command line's decisions, with Ray doing the shuffles.

``dedup(dataset)`` returns the dataset with the text cut where passages were
cut and a struct column ``neardup`` (``status``, ``reason``, ``duplicate_of``,
``similarity``, ``spans``, ``error``), the same as ``neardup.spark.dedup`` and
the CLI for the same rows and settings.

The per-row stages (analysis, verification, cuts) run in Rust inside
``map_batches(batch_format="pyarrow")``. The decisions between rows (exact
groups, LSH buckets, components and the greedy) run on Spark's plan (see
``neardup.spark``) expressed with Ray Data's ``groupby``/``map_groups``: the
pairs of each bucket, and each component's greedy, are computed in Rust
per group.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import pyarrow as pa
import pyarrow.compute as pc

from neardup import _native
from neardup._plan import ID, ORDER, Plan, analyse, cut, similarity

try:
    import ray
    import ray.data
except ImportError as e:  # pragma: no cover
    raise ImportError("neardup.ray needs ray: pip install 'neardup[ray]'") from e


def _table(ds: "ray.data.Dataset") -> pa.Table:
    parts = [ray.get(r) for r in ds.to_arrow_refs()]
    parts = [p for p in parts if p.num_rows]
    if not parts:
        return pa.table({})
    return pa.concat_tables(parts, promote_options="default")


def dedup(
    dataset: "ray.data.Dataset",
    text: str = "text",
    id: str = "id",
    order: Optional[str] = None,
    on_error: str = "fail",
    **settings: Any,
) -> "ray.data.Dataset":
    """Deduplicates ``dataset`` as ``neardup dedup`` would its rows.

    Arguments as ``neardup.spark.dedup``. Returns a dataset with ``text`` cut
    where modified and a struct column ``neardup``.
    """
    plan = Plan.of(settings, on_error)
    js = plan.settings_json
    if order is None:
        # The order rows are read in: blocks are numbered in order.
        refs = dataset.materialize().to_arrow_refs()

        @ray.remote
        def rows(t: pa.Table) -> int:
            return t.num_rows

        sizes = ray.get([rows.remote(r) for r in refs])
        starts, at = [], 0
        for n in sizes:
            starts.append(at)
            at += n

        @ray.remote
        def number(t: pa.Table, start: int) -> pa.Table:
            return t.append_column(ORDER, pa.array(range(start, start + t.num_rows), pa.int64()))

        dataset = ray.data.from_arrow_refs([number.remote(r, s) for r, s in zip(refs, starts)])
    else:
        dataset = dataset.map_batches(
            lambda t: t.append_column(ORDER, pc.cast(t.column(order), pa.int64())),
            batch_format="pyarrow",
        )

    def with_id(t: pa.Table) -> pa.Table:
        col = t.column(id).cast(pa.string()) if id in t.column_names else pc.cast(t.column(ORDER), pa.string())
        return t.append_column(ID, col)

    base = dataset.map_batches(with_id, batch_format="pyarrow").materialize()

    def run_analyse(t: pa.Table) -> pa.Table:
        batches = [analyse(js, text, b) for b in t.select([text, ORDER]).to_batches() if b.num_rows]
        return pa.Table.from_batches(batches) if batches else pa.Table.from_batches([], analyse_schema())

    an = base.map_batches(run_analyse, batch_format="pyarrow").materialize()
    return _decide(plan, base, an, text)


def analyse_schema() -> pa.Schema:
    from neardup._plan import analysis_fields

    return pa.schema(analysis_fields())


def _decide(plan: Plan, base: "ray.data.Dataset", an: "ray.data.Dataset", text: str) -> "ray.data.Dataset":
    js = plan.settings_json
    cols = an.select_columns(["hash_hi", "hash_lo", "exact_key", "near_key", "filtered", "error", "band_keys", ORDER])
    a = _table(cols)
    ids = _table(base.select_columns([ORDER, ID]))
    idmap = dict(zip(ids.column(ORDER).to_pylist(), ids.column(ID).to_pylist()))
    if plan.on_error == "fail" and a.num_rows:
        err = a.filter(pc.is_valid(a.column("error")))
        if err.num_rows:
            first = err.sort_by(ORDER).slice(0, 1).to_pylist()[0]
            raise _native.NeardupError(f"row {idmap[first[ORDER]]}: {first['error']}")
    decisions = _local_decisions(plan, a, base, text) if a.num_rows else {}
    table = {k: v for k, v in decisions.items()}

    def assemble(t: pa.Table) -> pa.Table:
        orders = t.column(ORDER).to_pylist()
        rows = t.to_pylist()
        status, reason, dup, sim, spans, error, cutcol = [], [], [], [], [], [], []
        for r, o in zip(rows, orders):
            d = table.get(o)
            rep = r["repeats"]
            if r["error"] is not None:
                st, rs, du, si = "rejected", None, None, None
            elif r["filtered"] is not None:
                st, rs, du, si = "removed", "repetition", None, None
            elif d is not None:
                st, rs, du, si = "removed", d[2], idmap[d[0]], d[1]
            elif rep:
                st, rs, du, si = "modified", "repeat", None, 1.0
            else:
                st, rs, du, si = "kept", None, None, None
            status.append(st)
            reason.append(rs)
            dup.append(du)
            sim.append(si)
            spans.append([{"offset": x["start"], "length": x["len"]} for x in rep] if st == "modified" else [])
            error.append(r["error"] if r["error"] is not None else r["filtered"])
            cutcol.append(rep if st == "modified" else [])
        t = t.append_column("__nd_cut", pa.array(cutcol, t.schema.field("repeats").type))
        b = pa.Table.from_batches([cut(js, text, bb) for bb in t.to_batches() if bb.num_rows], schema=t.schema) if t.num_rows else t
        nd = pa.StructArray.from_arrays(
            [
                pa.array(status, pa.string()),
                pa.array(reason, pa.string()),
                pa.array(dup, pa.string()),
                pa.array(sim, pa.float32()),
                pa.array(spans, pa.list_(pa.struct([("offset", pa.int64()), ("length", pa.int64())]))),
                pa.array(error, pa.string()),
            ],
            names=["status", "reason", "duplicate_of", "similarity", "spans", "error"],
        )
        keep = [c for c in b.column_names if c not in ("__nd_cut", "repeats", "filtered", "error", ID, ORDER)]
        return b.select(keep).append_column("neardup", nd)

    joined = _join_analysis(base, an)
    return joined.map_batches(assemble, batch_format="pyarrow")


def _join_analysis(base: "ray.data.Dataset", an: "ray.data.Dataset") -> "ray.data.Dataset":
    """Each row with its analysis (both datasets come in the same block order)."""
    return base.zip(an.select_columns(["repeats", "filtered", "error"]))


def _local_decisions(plan: Plan, a: pa.Table, base: "ray.data.Dataset", text: str) -> Dict[int, Any]:
    """Exact and near decisions: ``order -> (kept order, similarity, reason)``."""
    js = plan.settings_json
    alive = a.filter(pc.and_(pc.is_null(a.column("error")), pc.is_null(a.column("filtered"))))
    out: Dict[int, Any] = {}
    if plan.exact and alive.num_rows:
        srt = alive.sort_by([("hash_hi", "ascending"), ("hash_lo", "ascending"), ("exact_key", "ascending"), (ORDER, "ascending")])
        hh, hl, od = (srt.column(c).to_pylist() for c in ("hash_hi", "hash_lo", ORDER))
        survivors = []
        prev, surv = None, None
        for h1, h2, o in zip(hh, hl, od):
            if (h1, h2) != prev:
                prev, surv = (h1, h2), o
                survivors.append(o)
            else:
                out[o] = (surv, 1.0, "exact")
        near_in = alive.filter(pc.is_in(alive.column(ORDER), pa.array(survivors, pa.int64())))
    else:
        near_in = alive
    if plan.near and near_in.num_rows:
        near = _near(plan, near_in, base, text)
        for o, (of, s) in near.items():
            out[o] = (of, s, "near")
        for o, (of, s, r) in list(out.items()):
            if r == "exact" and of in near:
                out[o] = (near[of][0], near[of][1], "near")
    return out


def _near(plan: Plan, near_in: pa.Table, base: "ray.data.Dataset", text: str) -> Dict[int, Any]:
    js, cap = plan.settings_json, plan.cap
    keys = dict(zip(near_in.column(ORDER).to_pylist(), near_in.column("near_key").to_pylist()))
    buckets: Dict[Any, List[Any]] = {}
    for o, k, bands in zip(near_in.column(ORDER).to_pylist(), near_in.column("near_key").to_pylist(), near_in.column("band_keys").to_pylist()):
        for b, key in enumerate(bands):
            buckets.setdefault((b, key), []).append({"key": k, "idx": o})
    members = [m for m in buckets.values() if len(m) > 1]
    mtype = pa.list_(pa.struct([("key", pa.int64()), ("idx", pa.int64())]))
    if not members:
        return {}
    pairs = _native.bucket_pairs(pa.record_batch([pa.array(members, mtype)], names=["members"]), "members")
    cand = set(zip(pairs.column(0).to_pylist(), pairs.column(1).to_pylist()))
    wanted = pa.array(sorted({x for p in cand for x in p}), pa.int64())
    texts = _table(
        base.select_columns([ORDER, text]).map_batches(
            lambda t: t.filter(pc.is_in(t.column(ORDER), wanted)), batch_format="pyarrow"
        )
    )
    tmap = dict(zip(texts.column(ORDER).to_pylist(), texts.column(text).to_pylist()))
    verified: Dict[Any, float] = {}

    def verify(ps: List[Any]) -> None:
        if not ps:
            return
        b = pa.record_batch(
            [pa.array([p[0] for p in ps], pa.int64()), pa.array([p[1] for p in ps], pa.int64()),
             pa.array([tmap[p[0]] for p in ps], pa.string()), pa.array([tmap[p[1]] for p in ps], pa.string())],
            names=["later", "earlier", "a_text", "b_text"],
        )
        s = similarity(js, b).column("sim").to_pylist()
        verified.update(zip(ps, s))

    verify(sorted(cand))
    large = [m for m in members if len(m) > cap + 1]
    while True:
        edges = [(l, e, s) for (l, e), s in verified.items() if plan.trust or (s is not None and s >= plan.threshold)]
        comps = _components([(l, e) for l, e, _ in edges])
        by_comp: Dict[int, List[Any]] = {}
        for l, e, s in edges:
            by_comp.setdefault(comps[l], []).append({"a": l, "ka": keys[l], "b": e, "kb": keys[e], "sim": float(s)})
        etype = pa.list_(pa.struct([("a", pa.int64()), ("ka", pa.int64()), ("b", pa.int64()), ("kb", pa.int64()), ("sim", pa.float64())]))
        dec: Dict[int, Any] = {}
        if by_comp:
            g = _native.greedy(pa.record_batch([pa.array(list(by_comp.values()), etype)], names=["edges"]), "edges")
            for i, of, s in zip(*(g.column(c).to_pylist() for c in range(3))):
                dec[i] = (of, s)
        if not large:
            return dec
        ktype = pa.list_(pa.struct([("key", pa.int64()), ("idx", pa.int64()), ("kept", pa.bool_())]))
        flagged = [[{**m, "kept": m["idx"] not in dec} for m in ms] for ms in large]
        mp = _native.missed_pairs(pa.record_batch([pa.array(flagged, ktype)], names=["members"]), "members")
        new = sorted(set(zip(mp.column(0).to_pylist(), mp.column(1).to_pylist())) - set(verified))
        if not new:
            return dec
        verify(new)


def _components(edges: List[Any]) -> Dict[int, int]:
    parent: Dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {x: find(x) for x in list(parent)}
