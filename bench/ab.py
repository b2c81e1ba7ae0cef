#!/usr/bin/env python3
"""Two neardup binaries on the same job, alternating, in CPU seconds, outputs compared byte for byte.

    python3 bench/ab.py --old /work/main/target/release/neardup --new target/release/neardup \
        [--rounds 3] [--input /work/corpus/full/all.jsonl] [--job default|exact|clusters] [--threads 2]

On a shared 2-core machine one run of each says little: this runs `old` then `new`, then `new`
then `old`, and so on for `--rounds` rounds, each under `/usr/bin/time`, and prints wall, user and
sys seconds and peak RSS per run, then the mean and the median of user + sys per binary and their
ratio. Every run's output (and ledger) is compared with `cmp` against the first run's of `old`:
any difference is printed and makes the exit status 1.

Jobs: `default` = `dedup IN -o OUT --ledger LEDGER` (exact, in-record repeats, near duplicates,
the Gopher statistics in the ledger); `exact` = `dedup --no-near --no-repeats`; `clusters` =
`clusters IN -o OUT` (near duplicates only). Outputs go to a temp directory (never /dev/null).
"""
from __future__ import annotations

import argparse
import filecmp
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def run(binary: str, job: str, inp: str, threads: int, out: Path) -> tuple[dict, list[Path]]:
    files = [out / "out.jsonl"]
    cmd = [binary]
    if job == "clusters":
        cmd += ["clusters", inp, "-o", str(files[0])]
    else:
        cmd += ["dedup", inp, "-o", str(files[0])]
        if job == "default":
            files.append(out / "ledger.jsonl")
            cmd += ["--ledger", str(files[1])]
        else:
            cmd += ["--no-near", "--no-repeats"]
    cmd += ["--threads", str(threads)]
    timing = out / "time.txt"
    p = subprocess.run(["/usr/bin/time", "-o", str(timing), "-f", "%e %U %S %M"] + cmd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"ab: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    wall, user, sys_, rss = timing.read_text().split()[-4:]
    return {"wall": float(wall), "user": float(user), "sys": float(sys_), "rss": int(rss)}, files


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", required=True)
    ap.add_argument("--new", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--input", default="/work/corpus/full/all.jsonl")
    ap.add_argument("--job", choices=["default", "exact", "clusters"], default="default")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    print(f"# ab: {args.job} on {args.input}, --threads {args.threads}, {args.rounds} rounds")
    print(f"# old = {args.old}\n# new = {args.new}")
    print(f"# load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    cpu: dict[str, list[float]] = {"old": [], "new": []}
    same = True
    with tempfile.TemporaryDirectory(prefix="neardup-ab-") as tmp:
        tmp = Path(tmp)
        reference: list[Path] | None = None
        for r in range(args.rounds):
            order = ["old", "new"] if r % 2 == 0 else ["new", "old"]
            for name in order:
                out = tmp / f"{name}-{r}"
                out.mkdir()
                t, files = run(getattr(args, name), args.job, args.input, args.threads, out)
                cpu[name].append(t["user"] + t["sys"])
                note = ""
                if reference is None:
                    reference = files
                else:
                    differ = [f.name for f, g in zip(files, reference) if not filecmp.cmp(f, g, shallow=False)]
                    note = "identical" if not differ else "DIFFERS: " + ", ".join(differ)
                    same &= not differ
                print(f"round {r + 1} {name}: {t['wall']:.2f} s wall, {t['user']:.2f} user {t['sys']:.2f} sys "
                      f"= {t['user'] + t['sys']:.2f} CPU s, {t['rss']} KB  {note}")
                if files is not reference:
                    for f in files:  # compared: only the first run's are kept
                        f.unlink()
        sizes = ", ".join(f"{f.name} {f.stat().st_size} bytes" for f in reference or [])
    for name in ("old", "new"):
        v = cpu[name]
        print(f"{name}: CPU s {' '.join(f'{x:.2f}' for x in v)}; mean {statistics.mean(v):.2f}, "
              f"median {statistics.median(v):.2f}")
    print(f"new / old CPU: mean {statistics.mean(cpu['new']) / statistics.mean(cpu['old']):.3f}, "
          f"median {statistics.median(cpu['new']) / statistics.median(cpu['old']):.3f}")
    print(f"outputs: {'all byte-identical' if same else 'DIFFER'} ({sizes})")
    print(f"# load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
