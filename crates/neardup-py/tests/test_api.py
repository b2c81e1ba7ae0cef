"""The Python API: every input kind, Parquet round trips, errors."""

import json
import subprocess

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import neardup
from corpus import records

PARA = "This paragraph is long enough to count as a repeated passage, well over the hundred character minimum."
ROWS = [
    {"id": "a", "text": 'He said "yes" -- and left the room.', "n": 1},
    {"id": "b", "text": "He said \u201cyes\u201d \u2014 and left the room.", "n": 2},
    {"id": "c", "text": f"{PARA}\n{PARA}", "n": 3},
    {"id": "d", "text": "Something else entirely.", "n": None},
]


def check(r: neardup.Result) -> None:
    st = r.ledger.column("status").to_pylist()
    assert st == ["kept", "removed", "modified", "kept"]
    assert r.ledger.column("duplicate_of").to_pylist()[1] == "a"
    assert r.ledger.column("reason").to_pylist()[:3] == [None, "exact", "repeat"]
    assert r.ledger.column("spans").to_pylist()[2] == [{"offset": len(PARA) + 1, "length": len(PARA)}]
    assert r.kept.column("id").to_pylist() == ["a", "c", "d"]
    assert r.kept.column("text").to_pylist()[1] == PARA + "\n"
    assert r.summary["read"] == 4 and r.summary["removed_exact"] == 1
    assert r.fingerprint.startswith("v1-")


def test_table_reader_batch_pandas_polars_dicts_and_c_stream():
    t = pa.Table.from_pylist(ROWS)
    check(neardup.dedup(t))
    check(neardup.dedup(t.to_reader()))
    check(neardup.dedup(t.to_batches()[0]))
    check(neardup.dedup(ROWS))
    pd = pytest.importorskip("pandas")
    r = neardup.dedup(pd.DataFrame(ROWS))
    check(r)
    pl = pytest.importorskip("polars")
    r = neardup.dedup(pl.DataFrame(ROWS))  # Utf8View through __arrow_c_stream__
    check(r)
    assert r.kept.schema.field("text").type == pa.string_view()


class _Stream:
    def __init__(self, t: pa.Table) -> None:
        self.t = t

    def __arrow_c_stream__(self, requested_schema=None):
        return self.t.__arrow_c_stream__(requested_schema)


def test_any_arrow_c_stream_and_large_strings():
    t = pa.Table.from_pylist(ROWS)
    check(neardup.dedup(_Stream(t)))
    large = t.set_column(1, "text", t.column("text").cast(pa.large_string()))
    r = neardup.dedup(large)
    check(r)
    assert r.kept.schema == large.schema


def test_list_of_str_ids_are_row_numbers():
    r = neardup.dedup(["one two three", "One  two three", "four"])
    assert r.ledger.column("id").to_pylist() == ["0", "1", "2"]
    assert r.ledger.column("duplicate_of").to_pylist() == [None, "0", None]
    assert r.kept.column("text").to_pylist() == ["one two three", "four"]


def test_schema_and_other_columns_untouched():
    t = pa.Table.from_pylist(ROWS).replace_schema_metadata({"origin": "test"})
    r = neardup.dedup(t)
    assert r.kept.schema == t.schema
    assert r.kept.column("n").to_pylist() == [1, 3, None]


def test_parquet_round_trip(tmp_path):
    t = pa.Table.from_pylist(ROWS)
    pq.write_table(t, tmp_path / "in.parquet", compression="zstd")
    r = neardup.dedup(pq.read_table(tmp_path / "in.parquet"))
    check(r)
    pq.write_table(r.kept, tmp_path / "out.parquet")
    back = pq.read_table(tmp_path / "out.parquet")
    assert back.equals(r.kept)


def test_settings_are_the_clis():
    r = neardup.dedup(ROWS, no_repeats=True)
    assert r.ledger.column("status").to_pylist()[2] == "kept"
    with pytest.raises(ValueError, match=r"`--threshold 1.5`: `1.5` is not a number between 0 and 1"):
        neardup.dedup(ROWS, threshold=1.5)
    with pytest.raises(ValueError, match="unknown setting `thresold`"):
        neardup.dedup(ROWS, thresold=0.5)
    with pytest.raises(ValueError, match="one of `first`, `last`, `longest`"):
        neardup.dedup(ROWS, keep="middle")
    assert neardup.fingerprint(threshold=0.7) != neardup.fingerprint()
    assert json.loads(neardup.settings_json())["keep"] == "first"


def test_bad_rows_raise_or_are_rejected():
    rows = [dict(r) for r in ROWS]
    rows[2]["text"] = None
    with pytest.raises(neardup.NeardupError, match=r"row 2: field `text` is null, expected a string"):
        neardup.dedup(rows)
    r = neardup.dedup(rows, on_error="skip")
    assert r.ledger.column("status").to_pylist()[2] == "rejected"
    assert r.ledger.column("error").to_pylist()[2] == "field `text` is null, expected a string"
    with pytest.raises(neardup.NeardupError, match="field `body`"):
        neardup.dedup(ROWS, text="body")
    with pytest.raises(ValueError, match="on_error"):
        neardup.dedup(ROWS, on_error="ignore")


def test_threads_do_not_change_results():
    recs = records()
    a = neardup.dedup(recs, threads=1)
    b = neardup.dedup(recs, threads=2)
    assert a.ledger.equals(b.ledger) and a.kept.equals(b.kept)


def test_normalize_and_explain():
    assert neardup.normalize("He said \u201cYES\u201d") == 'he said "yes"'
    assert neardup.normalize("A  B", no_case_fold=True) == "A B"
    with pytest.raises(ValueError):
        neardup.normalize("x", threshold=0.5)
    a = "the quick brown fox jumps over the lazy dog and runs far away into the woods"
    e = neardup.explain(a, a.replace("woods", "forest"))
    assert 0.7 < e["jaccard"] < 1.0 and "collided_bands" in e and e["b"]["decision"]["status"] in ("kept", "removed")


def test_the_neardup_command_is_installed(tmp_path):
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    out = subprocess.run(
        ["neardup", "dedup", "a.jsonl", "-o", "o.jsonl", "--json"], cwd=tmp_path, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["removed"] == 1
    bad = subprocess.run(["neardup", "dedup", "--threshold", "2"], capture_output=True, text=True)
    assert bad.returncode == 2 and "between 0 and 1" in bad.stderr


def _batches(n_batches: int, rows: int, seen: list):
    """Batches of fresh text, recording the bytes pyarrow holds at each pull."""
    for b in range(n_batches):
        seen.append(pa.total_allocated_bytes())
        texts = [f"batch {b} row {i} " + "word%d " % (i * 7919 + b) * 40 for i in range(rows)]
        yield pa.record_batch([pa.array(texts)], names=["text"])


def test_a_stream_is_read_a_batch_at_a_time():
    seen: list = []
    schema = pa.schema([("text", pa.string())])
    reader = pa.RecordBatchReader.from_batches(schema, _batches(40, 500, seen))
    r = neardup.dedup(reader, no_near=True)
    assert r.summary["read"] == 40 * 500 and r.kept.num_rows == 40 * 500
    one = max(b.nbytes for b in _batches(1, 500, []))
    # Held whole, pyarrow would hold ~40 batches at the last pull; streamed,
    # the batches already analysed are spooled and released.
    assert len(seen) == 40 and max(seen) < 8 * one, (max(seen), one)


def _peak_threads(**kwargs) -> int:
    import os
    import threading

    recs = records() * 60
    done = threading.Event()
    t = threading.Thread(target=lambda: (neardup.dedup(recs, **kwargs), done.set()))
    peak = 0
    t.start()
    # Runs only while the GIL is free: the native work must release it.
    while not done.is_set():
        peak = max(peak, len(os.listdir("/proc/self/task")))
    t.join()
    return peak


@pytest.mark.skipif(not __import__("os").path.isdir("/proc/self/task"), reason="needs /proc")
def test_the_gil_is_released_and_threads_honoured():
    one = _peak_threads(threads=1)
    three = _peak_threads(threads=3)
    # The pool of three is seen from Python while Rust works (the GIL
    # released); a pool of one adds two fewer threads.
    assert three - one >= 2, (one, three)


def test_errors_carry_the_clis_message(tmp_path):
    rows = [dict(r) for r in ROWS]
    rows[2]["text"] = None
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    for args, settings, kind in [
        (["--threshold", "1.5"], {"threshold": 1.5}, ValueError),
        (["--shingle", "word:0"], {"shingle": "word:0"}, ValueError),
        ([], {}, neardup.NeardupError),
    ]:
        out = subprocess.run(
            ["neardup", "dedup", "a.jsonl", "-o", "o.jsonl", *args], cwd=tmp_path, capture_output=True, text=True
        )
        assert out.returncode != 0
        with pytest.raises(kind) as e:
            neardup.dedup(rows, **settings)
        msg = str(e.value)
        # The same words after what each names: the CLI the file and line
        # or its option's syntax, Python the row or the setting.
        core = msg.split(": ", 1)[1]
        assert core in out.stderr, (msg, out.stderr)
