#!/usr/bin/env python3
"""Near-duplicate peers: datasketch and rensa, MinHash + LSH, as their users write it.

    bench/.venv/bin/python bench/peers/near_peers.py [quality|throughput|all]
        [--corpus bench/out/near/corpus.jsonl --pairs bench/out/near/pairs.jsonl]   (quality)
        [--input /work/corpus/full/all.jsonl]                                       (throughput)
        [--peers datasketch,rensa]

Both peers see the same shingles as bench/near_labelled.py: word 5-grams of the
simple canonical form (lowercase, split on whitespace). Settings: threshold
0.8, 128 permutations.

  datasketch  MinHash(num_perm=128, seed=1).update_batch(shingle bytes);
              MinHashLSH(threshold=0.8, num_perm=128): datasketch picks the
              bands x rows that minimise its weighted FP/FN error (9 x 13 here).
  rensa       RMinHash(num_perm=128, seed=42).update(shingles);
              RMinHashLSH(threshold=0.8, num_perm=128, num_bands=16) (16 x 8),
              the band count rensa's README example uses; rensa has no default.

Each peer inserts every document, then queries every document; a candidate
pair is {doc, result} for each result other than the doc itself. "verified"
keeps the candidates whose MinHash estimate is >= 0.8 (m1.jaccard(m2)), the
check both libraries' docs do after the LSH query.

quality: precision and recall of the candidate pairs against pairs.jsonl,
  which lists every pair with folded Jaccard >= 0.8 (complete, by an exact
  similarity join), plus recall per edit kind.
throughput: the same job on the full corpus; docs/s, MB/s (input `text`
  bytes / wall), peak RSS (/usr/bin/time -v), and the phase split.

Each peer runs in its own process under /usr/bin/time -v (internal
sub-command `_run`), so RSS and time are its own. Documents stream through
read -> shingle -> sketch one at a time; only signatures are kept. The phase
split (import, read = JSON parsing, shingle, sketch, index, query) shows how much
is the peer and how much the shared Python shingling.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent
sys.path.insert(0, str(BENCH))
from near_labelled import SHINGLE, shingles  # noqa: E402  (one definition of the shingles)

THRESHOLD = 0.8
NUM_PERM = 128


# ------------------------------------------------------------------ peers ----
# Each peer: sketch(shingle_set) -> signature, and lsh_pairs(signatures, timings) ->
# ({(i, j): estimated J}, params). Documents stream through shingle + sketch one at a
# time, so only the signatures stay in memory, as in a user's streaming loop.
class Datasketch:
    name = "datasketch"

    def __init__(self):
        from datasketch import MinHash, MinHashLSH

        self.MinHash, self.MinHashLSH = MinHash, MinHashLSH

    def sketch(self, sh: set[str]):
        m = self.MinHash(num_perm=NUM_PERM, seed=1)
        m.update_batch([s.encode("utf-8") for s in sh])
        return m

    def lsh_pairs(self, sigs, timings):
        t = time.perf_counter()
        lsh = self.MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
        for i, m in enumerate(sigs):
            lsh.insert(i, m)
        timings["index"] = time.perf_counter() - t
        t = time.perf_counter()
        pairs = query_all(sigs, lsh)
        timings["query"] = time.perf_counter() - t
        return pairs, {"bands": lsh.b, "rows": lsh.r, "seed": 1}


class Rensa:
    name = "rensa"
    bands = 16

    def __init__(self):
        from rensa import RMinHash, RMinHashLSH

        self.RMinHash, self.RMinHashLSH = RMinHash, RMinHashLSH

    def sketch(self, sh: set[str]):
        m = self.RMinHash(num_perm=NUM_PERM, seed=42)
        m.update(list(sh))
        return m

    def lsh_pairs(self, sigs, timings):
        t = time.perf_counter()
        lsh = self.RMinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, num_bands=self.bands)
        for i, m in enumerate(sigs):
            lsh.insert(i, m)
        timings["index"] = time.perf_counter() - t
        t = time.perf_counter()
        pairs = query_all(sigs, lsh)
        timings["query"] = time.perf_counter() - t
        return pairs, {"bands": self.bands, "rows": NUM_PERM // self.bands, "seed": 42}


def query_all(sigs, lsh) -> dict:
    """Query every document; keep each unordered pair once with its MinHash estimate."""
    pairs = {}
    for i, m in enumerate(sigs):
        for j in lsh.query(m):
            if j != i:
                key = (min(i, j), max(i, j))
                if key not in pairs:
                    pairs[key] = m.jaccard(sigs[j])
    return pairs


PEERS = {"datasketch": Datasketch, "rensa": Rensa}

# neardup runs as its binary (NEARDUP, default target/release/neardup), with
# the same settings: word 5-grams, 128 permutations, threshold 0.8. Exact
# dedup and in-record repeat cutting are off, so that every document takes
# part, as with the peers. Variants: sketch kind and threads.
NEARDUP = os.environ.get("NEARDUP", str(BENCH.parent / "target" / "release" / "neardup"))
NEARDUP_VARIANTS = {
    "neardup": ["--sketch", "minhash", "-j", "1"],
    "neardup-oph": ["--sketch", "oph", "-j", "1"],
    "neardup-j2": ["--sketch", "minhash", "-j", "2"],
    "neardup-oph-j2": ["--sketch", "oph", "-j", "2"],
}
NEARDUP_COMMON = ["--no-exact", "--no-repeats", "--threshold", str(THRESHOLD), "--num-perm", str(NUM_PERM),
                  "--shingle", f"word:{SHINGLE}", "--quiet"]


def timed_neardup(variant: str, inp: Path, outdir: Path, mode: str) -> dict:
    """quality: `clusters --pairs` (every verified pair); throughput: `dedup` end to end."""
    outdir.mkdir(parents=True, exist_ok=True)
    tv = outdir / f"{variant}.time"
    extra = NEARDUP_VARIANTS[variant]
    if mode == "quality":
        out = outdir / f"{variant}.pairs.jsonl"
        cmd = [NEARDUP, "clusters", "--pairs", str(inp), "-o", str(out), "--json"] + NEARDUP_COMMON + extra
    else:
        out = outdir / f"{variant}.out.jsonl"
        cmd = [NEARDUP, "dedup", str(inp), "-o", str(out), "--json"] + NEARDUP_COMMON + extra
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v", "-o", str(tv)] + cmd, stdout=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        return {"peer": variant, "failed": f"exit {p.returncode}"}
    summary = json.loads(p.stdout.strip().splitlines()[-1])
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", tv.read_text())
    near = summary.get("near") or {}
    res = {"peer": variant, "wall": wall, "rss_mb": int(m.group(1)) / 1024 if m else None,
           "bands": near.get("bands"), "rows": near.get("rows"), "candidates": near.get("candidates"),
           "verified": summary.get("pairs", summary.get("removed_near")), "phases": {}}
    if mode == "quality":
        _, ids = text_bytes_and_ids(inp)
        pos = {d: i for i, d in enumerate(ids)}
        pairs_path = outdir / f"{variant}.pairs.tsv"
        with open(out) as f, open(pairs_path, "w") as g:
            for line in f:
                r = json.loads(line)
                i, j = sorted((pos[r["a"]], pos[r["b"]]))
                g.write(f"{i}\t{j}\t{r['similarity']:.6f}\n")
        res["pairs_path"] = str(pairs_path)
    return res


def _run(peer: str, inp: str, out: str) -> int:
    """One peer on one JSONL file: write candidate pairs (i j estimate), print a JSON summary."""
    t0 = time.perf_counter()
    engine = PEERS[peer]()
    timings = {"import": time.perf_counter() - t0, "shingle": 0.0, "sketch": 0.0}
    sigs = []
    t1 = time.perf_counter()
    with open(inp, "rb") as f:
        for line in f:
            if not line.strip():
                continue
            text = json.loads(line)["text"]
            t = time.perf_counter()
            sh = shingles(text)
            t2 = time.perf_counter()
            sigs.append(engine.sketch(sh))
            timings["sketch"] += time.perf_counter() - t2
            timings["shingle"] += t2 - t
    timings["read"] = time.perf_counter() - t1 - timings["shingle"] - timings["sketch"]
    pairs, params = engine.lsh_pairs(sigs, timings)
    with open(out, "w") as f:
        for (i, j), est in sorted(pairs.items()):
            f.write(f"{i}\t{j}\t{est:.6f}\n")
    total = time.perf_counter() - t0
    print(json.dumps({"peer": peer, "docs": len(sigs), "candidates": len(pairs),
                      "verified": sum(e >= THRESHOLD for e in pairs.values()),
                      "seconds": round(total, 3), "phases": {k: round(v, 3) for k, v in timings.items()},
                      "num_perm": NUM_PERM, "threshold": THRESHOLD, "shingle": f"word {SHINGLE}-gram", **params}))
    return 0


# ----------------------------------------------------------------- driver ----
def timed_peer(peer: str, inp: Path, outdir: Path) -> dict:
    outdir.mkdir(parents=True, exist_ok=True)
    pairs_path = outdir / f"{peer}.pairs.tsv"
    tv = outdir / f"{peer}.time"
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v", "-o", str(tv), sys.executable, __file__, "_run", peer, str(inp),
                        str(pairs_path)], stdout=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        return {"peer": peer, "failed": f"exit {p.returncode}"}
    res = json.loads(p.stdout.strip().splitlines()[-1])
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", tv.read_text())
    res["rss_mb"] = int(m.group(1)) / 1024 if m else None
    res["wall"] = wall
    res["pairs_path"] = str(pairs_path)
    return res


def text_bytes_and_ids(path: Path) -> tuple[int, list[str]]:
    n = 0
    ids = []
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                rec = json.loads(line)
                n += len(rec["text"].encode("utf-8", "surrogatepass"))
                ids.append(rec.get("id"))
    return n, ids


def read_pairs(path: str) -> dict:
    out = {}
    with open(path) as f:
        for line in f:
            i, j, e = line.split("\t")
            out[(int(i), int(j))] = float(e)
    return out


def quality(args) -> list[str]:
    corpus, pairs_file = Path(args.corpus), Path(args.pairs)
    if not corpus.exists() or not pairs_file.exists():
        sys.exit(f"near_peers: {corpus} or {pairs_file} missing; run `python3 bench/near_labelled.py` first")
    nbytes, ids = text_bytes_and_ids(corpus)
    pos_of = {d: i for i, d in enumerate(ids)}
    labelled = []
    for line in open(pairs_file, encoding="utf-8"):
        p = json.loads(line)
        a, b = pos_of[p["a"]], pos_of[p["b"]]
        # Ground truth: the same words, typography aside (folded Jaccard).
        # A typographic variant is a duplicate; tools that do not fold miss it.
        labelled.append(((min(a, b), max(a, b)), p["kind"], p["folded_jaccard"]))
    positives = {k for k, _, j in labelled if j >= THRESHOLD}
    kind_pos = defaultdict(set)
    for k, kind, j in labelled:
        if j >= THRESHOLD:
            kind_pos[kind].add(k)
    topic = {k for k, kind, j in labelled if kind == "topic"}

    lines = [f"## near-dup quality — `{corpus}` ({len(ids)} docs, {nbytes / 1e6:.1f} MB text; "
             f"{len(positives)} pairs with folded J >= {THRESHOLD})", "",
             "| peer | bands × rows | candidates | precision | recall | verified (est ≥ 0.8) | precision | recall "
             "| topic pairs flagged | wall s |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    per_kind = {}
    for peer in args.peers:
        if peer in NEARDUP_VARIANTS:
            r = timed_neardup(peer, corpus, Path(args.out) / "quality", "quality")
        else:
            r = timed_peer(peer, corpus, Path(args.out) / "quality")
        if "failed" in r:
            lines.append(f"| {peer} | failed: {r['failed']} |||||||||")
            continue
        cand = read_pairs(r["pairs_path"])
        ver = {k for k, e in cand.items() if e >= THRESHOLD}
        c = set(cand)

        def pr(s):
            tp = len(s & positives)
            return (tp / len(s) if s else 1.0), (tp / len(positives) if positives else 1.0)

        p1, r1 = pr(c)
        p2, r2 = pr(ver)
        if peer in NEARDUP_VARIANTS:
            # neardup prints only verified pairs (exact Jaccard on its own
            # canonical shingles); its raw candidate count is from its summary.
            lines.append(f"| {peer} | {r['bands']} × {r['rows']} | {r['candidates']} | — | — | {len(ver)} | "
                         f"{p2:.3f} | {r2:.3f} | {len(ver & topic)} | {r['wall']:.2f} |")
        else:
            lines.append(f"| {peer} | {r['bands']} × {r['rows']} | {len(c)} | {p1:.3f} | {r1:.3f} | {len(ver)} | "
                         f"{p2:.3f} | {r2:.3f} | {len(ver & topic)} | {r['wall']:.2f} |")
        per_kind[peer] = {kind: (len(ps & ver), len(ps & c), len(ps)) for kind, ps in kind_pos.items()}
    kinds = sorted({k for v in per_kind.values() for k in v})
    if kinds:
        lines += ["", "Recall per kind (pairs with folded J ≥ 0.8), verified / raw candidates:", "",
                  "| kind | positives | " + " | ".join(per_kind) + " |",
                  "|---|---:|" + "---:|" * len(per_kind)]
        for kind in kinds:
            n = next(v[kind][2] for v in per_kind.values() if kind in v)
            cells = [f"{v[kind][0] / n:.3f} / {v[kind][1] / n:.3f}" if kind in v and n else "—"
                     for v in per_kind.values()]
            lines.append(f"| {kind} | {n} | " + " | ".join(cells) + " |")
    return lines


def throughput(args) -> list[str]:
    inp = Path(args.input)
    if not inp.exists():
        sys.exit(f"near_peers: {inp} missing; run `bench/corpus.sh full` first")
    nbytes, ids = text_bytes_and_ids(inp)
    mb = nbytes / 1e6
    lines = [f"## near-dup throughput — `{inp}` ({len(ids)} docs, {mb:.1f} MB text), one process, one run", "",
             "| peer | wall s | docs/s | MB/s | peak RSS MB | candidates | verified | read / shingle / sketch / "
             "index / query s |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    results = {}
    for peer in args.peers:
        if peer in NEARDUP_VARIANTS:
            r = timed_neardup(peer, inp, Path(args.out) / "throughput", "throughput")
        else:
            r = timed_peer(peer, inp, Path(args.out) / "throughput")
        if "failed" in r:
            lines.append(f"| {peer} | failed: {r['failed']} |||||||")
            continue
        if peer not in NEARDUP_VARIANTS:
            results[peer] = r
        ph = r["phases"]
        split = " / ".join(f"{ph.get(k, 0):.1f}" for k in ("read", "shingle", "sketch", "index", "query"))
        lines.append(f"| {peer} | {r['wall']:.1f} | {len(ids) / r['wall']:,.0f} | {mb / r['wall']:.2f} | "
                     f"{r['rss_mb']:,.0f} | {r['candidates']} | {r['verified']} | {split} |")
    if len(results) == 2:
        a, b = (read_pairs(r["pairs_path"]) for r in results.values())
        va = {k for k, e in a.items() if e >= THRESHOLD}
        vb = {k for k, e in b.items() if e >= THRESHOLD}
        na, nb = results
        lines += ["", f"Verified pairs: {len(va & vb)} found by both, {len(va - vb)} by {na} only, "
                  f"{len(vb - va)} by {nb} only."]
    return lines


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_run":
        return _run(*sys.argv[2:5])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", nargs="?", choices=["quality", "throughput", "all"], default="all")
    ap.add_argument("--corpus", default=str(BENCH / "out" / "near" / "corpus.jsonl"))
    ap.add_argument("--pairs", default=str(BENCH / "out" / "near" / "pairs.jsonl"))
    ap.add_argument("--input", default=os.path.join(os.environ.get("NEARDUP_CORPUS_DIR", "/work/corpus"),
                                                    "full", "all.jsonl"))
    ap.add_argument("--peers", default="datasketch,rensa,neardup,neardup-oph,neardup-j2,neardup-oph-j2")
    ap.add_argument("--out", default=str(BENCH / "out" / "near-peers"))
    args = ap.parse_args()
    args.peers = [p for p in args.peers.split(",") if p]
    lines = []
    if args.what in ("quality", "all"):
        lines += quality(args) + [""]
    if args.what in ("throughput", "all"):
        lines += throughput(args)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
