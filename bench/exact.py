#!/usr/bin/env python3
"""Exact-dedup benchmark: neardup beside its peers, in one run.

    bench/.venv/bin/python bench/exact.py [small|full|FILE.jsonl] [--neardup PATH] [--runs 3]

For one corpus (bench/corpus.sh MODE builds /work/corpus/MODE/all.jsonl and
all.jsonl.zst; or any JSONL file with a `text` field) it times, each under
`/usr/bin/time -v`, RUNS times (median reported), on a warm page cache:

  cat            cat all.jsonl > /dev/null              (ceiling: reading the bytes)
  zstd -dc       zstd -dc all.jsonl.zst > /dev/null     (ceiling for compressed input)
  neardup        NEARDUP dedup --no-near --no-repeats all.jsonl -o OUT --json
  neardup .zst   the same on all.jsonl.zst
  datatrove      bench/peers/exact_dedup.py --peer datatrove   (the reference peer)
  text-dedup     bench/peers/exact_dedup.py --peer text-dedup

and prints a markdown table: MB/s (input `text` bytes / wall seconds, 1 MB =
10^6 bytes), wall, peak RSS (max resident set of the process tree, from
time -v), docs kept, and ratios vs the ceiling (cat, or zstd -dc for .zst
input) and vs datatrove. Wall time is taken with a monotonic clock around the
timed process (time -v only gives 10 ms steps); RSS comes from time -v.

Answers are checked, so that a fast wrong engine shows: an oracle (sha256 of
each raw `text`, first copy kept; computed here, not timed) gives the raw
exact-duplicate count. Peers must match it. neardup folds Unicode and
typography before hashing, so it may keep *fewer* documents; it must never
keep more (that would be a missed byte-identical duplicate). When outputs
carry `id`, the kept-id sets are compared too.

neardup is skipped with a note when the binary is missing or fails. Python
stdlib only; run it with the venv's python so the peers import.
Exit status: 0 ok, 1 an answer check failed, 2 could not run.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV_PY = HERE / ".venv" / "bin" / "python"
DEFAULT_NEARDUP = "/work/main/target/release/neardup"
TIME = "/usr/bin/time"


# ---------------------------------------------------------------- machine ----
def machine_info() -> dict:
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in open("/proc/meminfo", encoding="utf-8"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "mem": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


# ----------------------------------------------------------------- timing ----
def parse_time_v(text: str) -> dict:
    out = {}
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if m:
        out["rss_kb"] = int(m.group(1))
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text)
    if m:
        secs = 0.0
        for part in m.group(1).split(":"):
            secs = secs * 60 + float(part)
        out["time_v_wall"] = secs
    m = re.search(r"Exit status: (\d+)", text)
    if m:
        out["exit"] = int(m.group(1))
    return out


def timed(cmd: list[str], outdir: Path, tag: str, env: dict | None = None) -> dict:
    """Run cmd under /usr/bin/time -v; stdout kept, stderr to a log file."""
    tv = outdir / f"{tag}.time"
    log = outdir / f"{tag}.stderr"
    t = time.perf_counter()
    with open(log, "wb") as err:
        p = subprocess.run([TIME, "-v", "-o", str(tv), *cmd], stdout=subprocess.PIPE, stderr=err, env=env)
    wall = time.perf_counter() - t
    res = {"wall": wall, "rc": p.returncode, "stdout": p.stdout.decode("utf-8", "replace"), "log": str(log)}
    try:
        res.update(parse_time_v(tv.read_text()))
    except OSError:
        pass
    return res


# ----------------------------------------------------------------- corpus ----
def scan_input(path: Path) -> dict:
    """Docs, `text` bytes, and the oracle: docs kept by raw exact dedup."""
    docs = 0
    text_bytes = 0
    seen: set[bytes] = set()
    kept_ids: list = []
    with open(path, "rb") as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            text = rec["text"].encode("utf-8", "surrogatepass")
            docs += 1
            text_bytes += len(text)
            h = hashlib.sha256(text).digest()
            if h not in seen:
                seen.add(h)
                kept_ids.append(rec.get("id"))
    return {"docs": docs, "text_bytes": text_bytes, "file_bytes": path.stat().st_size,
            "oracle_kept": len(kept_ids), "oracle_ids": kept_ids}


def read_ids(path: Path) -> list | None:
    ids = []
    try:
        with open(path, "rb") as f:
            for line in f:
                if line.strip():
                    ids.append(json.loads(line).get("id"))
    except (OSError, ValueError):
        return None
    return ids if all(i is not None for i in ids) else None


def resolve_input(arg: str, corpus_dir: Path) -> tuple[Path, Path | None]:
    if arg in ("small", "full"):
        jsonl = corpus_dir / arg / "all.jsonl"
        if not jsonl.exists():
            sys.exit(f"exact.py: {jsonl} is missing; run `bench/corpus.sh {arg}` first")
        zst = jsonl.with_name("all.jsonl.zst")
        return jsonl, (zst if zst.exists() else None)
    jsonl = Path(arg)
    if not jsonl.exists():
        sys.exit(f"exact.py: input `{arg}` not found")
    zst = Path(str(jsonl) + ".zst")
    return jsonl, (zst if zst.exists() else None)


# ------------------------------------------------------------------- main ----
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input", nargs="?", default="small", help="small, full, or a JSONL file")
    ap.add_argument("--neardup", default=os.environ.get("NEARDUP", DEFAULT_NEARDUP))
    ap.add_argument("--threads", type=int, default=0, help="pass --threads N to neardup (0: its default)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--peers", default="datatrove,text-dedup", help="comma list; empty for none")
    ap.add_argument("--corpus-dir", default=os.environ.get("NEARDUP_CORPUS_DIR", "/work/corpus"))
    ap.add_argument("--out", default=str(HERE / "out" / "exact"), help="scratch + results directory")
    ap.add_argument("--record", help="also write the markdown report to this file")
    args = ap.parse_args()

    if not os.access(TIME, os.X_OK):
        sys.exit("exact.py: /usr/bin/time missing; run bench/setup.sh")
    jsonl, zst = resolve_input(args.input, Path(args.corpus_dir))
    name = args.input if args.input in ("small", "full") else jsonl.stem
    out = Path(args.out) / name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    peer_py = str(VENV_PY if VENV_PY.exists() else sys.executable)

    info = scan_input(jsonl)
    mb = info["text_bytes"] / 1e6
    print(f"input: {jsonl} ({info['docs']} docs, {mb:.1f} MB of text, {info['file_bytes'] / 1e6:.1f} MB file); "
          f"oracle (raw bytes) keeps {info['oracle_kept']}", file=sys.stderr)

    # Each entry: label, command, kind, ceiling label. Built first, run round-robin.
    jobs: list[dict] = [{"label": "cat", "cmd": ["cat", str(jsonl)], "kind": "ceiling"}]
    if zst and shutil.which("zstd"):
        jobs.append({"label": "zstd -dc", "cmd": ["zstd", "-dc", str(zst)], "kind": "ceiling"})
    notes: list[str] = []
    neardup = args.neardup
    if os.access(neardup, os.X_OK):
        tflag = ["--threads", str(args.threads)] if args.threads else []
        # Pass only the "exact only" switches this build knows (the near and repeats
        # stages are being written; a build without a stage has no flag to turn it off).
        helptext = subprocess.run([neardup, "dedup", "--help"], capture_output=True, text=True).stdout
        offs = [f for f in ("--no-near", "--no-repeats") if f in helptext]
        for f in ("--no-near", "--no-repeats"):
            if f not in offs:
                notes.append(f"this neardup build has no `{f}` flag: not passed")
        tflag = offs + tflag
        for src, label in [(jsonl, "neardup"), (zst, "neardup .zst")]:
            if src is None:
                continue
            o = out / f"{label.replace(' ', '').replace('.', '-')}.jsonl"
            jobs.append({"label": label, "kind": "neardup", "output": o, "ceiling": "zstd -dc" if src == zst else "cat",
                         "cmd": [neardup, "dedup", str(src), "-o", str(o), "--json", *tflag]})
    else:
        notes.append(f"neardup skipped: `{neardup}` is missing or not executable (build it: cargo build --release)")
    for peer in [p for p in args.peers.split(",") if p]:
        o = out / f"{peer}.jsonl"
        jobs.append({"label": peer, "kind": "peer", "output": o, "ceiling": "cat",
                     "cmd": [peer_py, str(HERE / "peers" / "exact_dedup.py"), str(jsonl), str(o), "--peer", peer,
                             "--workdir", str(out / f"{peer}-work")]})

    # Warm the page cache, then run every job RUNS times, interleaved so drift hits all alike.
    subprocess.run(["cat", str(jsonl)], stdout=subprocess.DEVNULL)
    if zst:
        subprocess.run(["cat", str(zst)], stdout=subprocess.DEVNULL)
    for job in jobs:
        job["runs"] = []
    for r in range(args.runs):
        for job in jobs:
            if job.get("failed"):
                continue
            tag = f"{job['label'].replace(' ', '_')}-{r}"
            res = timed(job["cmd"], out, tag)
            if res["rc"] != 0:
                job["failed"] = f"exit {res['rc']}; see {res['log']}"
                if job["kind"] == "neardup":
                    notes.append(f"{job['label']} failed ({job['failed']}): skipped")
                else:
                    notes.append(f"{job['label']} failed ({job['failed']})")
                continue
            job["runs"].append(res)
            print(f"  run {r + 1}/{args.runs} {job['label']:<13} {res['wall']:8.3f} s  "
                  f"{res.get('rss_kb', 0) / 1024:8.1f} MB", file=sys.stderr)

    # --------------------------------------------------------- summarize ----
    rows = []
    for job in jobs:
        if not job["runs"]:
            continue
        wall = statistics.median(x["wall"] for x in job["runs"])
        rss = statistics.median(x.get("rss_kb", 0) for x in job["runs"]) / 1024
        row = {"label": job["label"], "kind": job["kind"], "wall": wall, "rss_mb": rss,
               "mbps": mb / wall if wall > 0 else float("inf"), "ceiling": job.get("ceiling"), "kept": None}
        last = job["runs"][-1]
        if job["kind"] in ("neardup", "peer"):
            summary = None
            for line in reversed(last["stdout"].splitlines()):
                line = line.strip()
                if line.startswith("{"):
                    try:
                        obj = json.loads(line)
                    except ValueError:
                        continue
                    if "kept" in obj:
                        summary = obj
                        break
            if summary is None:
                notes.append(f"{job['label']}: no JSON summary with `kept` on stdout")
            else:
                row["kept"] = summary.get("kept")
                row["summary"] = summary
            kept_each = set()
            for x in job["runs"]:
                for line in reversed(x["stdout"].splitlines()):
                    if '"kept"' in line:
                        try:
                            kept_each.add(json.loads(line)["kept"])
                        except (ValueError, KeyError):
                            pass
                        break
            if len(kept_each) > 1:
                notes.append(f"{job['label']}: kept differs between runs: {sorted(kept_each)}")
            row["ids"] = read_ids(job["output"])
        rows.append(row)

    by = {r["label"]: r for r in rows}
    ref = by.get("datatrove")
    failed = False
    oracle = info["oracle_kept"]
    oracle_ids = set(info["oracle_ids"]) if all(i is not None for i in info["oracle_ids"]) else None
    checks: list[str] = []
    for r in rows:
        if r["kept"] is None:
            continue
        if r["kind"] == "peer":
            ok = r["kept"] == oracle
            checks.append(f"{r['label']}: kept {r['kept']} {'==' if ok else '!='} oracle {oracle}"
                          + ("" if ok else "  <-- MISMATCH"))
            failed |= not ok
        else:
            if r["kept"] > oracle:
                checks.append(f"{r['label']}: kept {r['kept']} > oracle {oracle}: it missed byte-identical "
                              f"duplicates  <-- WRONG")
                failed = True
            else:
                checks.append(f"{r['label']}: kept {r['kept']} (oracle {oracle}; {oracle - r['kept']} more removed: "
                              f"neardup hashes its canonical form, folded for case, Unicode, typography, space)")
            s = r.get("summary", {})
            if s and all(k in s for k in ("read", "kept", "modified", "removed", "rejected")):
                bal = s["kept"] + s["modified"] + s["removed"] + s["rejected"]
                if s["read"] != bal or s["read"] != info["docs"]:
                    checks.append(f"{r['label']}: ledger does not balance: read {s['read']} vs kept+modified+"
                                  f"removed+rejected {bal}, input docs {info['docs']}  <-- WRONG")
                    failed = True
        if r.get("ids") is not None and oracle_ids is not None:
            ids = set(r["ids"])
            extra = ids - oracle_ids
            missing = oracle_ids - ids
            if r["kind"] == "peer" and (extra or missing):
                checks.append(f"{r['label']}: kept-id set differs from the oracle's: {len(extra)} extra, "
                              f"{len(missing)} missing  <-- MISMATCH")
                failed = True
            elif r["kind"] == "neardup":
                if extra:
                    checks.append(f"{r['label']}: {len(extra)} kept ids are not first copies in raw order "
                                  f"(e.g. `{sorted(map(str, extra))[0]}`): representative choice differs")
                if missing:
                    ex = ", ".join(f"`{x}`" for x in sorted(map(str, missing))[:3])
                    checks.append(f"{r['label']}: {len(missing)} raw-unique docs removed as folded duplicates, e.g. {ex}")

    m = machine_info()
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = [
        f"## exact dedup — `{name}` ({info['docs']} docs, {mb:.1f} MB text, {info['file_bytes'] / 1e6:.1f} MB JSONL"
        + (f", {zst.stat().st_size / 1e6:.1f} MB .zst" if zst else "") + ")",
        "",
        f"{now}; {m['nproc']} × {m['cpu']}, {m['mem']}, Linux {m['kernel']}; median of {args.runs} runs, warm cache; "
        f"neardup threads: {args.threads or 'default'}",
        "",
        "| tool | MB/s | wall s | peak RSS MB | docs kept | × ceiling | × datatrove |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ceil = by.get(r["ceiling"]) if r["ceiling"] else None
        xc = f"{r['mbps'] / ceil['mbps']:.3f}" if ceil else "—"
        xp = f"{r['mbps'] / ref['mbps']:.2f}" if ref and r["kind"] != "ceiling" else "—"
        kept = str(r["kept"]) if r["kept"] is not None else "—"
        lines.append(f"| {r['label']} | {r['mbps']:,.1f} | {r['wall']:.3f} | {r['rss_mb']:,.1f} | {kept} | {xc} | {xp} |")
    lines += ["", f"Oracle (sha256 of raw `text`, first copy kept): {oracle} of {info['docs']} kept."]
    lines += [f"- {c}" for c in checks]
    lines += [f"- note: {n}" for n in dict.fromkeys(notes)]
    report = "\n".join(lines) + "\n"
    print(report)
    (out / "report.md").write_text(report)
    (out / "results.json").write_text(json.dumps({
        "input": str(jsonl), "machine": m, "date": now, "runs": args.runs, "oracle_kept": oracle,
        "docs": info["docs"], "text_bytes": info["text_bytes"],
        "rows": [{k: v for k, v in r.items() if k != "ids"} for r in rows], "checks": checks, "notes": notes,
    }, indent=1))
    if args.record:
        Path(args.record).parent.mkdir(parents=True, exist_ok=True)
        Path(args.record).write_text(report)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
