#!/usr/bin/env python3
"""Instructions per byte of the per-record kernels, before and after, under callgrind.

    python3 bench/icount.py [--baseline REV] [--kernels repeats,normalize,...] [--mb 4]

Wall time on a shared 2-core machine moves with everyone else's builds; instruction counts do
not. This runs `crates/neardup-core/benches/icount.rs` (one kernel over the records of a JSONL
file, everything else prepared outside the counted function) under
`valgrind --tool=callgrind --toggle-collect='icount::kernel_*'` and prints instructions per
byte for each kernel on short records (the speed sample, ~650 bytes each) and long ones (the
small debdocs corpus, ~25 kB each), the first `--mb` MB of each.

`--baseline REV` builds the same harness against the code at git revision REV (in a temporary
worktree; the harness file is copied in, it only uses public APIs; the build is kept in
bench/out/icount/COMMIT/) and prints both, with the ratio. `--check` (with `--baseline`) first compares what the two builds compute, record by record,
on both inputs and on `--check-also` files (default: the full corpus): canonical text and bytes,
offset map, repeats, shingles, MinHash and OPH signatures, Gopher statistics; any difference fails. Bytes are what the kernel reads: the original text for `normalize*`, the canonical text
for `repeats` and `stats`, the canonical text with line breaks as spaces for `shingle`, `minhash`, `oph`
(whose instructions are divided by those bytes too, so the columns add up per byte of text).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("NEARDUP_CORPUS_DIR", "/work/corpus"))
KERNELS = ["normalize", "normalize-bytes", "repeats", "stats", "shingle", "minhash", "oph"]
BENCH_ENTRY = '\n[[bench]]\nname = "icount"\nharness = false\n'


def build(tree: Path, target: Path) -> Path:
    """Builds the icount bench in `tree`; returns the executable."""
    env = dict(os.environ, CARGO_TARGET_DIR=str(target))
    p = subprocess.run(["cargo", "bench", "-p", "neardup-core", "--bench", "icount", "--no-run",
                        "--message-format", "json"], cwd=tree, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"icount: build failed in {tree}:\n{p.stderr[-3000:]}")
    for line in p.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "icount" and msg.get("executable"):
            return Path(msg["executable"])
    sys.exit("icount: no executable in cargo's output")


def baseline_tree(rev: str, tmp: Path) -> Path:
    tree = tmp / "baseline"
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), rev], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bench = tree / "crates/neardup-core/benches"
    bench.mkdir(exist_ok=True)
    shutil.copy(ROOT / "crates/neardup-core/benches/icount.rs", bench / "icount.rs")
    toml = tree / "crates/neardup-core/Cargo.toml"
    text = toml.read_text()
    if 'name = "icount"' not in text:
        if "criterion" not in text:
            text = text.replace("[dev-dependencies]\n", "[dev-dependencies]\ncriterion.workspace = true\n")
        toml.write_text(text + BENCH_ENTRY)
    return tree


def baseline_exe(rev: str, tmp: Path) -> Path:
    """The harness built against `rev`, cached in bench/out/ by commit."""
    commit = subprocess.run(["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=ROOT, check=True,
                            stdout=subprocess.PIPE, text=True).stdout.strip()
    cache = ROOT / "bench" / "out" / "icount" / commit
    exe = cache / "icount"
    harness = ROOT / "crates/neardup-core/benches/icount.rs"
    if exe.exists() and (cache / "icount.rs").read_bytes() == harness.read_bytes():
        return exe
    try:
        built = build(baseline_tree(rev, tmp), cache / "target")
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tmp / "baseline")], cwd=ROOT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.copy(built, exe)
    shutil.copy(harness, cache / "icount.rs")
    return exe


def count(exe: Path, kernel: str, data: Path, mb: int) -> tuple[int, int]:
    """(instructions, bytes) of one kernel over the first `mb` MB of `data`."""
    with tempfile.NamedTemporaryFile(suffix=".cg") as out:
        p = subprocess.run(["valgrind", "--tool=callgrind", "--toggle-collect=icount::kernel_*",
                            f"--callgrind-out-file={out.name}", str(exe), kernel, str(data), str(mb)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"icount: {kernel} on {data} failed:\n{p.stderr[-2000:]}")
    ir = int(re.search(r"Collected : (\d+)", p.stderr).group(1))
    return ir, json.loads(p.stdout.strip().splitlines()[-1])["bytes"]


FIELDS = ["canonical", "offset map", "canonical bytes", "repeats", "shingles", "minhash", "oph", "stats"]


def check(exes: dict, paths: list[Path]) -> bool:
    """Whether every build computes the same for every record of every file."""
    same = True
    for path in paths:
        outs = {}
        for name, exe in exes.items():
            p = subprocess.run([str(exe), "digest", str(path)], stdout=subprocess.PIPE, text=True)
            if p.returncode != 0:
                sys.exit(f"icount: digest of {path} failed with {name}")
            outs[name] = p.stdout.splitlines()
        (a, la), (b, lb) = outs.items()
        if len(la) != len(lb):
            print(f"check {path}: {a} {len(la)} records, {b} {len(lb)}")
            same = False
            continue
        diff = [0] * len(FIELDS)
        for x, y in zip(la, lb):
            for k, (u, v) in enumerate(zip(x.split(), y.split())):
                if u != v and k < len(FIELDS):
                    diff[k] += 1
        bad = {f: d for f, d in zip(FIELDS, diff) if d}
        print(f"check {path}: {len(la) - 1} records, " + (f"DIFFERENT {bad}" if bad else "identical"))
        same &= not bad
    return same


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", metavar="REV", help="also measure the code at this git revision")
    ap.add_argument("--kernels", default=",".join(KERNELS))
    ap.add_argument("--mb", type=int, default=4, help="MB of each input (default 4)")
    ap.add_argument("--check", action="store_true", help="compare results with --baseline first")
    ap.add_argument("--check-also", type=Path, nargs="*", default=[CORPUS / "full" / "all.jsonl"])
    ap.add_argument("--short", type=Path, default=CORPUS / "speed" / "sample-60000.jsonl")
    ap.add_argument("--long", type=Path, default=CORPUS / "small" / "all.jsonl")
    args = ap.parse_args()
    inputs = {"short": args.short, "long": args.long}
    for name, path in inputs.items():
        if not path.exists():
            sys.exit(f"icount: {path} is missing (bench/speed_sample.py, bench/corpus.sh small)")
    with tempfile.TemporaryDirectory(prefix="neardup-icount-") as tmp:
        tmp = Path(tmp)
        exes = {"current": build(ROOT, ROOT / "target")}
        if args.baseline:
            exes = {"baseline": baseline_exe(args.baseline, tmp), **exes}
        if args.check:
            if not args.baseline:
                sys.exit("icount: --check needs --baseline")
            if not check(exes, [*inputs.values(), *(p for p in args.check_also if p.exists())]):
                return 1
            print()
        cols = list(exes)
        head = "| kernel | input | " + " | ".join(f"{c} Ir/byte" for c in cols)
        head += " | × fewer |" if args.baseline else " |"
        print(f"callgrind instructions per byte, first {args.mb} MB of each input"
              + (f"; baseline = {args.baseline}" if args.baseline else ""))
        print()
        print(head)
        print("|---|---|" + "---:|" * (len(cols) + (1 if args.baseline else 0)))
        for kernel in args.kernels.split(","):
            for name, path in inputs.items():
                per = {c: count(exe, kernel, path, args.mb) for c, exe in exes.items()}
                vals = [per[c][0] / per[c][1] for c in cols]
                row = f"| {kernel} | {name} | " + " | ".join(f"{v:.1f}" for v in vals)
                row += f" | {vals[0] / vals[-1]:.2f} |" if args.baseline else " |"
                print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
