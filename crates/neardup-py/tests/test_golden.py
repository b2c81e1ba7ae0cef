"""The contract: the CLI, neardup.dedup, Spark (1 and 4 partitions) and Ray
give the same status, reason, duplicate_of and cut spans for every id."""

import json
import os
import subprocess
import sys
from typing import Dict, Tuple

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import neardup
from corpus import records

Row = Tuple[str, object, object, object]


def cli(tmp_path, **flags) -> Dict[str, Row]:
    recs = records()
    (tmp_path / "c.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    args = ["neardup", "dedup", "c.jsonl", "-o", "o.jsonl", "--ledger", "l.jsonl", "-q"]
    for k, v in flags.items():
        args += [f"--{k.replace('_', '-')}", str(v)]
    out = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = (tmp_path / "l.jsonl").read_text().splitlines()[1:]
    got = {}
    for line in lines:
        e = json.loads(line)
        got[e["id"]] = (e["status"], e["reason"], e["duplicate_of"], [list(s) for s in e["spans"]])
    return got


def from_struct(ids, nd) -> Dict[str, Row]:
    return {
        i: (d["status"], d["reason"], d["duplicate_of"], [[s["offset"], s["length"]] for s in d["spans"]])
        for i, d in zip(ids, nd)
    }


def python(**settings) -> Dict[str, Row]:
    r = neardup.dedup(records(), **settings)
    led = r.ledger.to_pylist()
    return {
        e["id"]: (e["status"], e["reason"], e["duplicate_of"], [[s["offset"], s["length"]] for s in e["spans"]])
        for e in led
    }


def test_corpus_has_every_kind(tmp_path):
    want = cli(tmp_path)
    reasons = {v[1] for v in want.values()}
    assert {"exact", "near", "repeat"} <= reasons, reasons
    assert sum(v[0] == "kept" for v in want.values()) > 20


@pytest.mark.parametrize("settings", [{}, {"keep": "longest", "threshold": 0.7}])
def test_python_is_the_cli(tmp_path, settings):
    assert python(**settings) == cli(tmp_path, **settings)


@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    s = (
        SparkSession.builder.master(os.environ.get("NEARDUP_SPARK_MASTER", "local[2]"))
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "16")
        .getOrCreate()
    )
    yield s
    s.stop()


def test_spark_from_parquet_is_the_cli(tmp_path, spark):
    import neardup.spark

    path = str(tmp_path / "c.parquet")
    pq.write_table(pa.Table.from_pylist(records()), path)
    df = spark.read.parquet(path)
    assert df.rdd.getNumPartitions() == 1
    out = neardup.spark.dedup(df).select("id", "neardup").collect()
    got = from_struct([r["id"] for r in out], [r["neardup"].asDict(recursive=True) for r in out])
    assert got == cli(tmp_path)


def test_spark_in_4_partitions_is_the_cli(tmp_path, spark):
    import neardup.spark

    recs = records()
    # Four partitions of consecutive rows, in order: the read order is the
    # order `keep` works from.
    rdd = spark.sparkContext.parallelize([(r["id"], r["text"]) for r in recs], 4)
    assert [len(p) > 0 for p in rdd.glom().collect()] == [True] * 4
    df = spark.createDataFrame(rdd, "id string, text string")
    out = neardup.spark.dedup(df).select("id", "neardup").collect()
    got = from_struct([r["id"] for r in out], [r["neardup"].asDict(recursive=True) for r in out])
    assert got == cli(tmp_path)


def test_spark_with_an_order_column_and_keep_longest(tmp_path, spark):
    import neardup.spark

    recs = records()
    rows = [dict(r, pos=i) for i, r in enumerate(recs)]
    df = spark.createDataFrame(rows).repartition(4)  # shuffled: order comes from `pos`
    out = neardup.spark.dedup(df, order="pos", keep="longest", threshold=0.7).select("id", "neardup").collect()
    got = from_struct([r["id"] for r in out], [r["neardup"].asDict(recursive=True) for r in out])
    assert got == cli(tmp_path, keep="longest", threshold=0.7)


def test_spark_text_is_cut_and_errors_raise(tmp_path, spark):
    import neardup.spark

    para = "This paragraph is long enough to count as a repeated passage, well over the hundred character minimum."
    df = spark.createDataFrame([("a", f"{para}\n{para}"), ("b", None)], "id string, text string")
    with pytest.raises(neardup.NeardupError, match=r"row b: field `text` is null, expected a string"):
        neardup.spark.dedup(df)
    out = neardup.spark.dedup(df, on_error="skip").collect()
    assert out[0]["text"] == para + "\n" and out[0]["neardup"]["status"] == "modified"
    assert out[1]["neardup"]["status"] == "rejected"
    with pytest.raises(ValueError, match="substrings"):
        neardup.spark.dedup(df, substrings=True)
    with pytest.raises(ValueError, match="between 0 and 1"):
        neardup.spark.dedup(df, threshold=3)


@pytest.fixture(scope="module")
def ray_session():
    ray = pytest.importorskip("ray")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        object_store_memory=256 * 1024**2,
        ignore_reinit_error=True,
        log_to_driver=False,
    )
    yield ray
    ray.shutdown()


def ray_rows(ds) -> pa.Table:
    import ray

    return pa.concat_tables([ray.get(r) for r in ds.to_arrow_refs()])


@pytest.mark.parametrize("blocks", [1, 3])
def test_ray_is_the_cli(tmp_path, ray_session, blocks):
    import neardup.ray

    recs = records()
    ds = ray_session.data.from_arrow(pa.Table.from_pylist(recs)).repartition(blocks)
    t = ray_rows(neardup.ray.dedup(ds))
    assert t.column("id").to_pylist() == [r["id"] for r in recs]  # the order read
    got = from_struct(t.column("id").to_pylist(), t.column("neardup").to_pylist())
    assert got == cli(tmp_path)


def test_ray_with_an_order_column_and_keep_longest(tmp_path, ray_session):
    import random

    import neardup.ray

    rows = [dict(r, pos=i) for i, r in enumerate(records())]
    random.Random(3).shuffle(rows)  # blocks out of order: order comes from `pos`
    ds = ray_session.data.from_arrow(pa.Table.from_pylist(rows)).repartition(4)
    t = ray_rows(neardup.ray.dedup(ds, order="pos", keep="longest", threshold=0.7))
    got = from_struct(t.column("id").to_pylist(), t.column("neardup").to_pylist())
    assert got == cli(tmp_path, keep="longest", threshold=0.7)
    twice = ray_session.data.from_arrow(pa.Table.from_pylist([dict(r, pos=0) for r in rows[:2]]))
    with pytest.raises(ValueError, match="`pos` has the value 0 twice"):
        neardup.ray.dedup(twice, order="pos")


def test_ray_text_is_cut_and_errors_raise(ray_session):
    import neardup.ray

    para = "This paragraph is long enough to count as a repeated passage, well over the hundred character minimum."
    rows = pa.table({"id": ["a", "b"], "text": [f"{para}\n{para}", None], "n": [1, 2]})
    ds = ray_session.data.from_arrow(rows)
    with pytest.raises(neardup.NeardupError, match=r"row b: field `text` is null, expected a string"):
        neardup.ray.dedup(ds)
    t = ray_rows(neardup.ray.dedup(ds, on_error="skip"))
    assert t.column_names == ["id", "text", "n", "neardup"]
    assert t.column("text").to_pylist()[0] == para + "\n"
    assert [d["status"] for d in t.column("neardup").to_pylist()] == ["modified", "rejected"]
    with pytest.raises(ValueError, match="substrings"):
        neardup.ray.dedup(ds, substrings=True)
    with pytest.raises(ValueError, match="between 0 and 1"):
        neardup.ray.dedup(ds, threshold=3)
