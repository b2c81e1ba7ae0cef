#!/usr/bin/env python3
"""Scale-up benchmark for near-duplicate detection: peak RSS and time as the corpus grows.

    python3 bench/scale.py [--factors 1,4,16,22] [--neardup PATH] [--input all.jsonl] [--peers rensa]

Builds, for each factor F, a synthetic corpus of F copies of the real corpus
(/work/corpus/full/all.jsonl, 46,640 docs): copy 0 is the corpus itself; copy
k > 0 of each document is a light edit of it (a span of up to 200 characters
cut at a position chosen from a hash of (id, k), and a short sentence naming k
inserted elsewhere), with id `<id>#k`. So the scale-up keeps the corpus's
own duplication and adds a family of near copies per document, which is what
a growing crawl looks like; it is not made of exact copies that exact dedup
alone would remove. F = 22 gives 1,026,080 documents.

For each factor it runs `neardup dedup --no-exact --no-repeats` (near-duplicate
detection end to end: read, shingle, sketch, LSH, verify, cluster, write)
under /usr/bin/time -v and prints docs, MB, wall, docs/s, MB/s, peak RSS and
bytes of RSS per document. Peers (rensa, datasketch) run through
bench/peers/near_peers.py's `_run` on the factors given by --peer-factors.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
CORPUS = Path(os.environ.get("NEARDUP_CORPUS_DIR", "/work/corpus"))


def edit(text: str, did: str, k: int) -> str:
    h = int.from_bytes(hashlib.blake2b(f"{did}#{k}".encode(), digest_size=8).digest(), "little")
    n = len(text)
    if n == 0:
        return f"copy {k}"
    p = h % n
    cut = (h >> 20) % 200
    q = (h >> 40) % n
    out = text[:p] + text[p + cut:]
    q = min(q, len(out))
    return out[:q] + f" (copy {k} of this page.) " + out[q:]


def build(src: Path, factor: int, dst: Path) -> None:
    if dst.exists():
        return
    tmp = dst.with_suffix(".tmp")
    with open(src, encoding="utf-8") as f:
        docs = [json.loads(line) for line in f if line.strip()]
    with open(tmp, "w", encoding="utf-8") as g:
        for k in range(factor):
            for d in docs:
                if k == 0:
                    rec = d
                else:
                    rec = {"id": f"{d['id']}#{k}", "text": edit(d["text"], d["id"], k)}
                g.write(json.dumps(rec, ensure_ascii=False) + "\n")
    tmp.rename(dst)


def timed(cmd: list[str], tv: Path) -> tuple[float, float, str]:
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v", "-o", str(tv)] + cmd, stdout=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise SystemExit(f"scale: {' '.join(cmd)} failed with {p.returncode}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", tv.read_text())
    return wall, int(m.group(1)) / 1024 if m else float("nan"), p.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--factors", default="1,4,16,22")
    ap.add_argument("--peer-factors", default="1")
    ap.add_argument("--peers", default="rensa,datasketch")
    ap.add_argument("--input", default=str(CORPUS / "full" / "all.jsonl"))
    ap.add_argument("--neardup", default=str(BENCH.parent / "target" / "release" / "neardup"))
    ap.add_argument("--threads", default="2")
    ap.add_argument("--out", default=str(CORPUS / "scale"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    src = Path(args.input)
    print(f"machine: {os.cpu_count()} cores; neardup -j {args.threads}; input {src}\n")
    print("| tool | factor | docs | text MB | wall s | docs/s | MB/s | peak RSS MB | RSS bytes/doc | removed |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for f in [int(x) for x in args.factors.split(",")]:
        path = out / f"x{f}.jsonl"
        build(src, f, path)
        dst = out / f"x{f}.out.jsonl"
        wall, rss, stdout = timed([args.neardup, "dedup", str(path), "-o", str(dst), "--no-exact", "--no-repeats",
                                   "--json", "--quiet", "-j", args.threads, "--tmp-dir", str(out)],
                                  out / f"x{f}.time")
        s = json.loads(stdout.strip().splitlines()[-1])
        docs, mb = s["read"], s["bytes_in"] / 1e6
        print(f"| neardup | {f}× | {docs:,} | {mb:,.0f} | {wall:.1f} | {docs / wall:,.0f} | {mb / wall:.1f} | "
              f"{rss:,.0f} | {rss * 2**20 / docs:,.0f} | {s['removed']:,} |", flush=True)
        dst.unlink()
        if str(f) in args.peer_factors.split(","):
            for peer in [p for p in args.peers.split(",") if p]:
                pairs = out / f"x{f}.{peer}.tsv"
                wall, rss, stdout = timed([sys.executable, str(BENCH / "peers" / "near_peers.py"), "_run", peer,
                                           str(path), str(pairs)], out / f"x{f}.{peer}.time")
                r = json.loads(stdout.strip().splitlines()[-1])
                print(f"| {peer} | {f}× | {r['docs']:,} | {mb:,.0f} | {wall:.1f} | {r['docs'] / wall:,.0f} | "
                      f"{mb / wall:.1f} | {rss:,.0f} | {rss * 2**20 / r['docs']:,.0f} | {r['verified']:,} pairs |",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
