#!/usr/bin/env python3
"""OPH against classic MinHash, per record length, in one run.

    python3 bench/oph.py [--bin PATH] [--baseline PATH] [--rounds 3] [--lengths short,speed,long]

Issue 13 asks for `--sketch oph` at least as fast as `--sketch minhash` "on every record length".
This runs `neardup clusters --threads 1 --sketch minhash` and `--sketch oph` alternately (so both
see the same machine load), `--rounds` times each, on three inputs:

  short   the 60,000-record speed sample (bench/speed_sample.py) with each text cut to ~200 bytes
          (at the last space before byte 200)
  speed   the speed sample itself (~650 bytes a record)
  long    the first ~40 MB of the full debdocs corpus, whole records (~9 KB a record)

and prints, per input, the median user+sys CPU seconds of each kind, OPH/MinHash as a speed ratio
(MinHash CPU / OPH CPU: >= 1 means OPH is at least as fast) and the candidate and verified pair
counts from `--json` (OPH's estimates are noisier on short texts; more candidates cost
verification time that is not the sketch's). With `--baseline PATH` (e.g. main's binary) the same
runs are made with it, interleaved, and every output is compared byte for byte with the current
binary's ("same output").

CPU seconds are what to compare on a shared machine; wall times move with other people's work.
The derived inputs are written once under bench/out/oph/.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CORPUS = Path(os.environ.get("NEARDUP_CORPUS_DIR", "/work/corpus"))
OUT = BENCH / "out" / "oph"
TIME = "/usr/bin/time"
KINDS = ("minhash", "oph")


def speed_sample() -> Path:
    args = [sys.executable, str(BENCH / "speed_sample.py"), "--records", "60000"]
    out = subprocess.run(args, check=True, stdout=subprocess.PIPE, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


def short_sample(sample: Path, cut: int = 200) -> Path:
    """The speed sample with each text cut at the last space before byte `cut`."""
    path = OUT / f"short-{cut}.jsonl"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(sample, encoding="utf-8") as f, open(tmp, "w", encoding="utf-8") as o:
        for line in f:
            r = json.loads(line)
            t = r["text"].encode("utf-8")[:cut].decode("utf-8", "ignore")
            space = t.rfind(" ")
            r["text"] = t[:space] if space > cut // 2 else t
            o.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.rename(path)
    return path


def long_sample(mb: int = 40) -> Path:
    """The first whole records of the full corpus up to `mb` MB."""
    path = OUT / f"long-{mb}mb.jsonl"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    src = CORPUS / "full" / "all.jsonl"
    if not src.exists():
        full = subprocess.run([str(BENCH / "corpus.sh"), "full"], check=True, stdout=subprocess.PIPE, text=True)
        src = Path(full.stdout.strip().splitlines()[-1])
    tmp = path.with_suffix(".tmp")
    total = 0
    with open(src, "rb") as f, open(tmp, "wb") as o:
        for line in f:
            if total >= mb * 1_000_000:
                break
            o.write(line)
            total += len(line)
    tmp.rename(path)
    return path


def stats(path: Path) -> tuple[int, int]:
    """(records, UTF-8 bytes of their texts)."""
    n = b = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            n += 1
            b += len(json.loads(line)["text"].encode("utf-8"))
    return n, b


def run(exe: Path, kind: str, inp: Path, out: Path, tv: Path) -> dict:
    """One `clusters --threads 1` run: CPU seconds (user + sys) and the summary's near counts."""
    cmd = [TIME, "-v", "-o", str(tv), str(exe), "clusters", "--threads", "1", "--sketch", kind,
           "--json", "-o", str(out), str(inp)]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"oph: {' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()[-400:]}")
    cpu = sum(float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", tv.read_text()))
    summary = json.loads(p.stdout.strip().splitlines()[-1])
    near = summary.get("near") or {}
    return {"cpu": cpu, "candidates": near.get("candidates"), "verified": near.get("verified")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", type=Path, default=ROOT / "target" / "release" / "neardup",
                    help="the binary to measure (default: this tree's release build)")
    ap.add_argument("--baseline", type=Path, help="another binary, run interleaved; outputs compared")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--lengths", default="short,speed,long")
    args = ap.parse_args()

    sample = speed_sample()
    inputs = {"short": lambda: short_sample(sample), "speed": lambda: sample, "long": long_sample}
    bins = {"current": args.bin}
    if args.baseline:
        bins["baseline"] = args.baseline
    print(f"load {' '.join(f'{x:.1f}' for x in os.getloadavg())}; rounds {args.rounds}; "
          f"binaries: " + ", ".join(f"{k} {v}" for k, v in bins.items()))
    print()
    print("| records | binary | MinHash CPU s | OPH CPU s | OPH speed / MinHash | candidates (mh / oph) | verified (mh / oph) | same output |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    worst = {}
    with tempfile.TemporaryDirectory(prefix="neardup-oph-") as tmp:
        d = Path(tmp)
        for name in args.lengths.split(","):
            inp = inputs[name]()
            n, b = stats(inp)
            cpu = {(w, k): [] for w in bins for k in KINDS}
            last = {}
            for _ in range(args.rounds):
                for k in KINDS:
                    for w, exe in bins.items():
                        last[(w, k)] = run(exe, k, inp, d / f"{w}-{k}.jsonl", d / "time.txt")
                        cpu[(w, k)].append(last[(w, k)]["cpu"])
            for w in bins:
                mh, oph = statistics.median(cpu[(w, "minhash")]), statistics.median(cpu[(w, "oph")])
                ratio = mh / oph
                same = ""
                if w == "baseline":
                    same = "yes" if all(
                        (d / f"current-{k}.jsonl").read_bytes() == (d / f"baseline-{k}.jsonl").read_bytes()
                        for k in KINDS) else "**NO**"
                c = (last[(w, "minhash")], last[(w, "oph")])
                print(f"| {name}: {n} × {b / n:.0f} B | {w} | {mh:.2f} | {oph:.2f} | {ratio:.2f}× | "
                      f"{c[0]['candidates']} / {c[1]['candidates']} | {c[0]['verified']} / {c[1]['verified']} | {same} |",
                      flush=True)
                worst[w] = min(worst.get(w, ratio), ratio)
    print()
    for w, r in worst.items():
        print(f"- {w}: OPH at least as fast as MinHash on every length: {'yes' if r >= 1 else 'no'} "
              f"(lowest ratio {r:.2f}×)")
    print(f"load {' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
