#!/usr/bin/env python3
"""Build a labelled near-duplicate pair set from the real corpus.

    python3 bench/near_labelled.py [--input /work/corpus/full/all.jsonl] [--n 2000] [--seed 1]
                                   [--out bench/out/near]

Writes OUT/corpus.jsonl ({"id", "text"} per line) and OUT/pairs.jsonl
({"a", "b", "kind", "true_jaccard", "folded_jaccard", "edit"} per line), and
prints a summary. Deterministic for a given input, N and seed. Stdlib only.

How
---
* Base documents: N real documents with >= 50 words (canonical form below),
  drawn at random (seeded) from the input after dropping exact-duplicate texts.
* Each base gets one derived copy with one controlled edit kind, cycling through
  insert, delete, substitute (words), sentence-move, paragraph-drop,
  typography, and mixed (word edits + typography); the strength is drawn at
  random so true Jaccard spreads across roughly 0.3..1.0 around the 0.8
  threshold. Typography edits swap straight/curly quotes, `--`/em dash,
  NFC/NFD, space/NBSP, fi/fl and their ligatures, and insert zero-width spaces.
  The copy's id is `<base id>#<kind>`.
* Topic pairs (unrelated documents that share a topic): for up to N/2 bases,
  another real document from the same package and directory (else the same
  package) in the corpus ids; kind `topic`, with its true Jaccard.
* Completeness: an exact all-pairs similarity join (prefix filtering, then
  exact verification) over the whole output corpus adds every other pair with
  true Jaccard >= 0.8 as kind `incidental` (sibling manual versions, shared
  boilerplate...). So pairs.jsonl lists *every* pair at or above 0.8: a
  candidate pair not listed there has true Jaccard < 0.8.

Jaccard
-------
`true_jaccard`: Jaccard of the sets of word 5-gram shingles of the simple
canonical form: lowercase (str.lower), split on Unicode whitespace
(str.split; NBSP counts as whitespace), shingles joined by one space; a
document with fewer than 5 words has its whole word sequence as its one
shingle. `folded_jaccard`: the same after NFKC, curly quotes to straight,
dashes (em, en, figure, bar, minus) to `--`/`-`, and zero-width characters
removed: what a typography-aware normalizer could reach. The pairs file is
complete under both: it holds every pair with either Jaccard >= 0.8.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

SHINGLE = 5
THRESHOLD = 0.8
EDIT_KINDS = ["insert", "delete", "substitute", "sentence-move", "paragraph-drop", "typography", "mixed"]


# ------------------------------------------------------------- shingles ----
def canonical_words(text: str) -> list[str]:
    return text.lower().split()


def shingles(text: str, k: int = SHINGLE) -> set[str]:
    """Word k-gram shingles of the simple canonical form (shared with bench/peers/near_peers.py)."""
    words = canonical_words(text)
    if len(words) < k:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + k]) for i in range(len(words) - k + 1)}


_FOLD = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2014": "--", "\u2015": "--", "\u2013": "-", "\u2012": "-", "\u2212": "-",
    "\u200b": None, "\u200c": None, "\u200d": None, "\u2060": None, "\ufeff": None,
})


def folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_FOLD)


def jaccard(a: set, b: set) -> float:
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


# ---------------------------------------------------------------- edits ----
_SPLIT_WS = re.compile(r"(\s+)")


def _tokens(text: str) -> list[list[str]]:
    """[[word, following_whitespace], ...]; leading whitespace kept as a word-less token."""
    parts = _SPLIT_WS.split(text)
    toks = []
    if parts and parts[0] == "":
        parts = parts[1:]
        toks.append(["", parts[0] if parts else ""])
        parts = parts[1:]
    for i in range(0, len(parts), 2):
        toks.append([parts[i], parts[i + 1] if i + 1 < len(parts) else ""])
    return toks


def _join(toks) -> str:
    return "".join(w + s for w, s in toks)


def _word_positions(toks) -> list[int]:
    return [i for i, (w, _) in enumerate(toks) if w]


def _count(rng: random.Random, nwords: int, lo: float, hi: float) -> tuple[int, float]:
    rate = math.exp(rng.uniform(math.log(lo), math.log(hi)))
    return max(1, round(rate * nwords)), rate


def edit_insert(text, rng, vocab):
    toks = _tokens(text)
    k, rate = _count(rng, len(_word_positions(toks)), 0.002, 0.08)
    for _ in range(k):
        pos = rng.randrange(len(toks) + 1)
        toks.insert(pos, [rng.choice(vocab), " "])
    return _join(toks), {"words": k, "rate": round(rate, 4)}


def edit_delete(text, rng, vocab):
    toks = _tokens(text)
    pos = _word_positions(toks)
    k, rate = _count(rng, len(pos), 0.002, 0.08)
    k = min(k, len(pos) - 1)
    drop = set(rng.sample(pos, k))
    return _join(t for i, t in enumerate(toks) if i not in drop), {"words": k, "rate": round(rate, 4)}


def edit_substitute(text, rng, vocab):
    toks = _tokens(text)
    pos = _word_positions(toks)
    k, rate = _count(rng, len(pos), 0.002, 0.08)
    for i in rng.sample(pos, min(k, len(pos))):
        toks[i][0] = rng.choice(vocab)
    return _join(toks), {"words": k, "rate": round(rate, 4)}


_SENT = re.compile(r"(?<=[.!?])(\s+)")


def _units(text: str, min_units: int) -> tuple[list[str], str]:
    """Split into sentences (each with its trailing whitespace), else lines."""
    parts = _SENT.split(text)
    units = ["".join(parts[i:i + 2]) for i in range(0, len(parts), 2)]
    if len(units) >= min_units:
        return units, "sentence"
    return text.splitlines(keepends=True), "line"


def edit_sentence_move(text, rng, vocab):
    units, what = _units(text, 4)
    if len(units) < 2:
        return edit_substitute(text, rng, vocab)
    k, rate = _count(rng, len(units), 0.01, 0.3)
    k = min(k, len(units) - 1)
    for _ in range(k):
        full = [i for i, u in enumerate(units) if u.strip()]
        u = units.pop(rng.choice(full))
        if not u[-1].isspace():
            u += " "
        units.insert(rng.randrange(len(units) + 1), u)
    return "".join(units), {"moved": k, "of": len(units), "unit": what}


_PARA = re.compile(r"(\n[ \t]*\n\s*)")


def edit_paragraph_drop(text, rng, vocab):
    parts = _PARA.split(text)
    paras = ["".join(parts[i:i + 2]) for i in range(0, len(parts), 2)]
    unit = "paragraph"
    if len(paras) < 3:
        paras, unit = text.splitlines(keepends=True), "line"
    if len(paras) < 3:
        return edit_delete(text, rng, vocab)
    k, rate = _count(rng, len(paras), 0.02, 0.3)
    k = min(k, len(paras) - 1)
    drop = set(rng.sample(range(len(paras)), k))
    return "".join(p for i, p in enumerate(paras) if i not in drop), {"dropped": k, "of": len(paras), "unit": unit}


def _sub_some(text, rng, pattern, repl, rate):
    return re.sub(pattern, lambda m: (repl(m) if callable(repl) else repl) if rng.random() < rate else m.group(0), text)


def edit_typography(text, rng, vocab):
    rate = rng.uniform(0.2, 1.0)
    ops = sorted(rng.sample(["quotes", "dashes", "nfd", "nbsp", "ligatures", "zero-width"], rng.randint(2, 4)))
    for op in ops:
        if op == "quotes":
            if re.search("[\u2018\u2019\u201c\u201d]", text):
                text = _sub_some(text, rng, "[\u2018\u2019]", "'", rate)
                text = _sub_some(text, rng, "[\u201c\u201d]", '"', rate)
            else:
                text = _sub_some(text, rng, r"(?<=\w)'(?=\w)", "\u2019", rate)
                text = _sub_some(text, rng, r'"([^"\n]{1,80})"', lambda m: "\u201c" + m.group(1) + "\u201d", rate)
        elif op == "dashes":
            if "\u2014" in text:
                text = _sub_some(text, rng, "\u2014", "--", rate)
            else:
                text = _sub_some(text, rng, r"(?<=\S) ?--? (?=\S)|(?<=\w)--(?=\w)", "\u2014", rate)
        elif op == "nfd":
            text = unicodedata.normalize("NFD", text)
        elif op == "nbsp":
            text = _sub_some(text, rng, r"(?<=\S) (?=\S)", "\u00a0", rate * 0.5)
        elif op == "ligatures":
            text = _sub_some(text, rng, "fi", "\ufb01", rate)
            text = _sub_some(text, rng, "fl", "\ufb02", rate)
        elif op == "zero-width":
            text = _sub_some(text, rng, r"(?<=\w)(?=\w)", "\u200b", rate * 0.01)
    return text, {"ops": ops, "rate": round(rate, 3)}


def edit_mixed(text, rng, vocab):
    text, e1 = [edit_insert, edit_delete, edit_substitute][rng.randrange(3)](text, rng, vocab)
    text, e2 = edit_typography(text, rng, vocab)
    return text, {"words": e1, "typography": e2}


EDITS = {
    "insert": edit_insert, "delete": edit_delete, "substitute": edit_substitute,
    "sentence-move": edit_sentence_move, "paragraph-drop": edit_paragraph_drop,
    "typography": edit_typography, "mixed": edit_mixed,
}


# ---------------------------------------------------------- similarity join ----
def all_pairs_at_least(sets: list[set], t: float) -> list[tuple[int, int, float]]:
    """Exact all-pairs Jaccard >= t: prefix filtering (rare tokens first), size filter, verification."""
    freq = Counter()
    for s in sets:
        freq.update(s)
    index: dict[str, list[int]] = defaultdict(list)
    order = sorted(range(len(sets)), key=lambda i: (len(sets[i]), i))
    out = []
    for i in order:
        s = sets[i]
        if not s:
            continue
        toks = sorted(s, key=lambda x: (freq[x], x))
        plen = len(s) - math.ceil(t * len(s)) + 1
        cands = set()
        for tok in toks[:plen]:
            for j in index[tok]:
                cands.add(j)
            index[tok].append(i)
        for j in cands:
            # processed in ascending size: |sets[j]| <= |s|; size filter
            if len(sets[j]) < t * len(s):
                continue
            jac = jaccard(s, sets[j])
            if jac >= t:
                out.append((min(i, j), max(i, j), jac))
    return sorted(out)


# ------------------------------------------------------------------ main ----
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", default="/work/corpus/full/all.jsonl")
    ap.add_argument("--n", type=int, default=2000, help="base documents")
    ap.add_argument("--topic-pairs", type=int, default=-1, help="default N/2")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--min-words", type=int, default=50)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "out" / "near"))
    args = ap.parse_args()
    topic_n = args.n // 2 if args.topic_pairs < 0 else args.topic_pairs

    docs: list[tuple[str, str]] = []
    seen = set()
    with open(args.input, "rb") as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            h = hashlib.sha256(rec["text"].encode("utf-8", "surrogatepass")).digest()
            if h in seen:
                continue
            seen.add(h)
            docs.append((rec["id"], rec["text"]))
    eligible = [i for i, (_, t) in enumerate(docs) if len(canonical_words(t)) >= args.min_words]
    rng = random.Random(args.seed)
    if len(eligible) < args.n:
        print(f"near_labelled: only {len(eligible)} eligible documents; using all", file=sys.stderr)
    base = sorted(rng.sample(eligible, min(args.n, len(eligible))))

    # Donor vocabulary for insertions/substitutions: words from other sampled documents.
    vocab = sorted({w for i in base[: min(len(base), 200)] for w in docs[i][1].split()[:400] if w.isalpha()})

    by_dir: dict[str, list[int]] = defaultdict(list)
    by_pkg: dict[str, list[int]] = defaultdict(list)
    for i, (did, _) in enumerate(docs):
        by_dir[did.rsplit("/", 1)[0]].append(i)
        by_pkg[did.split("/", 1)[0]].append(i)

    out_docs: list[tuple[str, str]] = []
    index_of: dict[str, int] = {}

    def add(did: str, text: str) -> int:
        if did not in index_of:
            index_of[did] = len(out_docs)
            out_docs.append((did, text))
        return index_of[did]

    labelled: list[dict] = []
    for n, i in enumerate(base):
        did, text = docs[i]
        add(did, text)
        kind = EDIT_KINDS[n % len(EDIT_KINDS)]
        drng = random.Random(f"{args.seed}:{did}:{kind}")
        new, params = EDITS[kind](text, drng, vocab)
        nid = f"{did}#{kind}"
        add(nid, new)
        labelled.append({"a": did, "b": nid, "kind": kind, "edit": params})
    trng = random.Random(f"{args.seed}:topic")
    topic_bases = sorted(trng.sample(base, min(topic_n, len(base))))
    for i in topic_bases:
        did, text = docs[i]
        scope = "dir"
        pool = [j for j in by_dir[did.rsplit("/", 1)[0]] if j != i]
        if not pool:
            scope = "package"
            pool = [j for j in by_pkg[did.split("/", 1)[0]] if j != i]
        if not pool:
            continue
        j = pool[trng.randrange(len(pool))]
        add(docs[j][0], docs[j][1])
        labelled.append({"a": did, "b": docs[j][0], "kind": "topic", "edit": {"scope": scope}})

    sets = [shingles(t) for _, t in out_docs]
    fsets: dict[int, set] = {}

    def fset(k: int) -> set:
        if k not in fsets:
            fsets[k] = shingles(folded(out_docs[k][1]))
        return fsets[k]

    pairs_out = []
    labelled_keys = set()
    for p in labelled:
        a, b = index_of[p["a"]], index_of[p["b"]]
        labelled_keys.add((min(a, b), max(a, b)))
        pairs_out.append({"a": p["a"], "b": p["b"], "kind": p["kind"],
                          "true_jaccard": round(jaccard(sets[a], sets[b]), 6),
                          "folded_jaccard": round(jaccard(fset(a), fset(b)), 6), "edit": p["edit"]})
    # Every other pair at or above the threshold, on the raw or on the
    # folded form (a typography variant of one document can be a near copy
    # of another), so that the file is complete under both definitions.
    incidental = {(a, b) for a, b, _ in all_pairs_at_least(sets, THRESHOLD)}
    incidental |= {(a, b) for a, b, _ in all_pairs_at_least([fset(k) for k in range(len(out_docs))], THRESHOLD)}
    for a, b in sorted(incidental - labelled_keys):
        pairs_out.append({"a": out_docs[a][0], "b": out_docs[b][0], "kind": "incidental",
                          "true_jaccard": round(jaccard(sets[a], sets[b]), 6),
                          "folded_jaccard": round(jaccard(fset(a), fset(b)), 6), "edit": {}})

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "corpus.jsonl", "w", encoding="utf-8") as f:
        for did, text in out_docs:
            f.write(json.dumps({"id": did, "text": text}, ensure_ascii=False) + "\n")
    with open(out / "pairs.jsonl", "w", encoding="utf-8") as f:
        for p in pairs_out:
            f.write(json.dumps(p, ensure_ascii=False) + "\n")

    # Summary: per kind, count, share >= 0.8, Jaccard quartiles.
    rows = defaultdict(list)
    for p in pairs_out:
        rows[p["kind"]].append(p)
    print(f"{out / 'corpus.jsonl'}: {len(out_docs)} docs; {out / 'pairs.jsonl'}: {len(pairs_out)} pairs "
          f"(input {args.input}, n {args.n}, seed {args.seed})")
    print("| kind | pairs | true J >= 0.8 | folded J >= 0.8 | J p25 | J median | J p75 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for kind in EDIT_KINDS + ["topic", "incidental"]:
        ps = rows.get(kind, [])
        if not ps:
            continue
        js = sorted(p["true_jaccard"] for p in ps)
        q = lambda x: js[min(len(js) - 1, int(x * len(js)))]  # noqa: E731
        print(f"| {kind} | {len(ps)} | {sum(j >= THRESHOLD for j in js)} | "
              f"{sum(p['folded_jaccard'] >= THRESHOLD for p in ps)} | {q(0.25):.3f} | {q(0.5):.3f} | {q(0.75):.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
