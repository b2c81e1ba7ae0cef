#!/usr/bin/env python3
"""Repeated-substring removal: neardup beside Google's suffix-array tool, in one run.

    python3 bench/substrings.py [--parts same,overlap,typo,scale] [--sizes small,full]
                                [--neardup PATH] [--threads 2] [--reuse-peer] [--record FILE.md]

Parts (each tool under `/usr/bin/time -v`: wall = monotonic clock around the
process tree, peak RSS = `Maximum resident set size`, the largest process of
the tree):

  same     For each size (small, full: /work/corpus/SIZE/all.{txt,jsonl}):
           (a) google   bench/peers/google_substrings.sh all.txt DIR 100 THREADS
                        (make, self-similar, collect, finish; Lee et al. 2022)
           (b) neardup  `neardup substrings all.txt --records file --max-record-bytes 2147483648
                        --remove all`: the whole file as ONE record, every occurrence cut --
                        Google's job. Run twice: with `--raw` (no canonical form; only in
                        binaries that have it: the byte-identical job) and with the five
                        raw-bytes flags (--no-nfkc --no-typography --no-invisible
                        --no-case-fold --whitespace keep), which still fold some characters
                        (see `overlap`). The binary is copied to bench/out/substrings/bin/
                        first, so a rebuild of target/ during the run changes nothing.
           (c) neardup  `neardup substrings all.jsonl --remove later` (the real job:
                        canonical form, per record, first occurrence kept), for reference
           (b) and (c) run with --ledger (the spans come from it) and, unless
           --no-without-ledger, once more without it (what the ledger costs); ranges then
           come from the --json summary.
  overlap  Google's remove.byterange against (b)'s ledger spans of the single record
           ([offset, len] -> [start, end)). Google cuts bytes and may split UTF-8
           characters (its issue #53): each Google range is shrunk inward to character
           boundaries (leading continuation bytes dropped; at the end a partial
           trailing character dropped) before comparing. Reports bytes in both, only
           Google, only neardup, whether the range sets are identical, and how many
           raw Google ranges are not valid UTF-8 as cut. Done for both (b) runs. Even
           with the raw-bytes flags neardup folds Unicode spaces (NBSP, U+3000, ...) and
           line separators, so when that set differs, the "fold check" runs Google again on the text with exactly those
           folds applied (checked against `neardup normalize` with the same flags) and
           compares its ranges, mapped back to original offsets, with neardup's.
  fold     the fold check alone, on the (b) ledgers an earlier run left in
           bench/out/substrings/neardup/SIZE-raw/ (no neardup timing)
  typo     N documents of the small corpus with passages (>= 300 bytes) of document i
           planted into a later document j with typographic variants (curly quotes,
           em/en dashes for `--`/` - `, NBSP for spaces), plus exact copies as a
           control. Google runs on the joined text, neardup on the JSONL (default
           canonical form, --remove later). A plant is caught when >= 90 % of its
           bytes lie inside cut ranges.
  scale    neardup (real job) on /work/corpus/scale/x4.jsonl and x16.jsonl (bench/scale.py
           builds them); Google on x4.txt (bench/jsonl_to_text.py) when `make`'s
           ~13 bytes of RAM per input byte fit in this machine's memory, else reported as
           not fitting; with Google's ranges at hand, neardup's one-record jobs (b) on
           x4.txt too, and their overlap (fold check only with --fold-check-scale: ~17 GB).

Peer results are cached in bench/out/substrings/google/ keyed by input path, size,
mtime, length and threads; `--reuse-peer` uses the cache (default: run the peer
again in this run; `--reuse-peer scale-x4` reuses only the 4x run, `all` everything). Google's `make` is given oom_score_adj 1000, so if memory runs
out the kernel kills it first. When `neardup substrings` is not in the binary yet,
(b) falls back to the `byterange` example of neardup-suffix (same ranges, printed in
Google's `collect` format) and (c), typo and scale are skipped with a note.

The table goes to stdout and bench/out/substrings.md (`--record` also writes a
report with the command line and machine). Python 3.11 stdlib only.
Exit status: 0 ok, 1 a check failed (e.g. a ledger that does not add up), 2 could not run.
"""
from __future__ import annotations

import argparse
import bisect
import datetime as _dt
import hashlib
import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CORPUS = Path(os.environ.get("NEARDUP_CORPUS_DIR", "/work/corpus"))
OUT = HERE / "out" / "substrings"
GOOGLE_SH = HERE / "peers" / "google_substrings.sh"
GDIR = Path(os.environ.get("GOOGLE_DEDUP_DIR", "/work/peers-build/deduplicate-text-datasets"))
TIME = "/usr/bin/time"
RAW_FLAGS = ["--no-nfkc", "--no-typography", "--no-invisible", "--no-case-fold", "--whitespace", "keep"]
MAKE_BYTES_PER_BYTE = 13  # google `make`: peak RSS / input bytes measured on full (3.66 GB / 291 MB = 12.6)

NOTES: list[str] = []     # printed under the table
PROBLEMS: list[str] = []  # failed checks (exit 1)


def log(*a) -> None:
    print("substrings:", *a, file=sys.stderr, flush=True)


def note(s: str) -> None:
    NOTES.append(s)
    log("note:", s)


def problem(s: str) -> None:
    PROBLEMS.append(s)
    log("PROBLEM:", s)


def loadavg() -> str:
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "?"


def mem_total() -> int:
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


# ---------------------------------------------------------------- running ----
def timed(cmd: list[str], tv: Path, *, stdout=None, nice: int = 0, oom_first: bool = False,
          env: dict | None = None, check: bool = True) -> dict:
    """Runs cmd under /usr/bin/time -v; returns wall (monotonic), rss_mb, rc, stdout (if captured)."""
    tv.parent.mkdir(parents=True, exist_ok=True)
    full = [TIME, "-v", "-o", str(tv)] + cmd
    if nice:
        full = ["nice", "-n", str(nice)] + full

    def pre():
        if oom_first:
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write("1000")

    log("run:", shlex.join(cmd))
    la = loadavg()
    t = time.perf_counter()
    p = subprocess.run(full, stdout=stdout if stdout is not None else subprocess.PIPE, stderr=subprocess.PIPE,
                       preexec_fn=pre, env=env)
    wall = time.perf_counter() - t
    txt = tv.read_text(errors="replace") if tv.exists() else ""
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", txt)
    sig = re.search(r"Command terminated by signal (\d+)", txt)
    r = {"cmd": cmd, "wall": wall, "rss_mb": int(m.group(1)) / 1024 if m else float("nan"), "rc": p.returncode,
         "signal": int(sig.group(1)) if sig else None, "load_before": la, "load_after": loadavg(),
         "stdout": p.stdout.decode(errors="replace") if isinstance(p.stdout, bytes) else "",
         "stderr": p.stderr.decode(errors="replace")[-4000:]}
    if p.returncode != 0 and check:
        log(f"failed with {p.returncode}: {shlex.join(cmd)}\n{r['stderr'][-2000:]}")
    return r


# ----------------------------------------------------------------- google ----
def google_key(inp: Path, length: int, threads: int) -> tuple[str, dict]:
    st = inp.stat()
    ident = {"input": str(inp.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
             "length": length, "threads": threads}
    h = hashlib.sha1(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:12]
    return f"{inp.parent.name}-{inp.stem}-{h}", ident


def google(inp: Path, length: int, threads: int, reuse: bool | str, nice: int, label: str = "") -> dict:
    """Google's tool on inp (cached in OUT/google/KEY). Returns meta (wall, rss_mb, ranges, dir, ...)."""
    key, ident = google_key(inp, length, threads)
    d = OUT / "google" / key
    meta_f = d / "meta.json"
    if isinstance(reuse, str):  # `all`, or a comma list of cache-key parts (e.g. `scale-x4,full-all`)
        reuse = reuse == "all" or any(w and w in key for w in reuse.split(","))
    if reuse and meta_f.exists():
        meta = json.loads(meta_f.read_text())
        if meta.get("ident") == ident:
            log(f"google: reusing {d} (run {meta.get('date')})")
            meta["cached"] = True
            return meta
    need = MAKE_BYTES_PER_BYTE * ident["size"]
    if need > mem_total():
        return {"ident": ident, "ok": False, "fits": False, "need": need, "dir": str(d),
                "why": f"does not fit in {mem_total() / 2**30:.0f} GiB (needs ~{need / 1e9:.0f} GB for make)"}
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    run = d / "run"
    r = timed(["bash", str(GOOGLE_SH), str(inp), str(run), str(length), str(threads)], d / "time.txt",
              nice=nice, oom_first=True)
    meta = {"ident": ident, "date": _dt.datetime.now().isoformat(timespec="seconds"), "dir": str(d),
            "wall": r["wall"], "rss_mb": r["rss_mb"], "rc": r["rc"], "signal": r["signal"], "nice": nice,
            "load_before": r["load_before"], "load_after": r["load_after"], "ok": r["rc"] == 0, "fits": True,
            "cmd": shlex.join(r["cmd"])}
    if r["rc"] == 0:
        s = json.loads((run / "summary.json").read_text())
        meta.update(ranges=s["ranges"], bytes_in_ranges=s["bytes_in_ranges"], phases=s["phases"],
                    phase_seconds=s["seconds"], duplicates_found=s["duplicates_found"])
        shutil.move(str(run / "remove.byterange"), str(d / "remove.byterange"))
    else:
        meta["why"] = f"failed (exit {r['rc']}, signal {r['signal']}): {r['stderr'][-600:]}"
        ph = run / "phases.tsv"
        meta["phases_done"] = ph.read_text() if ph.exists() else ""
    # keep the ranges, the logs and the phase table; drop the big side files (suffix array, dups, deduped text)
    for big in ["data.txt.table.bin", "cache", "deduped.txt"]:
        p = run / big
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        elif p.exists():
            p.unlink()
    meta_f.write_text(json.dumps(meta, indent=1))
    return meta


def read_byterange(path: Path) -> list[tuple[int, int]]:
    out = []
    with open(path) as f:
        for line in f:
            if line.strip() == "out":
                break
        for line in f:
            a, b = line.split()
            out.append((int(a), int(b)))
    return out


# ---------------------------------------------------------------- neardup ----
def has_substrings(neardup: str) -> bool:
    try:
        p = subprocess.run([neardup, "substrings", "--help"], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return p.returncode == 0


def ledger_lines(path: Path):
    """Yields (is_header, object) for each non-blank line of a ledger, streaming."""
    seen_header = False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            o = json.loads(line)
            is_header = not seen_header and "neardup_ledger" in o
            seen_header = seen_header or is_header
            yield is_header, o


def read_ledger(path: Path) -> tuple[dict | None, list[dict]]:
    header, recs = None, []
    for is_header, o in ledger_lines(path):
        if is_header:
            header = o
        else:
            recs.append(o)
    return header, recs


def ledger_totals(path: Path) -> dict:
    """Streams the ledger: records by status, spans, bytes in spans (checks spans are sorted/disjoint)."""
    status: dict[str, int] = {}
    by_status: dict[str, list[int]] = {}
    spans = covered = 0
    bad = []
    header = None
    for is_header, o in ledger_lines(path):
        if is_header:
            header = o
            continue
        st = o.get("status")
        status[st] = status.get(st, 0) + 1
        prev = -1
        bs = by_status.setdefault(st, [0, 0])
        for off, ln in o.get("spans") or []:
            bs[0] += 1
            bs[1] += ln
            if off < prev or ln <= 0:
                bad.append((o.get("id"), off, ln))
            prev = off + ln
            spans += 1
            covered += ln
        if st == "modified" and not o.get("spans"):
            bad.append((o.get("id"), "modified without spans"))
        if st == "kept" and o.get("spans"):
            bad.append((o.get("id"), "kept with spans"))
    return {"header": header, "status": status, "records": sum(status.values()), "spans": spans,
            "bytes": covered, "bad": bad, "by_status": by_status}


def neardup_cmd(neardup: str, inputs: list[Path], out: Path, ledger: Path | None, *, mode: str, raw: bool | str,
                threads: int, length: int, extra: list[str], tmp: Path) -> list[str]:
    """raw: False (canonical form, per JSONL record), "flags" (one record, the five raw-bytes flags) or "raw"
    (one record, `--raw`: no canonical form at all, in binaries that have it)."""
    cmd = [neardup, "substrings", *map(str, inputs), "-o", str(out), "--min-len", str(length), "--remove", mode,
           *(["--ledger", str(ledger)] if ledger else []), "--json", "-j", str(threads), "--tmp-dir", str(tmp)]
    if raw:
        cmd += ["--records", "file", "--max-record-bytes", str(2**31)]  # `2G` is refused
        cmd += ["--raw"] if raw == "raw" else RAW_FLAGS
    return cmd + extra


def run_neardup(args, name: str, inp: Path, *, mode: str, raw: bool | str, ledger_on: bool = True) -> dict:
    d = OUT / "neardup" / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    tmp = d / "tmp"
    tmp.mkdir()
    suffix = ".jsonl" if inp.suffix == ".jsonl" else ".txt"
    outf, ledger = d / f"out{suffix}", d / "ledger.jsonl"
    cmd = neardup_cmd(args.neardup, [inp], outf, ledger if ledger_on else None, mode=mode, raw=raw,
                      threads=args.threads,
                      length=args.len, extra=args.neardup_arg, tmp=tmp)
    r = timed(cmd, d / "time.txt", nice=args.nice, oom_first=True)
    res = {"wall": r["wall"], "rss_mb": r["rss_mb"], "cmd": shlex.join(cmd), "ok": r["rc"] == 0, "dir": str(d),
           "load": f"{r['load_before']} -> {r['load_after']}"}
    if r["rc"] != 0:
        res["why"] = f"exit {r['rc']} (signal {r['signal']}): {r['stderr'][-800:]}"
        problem(f"neardup {name}: {res['why']}")
        return res
    try:
        res["summary"] = json.loads(r["stdout"].strip().splitlines()[-1])
    except (ValueError, IndexError):
        res["summary"] = None
        problem(f"neardup {name}: --json printed no JSON summary on stdout: {r['stdout'][-300:]!r}")
    res["tmp_left"] = sum(1 for _ in tmp.rglob("*"))
    if res["tmp_left"]:
        problem(f"neardup {name}: {res['tmp_left']} files left in --tmp-dir {tmp}")
    res["out_bytes"] = outf.stat().st_size if outf.exists() else None
    if not ledger_on:
        sub = (res["summary"] or {}).get("substrings") or {}
        res["ranges"], res["bytes_in_ranges"] = sub.get("cuts"), sub.get("bytes_cut")
        return res
    t = ledger_totals(ledger)
    res["ledger"] = t
    res["ranges"], res["bytes_in_ranges"] = t["spans"], t["bytes"]
    if t["header"] is None:
        problem(f"neardup {name}: ledger has no header line with key neardup_ledger")
    if t["bad"]:
        problem(f"neardup {name}: {len(t['bad'])} odd ledger entries, e.g. {t['bad'][:3]}")
    check_summary(name, res, inp)
    return res


def check_summary(name: str, res: dict, inp: Path) -> None:
    """Cross-checks the --json summary against the ledger (keys are matched loosely: the CLI is new)."""
    s, t = res.get("summary"), res["ledger"]
    if not isinstance(s, dict):
        return
    res["summary_keys"] = sorted(s)
    st = t["status"]
    for k in ["kept", "modified", "removed", "rejected"]:
        if k in s and isinstance(s[k], int) and s[k] != st.get(k, 0):
            problem(f"neardup {name}: summary {k}={s[k]} but ledger has {st.get(k, 0)}")
    if "read" in s and isinstance(s["read"], int) and s["read"] != t["records"]:
        problem(f"neardup {name}: summary read={s['read']} but ledger has {t['records']} records")
    if isinstance(s.get("read"), int) and all(isinstance(s.get(k), int) for k in ["kept", "modified", "removed", "rejected"]):
        if s["read"] != s["kept"] + s["modified"] + s["removed"] + s["rejected"]:
            problem(f"neardup {name}: summary does not balance: {s}")
    sub = s.get("substrings") if isinstance(s.get("substrings"), dict) else {}
    if isinstance(sub.get("cuts"), int) and sub["cuts"] != t["spans"]:
        problem(f"neardup {name}: summary substrings.cuts={sub['cuts']} but the ledger has {t['spans']} spans")
    if isinstance(sub.get("bytes_cut"), int) and sub["bytes_cut"] != t["bytes"]:
        problem(f"neardup {name}: summary substrings.bytes_cut={sub['bytes_cut']} but the ledger spans hold "
                f"{t['bytes']} bytes")
    if isinstance(sub.get("records"), int) and sub["records"] != t["records"]:
        problem(f"neardup {name}: summary substrings.records={sub['records']} but the ledger has {t['records']}")
    # top-level spans_cut / bytes_cut count the spans of modified records only (removed ones are in `removed`)
    mod = t["by_status"].get("modified", [0, 0])
    if isinstance(s.get("spans_cut"), int) and s["spans_cut"] != mod[0]:
        problem(f"neardup {name}: summary spans_cut={s['spans_cut']} but modified records have {mod[0]} spans")
    if isinstance(s.get("bytes_cut"), int) and s["bytes_cut"] != mod[1]:
        problem(f"neardup {name}: summary bytes_cut={s['bytes_cut']} but modified records' spans hold {mod[1]}")
    if "bytes_in" in s and isinstance(s["bytes_in"], int):
        res["bytes_in"] = s["bytes_in"]


def run_example(args, name: str, inp: Path) -> dict:
    """Fallback for (b): the neardup-suffix `byterange` example (All mode, one document)."""
    exe = ROOT / "target" / "release" / "examples" / "byterange"
    d = OUT / "neardup" / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    outf = d / "remove.byterange"
    cmd = [str(exe), str(inp), str(args.len), "all", str(args.example_memory)]
    with open(outf, "wb") as f:
        r = timed(cmd, d / "time.txt", stdout=f, nice=args.nice, env={**os.environ, "TMPDIR": str(d)})
    res = {"wall": r["wall"], "rss_mb": r["rss_mb"], "cmd": shlex.join(cmd), "ok": r["rc"] == 0, "dir": str(d),
           "example": True, "load": f"{r['load_before']} -> {r['load_after']}"}
    if r["rc"] != 0:
        res["why"] = f"exit {r['rc']}: {r['stderr'][-800:]}"
        problem(f"byterange example {name}: {res['why']}")
        return res
    rs = read_byterange(outf)
    res["ranges_list"] = rs
    res["ranges"], res["bytes_in_ranges"] = len(rs), sum(b - a for a, b in rs)
    return res


def neardup_raw_ranges(res: dict) -> list[tuple[int, int]]:
    if "ranges_list" in res:
        return res["ranges_list"]
    _, recs = read_ledger(Path(res["dir"]) / "ledger.jsonl")
    if len(recs) != 1:
        problem(f"neardup raw job: expected one record in the ledger, got {len(recs)}")
    out = []
    for r in recs:
        out += [(o, o + n) for o, n in r.get("spans") or []]
    return out


# ---------------------------------------------------------------- overlap ----
def is_cont(b: int) -> bool:
    return b & 0xC0 == 0x80


def shrink(data: bytes, ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    n, out = len(data), []
    for a, b in ranges:
        while a < b and is_cont(data[a]):
            a += 1
        while b > a and b < n and is_cont(data[b]):
            b -= 1
        if a < b:
            out.append((a, b))
    return out


def intersect_len(x: list[tuple[int, int]], y: list[tuple[int, int]]) -> int:
    i = j = tot = 0
    while i < len(x) and j < len(y):
        lo, hi = max(x[i][0], y[j][0]), min(x[i][1], y[j][1])
        if lo < hi:
            tot += hi - lo
        if x[i][1] < y[j][1]:
            i += 1
        else:
            j += 1
    return tot


def difference(x: list[tuple[int, int]], y: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """x minus y (both sorted, disjoint)."""
    out, j = [], 0
    for a, b in x:
        while j < len(y) and y[j][1] <= a:
            j += 1
        k, cur = j, a
        while k < len(y) and y[k][0] < b:
            if y[k][0] > cur:
                out.append((cur, y[k][0]))
            cur = max(cur, y[k][1])
            k += 1
        if cur < b:
            out.append((cur, b))
    return out


def context(data: bytes, a: int, b: int, w: int = 24) -> str:
    return f"[{a}, {b}) {data[max(0, a - w):a]!r} | {data[a:min(b, a + w)]!r}{' ...' if b - a > w else ''} | " \
           f"{data[b:b + w]!r}"


def overlap(label: str, inp: Path, g_raw: list[tuple[int, int]], n_ranges: list[tuple[int, int]]) -> dict:
    data = inp.read_bytes()
    invalid = start_mid = end_mid = 0
    for a, b in g_raw:
        sm, em = a < len(data) and is_cont(data[a]), b < len(data) and is_cont(data[b])
        start_mid += sm
        end_mid += em
        if sm or em:
            invalid += 1
        elif b > a:
            try:
                data[a:b].decode("utf-8")
            except UnicodeDecodeError:
                invalid += 1
    g = shrink(data, g_raw)
    nn = sorted(n_ranges)
    both = intersect_len(g, nn)
    gb, nb = sum(b - a for a, b in g), sum(b - a for a, b in nn)
    only_g, only_n = difference(g, nn), difference(nn, g)
    r = {"label": label, "google_raw": len(g_raw), "google_raw_bytes": sum(b - a for a, b in g_raw),
         "google_shrunk": len(g), "google_bytes": gb, "neardup": len(nn), "neardup_bytes": nb, "both": both,
         "only_google": gb - both, "only_neardup": nb - both, "identical": g == nn, "invalid_utf8": invalid,
         "start_mid": start_mid, "end_mid": end_mid, "dropped": len(g_raw) - len(g),
         "examples_g": [context(data, a, b) for a, b in only_g[:4]],
         "examples_n": [context(data, a, b) for a, b in only_n[:4]]}
    if not r["identical"]:
        sg, sn = set(g), set(nn)
        r["ranges_only_google"] = len(sg - sn)
        r["ranges_only_neardup"] = len(sn - sg)
        r["range_examples"] = [("google", context(data, a, b)) for a, b in sorted(sg - sn)[:3]] + \
                              [("neardup", context(data, a, b)) for a, b in sorted(sn - sg)[:3]]
    return r


# Characters neardup's canonical form folds even with every raw-bytes flag (crates/neardup-text/src/fold.rs
# `is_space` / `is_line_break`, applied unconditionally in normalize.rs `transform`/`fold_char`): Unicode spaces
# to ` `, line separators to `\n`.
FOLD_SPACE = ["\u00a0", "\u1680", *[chr(c) for c in range(0x2000, 0x200B)], "\u202f", "\u205f", "\u3000"]
FOLD_BREAK = ["\u0085", "\u2028", "\u2029"]  # (ASCII \t \v \f \r: folded only inside non-ASCII segments, 1:1)
FOLD_RE = re.compile(b"|".join(re.escape(c.encode()) for c in FOLD_SPACE + FOLD_BREAK))


def _fold_repl(m: re.Match) -> bytes:
    return b" " if m.group(0).decode() in FOLD_SPACE else b"\n"


def fold_check(args, label: str, inp: Path, n_ranges: list[tuple[int, int]]) -> dict:
    """Explains a raw-job mismatch: Google on the text with neardup's residual folds applied (checked against
    `neardup normalize` with the raw flags), its ranges mapped back to original offsets, compared with neardup."""
    d = OUT / "folded"
    d.mkdir(parents=True, exist_ok=True)
    data = inp.read_bytes()
    expected = FOLD_RE.sub(_fold_repl, data)
    canon_f = d / f"{label}.normalize.txt"
    with open(canon_f, "wb") as f:
        r = subprocess.run(["nice", "-n", str(args.nice), args.neardup, "normalize", *RAW_FLAGS, str(inp)], stdout=f)
    canon = canon_f.read_bytes()
    canon_f.unlink()
    res = {"label": label, "folded_chars": 0}
    if r.returncode != 0:
        res["why"] = f"neardup normalize failed ({r.returncode})"
        return res
    if len(canon) == len(expected) + 1 and canon.endswith(b"\n"):
        canon = canon[:-1]  # `normalize` ends its output with a newline
    res["other_subst"] = 0
    if canon != expected:
        if len(canon) != len(expected):
            i = next((k for k in range(min(len(canon), len(expected))) if canon[k] != expected[k]),
                     min(len(canon), len(expected)))
            res["why"] = (f"the raw-flag canonical form is not the text with Unicode spaces/line breaks folded: first "
                          f"difference at canonical byte {i}: {expected[max(0, i - 20):i + 20]!r} vs "
                          f"{canon[max(0, i - 20):i + 20]!r}")
            return res
        # same length: further byte-for-byte substitutions (e.g. a tab before a combining mark becomes a space);
        # offsets are unchanged, so Google runs on neardup's own canonical text
        subst, step = [], 1 << 20
        for c0 in range(0, len(canon), step):
            if canon[c0:c0 + step] != expected[c0:c0 + step]:
                subst += [k for k in range(c0, min(c0 + step, len(canon))) if canon[k] != expected[k]]
        kinds: dict[str, int] = {}
        for k in subst:
            kk = f"{expected[k:k + 1]!r}->{canon[k:k + 1]!r}"
            kinds[kk] = kinds.get(kk, 0) + 1
        res["other_subst"] = len(subst)
        res["other_kinds"] = kinds
        res["other_examples"] = [f"canonical byte {k}: {expected[max(0, k - 12):k + 12]!r} -> "
                                 f"{canon[max(0, k - 12):k + 12]!r}" for k in subst[:3]]
        expected = canon
    del canon
    edits = [(m.start(), m.end() - m.start() - 1) for m in FOLD_RE.finditer(data)]  # (orig offset, bytes lost)
    res["folded_chars"] = len(edits)
    res["folded_bytes_lost"] = sum(x for _, x in edits)
    folded = d / f"{label}.txt"
    if not folded.exists() or folded.read_bytes() != expected:
        folded.write_bytes(expected)
    del expected, data  # keep this process small while Google runs (it needs ~13 bytes per byte)
    g = google(folded, args.len, args.threads, args.reuse_peer, args.nice)
    data = inp.read_bytes()
    expected = folded.read_bytes()
    res["google"] = {k: g.get(k) for k in ["wall", "rss_mb", "ranges", "bytes_in_ranges", "ok", "why", "dir"]}
    if not g.get("ok"):
        return res
    cpos, cum, lost = [], [0], 0
    for off, x in edits:
        cpos.append(off - lost)
        lost += x
        cum.append(lost)

    def orig(c: int) -> int:
        return c + cum[bisect.bisect_left(cpos, c)]

    g_c = shrink(expected, read_byterange(Path(g["dir"]) / "remove.byterange"))
    g_o = [(orig(a), orig(b)) for a, b in g_c]
    nn = sorted(n_ranges)
    both = intersect_len(g_o, nn)
    gb, nb = sum(b - a for a, b in g_o), sum(b - a for a, b in nn)
    res.update(google_ranges=len(g_o), google_bytes=gb, neardup_ranges=len(nn), neardup_bytes=nb, both=both,
               only_google=gb - both, only_neardup=nb - both, identical=g_o == nn)
    if g_o != nn:
        sg, sn = set(g_o), set(nn)
        res["ranges_only_google"], res["ranges_only_neardup"] = len(sg - sn), len(sn - sg)
        res["examples"] = [("google", context(data, a, b)) for a, b in sorted(sg - sn)[:3]] + \
                          [("neardup", context(data, a, b)) for a, b in sorted(sn - sg)[:3]]
    return res


def fold_md(f: dict) -> list[str]:
    if "identical" not in f:
        return [f"Fold check, {f['label']}: not done: {f.get('why', '?')}"]
    lines = [f"**Fold check, {f['label']}**: even with all the raw-bytes flags neardup's canonical form turns "
             f"{f['folded_chars']:,} multi-byte characters (Unicode spaces such as NBSP and U+3000, line separators) into ` `/`\\n` "
             f"({f['folded_bytes_lost']:,} bytes shorter), so `--min-len 100` counts different bytes than Google does. "
             f"Google run on that folded text ({f['google']['wall']:.1f} s, {f['google']['rss_mb']:,.0f} MB), its "
             f"ranges mapped back to original offsets: {f['google_ranges']:,} ranges / {f['google_bytes']:,} bytes "
             f"vs neardup's {f['neardup_ranges']:,} / {f['neardup_bytes']:,}; in both {f['both']:,}, only Google "
             f"{f['only_google']:,}, only neardup {f['only_neardup']:,}: range sets identical: "
             f"**{'yes' if f['identical'] else 'NO'}**"
             + (f" ({f['ranges_only_google']:,} ranges only in Google's set, {f['ranges_only_neardup']:,} only in "
                f"neardup's)." if not f["identical"] else ".")]
    if f.get("other_subst"):
        lines.append(f"Besides those, {f['other_subst']:,} single bytes are substituted in place "
                     f"({', '.join(f'{k} ×{v}' for k, v in f['other_kinds'].items())}), e.g.:")
        lines += [f"    {e}" for e in f.get("other_examples", [])]
    for who, c in f.get("examples", []):
        lines.append(f"    {who}: {c}")
    return lines


def overlap_md(o: dict) -> list[str]:
    lines = [f"**Overlap, {o['label']}** (Google's ranges shrunk to UTF-8 boundaries vs neardup's one-record spans):",
             "",
             "| | ranges | bytes |",
             "|---|---:|---:|",
             f"| Google raw (`remove.byterange`) | {o['google_raw']:,} | {o['google_raw_bytes']:,} |",
             f"| Google shrunk to char boundaries | {o['google_shrunk']:,} | {o['google_bytes']:,} |",
             f"| neardup (ledger spans) | {o['neardup']:,} | {o['neardup_bytes']:,} |",
             f"| in both | | {o['both']:,} |",
             f"| only Google | | {o['only_google']:,} |",
             f"| only neardup | | {o['only_neardup']:,} |",
             "",
             f"Range sets identical: **{'yes' if o['identical'] else 'NO'}**. Google raw ranges that are not valid "
             f"UTF-8 as cut (issue #53): {o['invalid_utf8']:,} ({o['start_mid']:,} start inside a character, "
             f"{o['end_mid']:,} end inside one; {o['dropped']} vanish when shrunk)."]
    if not o["identical"]:
        lines.append(f"Ranges only in Google's set: {o.get('ranges_only_google', 0):,}; only in neardup's: "
                     f"{o.get('ranges_only_neardup', 0):,}. Examples (offset, bytes before | in | after):")
        lines += [f"    {who}: {c}" for who, c in o.get("range_examples", [])]
        if o["examples_g"]:
            lines.append("Bytes cut only by Google:")
            lines += [f"    {c}" for c in o["examples_g"]]
        if o["examples_n"]:
            lines.append("Bytes cut only by neardup:")
            lines += [f"    {c}" for c in o["examples_n"]]
    return lines


# ------------------------------------------------------------------- typo ----
QUOTE_DASH = re.compile(r'"|\'|-{2,}| - ')


def variant(s: str, kind: str) -> str:
    if kind in ("quotes+dashes", "quotes+dashes sparse", "mixed"):
        out, open_q = [], True
        i = 0
        while i < len(s):
            c = s[i]
            if c == '"':
                out.append("\u201c" if open_q else "\u201d")
                open_q = not open_q
            elif c == "'":
                out.append("\u2019")
            elif c == "-" and s.startswith("--", i):
                j = i
                while j < len(s) and s[j] == "-":
                    j += 1
                out.append("\u2014")
                i = j
                continue
            elif s.startswith(" - ", i):
                out.append(" \u2013 ")
                i += 3
                continue
            else:
                out.append(c)
            i += 1
        s = "".join(out)
    if kind in ("nbsp", "mixed"):
        s = s.replace(" ", "\u00a0")
    return s


def max_unchanged(a: str, b: str) -> int:
    """Longest run of UTF-8 bytes of b that is also a contiguous run of a at the same aligned position
    (a rough measure: longest stretch between replaced characters)."""
    ab, bb = a.encode(), b.encode()
    if ab == bb:
        return len(ab)
    # positions of changes, walking both strings char by char (variant() keeps the char order)
    best = run = 0
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            run += len(a[i].encode())
            i += 1
            j += 1
            continue
        best = max(best, run)
        run = 0
        # a replaced char: `--+` -> one char, ` - ` -> ` – ` (the spaces match), others 1:1
        if a[i] == "-" and a.startswith("--", i):
            while i < len(a) and a[i] == "-":
                i += 1
        else:
            i += 1
        j += 1
    return max(best, run)


def pick_passage(text: str, kind: str, rng: random.Random, length: int) -> tuple[int, int] | None:
    """A passage of >= 300 UTF-8 bytes starting at a line start and ending at a line end, containing what the
    kind replaces; for the dense kinds, no run of >= length bytes left unchanged by the variant."""
    lines, pos = [], 0
    for ln in text.split("\n"):
        lines.append((pos, pos + len(ln)))
        pos += len(ln) + 1
    starts = list(range(len(lines)))
    rng.shuffle(starts)
    for si in starts[:400]:
        a = lines[si][0]
        if si and lines[si][0] == lines[si - 1][1] + 1 and text[lines[si - 1][0]:lines[si - 1][1]].strip() and False:
            pass
        for ei in range(si, min(len(lines), si + 30)):
            b = lines[ei][1]
            p = text[a:b]
            nb = len(p.encode())
            if nb < 300:
                continue
            if nb > 1500 or not p.strip() or p != p.strip():
                break
            v = variant(p, kind)
            if kind == "exact":
                return a, b
            if v == p:
                break
            if kind == "quotes+dashes sparse" or max_unchanged(p, v) < length:
                return a, b
            break
    return None


def build_typo(src: Path, n_docs: int, n_plants: int, seed: int, length: int, d: Path) -> tuple[Path, Path, list]:
    rng = random.Random(seed)
    docs = []
    with open(src, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                o = json.loads(line)
                if o["text"].strip():
                    docs.append({"id": o["id"], "text": o["text"]})
            if len(docs) >= n_docs:
                break
    kinds = ["quotes+dashes", "nbsp", "mixed", "quotes+dashes sparse", "exact"]
    half = len(docs) // 2
    targets = list(range(half, len(docs)))
    rng.shuffle(targets)
    plants, used_j, seen_windows = [], set(), set()
    inserts: dict[int, list] = {}
    tries = 0
    while len(plants) < n_plants and tries < 50 * n_plants:
        tries += 1
        kind = kinds[len(plants) % len(kinds)]
        i = rng.randrange(half)
        pr = pick_passage(docs[i]["text"], kind, rng, length)
        if pr is None:
            continue
        passage = docs[i]["text"][pr[0]:pr[1]]
        copy = variant(passage, kind) if kind != "exact" else passage
        # no two plants may share a window of `length` bytes (else a byte-exact tool matches plant with plant,
        # e.g. the same passage picked twice, or from two copies of one document)
        cb = copy.encode()
        wins = {cb[k:k + length] for k in range(len(cb) - length + 1)}
        if wins & seen_windows:
            continue
        j = next((t for t in targets if t not in used_j), None)
        if j is None:
            break
        used_j.add(j)
        seen_windows |= wins
        # insert at a paragraph boundary of doc j (or at its end)
        tj = docs[j]["text"]
        paras = [m.end() for m in re.finditer(r"\n\n", tj)]
        at = rng.choice(paras) if paras else len(tj)
        inserts.setdefault(j, []).append((at, copy))
        plants.append({"kind": kind, "src": i, "dst": j, "src_off": pr[0], "passage_bytes": len(passage.encode()),
                       "copy_bytes": len(copy.encode()), "max_unchanged": max_unchanged(passage, copy)})
    # apply the inserts (one per doc) and record byte offsets in doc j's new text
    for p in plants:
        j = p["dst"]
        (at, copy), = inserts[j]
        tj = docs[j]["text"]
        new = tj[:at] + copy + "\n\n" + tj[at:]
        docs[j]["text"] = new
        p["dst_off"] = len(tj[:at].encode())
        p["dst_end"] = p["dst_off"] + len(copy.encode())
    d.mkdir(parents=True, exist_ok=True)
    jl, tx = d / "typo.jsonl", d / "typo.txt"
    starts, pos = [], 0
    with open(jl, "w", encoding="utf-8") as f, open(tx, "wb") as g:
        for k, doc in enumerate(docs):
            f.write(json.dumps({"id": doc["id"], "text": doc["text"]}, ensure_ascii=False) + "\n")
            if k:
                g.write(b"\n\n")
                pos += 2
            starts.append(pos)
            b = doc["text"].encode()
            g.write(b)
            pos += len(b)
    for p in plants:
        p["dst_id"] = docs[p["dst"]]["id"]
        p["g_off"] = starts[p["dst"]] + p["dst_off"]
        p["g_end"] = starts[p["dst"]] + p["dst_end"]
    (d / "plants.json").write_text(json.dumps(plants, indent=1))
    return jl, tx, plants


def covered(ranges: list[tuple[int, int]], a: int, b: int) -> int:
    return intersect_len(ranges, [(a, b)]) if a < b else 0


def typo_part(args, have_cli: bool) -> tuple[list[str], list[dict]]:
    d = OUT / "typo"
    jl, tx, plants = build_typo(CORPUS / "small" / "all.jsonl", args.typo_docs, args.typo_plants, args.seed,
                                args.len, d)
    log(f"typo: {len(plants)} plants in {jl}")
    rows, lines = [], []
    g = google(tx, args.len, args.threads, False, args.nice)
    g_ranges = read_byterange(Path(g["dir"]) / "remove.byterange") if g.get("ok") else []
    rows.append({"input": f"typo ({tx.stat().st_size / 1e6:.1f} MB text)", "tool": "google", **g})
    n_spans: dict[str, list] = {}
    if have_cli:
        n = run_neardup(args, "typo", jl, mode="later", raw=False)
        rows.append({"input": f"typo `{jl.name}`", "tool": "neardup (canonical, later)", **n})
        if n.get("ok"):
            _, recs = read_ledger(Path(n["dir"]) / "ledger.jsonl")
            n_spans = {r["id"]: [(o, o + ln) for o, ln in r.get("spans") or []] for r in recs}
    kinds: dict[str, dict] = {}
    for p in plants:
        k = kinds.setdefault(p["kind"], {"planted": 0, "google": 0, "neardup": 0, "gcov": 0.0, "ncov": 0.0,
                                         "unch": []})
        size = p["dst_end"] - p["dst_off"]
        gc = covered(g_ranges, p["g_off"], p["g_end"]) / size
        nc = covered(sorted(n_spans.get(p["dst_id"], [])), p["dst_off"], p["dst_end"]) / size if have_cli else 0.0
        p["google_cov"], p["neardup_cov"] = round(gc, 3), round(nc, 3)
        k["planted"] += 1
        k["google"] += gc >= 0.9
        k["neardup"] += nc >= 0.9
        k["gcov"] += gc
        k["ncov"] += nc
        k["unch"].append(p["max_unchanged"])
    (d / "plants.json").write_text(json.dumps(plants, indent=1))
    lines += [f"**Typographic variants** ({args.typo_docs} documents of the small corpus, {len(plants)} planted "
              f"passages of >= 300 bytes copied from document i into a later document j; caught = >= 90 % of the "
              f"copy's bytes inside cut ranges; Google on the joined text, neardup on the JSONL, canonical form, "
              f"`--remove later`):", "",
              "| variant | planted | longest unchanged run (bytes) | Google caught | neardup caught | "
              "Google mean coverage | neardup mean coverage |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for kind, k in kinds.items():
        ncaught = f"{k['neardup']}" if have_cli else "—"
        ncov = f"{k['ncov'] / k['planted']:.1%}" if have_cli else "—"
        lines.append(f"| {kind} | {k['planted']} | {min(k['unch'])}–{max(k['unch'])} | {k['google']} | {ncaught} | "
                     f"{k['gcov'] / k['planted']:.1%} | {ncov} |")
    tot_g = sum(k["google"] for kk, k in kinds.items() if kk != "exact")
    tot_n = sum(k["neardup"] for kk, k in kinds.items() if kk != "exact")
    tot = sum(k["planted"] for kk, k in kinds.items() if kk != "exact")
    lines += ["", f"Variants caught (exact control excluded): Google {tot_g}/{tot}, neardup "
              f"{tot_n if have_cli else '—'}/{tot}. Kinds: `quotes+dashes` replaces `\"` by “/”, `'` by ’, "
              f"`--`+ by —, ` - ` by ` – `, in passages where no run of {args.len} bytes is left unchanged; `nbsp` "
              f"every space by U+00A0; `mixed` both; `quotes+dashes sparse` the same replacements in any passage "
              f"with at least one (so unchanged runs of >= {args.len} bytes remain); `exact` an unmodified copy "
              f"(control). Plants: `{d / 'plants.json'}`."]
    return lines, rows


def one_record_jobs(args, *, label: str, prefix: str, txt: Path, ref: str, g: dict, have_raw: bool, parts: set,
                    rows: list, extra: list, fold: bool, cleanup: bool = False) -> None:
    """(b): the whole text file as one record, every occurrence cut. With `--raw` when the binary has it (the
    byte-level job) and with the five raw-bytes flags (which still fold Unicode spaces: overlap + fold check)."""
    styles = (["raw"] if have_raw else []) + ["flags"]
    for style in styles:
        name = f"{prefix}-rawflag" if style == "raw" else f"{prefix}-raw"
        tool = "neardup --raw, one record, all" if style == "raw" else "neardup 5 raw-bytes flags, one record, all"
        b = run_neardup(args, name, txt, mode="all", raw=style)
        rows.append({"input": label, "tool": tool, **b, "_ref": ref})
        if args.no_ledger_rows and (style == "raw" or not have_raw):
            b2 = run_neardup(args, name + "-noledger", txt, mode="all", raw=style, ledger_on=False)
            rows.append({"input": label, "tool": tool + ", no --ledger", **b2, "_ref": ref})
            if b.get("ok") and b2.get("ok") and (b2["ranges"], b2["bytes_in_ranges"]) != (b["ranges"],
                                                                                         b["bytes_in_ranges"]):
                problem(f"{name}: without --ledger the summary says {b2['ranges']} cuts / {b2['bytes_in_ranges']} "
                        f"bytes, with it the ledger has {b['ranges']} / {b['bytes_in_ranges']}")
            if cleanup:
                shutil.rmtree(Path(b2["dir"]) / "tmp", ignore_errors=True)
                for f in Path(b2["dir"]).glob("out.*"):
                    f.unlink()
        if "overlap" in parts and g.get("ok") and b.get("ok"):
            o = overlap(f"{prefix} ({'--raw' if style == 'raw' else 'five raw-bytes flags'})", txt,
                        read_byterange(Path(g["dir"]) / "remove.byterange"), neardup_raw_ranges(b))
            (OUT / f"overlap-{name}.json").write_text(json.dumps(o, indent=1))
            extra += [""] + overlap_md(o)
            if not o["identical"]:
                note(f"overlap {prefix} ({style}): range sets differ (see above)")
                if style == "flags" and fold:
                    fc = fold_check(args, prefix if prefix.startswith("x") else f"{prefix}-all", txt,
                                    neardup_raw_ranges(b))
                    (OUT / f"foldcheck-{prefix}.json").write_text(json.dumps(fc, indent=1))
                    extra += [""] + fold_md(fc)
        if cleanup:
            shutil.rmtree(Path(b["dir"]) / "tmp", ignore_errors=True)
            for f in Path(b["dir"]).glob("out.*"):
                f.unlink()


# ------------------------------------------------------------------ table ----
def fmt_row(r: dict, ref: dict | None) -> str:
    def f(x, spec):
        return format(x, spec) if isinstance(x, (int, float)) and x == x else "—"
    if not r.get("ok", False):
        why = " ".join(str(r.get("why", "not run")).split()).replace("|", "/")[:300]
        return f"| {r['input']} | {r['tool']} | — | — | — | — | {why} | |"
    tr = rr = ""
    if ref is not None and ref.get("ok") and r["tool"] != "google":
        tr = f"{ref['wall'] / r['wall']:.1f}×"
        rr = f"{r['rss_mb'] / ref['rss_mb']:.3f}"
    cached = " (cached)" if r.get("cached") else ""
    return (f"| {r['input']} | {r['tool']}{cached} | {f(r['wall'], '.2f')} | {f(r['rss_mb'], ',.0f')} | "
            f"{f(r.get('ranges'), ',')} | {f(r.get('bytes_in_ranges'), ',')} | {tr} | {rr} |")


HEADER = ["| input | tool | wall s | peak RSS MB | ranges | bytes in ranges | google time / neardup time | "
          "neardup RSS / google RSS |",
          "|---|---|---:|---:|---:|---:|---:|---:|"]


# ------------------------------------------------------------------- main ----
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--parts", default="same,overlap,typo,scale")
    ap.add_argument("--sizes", default="small,full")
    ap.add_argument("--scale-factors", default="4,16")
    ap.add_argument("--google-scale", default="4,16", help="factors Google is tried on (when it fits)")
    ap.add_argument("--neardup", default=os.environ.get("NEARDUP", str(ROOT / "target" / "release" / "neardup")))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--len", type=int, default=100)
    ap.add_argument("--nice", type=int, default=10, help="run every timed tool under nice -n N (shared machine)")
    ap.add_argument("--reuse-peer", nargs="?", const="all", default="",
                    help="use cached Google results when the input is unchanged: all, or only inputs whose cache key "
                         "contains one of these comma-separated words (e.g. `scale-x4`)")
    ap.add_argument("--use-example", action="store_true", help="(b) with the byterange example even if the CLI has it")
    ap.add_argument("--example-memory", default=str(1 << 30))
    ap.add_argument("--neardup-arg", action="append", default=[], help="extra argument for every neardup run")
    ap.add_argument("--no-fold-check", dest="fold_check", action="store_false",
                    help="when the raw ranges differ, do not rerun Google on the text with neardup's residual folds")
    ap.add_argument("--fold-check-scale", action="store_true",
                    help="the fold check on the scale inputs too (Google again on the folded x4 text: ~15 GB RAM)")
    ap.add_argument("--without-ledger", dest="no_ledger_rows", action=argparse.BooleanOptionalAction, default=True,
                    help="also time each neardup job without --ledger (ranges then from the --json summary)")
    ap.add_argument("--typo-docs", type=int, default=200)
    ap.add_argument("--typo-plants", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--peer-only", default="", help="comma-separated text files: run (or reuse) Google only, cache")
    ap.add_argument("--out", default=str(HERE / "out" / "substrings.md"))
    ap.add_argument("--record", default="", help="also write a report (command, machine, table) here")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)

    if args.peer_only:
        for p in args.peer_only.split(","):
            m = google(Path(p), args.len, args.threads, args.reuse_peer, args.nice)
            print(json.dumps({k: v for k, v in m.items() if k != "phases"}))
        return 0

    parts = set(args.parts.split(","))
    sizes = [s for s in args.sizes.split(",") if s]
    # pin the binary: the shared target/ may be rebuilt while this runs (minutes to an hour)
    nb = Path(args.neardup)
    binfo = f"neardup binary `{nb}` missing"
    if nb.exists():
        sha = hashlib.sha256(nb.read_bytes()).hexdigest()
        pinned = OUT / "bin" / f"neardup-{sha[:12]}"
        if not pinned.exists():
            pinned.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(nb, pinned)
        binfo = (f"neardup binary `{nb}` (sha256 {sha[:12]}, built "
                 f"{_dt.datetime.fromtimestamp(nb.stat().st_mtime):%Y-%m-%d %H:%M}), run from the copy `{pinned}`")
        args.neardup = str(pinned)
    have_cli = has_substrings(args.neardup) and not args.use_example
    have_raw = have_cli and "--raw" in subprocess.run([args.neardup, "substrings", "--help"], capture_output=True,
                                                      text=True).stdout
    example = ROOT / "target" / "release" / "examples" / "byterange"
    if not have_cli:
        note(("--use-example" if args.use_example else f"`{args.neardup} substrings` is not available")
             + ": (b) uses the neardup-suffix byterange example"
             + ("" if example.exists() else " (missing too: build it with `cargo build --release -p neardup-suffix "
                                            "--example byterange`)") + "; (c), typo and scale need the CLI")
    started = _dt.datetime.now()
    rows: list[dict] = []
    refs: dict[str, dict] = {}
    extra: list[str] = []

    for size in sizes:
        if not parts & {"same", "overlap"}:
            break
        txt, jsonl = CORPUS / size / "all.txt", CORPUS / size / "all.jsonl"
        mb = txt.stat().st_size / 1e6
        g = google(txt, args.len, args.threads, args.reuse_peer, args.nice)
        g_row = {"input": f"{size} `all.txt` ({mb:,.1f} MB)", "tool": "google", **g}
        rows.append(g_row)
        refs[size] = g
        if have_cli:
            one_record_jobs(args, label=g_row["input"], prefix=size, txt=txt, ref=size, g=g, have_raw=have_raw,
                            parts=parts, rows=rows, extra=extra, fold=args.fold_check)
        else:
            if example.exists():
                b = run_example(args, f"{size}-example", txt)
            else:
                b = {"ok": False, "why": "no neardup substrings and no byterange example"}
            rows.append({"input": g_row["input"], "tool": "neardup byterange example (all)", **b, "_ref": size})
            if "overlap" in parts and g.get("ok") and b.get("ok"):
                o = overlap(f"{size} (byterange example)", txt, read_byterange(Path(g["dir"]) / "remove.byterange"),
                            neardup_raw_ranges(b))
                extra += [""] + overlap_md(o)
        if "same" in parts and have_cli:
            c = run_neardup(args, f"{size}-jsonl", jsonl, mode="later", raw=False)
            rows.append({"input": f"{size} `all.jsonl`", "tool": "neardup canonical, per record, later", **c,
                         "_ref": size})
            if args.no_ledger_rows:
                c2 = run_neardup(args, f"{size}-jsonl-noledger", jsonl, mode="later", raw=False, ledger_on=False)
                rows.append({"input": f"{size} `all.jsonl`", "tool": "neardup canonical, per record, later, "
                             "no --ledger", **c2, "_ref": size})

    if "fold" in parts:  # the fold check alone, on the ledgers an earlier run left in OUT/neardup/SIZE-raw
        for size in sizes:  # small, full, or a scale factor such as x4
            txt = CORPUS / size / "all.txt" if size in ("small", "full") else CORPUS / "scale" / f"{size}.txt"
            led = OUT / "neardup" / f"{size}-raw" / "ledger.jsonl"
            if not led.exists():
                note(f"fold: {led} missing (run --parts same first)")
                continue
            fc = fold_check(args, f"{size}-all", txt, neardup_raw_ranges({"dir": str(led.parent)}))
            (OUT / f"foldcheck-{size}.json").write_text(json.dumps(fc, indent=1))
            extra += [""] + fold_md(fc)

    if "typo" in parts:
        lines, trows = typo_part(args, have_cli)
        for r in trows:
            if r["tool"] != "google":
                r["_ref"] = "typo"
        refs["typo"] = trows[0]
        rows += trows
        extra += [""] + lines

    if "scale" in parts:
        for fct in [int(x) for x in args.scale_factors.split(",") if x]:
            jl = CORPUS / "scale" / f"x{fct}.jsonl"
            tx = CORPUS / "scale" / f"x{fct}.txt"
            key = f"x{fct}"
            if str(fct) in args.google_scale.split(","):
                if not tx.exists() and jl.exists():
                    ft, fj = CORPUS / "full" / "all.txt", CORPUS / "full" / "all.jsonl"
                    ratio = ft.stat().st_size / fj.stat().st_size if ft.exists() and fj.exists() else 1.0
                    need = MAKE_BYTES_PER_BYTE * jl.stat().st_size * ratio  # its text would be this much smaller
                    if need > mem_total():
                        g = {"ok": False, "why": f"does not fit in {mem_total() / 2**30:.0f} GiB "
                                                 f"(needs ~{need / 1e9:.0f} GB for make)"}
                    else:
                        log(f"writing {tx}")
                        subprocess.run([sys.executable, str(HERE / "jsonl_to_text.py"), str(jl), str(tx)], check=True)
                        g = google(tx, args.len, args.threads, args.reuse_peer, args.nice)
                elif tx.exists():
                    g = google(tx, args.len, args.threads, args.reuse_peer, args.nice)
                else:
                    g = {"ok": False, "why": f"{jl} missing (bench/scale.py builds it)"}
                size_s = f" ({tx.stat().st_size / 1e6:,.0f} MB)" if tx.exists() else ""
                rows.append({"input": f"{fct}× `x{fct}.txt`{size_s}", "tool": "google", **g})
                refs[key] = g
            if not have_cli:
                continue
            if not jl.exists():
                note(f"{jl} missing: run `python3 bench/scale.py --factors {fct}` first")
                continue
            if refs.get(key, {}).get("ok") and tx.stat().st_size < 2**31:
                one_record_jobs(args, label=f"{fct}× `x{fct}.txt`", prefix=f"x{fct}", txt=tx, ref=key, g=refs[key],
                                have_raw=have_raw, parts=parts, rows=rows, extra=extra, fold=args.fold_check_scale,
                                cleanup=True)
            c = run_neardup(args, f"x{fct}-jsonl", jl, mode="later", raw=False)
            rows.append({"input": f"{fct}× `x{fct}.jsonl` ({jl.stat().st_size / 1e6:,.0f} MB)",
                         "tool": "neardup canonical, per record, later", **c, "_ref": key})
            for f in Path(c["dir"]).glob("out.*"):
                f.unlink()
            if args.no_ledger_rows:
                c2 = run_neardup(args, f"x{fct}-jsonl-noledger", jl, mode="later", raw=False, ledger_on=False)
                rows.append({"input": f"{fct}× `x{fct}.jsonl`", "tool": "neardup canonical, per record, later, "
                             "no --ledger", **c2, "_ref": key})
                for f in Path(c2["dir"]).glob("out.*"):
                    f.unlink()

    table = list(HEADER)
    for r in rows:
        table.append(fmt_row(r, refs.get(r.get("_ref", "")) if r.get("_ref") else None))
    if not have_cli:
        binfo += " (the byterange example for (b))"
    head = [binfo + ".", "", f"Repeated substrings, length {args.len}, {args.threads} threads, every tool under `nice -n {args.nice}` "
            f"and `/usr/bin/time -v`; started {started:%Y-%m-%d %H:%M}, load average at the end {loadavg()}.", ""]
    detail = ["", "Runs:"]
    for r in rows:
        if r.get("ok"):
            extra_s = ""
            if r["tool"] == "google" and r.get("phases"):
                extra_s = "; phases " + ", ".join(f"{k} {v['seconds']:.1f} s / {v['max_rss_kb'] / 1024:,.0f} MB"
                                                  for k, v in r["phases"].items())
                extra_s += f"; load {r.get('load_before')} -> {r.get('load_after')}; run {r.get('date')}"
            elif "load" in r:
                extra_s = f"; load {r['load']}"
                s = r.get("summary")
                if isinstance(s, dict):
                    extra_s += "; summary " + json.dumps(s, separators=(",", ":"))[:600]
            detail.append(f"* {r['input']}, {r['tool']}: `{r.get('cmd', '')}`{extra_s}")
    md = head + table + extra + detail
    if NOTES or PROBLEMS:
        md += ["", "Notes:"] + [f"* {n}" for n in NOTES] + [f"* **problem**: {p}" for p in PROBLEMS]
    text = "\n".join(md) + "\n"
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    if args.record:
        cmd = "python3 bench/substrings.py " + shlex.join(sys.argv[1:])
        rec = [f"# Repeated substrings: neardup vs Google's suffix-array tool ({started:%Y-%m-%d})", "",
               "```sh", cmd, "```", "", f"neardup: `{args.neardup}`; Google: `{GDIR}`; corpus `{CORPUS}`.", "", text]
        Path(args.record).write_text("\n".join(rec))
    return 1 if PROBLEMS else 0


if __name__ == "__main__":
    sys.exit(main())
