#!/usr/bin/env python3
"""Exact-only dedup against reading the bytes (`cat FILE | wc -l`), in the same run.

    python3 bench/exact_cat.py --base /tmp/neardup-main --new target/release/neardup \
        [--corpus /work/corpus/full/all.jsonl] [--rounds 3] [--threads 2]

Issue 13, item 3: `neardup dedup --no-near --no-repeats` at least half the speed of
`cat | wc -l`. Each round times `cat | wc -l`, then the two binaries in alternating order
(the first round starts with the baseline, the next with the new one), each as
`dedup FILE -o OUT --threads T --quiet --no-near --no-repeats`; wall and CPU seconds
(user + sys of the process and its children, from wait4) for each, the ratio
"cat wall / dedup wall" (the issue's figure: >= 0.5 is the target) and whether the two
outputs are byte-identical. Standard library only; no venv needed.
"""

import argparse
import filecmp
import os
import subprocess
import tempfile
import time
from pathlib import Path


def run(cmd: list[str], shell: bool = False) -> tuple[float, float]:
    """Wall and CPU seconds of `cmd` (CPU of the process and all it waited for)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd if not shell else cmd[0], shell=shell, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {cmd}")
    return wall, ru.ru_utime + ru.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True, help="baseline neardup binary")
    ap.add_argument("--new", required=True, help="neardup binary under test")
    ap.add_argument("--corpus", default="/work/corpus/full/all.jsonl")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    corpus = Path(args.corpus)
    mb = corpus.stat().st_size / 1e6
    print(f"# bench/exact_cat.py — {corpus} ({mb:.1f} MB), --threads {args.threads}, "
          f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())} at start")
    print("| round | run | wall s | CPU s | MB/s | cat wall / wall |")
    print("|---|---|---:|---:|---:|---:|")
    sums: dict[str, list[float]] = {"base": [], "new": []}
    with tempfile.TemporaryDirectory(prefix="exact-cat-", dir="/tmp") as tmp:
        for r in range(1, args.rounds + 1):
            # Warm the page cache the same way for every run of the round.
            cw, cc = run([f"cat '{corpus}' | wc -l"], shell=True)
            print(f"| {r} | `cat \\| wc -l` | {cw:.2f} | {cc:.2f} | {mb / cw:.0f} | 1.00 |")
            order = ["base", "new"] if r % 2 else ["new", "base"]
            for who in order:
                out = Path(tmp) / f"{who}.jsonl"
                binary = args.base if who == "base" else args.new
                w, c = run([binary, "dedup", str(corpus), "-o", str(out), "--threads",
                            str(args.threads), "--quiet", "--no-near", "--no-repeats"])
                sums[who].append(cw / w)
                print(f"| {r} | exact — {who} | {w:.2f} | {c:.2f} | {mb / w:.0f} | {cw / w:.2f} |")
            same = filecmp.cmp(Path(tmp) / "base.jsonl", Path(tmp) / "new.jsonl", shallow=False)
            size = (Path(tmp) / "new.jsonl").stat().st_size
            print(f"| {r} | outputs | | | | {'identical' if same else 'DIFFER'} ({size} bytes) |")
    for who, ratios in sums.items():
        print(f"- {who}: cat wall / exact wall = "
              f"{', '.join(f'{x:.2f}' for x in ratios)} (mean {sum(ratios) / len(ratios):.2f}; target >= 0.5)")


if __name__ == "__main__":
    main()
