#!/usr/bin/env python3
"""Incremental dedup against a persistent index: batch after batch, is the time per batch flat?

    python3 bench/incremental.py [--records 200000] [--batches 10] [--threads 2] [--memory 1G]
        [--sample PATH] [--binary PATH] [--work DIR] [--no-full]

Cuts the speed sample (bench/speed_sample.py: records of ~650 bytes cut from the full debdocs
corpus, built once if missing) into `--batches` equal batches in order, creates an index
(`neardup index create`, default settings) and runs, for each batch,

    neardup dedup --index IX batch-K.jsonl -o out-K.jsonl --ledger ledger-K.jsonl --json

under GNU time: wall seconds, records/s, peak RSS, and after it the records in the index, its bytes
on disk and bytes per record. What a user does today instead is deduplicate all history again:
the last row is one `neardup dedup` over every batch concatenated (the peer of this measurement),
and the ratio printed is that run's time over the last batch's. The batches' ledgers, concatenated,
are checked against that run's, record for record (status, reason, duplicate_of): the incremental
answer must be the one-run answer.

The machine is shared (2 cores, other people's builds): wall times move with the load average,
printed before and after. Work files go to --work (default a temp directory under the corpus
directory, removed at the end).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CORPUS = Path(os.environ.get("NEARDUP_CORPUS_DIR", "/work/corpus"))
TIME = "/usr/bin/time"


def timed(cmd: list[str], cwd: Path) -> tuple[float, float, int, str]:
    """Runs cmd under GNU time: wall seconds, CPU seconds (user + system, every thread: the
    engine's background compaction included), peak RSS in bytes, stdout."""
    start = time.perf_counter()
    p = subprocess.run([TIME, "-v", *cmd], cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f"incremental.py: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    cpu = sum(float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", p.stderr))
    return wall, cpu, int(m.group(1)) * 1024 if m else 0, p.stdout


def dir_bytes(d: Path) -> int:
    return sum(f.stat().st_size for f in d.rglob("*") if f.is_file())


def rows(ledger: Path) -> list[tuple]:
    out = []
    with open(ledger, encoding="utf-8") as f:
        next(f)  # header
        for line in f:
            e = json.loads(line)
            sim = e.get("similarity")
            out.append((e["id"], e["status"], e["reason"], e["duplicate_of"],
                        None if sim is None else round(sim, 5)))
    return out


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--batches", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory", default="1G")
    ap.add_argument("--sample", type=Path)
    ap.add_argument("--binary", type=Path)
    ap.add_argument("--work", type=Path)
    ap.add_argument("--no-full", action="store_true", help="skip the one run over all batches")
    a = ap.parse_args()

    binary = a.binary
    if binary is None:
        target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "neardup-cli"], cwd=ROOT, check=True)
        binary = target / "release" / "neardup"
    sample = a.sample or CORPUS / "speed" / f"sample-{a.records}.jsonl"
    if not sample.exists():
        subprocess.run([sys.executable, str(BENCH / "speed_sample.py"), "--records", str(a.records),
                        "--out", str(sample)], check=True)
    lines = [l for l in sample.read_text(encoding="utf-8").splitlines(keepends=True) if l.strip()]
    lines = lines[: a.records]
    text_bytes = sum(len(json.loads(l)["text"].encode()) for l in lines)

    work = a.work or Path(tempfile.mkdtemp(prefix="incremental-", dir=CORPUS))
    work.mkdir(parents=True, exist_ok=True)
    try:
        per = (len(lines) + a.batches - 1) // a.batches
        names = []
        for k in range(a.batches):
            name = f"batch-{k:02}.jsonl"
            (work / name).write_text("".join(lines[k * per:(k + 1) * per]), encoding="utf-8")
            names.append(name)
        ix = work / "ix"
        subprocess.run([str(binary), "index", "create", str(ix)], check=True, capture_output=True)

        print(f"# neardup dedup --index: {len(lines)} records ({text_bytes / 1e6:.1f} MB of text) "
              f"from {sample.name}, {a.batches} batches, -j {a.threads}, --memory {a.memory}")
        print(f"# machine: {platform.machine()}, {os.cpu_count()} cores; load average before: {load()}")
        head = (f"{'batch':>5} {'records':>8} {'in index':>9} {'wall s':>7} {'CPU s':>6} {'rec/s':>8} "
                f"{'peak RSS MB':>11} {'index MB':>9} {'B/record':>8}")
        print(head)
        secs = []
        cpus = []
        batched = []
        for k, name in enumerate(names):
            n = len(lines[k * per:(k + 1) * per])
            wall, cpu, rss, out = timed([str(binary), "dedup", "--index", str(ix), name, "-o", f"out-{k:02}.jsonl",
                                    "--ledger", f"ledger-{k:02}.jsonl", "--json", "-q",
                                    "-j", str(a.threads), "--memory", a.memory], work)
            info = next(json.loads(l) for l in out.splitlines() if '"type":"index"' in l)
            disk = dir_bytes(ix)
            secs.append(wall)
            cpus.append(cpu)
            batched.extend(rows(work / f"ledger-{k:02}.jsonl"))
            print(f"{k:>5} {n:>8} {info['records']:>9} {wall:>7.2f} {cpu:>6.2f} {n / wall:>8.0f} "
                  f"{rss / 1e6:>11.0f} {disk / 1e6:>9.1f} {disk / info['records']:>8.0f}", flush=True)

        def flatness(xs: list[float]) -> float:
            return (sum(xs[-2:]) / min(2, len(xs))) / (sum(xs[:2]) / min(2, len(xs)))
        print(f"flatness: mean of the last two batches / mean of the first two = {flatness(secs):.2f} "
              f"in wall time, {flatness(cpus):.2f} in CPU time")
        if not a.no_full:
            with open(work / "all.jsonl", "w", encoding="utf-8") as f:
                f.writelines(lines)
            wall, cpu, rss, _ = timed([str(binary), "dedup", "all.jsonl", "-o", "out-all.jsonl", "--ledger",
                                  "ledger-all.jsonl", "-q", "-j", str(a.threads), "--memory", a.memory], work)
            whole = rows(work / "ledger-all.jsonl")
            same = whole == batched
            print(f"{'all':>5} {len(lines):>8} {'-':>9} {wall:>7.2f} {cpu:>6.2f} {len(lines) / wall:>8.0f} {rss / 1e6:>11.0f}"
                  f"   (one dedup over every batch: what a rerun over history costs)")
            print(f"ratio: one run over all history / last batch with --index = {wall / secs[-1]:.1f}x")
            diff = sum(1 for x, y in zip(whole, batched) if x != y) + abs(len(whole) - len(batched))
            print(f"batches == one run, record for record (status, reason, duplicate_of, similarity): "
                  f"{'yes' if same else f'NO ({diff} records differ)'}")
            if not same:
                return 1
        print(f"# load average after: {load()}")
        return 0
    finally:
        if a.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
