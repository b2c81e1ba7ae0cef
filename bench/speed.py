#!/usr/bin/env python3
"""neardup's throughput, before and after, beside reading the bytes and beside its near-dup peers.

    bench/.venv/bin/python bench/speed.py [--corpus small|full|FILE] [--baseline REV] [--threads 2]
        [--runs 1] [--no-peers] [--memory-run [--memory-binaries current]]

One run prints, for the corpus (debdocs `small` by default, `full` for the issue's numbers):

  cat | wc -l          reading the bytes (the ceiling)
  exact                dedup --no-near --no-repeats
  exact + repeats      dedup --no-near
  default              dedup --ledger LEDGER (exact, in-record repeats, near duplicates)

and, on the speed sample (bench/speed_sample.py: 60,000 records of ~650 bytes cut from the full
corpus), `clusters --threads 1` with `--sketch minhash` and `--sketch oph`; each for the current
binary (`cargo build --release` of this tree) and, with `--baseline REV`, for a binary built from
git revision REV in a temporary worktree (cached in bench/out/speed/COMMIT/). rensa and datasketch
run on the same records, one process and one thread each, as bench/peers/near_peers.py runs them
(MinHash + LSH, word 5-grams, 128 permutations, threshold 0.8).

MB/s = UTF-8 bytes of the `text` fields / wall seconds (1 MB = 10^6 bytes); "per thread" divides
by the threads neardup was given. Outputs and ledgers go to a temp directory on disk (never
/dev/null) and the baseline's are compared with the current binary's byte for byte ("same
output"). The binaries compared take turns run by run, and so do the peers with the runs they
are compared with (the default `dedup` on the corpus; both sketches of `clusters` on the sample),
so that a slow phase of the machine falls on all of them; every row is a median of `--runs`.
Each `dedup` run writes its output anew (the previous round's are deleted, untimed), as a first
run does; one more line times the exact-only run replacing its existing output, which on ext4
costs the rename about 0.1 s per 190 MB for any program that replaces a file atomically.
Ratios printed are the issue's targets: default dedup vs the baseline (>= 3x), per thread vs
rensa (about 5x), exact-only vs `cat | wc -l` (>= 0.5), clusters per thread vs rensa (>= 5x) and
datasketch (>= 20x), OPH vs MinHash (>= 1).

`--memory-run` adds the 10 M-record run: the 200,000-record speed sample written 50 times with
one word changed per record per copy (6.7 GB, built once by bench/speed_sample.py), default
`dedup --memory 2G --threads 2` with a ledger; wall time and peak RSS (target: under 4 GiB).

The machine is shared: wall times move with other people's work (the load average is printed
before and after). Compare rows within one run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CORPUS = Path(os.environ.get("NEARDUP_CORPUS_DIR", "/work/corpus"))
TIME = "/usr/bin/time"
PEERS = ["rensa", "datasketch"]


def sh(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, **kw)


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def page_probe(work: Path, mb: int = 256) -> str:
    """System seconds to write `mb` MB into a new file, kept until the end of the run (so that the
    runs measured do not reuse its pages). On these VMs memory left free for a while has gone back
    to the host and costs about 15 us a page to touch again (0.3-0.9 s here); memory freed just
    before, or reclaimed from the page cache, does not (about 0.05 s). Which state a run was in
    changes every binary's system time (bench/README.md, twelfth session)."""
    block = b"\0" * (1 << 20)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_stime
    with open(work / "page-probe", "wb") as f:
        for _ in range(mb):
            f.write(block)
    sys_s = resource.getrusage(resource.RUSAGE_SELF).ru_stime - before
    state = "cold: pages come back from the host" if sys_s > 0.2 else "warm"
    return f"page probe: {mb} MB written into a new file in {sys_s:.2f} s of system time ({state})"


# ----------------------------------------------------------------- inputs ----
def corpus_path(name: str) -> Path:
    if name in ("small", "full"):
        out = subprocess.run([str(BENCH / "corpus.sh"), name], check=True, stdout=subprocess.PIPE, text=True)
        return Path(out.stdout.strip().splitlines()[-1])
    p = Path(name)
    if not p.exists():
        sys.exit(f"speed: {p} does not exist")
    return p


def sample_path(records: int, copies: int = 1) -> Path:
    args = [sys.executable, str(BENCH / "speed_sample.py"), "--records", str(records), "--copies", str(copies)]
    out = subprocess.run(args, check=True, stdout=subprocess.PIPE, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


def text_bytes(path: Path) -> tuple[int, int]:
    """(records, UTF-8 bytes of their `text` fields)."""
    n = b = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                n += 1
                b += len(json.loads(line)["text"].encode("utf-8", "surrogatepass"))
    return n, b


# --------------------------------------------------------------- binaries ----
def build_current() -> Path:
    sh(["cargo", "build", "--release", "-q", "-p", "neardup-cli"], cwd=ROOT)
    return ROOT / "target" / "release" / "neardup"


def build_baseline(rev: str) -> Path:
    commit = subprocess.run(["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=ROOT, check=True,
                            stdout=subprocess.PIPE, text=True).stdout.strip()
    cache = BENCH / "out" / "speed" / commit
    exe = cache / "neardup"
    if exe.exists():
        return exe
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="neardup-baseline-") as tmp:
        tree = Path(tmp) / "tree"
        sh(["git", "worktree", "add", "--detach", str(tree), commit], cwd=ROOT,
           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            env = dict(os.environ, CARGO_TARGET_DIR=str(cache / "target"))
            sh(["cargo", "build", "--release", "-q", "-p", "neardup-cli"], cwd=tree, env=env)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.copy(cache / "target" / "release" / "neardup", exe)
    return exe


# ------------------------------------------------------------------ runs ----
def timed(cmd: list[str], tv: Path, runs: int, stdout=subprocess.DEVNULL,
          fresh: tuple[Path, ...] = ()) -> dict:
    """Median wall and CPU (user + system) seconds of `runs` runs under time -v, and the largest
    peak RSS. CPU seconds are what to compare on a loaded machine: wall time there is mostly
    waiting for a core. The files in `fresh` are deleted (untimed) before each run, so that every
    run writes new outputs as a first run does: renaming over an existing file makes ext4 allocate
    the new file's blocks and free the old one's inside the rename (about 0.1 s for 190 MB here),
    for any program that replaces its output atomically."""
    return alternated({0: (cmd, tv, fresh)}, runs, stdout)[0]


def alternated(cmds: dict, runs: int, stdout=subprocess.DEVNULL) -> dict:
    """`timed` for several commands, `{key: (cmd, time file, fresh files)}`, run in turns: each
    round runs every command once, so that a slow phase of the machine (they come and go for
    minutes here) falls on all of them rather than on whichever ran then. One result per key; a
    command that fails is not run again."""
    runs_of: dict = {k: ([], [], 0.0) for k in cmds}
    failed: dict = {}
    for _ in range(runs):
        for k, (cmd, tv, fresh) in cmds.items():
            if k in failed:
                continue
            for f in fresh:
                f.unlink(missing_ok=True)
            t = time.perf_counter()
            p = subprocess.run([TIME, "-v", "-o", str(tv)] + cmd, stdout=stdout, stderr=subprocess.PIPE,
                               text=True)
            wall = time.perf_counter() - t
            if p.returncode != 0:
                failed[k] = {"failed": f"exit {p.returncode}: {p.stderr.strip()[-300:]}"}
                continue
            walls, cpus, rss = runs_of[k]
            walls.append(wall)
            tvt = tv.read_text()
            m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", tvt)
            rss = max(rss, int(m.group(1)) / 1024 if m else float("nan"))
            cpus.append(sum(float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", tvt)))
            runs_of[k] = (walls, cpus, rss)
    return {k: failed.get(k) or {"wall": statistics.median(w), "cpu": statistics.median(c), "rss_mb": r}
            for k, (w, c, r) in runs_of.items()}


def peer_cmds(inp: Path, d: Path) -> dict:
    """Each near-dup peer on `inp` as near_peers.py runs it (its own process, one thread), as
    `alternated` takes them: `{name: (cmd, time file, fresh files)}`; outputs in `d`."""
    d.mkdir(exist_ok=True)
    return {p: ([sys.executable, str(BENCH / "peers" / "near_peers.py"), "_run", p, str(inp),
                 str(d / f"{p}.pairs.tsv")], d / f"{p}.time", ()) for p in PEERS}


def print_peers(timings: dict, mb: float, label: str) -> dict:
    """The peers' rows, from `alternated`'s results; returns `{name: result}`."""
    peers = {p: timings[p] for p in PEERS if p in timings}
    for p, r in peers.items():
        print(fmt_row(f"{p} ({label})", r, mb), flush=True)
    return peers


def vs_baseline(base: dict, r: dict) -> str:
    """How many times faster `r` ran than the baseline's `base`, in wall and CPU time."""
    if "failed" in base:
        return ""
    return f"{base['wall'] / r['wall']:.2f}× baseline (CPU {base['cpu'] / r['cpu']:.2f}×)"


def same(a: Path, b: Path) -> bool:
    return a.exists() and b.exists() and subprocess.run(["cmp", "-s", str(a), str(b)]).returncode == 0


# ----------------------------------------------------------------- report ----
def fmt_row(label: str, r: dict, mb: float, extra: str = "") -> str:
    if "failed" in r:
        return f"| {label} | failed: {r['failed']} ||||||"
    return (f"| {label} | {r['wall']:.2f} | {r['cpu']:.2f} | {mb / r['wall']:.1f} | {r['rss_mb']:,.0f} "
            f"| {extra} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="small", help="small, full or a JSONL file (default small)")
    ap.add_argument("--sample-records", type=int, default=60000)
    ap.add_argument("--baseline", metavar="REV", help="git revision to build and compare against")
    ap.add_argument("--threads", type=int, default=2, help="neardup's threads for dedup (default 2)")
    ap.add_argument("--runs", type=int, default=1, help="runs per row, median (default 1)")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--memory-run", action="store_true", help="also the 10 M-record memory run")
    ap.add_argument("--memory-only", action="store_true", help="only the 10 M-record memory run")
    ap.add_argument("--memory-binaries", default="current", help="current, baseline or both")
    ap.add_argument("--memory-records", type=int, default=200000)
    ap.add_argument("--memory-copies", type=int, default=50)
    args = ap.parse_args()

    if args.memory_only:
        args.memory_run = True
    corpus = None if args.memory_only else corpus_path(args.corpus)
    sample = None if args.memory_only else sample_path(args.sample_records)
    bins = {"current": build_current()}
    if args.baseline:
        bins = {"baseline": build_baseline(args.baseline), **bins}
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, stdout=subprocess.PIPE,
                          text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           stdout=subprocess.PIPE, text=True).stdout.strip()
    print(f"# bench/speed.py — {platform.node()}, {os.cpu_count()} cores, load {load()} at start")
    print(f"current = {head}{'+' if dirty else ''}" + (f", baseline = {args.baseline}" if args.baseline else ""))
    T = args.threads
    work = Path(tempfile.mkdtemp(prefix="neardup-speed-", dir=BENCH / "out" if (BENCH / "out").exists() else None))
    try:
        print(page_probe(work))
        if not args.memory_only:
            corpus_and_sample(args, bins, corpus, sample, work, T)
        # ------------------------------------------------- memory run ----
        if args.memory_run:
            memory_run(args, bins, work)
        print(f"\nload {load()} at the end")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def corpus_and_sample(args, bins: dict, corpus: Path, sample: Path, work: Path, T: int) -> None:
    """The corpus table (cat, exact, exact + repeats, default) and the speed-sample table."""
    # -------------------------------------------------------- corpus ----
    n, nb = text_bytes(corpus)
    mb = nb / 1e6
    print(f"\n## {corpus} — {n:,} records, {mb:.1f} MB of text; neardup --threads {T}\n")
    print("| run | wall s | CPU s | MB/s | peak RSS MB | notes |")
    print("|---|---:|---:|---:|---:|---|")
    sh(["cat", str(corpus)], stdout=subprocess.DEVNULL)  # warm the page cache
    cat = timed(["sh", "-c", f"cat '{corpus}' | wc -l"], work / "cat.time", args.runs)
    print(fmt_row("`cat \\| wc -l`", cat, mb), flush=True)
    res: dict[tuple[str, str], dict] = {}
    run_of: dict[tuple[str, str], tuple] = {}  # (job, binary): (cmd, time file, fresh files)
    jobs = {
        "exact": ["--no-near", "--no-repeats"],
        "exact + repeats": ["--no-near"],
        "default (+ near, ledger)": [],
    }
    peers: dict = {}
    for job, flags in jobs.items():
        # The default run takes turns with the peers too: their ratio is the target.
        cmds = {} if flags or args.no_peers else peer_cmds(corpus, work / "peers-corpus")
        for b, exe in bins.items():
            d = work / b / job.split()[0]
            d.mkdir(parents=True, exist_ok=True)
            cmd = [str(exe), "dedup", str(corpus), "-o", str(d / "out.jsonl"), "--threads", str(T), "--quiet",
                   *flags]
            if not flags:
                cmd += ["--ledger", str(d / "ledger.jsonl")]
            cmds[b] = run_of[(job, b)] = (cmd, d / "time", (d / "out.jsonl", d / "ledger.jsonl"))
        # The binaries take turns, run by run.
        timings = alternated(cmds, args.runs)
        for b in bins:
            d = work / b / job.split()[0]
            r = res[(job, b)] = timings[b]
            note = ""
            if b == "current" and "baseline" in bins and "failed" not in r:
                base = res[(job, "baseline")]
                bd = work / "baseline" / job.split()[0]
                out_same = same(bd / "out.jsonl", d / "out.jsonl")
                led = "" if flags else (", same ledger" if same(bd / "ledger.jsonl", d / "ledger.jsonl")
                                        else ", LEDGER DIFFERS")
                note = vs_baseline(base, r)
                note += (", same output" if out_same else ", OUTPUT DIFFERS") + led
            print(fmt_row(f"{job} — {b}", r, mb, note), flush=True)
        if not flags:
            peers = print_peers(timings, mb, "near only, 1 thread")
    # ratios
    print()
    cur = res[("default (+ near, ledger)", "current")]
    lines = []
    if "baseline" in bins and "failed" not in cur:
        base = res[("default (+ near, ledger)", "baseline")]
        if "failed" not in base:
            lines.append(f"- default dedup: {base['wall'] / cur['wall']:.2f}× faster than the baseline in wall "
                         f"time, {base['cpu'] / cur['cpu']:.2f}× in CPU seconds (target ≥ 3×)")
    if "rensa" in peers and "failed" not in peers["rensa"] and "failed" not in cur:
        for b in bins:
            r = res[("default (+ near, ledger)", b)]
            if "failed" not in r:
                lines.append(f"- default dedup per thread ({b}) = {mb / r['wall'] / T:.1f} MB/s, "
                             f"{(mb / r['wall'] / T) / (mb / peers['rensa']['wall']):.1f}× rensa's near-only "
                             f"{mb / peers['rensa']['wall']:.1f} MB/s; per CPU second "
                             f"{mb / r['cpu']:.1f} vs {mb / peers['rensa']['cpu']:.1f} MB, "
                             f"{peers['rensa']['cpu'] / r['cpu']:.1f}× (target about 5×)")
    for b in bins:
        r = res[("exact", b)]
        if "failed" not in r and "failed" not in cat:
            lines.append(f"- exact only ({b}): {cat['wall'] / r['wall']:.2f}× the speed of `cat | wc -l` "
                         f"(target ≥ 0.5)")
    # The same run of the current binary onto its existing output, as a rerun to the same path is.
    cmd, tv, _ = run_of[("exact", "current")]
    again = timed(cmd, tv, args.runs)
    if "failed" not in again and "failed" not in cat:
        lines.append(f"- exact only (current), replacing its existing output: {again['wall']:.2f} s, "
                     f"{cat['wall'] / again['wall']:.2f}× the speed of `cat | wc -l`")
    print("\n".join(lines))

    # --------------------------------------------------- speed sample ----
    sn, sb = text_bytes(sample)
    smb = sb / 1e6
    print(f"\n## {sample} — {sn:,} records, {smb:.1f} MB of text, ~{sb // max(sn, 1)} bytes each\n")
    print("| run | wall s | CPU s | MB/s | peak RSS MB | notes |")
    print("|---|---:|---:|---:|---:|---|")
    cmds = {} if args.no_peers else peer_cmds(sample, work / "peers-sample")
    for sketch in ("minhash", "oph"):
        for b, exe in bins.items():
            d = work / b / f"clusters-{sketch}"
            d.mkdir(parents=True, exist_ok=True)
            cmds[(sketch, b)] = ([str(exe), "clusters", str(sample), "-o", str(d / "out.jsonl"), "--threads", "1",
                                  "--sketch", sketch, "--quiet"], d / "time", ())
    # Every binary, sketch and peer take turns, run by run: OPH against MinHash is a few percent, less
    # than the machine's drift over a minute, and a peer timed once, apart, drifts as much.
    cl = alternated(cmds, args.runs)
    for sketch in ("minhash", "oph"):
        for b in bins:
            d = work / b / f"clusters-{sketch}"
            r = cl[(sketch, b)]
            note = ""
            if b == "current" and "baseline" in bins and "failed" not in r:
                base = cl[(sketch, "baseline")]
                same_out = same(work / "baseline" / f"clusters-{sketch}" / "out.jsonl", d / "out.jsonl")
                note = vs_baseline(base, r)
                note += ", same output" if same_out else ", OUTPUT DIFFERS"
            print(fmt_row(f"clusters --threads 1 --sketch {sketch} — {b}", r, smb, note), flush=True)
    speers = print_peers(cl, smb, "1 thread")
    print()
    lines = []
    for b in bins:
        for sketch in ("minhash", "oph"):
            r = cl[(sketch, b)]
            if "failed" in r:
                continue
            rate = smb / r["wall"]
            vs = [f"{rate / (smb / speers[p]['wall']):.1f}× {p} (CPU {speers[p]['cpu'] / r['cpu']:.1f}×)"
                  for p in PEERS
                  if p in speers and "failed" not in speers[p]]
            lines.append(f"- clusters {sketch} ({b}): {rate:.1f} MB/s per thread"
                         + (": " + ", ".join(vs) if vs else "") + " (targets ≥ 5× rensa, ≥ 20× datasketch)")
        m, o = cl[("minhash", b)], cl[("oph", b)]
        if "failed" not in m and "failed" not in o:
            lines.append(f"- OPH vs MinHash ({b}): {m['wall'] / o['wall']:.2f}× in wall time, "
                         f"{m['cpu'] / o['cpu']:.2f}× in CPU seconds (target ≥ 1)")
    print("\n".join(lines))


def memory_run(args, bins: dict, work: Path) -> None:
    big = sample_path(args.memory_records, args.memory_copies)
    size = big.stat().st_size / 1e9
    print(f"\n## {big} — {args.memory_records:,} × {args.memory_copies} records, {size:.1f} GB JSONL; "
          f"dedup --memory 2G --threads 2 --ledger\n")
    print("| binary | wall s | peak RSS MB | summary |")
    print("|---|---:|---:|---|")
    which = list(bins) if args.memory_binaries == "both" else [args.memory_binaries]
    for b in which:
        d = work / b / "memory"
        d.mkdir(parents=True, exist_ok=True)
        with open(d / "summary.json", "w") as summary:
            r = timed([str(bins[b]), "dedup", str(big), "-o", str(d / "out.jsonl"), "--ledger",
                       str(d / "ledger.jsonl"), "--memory", "2G", "--threads", "2", "--json"],
                      d / "time", 1, stdout=summary)
        if "failed" in r:
            print(f"| {b} | failed: {r['failed']} |||")
            continue
        s = json.loads((d / "summary.json").read_text().strip().splitlines()[-1])
        keys = ("read", "kept", "modified", "removed", "removed_near")
        print(f"| {b} | {r['wall']:.0f} | {r['rss_mb']:,.0f} | "
              + ", ".join(f"{k} {s[k]}" for k in keys if k in s) + " |", flush=True)
        for f in d.glob("*.jsonl"):
            f.unlink()  # gigabytes


if __name__ == "__main__":
    sys.exit(main())
