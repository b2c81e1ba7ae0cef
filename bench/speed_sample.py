#!/usr/bin/env python3
"""The speed sample: short records (about 650 bytes, 100 words) cut from the real corpus.

    python3 bench/speed_sample.py [--records 60000] [--input /work/corpus/full/all.jsonl] [--out PATH]
    python3 bench/speed_sample.py --records 200000 --copies 50 --out /work/corpus/speed/x50.jsonl

Web-scale corpora are mostly short records; debdocs is mostly long ones (a manual page each). This
cuts every document of the full corpus into pieces of whole lines of at least 630 bytes (a line
longer than 1,000 bytes is cut at a space), ids `<doc id>#<piece>`, and keeps the pieces of the
documents chosen in order until `--records` are written. Documents are chosen by a hash of their id
with every digit removed, so a page is chosen together with its copies in the other releases
(llvm-13 … llvm-22, linux-doc-6.1 and 6.12): the sample keeps the corpus's near duplicates. The same
input gives the same sample (no randomness).

`--copies N` writes the sample N times (the issue's 10 M-record memory run: 200,000 × 50): copy 0
as it is, copy k > 0 of each record with one word replaced by `copy<k>` (the word chosen by a hash
of the id and k) and id `<id>@<k>`, so every record gains N - 1 near duplicates and no exact one.

Default output: $NEARDUP_CORPUS_DIR/speed/sample-<records>[-x<copies>].jsonl (temp file, then
rename; an existing file is kept). Prints the path, then records and text bytes on stderr.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from pathlib import Path

CORPUS = Path(os.environ.get("NEARDUP_CORPUS_DIR", "/work/corpus"))
MIN_PIECE = 630
LONG_LINE = 1000
DIGITS = re.compile(r"[0-9]")


def h64(s: str) -> int:
    return int.from_bytes(hashlib.blake2b(s.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


def pieces(text: str):
    """Whole lines, at least MIN_PIECE bytes a piece; a long line is cut at spaces."""
    cur: list[str] = []
    size = 0
    for line in text.splitlines(keepends=True):
        parts = [line]
        if len(line.encode()) > LONG_LINE:
            parts, acc = [], ""
            for word in line.split(" "):
                acc = f"{acc} {word}" if acc else word
                if len(acc.encode()) >= MIN_PIECE:
                    parts.append(acc)
                    acc = ""
            if acc:
                parts.append(acc)
        for p in parts:
            cur.append(p)
            size += len(p.encode())
            if size >= MIN_PIECE:
                yield "".join(cur).strip()
                cur, size = [], 0
    if cur and "".join(cur).strip():
        yield "".join(cur).strip()


def sample(src: Path, records: int) -> list[dict]:
    docs = []
    with open(src, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                docs.append((h64(DIGITS.sub("", d["id"])), d["id"], d["text"]))
    docs.sort(key=lambda t: (t[0], t[1]))
    out: list[dict] = []
    for _, did, text in docs:
        for i, p in enumerate(pieces(text)):
            if len(p) >= 50:
                out.append({"id": f"{did}#{i}", "text": p})
                if len(out) == records:
                    return out
    return out


def one_word_changed(rec: dict, k: int) -> dict:
    words = rec["text"].split(" ")
    w = h64(f"{rec['id']}@{k}") % len(words)
    words[w] = f"copy{k}"
    return {"id": f"{rec['id']}@{k}", "text": " ".join(words)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=60000)
    ap.add_argument("--copies", type=int, default=1)
    ap.add_argument("--input", type=Path, default=CORPUS / "full" / "all.jsonl")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    suffix = f"-x{args.copies}" if args.copies > 1 else ""
    out = args.out or CORPUS / "speed" / f"sample-{args.records}{suffix}.jsonl"
    if not out.exists():
        if not args.input.exists():
            sys.exit(f"speed_sample: {args.input} is missing; run bench/corpus.sh full first")
        recs = sample(args.input, args.records)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as g:
            for k in range(args.copies):
                for r in recs:
                    g.write(json.dumps(r if k == 0 else one_word_changed(r, k), ensure_ascii=False) + "\n")
        tmp.rename(out)
    n = b = 0
    with open(out, encoding="utf-8") as f:
        for line in f:
            n += 1
            b += len(json.loads(line)["text"].encode("utf-8", "surrogatepass"))
    print(f"speed_sample: {out}: {n} records, {b / 1e6:.1f} MB of text, {b / max(n, 1):.0f} bytes each",
          file=sys.stderr)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
