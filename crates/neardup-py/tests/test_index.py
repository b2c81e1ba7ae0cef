"""neardup.Index: records checked and added against an index give the CLI's answers."""

import json
import subprocess

import pytest

import neardup
from corpus import records

ROWS = records()


def _cli_ledgers(tmp_path, batches):
    """`neardup dedup --index` over each batch in turn: the ledger entries by id."""
    ix = tmp_path / "cli-ix"
    subprocess.run(["neardup", "index", "create", str(ix)], check=True, capture_output=True)
    out = {}
    for k, batch in enumerate(batches):
        src = tmp_path / f"b{k}.jsonl"
        src.write_text("".join(json.dumps(r) + "\n" for r in batch))
        led = tmp_path / f"l{k}.jsonl"
        p = subprocess.run(
            ["neardup", "dedup", "--index", str(ix), str(src), "-o", str(tmp_path / f"o{k}.jsonl"), "--ledger", str(led)],
            capture_output=True,
            text=True,
        )
        assert p.returncode == 0, p.stderr
        for line in led.read_text().splitlines()[1:]:
            e = json.loads(line)
            out[e["id"]] = e
    return out


def test_index_add_and_check_give_the_clis_answers(tmp_path):
    half = len(ROWS) // 2
    batches = [ROWS[:half], ROWS[half:]]
    cli = _cli_ledgers(tmp_path, batches)

    ix = neardup.Index.create(tmp_path / "py-ix")
    first = ix.add(batches[0])
    # A check changes nothing; the add that follows answers the same.
    before = len(ix)
    checked = ix.check([(r["id"], r["text"]) for r in batches[1]])
    assert len(ix) == before
    second = ix.add(batches[1])
    for c, a in zip(checked, second, strict=True):
        assert not c["added"]
        assert dict(c, added=a["added"]) == a
    results = first + second
    assert [r["id"] for r in results] == [r["id"] for r in ROWS]
    dupes = 0
    for r in results:
        e = cli[r["id"]]
        if r["status"] == "new":
            assert e["status"] in ("kept", "modified"), (r, e)
            assert r["added"] and r["duplicate_of"] is None
        else:
            dupes += 1
            assert e["status"] == "removed", (r, e)
            assert (r["reason"], r["duplicate_of"]) == (e["reason"], e["duplicate_of"]), (r, e)
            assert not r["added"]
    assert dupes >= 10, "the corpus has exact, typographic and near duplicates"
    stats = ix.stats()
    assert stats["records"] == len(ix) > 0
    # One holder at a time, said so.
    with pytest.raises(neardup.NeardupError, match="open elsewhere"):
        neardup.Index(tmp_path / "py-ix")
    # Reopened, history is there: a copy of a kept text is a duplicate of it.
    del ix
    again = neardup.Index(tmp_path / "py-ix")
    kept = next(r for r in first if r["status"] == "new")
    text = next(x["text"] for x in ROWS if x["id"] == kept["id"])
    hit = again.check([{"id": "copy", "text": text}])[0]
    assert (hit["status"], hit["reason"], hit["duplicate_of"]) == ("duplicate", "exact", kept["id"])


def test_index_settings_and_bad_records(tmp_path):
    ix = neardup.Index.create(tmp_path / "ix", threshold=0.9)
    assert ix.stats()["settings"]["near"]["threshold"] == pytest.approx(0.9)
    with pytest.raises(ValueError, match="record 1"):
        ix.check([("a", "x"), ("b",)])
    with pytest.raises(ValueError, match="strings"):
        ix.add([{"id": 1, "text": "x"}])
    # What no index can honour, and what no run accepts: ValueError, with
    # the command line's reason, and no index left behind.
    for bad, why in [
        ({"keep": "longest"}, "keep"),
        ({"similarity": "containment"}, "shorter record"),
        ({"substrings": True}, "whole corpus"),
        ({"threshold": 1.5}, "threshold"),
    ]:
        with pytest.raises(ValueError, match=why):
            neardup.Index.create(tmp_path / "ix2", **bad)
        assert not (tmp_path / "ix2").exists()
    with pytest.raises(neardup.NeardupError):
        neardup.Index(tmp_path / "missing")
