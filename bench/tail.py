#!/usr/bin/env python3
"""The default `dedup`'s serial tail (issue 13, item 1): the current binary against a baseline,
alternated round by round, at --threads 1 and 2.

    python3 bench/tail.py --baseline REV [--corpus /work/corpus/full/all.jsonl] [--rounds 3]

Each round runs, for each thread count, the baseline then the current binary on the default run
(`dedup CORPUS -o OUT --ledger LEDGER --json`), so both see the same load; medians over rounds of
wall and CPU seconds (user + system, from wait4) and of the `--json` stages that ran on one thread
before this work: `decide.near` (candidate pairs, verification, the greedy) and `write` (pass 2).
Outputs, ledgers and the summaries' counts are compared with the baseline's byte for byte (the
timing fields aside). The baseline binary is built as bench/speed.py builds it (cached in
bench/out/speed/COMMIT/). The machine is shared: compare rows within one run.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import speed  # noqa: E402  (build_current, build_baseline, load, same)


def run(exe: Path, corpus: Path, d: Path, threads: int) -> dict:
    d.mkdir(parents=True, exist_ok=True)
    cmd = [str(exe), "dedup", str(corpus), "-o", str(d / "out.jsonl"), "--ledger", str(d / "ledger.jsonl"),
           "--threads", str(threads), "--quiet", "--json"]
    t = time.perf_counter()
    with open(d / "summary.json", "w") as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE)
        _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    if status != 0:
        raise SystemExit(f"{exe} failed: {p.stderr.read().decode()[-300:]}")
    summary = [json.loads(l) for l in (d / "summary.json").read_text().splitlines() if l.strip()][-1]
    st = summary["stages"]
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "near": st["decide"]["near"],
            "write": st["write"], "summary": summary}


def counts(summary: dict) -> dict:
    """The summary without its timings."""
    s = {k: v for k, v in summary.items() if k not in ("seconds", "stages")}
    return s


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", required=True, metavar="REV")
    ap.add_argument("--corpus", default="/work/corpus/full/all.jsonl")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--current", metavar="PATH", help="a built binary (default: cargo build --release)")
    args = ap.parse_args()
    current = Path(args.current) if args.current else speed.build_current()
    bins = {"baseline": speed.build_baseline(args.baseline), "current": current}
    corpus = Path(args.corpus)
    threads = [int(t) for t in args.threads.split(",")]
    print(f"# bench/tail.py — {os.cpu_count()} cores, load {speed.load()} at start; {corpus}; "
          f"baseline = {args.baseline}; {args.rounds} rounds, alternated")
    res: dict[tuple[str, int], list[dict]] = {}
    diffs: list[str] = []
    with tempfile.TemporaryDirectory(prefix="neardup-tail-") as tmp:
        for rnd in range(args.rounds):
            for t in threads:
                for b, exe in bins.items():
                    d = Path(tmp) / f"{b}-{t}"
                    r = run(exe, corpus, d, t)
                    res.setdefault((b, t), []).append(r)
                    if b == "current":
                        base = Path(tmp) / f"baseline-{t}"
                        prior = res[("baseline", t)][-1]
                        for f in ("out.jsonl", "ledger.jsonl"):
                            if not speed.same(base / f, d / f):
                                diffs.append(f"round {rnd + 1}, --threads {t}: {f} differs")
                        if counts(prior["summary"]) != counts(r["summary"]):
                            diffs.append(f"round {rnd + 1}, --threads {t}: --json counts differ")
        one = res[("current", threads[0])][-1]["summary"]
        for t in threads[1:]:
            if counts(res[("current", t)][-1]["summary"]) != counts(one):
                diffs.append(f"current: --json counts differ between --threads {threads[0]} and {t}")
            if not speed.same(Path(tmp) / f"current-{threads[0]}" / "out.jsonl", Path(tmp) / f"current-{t}" / "out.jsonl"):
                diffs.append(f"current: output differs between --threads {threads[0]} and {t}")
    print("\n| run | threads | wall s | CPU s | decide.near s | write s | wall vs baseline | CPU vs baseline |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    med = {k: {f: statistics.median(r[f] for r in v) for f in ("wall", "cpu", "near", "write")}
           for k, v in res.items()}
    for t in threads:
        for b in bins:
            m, base = med[(b, t)], med[("baseline", t)]
            ratio = ("", "") if b == "baseline" else (f"{base['wall'] / m['wall']:.2f}×", f"{base['cpu'] / m['cpu']:.2f}×")
            print(f"| {b} | {t} | {m['wall']:.2f} | {m['cpu']:.2f} | {m['near']:.2f} | {m['write']:.2f} "
                  f"| {ratio[0]} | {ratio[1]} |")
    for b in bins:
        if 1 in threads and 2 in threads:
            print(f"- {b}: --threads 2 runs {med[(b, 1)]['wall'] / med[(b, 2)]['wall']:.2f}× faster than --threads 1 "
                  f"(decide.near {med[(b, 1)]['near'] / med[(b, 2)]['near']:.2f}×)")
    print("- outputs, ledgers and --json counts: " + ("; ".join(diffs) if diffs else
          "identical to the baseline's in every round, and across thread counts"))
    print(f"\nload {speed.load()} at the end")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
