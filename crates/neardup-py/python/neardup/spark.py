"""neardup on Spark: the command line's decisions, with Spark doing the shuffles.

``dedup(df)`` returns ``df`` with the text cut where passages were cut and a
struct column ``neardup`` (``status``, ``reason``, ``duplicate_of``,
``similarity``, ``spans``, ``error``);
``.filter("neardup.status != 'removed'")`` keeps what the CLI writes. For the
same records and settings the answer is the CLI's, row for row, at any
number of partitions.

The plan (every per-row step is Rust inside ``mapInArrow``):

1. **Order.** ``keep`` works from the input order: the ``order`` column if
   given (an integer per row, distinct), else the order rows are read in,
   captured with ``monotonically_increasing_id`` before any shuffle.
2. **Analyse** each batch: canonical hash, length as written, keep keys,
   passages cut inside the row, LSH band keys.
3. **Exact**: group by hash; the survivor has the smallest keep key.
4. **Candidates**: the survivors' ``(band, key)`` buckets; each member is
   paired with the first ``max_partners()`` members before it in keep order.
5. **Verify** each pair in Rust, from the two texts (joined by order).
6. **Components** of the pairs that reach the threshold, by large-star /
   small-star (Kiveris et al. 2014): joins and group-bys only, nothing
   collected on the driver.
7. **Greedy** in keep order inside each component (Rust): the CLI's rule;
   per component it decides as over the whole.
8. **Missed pairs**: in buckets larger than the cap, the pairs (later, kept
   earlier) the cap left out are found against this round's kept rows,
   verified, and steps 6–7 run again until none is missing — what the CLI
   does, so the cap never changes a decision. One round nearly always.
9. **Chains**: an exact copy of a row removed as a near duplicate points at
   the row kept for it, reason ``near``.

Supported: every setting of ``neardup dedup`` but ``substrings`` (one suffix
array over the corpus; refused), ``keep`` first/last/longest (by ``order``).
Rows with a null text are ``rejected`` with ``on_error="skip"``; with
``"fail"`` (the default) the first raises ``NeardupError``.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

import pyarrow as pa

from neardup import _native
from neardup._plan import ID, ORDER, Plan, analyse, cut, similarity

try:  # pyspark is optional
    from pyspark.sql import DataFrame, functions as F
    from pyspark.sql.types import (
        ArrayType,
        DoubleType,
        FloatType,
        LongType,
        StringType,
        StructField,
        StructType,
    )
except ImportError as e:  # pragma: no cover
    raise ImportError("neardup.spark needs pyspark: pip install 'neardup[spark]'") from e

_REPEAT = StructType(
    [
        StructField("start", LongType(), False),
        StructField("len", LongType(), False),
        StructField("first", LongType(), False),
    ]
)

_ANALYSIS = StructType(
    [
        StructField("hash_hi", LongType(), False),
        StructField("hash_lo", LongType(), False),
        StructField("len", LongType(), False),
        StructField("exact_key", LongType(), False),
        StructField("near_key", LongType(), False),
        StructField("filtered", StringType(), True),
        StructField("error", StringType(), True),
        StructField("repeats", ArrayType(_REPEAT, True), False),
        StructField("band_keys", ArrayType(LongType(), True), False),
        StructField(ORDER, LongType(), False),
    ]
)

_PAIRS = StructType([StructField("later", LongType(), False), StructField("earlier", LongType(), False)])
_VERIFIED = StructType(
    [
        StructField("later", LongType(), False),
        StructField("earlier", LongType(), False),
        StructField("sim", DoubleType(), True),
    ]
)
_DECISIONS = StructType(
    [
        StructField("idx", LongType(), False),
        StructField("duplicate_of", LongType(), False),
        StructField("similarity", FloatType(), False),
    ]
)


def _batches(fn: Any) -> Any:
    def run(it: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for b in it:
            if b.num_rows:
                yield fn(b)

    return run


def _pairs_of(col: str, native: Any) -> Any:
    return _batches(lambda b: native(b, col))


def components(edges: DataFrame) -> DataFrame:
    """Connected components of ``edges`` (``u``, ``v``: long) as ``node``, ``comp``
    (the smallest node of its component), by alternating large-star and
    small-star until nothing changes."""
    e = edges.select(
        F.greatest("u", "v").alias("u"), F.least("u", "v").alias("v")
    ).where("u != v").distinct()
    e = e.localCheckpoint()
    while True:
        # Large star: each node's larger neighbours join its smallest neighbour.
        both = e.union(e.select(F.col("v").alias("u"), F.col("u").alias("v")))
        m = both.groupBy("u").agg(F.min("v").alias("m"))
        large = (
            both.join(m, "u")
            .where("v > u")
            .select(F.col("v").alias("u"), F.least("m", "u").alias("v"))
            .distinct()
        )
        # Small star: each node and its smaller neighbours join the smallest.
        m2 = large.groupBy("u").agg(F.min("v").alias("m"))
        small = (
            large.join(m2, "u")
            .select(F.col("v").alias("u"), F.col("m").alias("v"))
            .union(m2.select("u", F.col("m").alias("v")))
            .where("u != v")
            .select(F.greatest("u", "v").alias("u"), F.least("u", "v").alias("v"))
            .distinct()
        ).localCheckpoint()
        changed = small.exceptAll(e).limit(1).count() + e.exceptAll(small).limit(1).count()
        e = small
        if changed == 0:
            break
    comp = e.groupBy("u").agg(F.min("v").alias("comp")).withColumnRenamed("u", "node")
    roots = e.select(F.col("v").alias("node")).distinct().withColumn("comp", F.col("node"))
    return comp.union(roots).groupBy("node").agg(F.min("comp").alias("comp"))


def dedup(
    df: DataFrame,
    text: str = "text",
    id: str = "id",
    order: Optional[str] = None,
    on_error: str = "fail",
    **settings: Any,
) -> DataFrame:
    """Deduplicates ``df`` as ``neardup dedup`` would its rows.

    Args:
        df: the rows.
        text: the string column to deduplicate.
        id: the column naming rows in ``neardup.duplicate_of`` (default: the
            order value as text).
        order: an integer column giving the input order ``keep`` works from
            (distinct values); default: the order rows are read in.
        on_error: ``"fail"`` (raise on the first row whose text is null) or
            ``"skip"`` (such rows are ``rejected``).
        **settings: the CLI's options with underscores (``threshold=0.7``,
            ``keep="longest"``, ``no_near=True``, …); ``substrings`` is refused.

    Returns:
        ``df`` with ``text`` cut where modified and a struct column ``neardup``.
    """
    plan = Plan.of(settings, on_error)
    js = plan.settings_json
    if "neardup" in df.columns:
        raise ValueError("the input already has a `neardup` column")
    base = df.withColumn(
        ORDER, F.col(order).cast("long") if order else F.monotonically_increasing_id()
    )
    base = base.withColumn(
        ID, F.col(id).cast("string") if id in df.columns else F.col(ORDER).cast("string")
    ).localCheckpoint()
    if order:
        dups = base.groupBy(ORDER).count().where("count > 1").limit(1).collect()
        if dups:
            raise ValueError(f"the order column `{order}` has the value {dups[0][0]} twice")

    an = (
        base.select(text, ORDER)
        .mapInArrow(_batches(lambda b: analyse(js, text, b)), _ANALYSIS)
        .localCheckpoint()
    )
    if plan.on_error == "fail":
        bad = an.where("error is not null").join(base.select(ORDER, ID), ORDER)
        first = bad.orderBy(ORDER).limit(1).collect()
        if first:
            raise _native.NeardupError(f"row {first[0][ID]}: {first[0]['error']}")

    alive = an.where("error is null and filtered is null")
    # Exact: the survivor of each hash has the smallest keep key.
    if plan.exact:
        surv = alive.groupBy("hash_hi", "hash_lo").agg(
            F.min(F.struct("exact_key", ORDER)).getField(ORDER).alias("survivor")
        )
        ex = alive.join(surv, ["hash_hi", "hash_lo"])
        exact_dups = ex.where(F.col(ORDER) != F.col("survivor")).select(
            F.col(ORDER).alias("idx"), F.col("survivor").alias("of")
        )
        near_in = ex.where(F.col(ORDER) == F.col("survivor")).drop("survivor")
    else:
        exact_dups = None
        near_in = alive

    spark = df.sparkSession
    near = spark.createDataFrame([], _DECISIONS)
    if plan.near:
        near = _near(plan, base, text, near_in)

    # Chains: exact copies of near-removed rows point at the row kept.
    decisions = near.select("idx", "duplicate_of", "similarity", F.lit("near").alias("reason"))
    if exact_dups is not None:
        n2 = near.select(
            F.col("idx").alias("of"),
            F.col("duplicate_of").alias("n_of"),
            F.col("similarity").alias("n_sim"),
        )
        chained = exact_dups.join(n2, "of", "left").select(
            "idx",
            F.coalesce("n_of", "of").alias("duplicate_of"),
            F.coalesce("n_sim", F.lit(1.0).cast("float")).alias("similarity"),
            F.when(F.col("n_of").isNotNull(), "near").otherwise("exact").alias("reason"),
        )
        decisions = decisions.union(chained)

    names = base.select(F.col(ORDER).alias("duplicate_of"), F.col(ID).alias("dup_id"))
    d = decisions.join(names, "duplicate_of").select(
        F.col("idx").alias(ORDER), "dup_id", F.col("similarity").alias("d_sim"), F.col("reason").alias("d_reason")
    )
    rows = base.join(an.select(ORDER, "filtered", "error", "repeats"), ORDER).join(d, ORDER, "left")
    status = (
        F.when(F.col("error").isNotNull(), "rejected")
        .when(F.col("filtered").isNotNull() | F.col("d_reason").isNotNull(), "removed")
        .when(F.size("repeats") > 0, "modified")
        .otherwise("kept")
    )
    rows = rows.withColumn("__nd_status", status)
    modified = F.col("__nd_status") == "modified"
    rows = rows.withColumn(
        "__nd_cut", F.when(modified, F.col("repeats")).otherwise(F.array().cast(ArrayType(_REPEAT)))
    )
    rows = rows.mapInArrow(_batches(lambda b: cut(js, text, b)), rows.schema)
    spans = F.transform(
        F.col("repeats"), lambda r: F.struct(r["start"].alias("offset"), r["len"].alias("length"))
    )
    nd = F.struct(
        F.col("__nd_status").alias("status"),
        F.when(F.col("error").isNotNull(), None)
        .when(F.col("filtered").isNotNull(), "repetition")
        .when(F.col("d_reason").isNotNull(), F.col("d_reason"))
        .when(modified, "repeat")
        .alias("reason"),
        F.when(F.col("d_reason").isNotNull(), F.col("dup_id")).alias("duplicate_of"),
        F.when(F.col("d_reason").isNotNull(), F.col("d_sim"))
        .when(modified, F.lit(1.0).cast("float"))
        .alias("similarity"),
        F.when(modified, spans).otherwise(F.array().cast(ArrayType(StructType([
            StructField("offset", LongType(), False), StructField("length", LongType(), False)])))).alias("spans"),
        F.coalesce("error", "filtered").alias("error"),
    )
    out = rows.withColumn("neardup", nd)
    return out.orderBy(ORDER).select(*df.columns, "neardup")


def _near(plan: Plan, base: DataFrame, text: str, near_in: DataFrame) -> DataFrame:
    """Near-duplicate decisions (``idx``, ``duplicate_of``, ``similarity``) among
    ``near_in`` (exact survivors)."""
    js, cap = plan.settings_json, plan.cap
    spark = base.sparkSession
    members = near_in.select(
        ORDER, "near_key", F.posexplode("band_keys").alias("band", "bkey")
    )
    buckets = (
        members.groupBy("band", "bkey")
        .agg(F.collect_list(F.struct(F.col("near_key").alias("key"), F.col(ORDER).alias("idx"))).alias("members"))
        .where(F.size("members") > 1)
        .localCheckpoint()
    )
    pairs = (
        buckets.select("members")
        .mapInArrow(_pairs_of("members", _native.bucket_pairs), _PAIRS)
        .distinct()
    )
    texts = base.select(ORDER, text)

    def verify(p: DataFrame) -> DataFrame:
        j = p.join(
            texts.select(F.col(ORDER).alias("later"), F.col(text).alias("a_text")), "later"
        ).join(texts.select(F.col(ORDER).alias("earlier"), F.col(text).alias("b_text")), "earlier")
        return j.select("later", "earlier", "a_text", "b_text").mapInArrow(
            _batches(lambda b: similarity(js, b)), _VERIFIED
        )

    verified = verify(pairs).localCheckpoint()
    keys = near_in.select(ORDER, "near_key")
    large = buckets.where(F.size("members") > cap + 1).select(
        "band", "bkey", F.explode("members").alias("m")
    ).select("band", "bkey", F.col("m.key").alias("key"), F.col("m.idx").alias("idx")).localCheckpoint()
    has_large = large.limit(1).count() > 0
    while True:
        edges = verified if plan.trust else verified.where(F.col("sim") >= F.lit(plan.threshold))
        comp = components(edges.select(F.col("later").alias("u"), F.col("earlier").alias("v")))
        e = (
            edges.join(comp, edges["later"] == comp["node"])
            .join(keys.select(F.col(ORDER).alias("later"), F.col("near_key").alias("ka")), "later")
            .join(keys.select(F.col(ORDER).alias("earlier"), F.col("near_key").alias("kb")), "earlier")
        )
        grouped = e.groupBy("comp").agg(
            F.collect_list(
                F.struct(
                    F.col("later").alias("a"),
                    "ka",
                    F.col("earlier").alias("b"),
                    "kb",
                    F.col("sim").cast("double").alias("sim"),
                )
            ).alias("edges")
        )
        decisions = (
            grouped.select("edges")
            .mapInArrow(_pairs_of("edges", _native.greedy), _DECISIONS)
            .localCheckpoint()
        )
        if not has_large:
            return decisions
        removed = decisions.select(F.col("idx"), F.lit(False).alias("kept"))
        flagged = large.join(removed, "idx", "left").select(
            "band", "bkey", "key", "idx", F.coalesce("kept", F.lit(True)).alias("kept")
        )
        regrouped = flagged.groupBy("band", "bkey").agg(
            F.collect_list(F.struct("key", "idx", "kept")).alias("members")
        )
        missed = (
            regrouped.select("members")
            .mapInArrow(_pairs_of("members", _native.missed_pairs), _PAIRS)
            .distinct()
            .join(verified.select("later", "earlier"), ["later", "earlier"], "left_anti")
            .localCheckpoint()
        )
        if missed.limit(1).count() == 0:
            return decisions
        verified = verified.union(verify(missed)).localCheckpoint()
