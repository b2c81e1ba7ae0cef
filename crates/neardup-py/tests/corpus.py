"""A small corpus with every kind of duplicate, made the same way every time."""

import random
from typing import Dict, List

WORDS = (
    "river mountain council budget harbour school road bridge market winter summer "
    "station library garden museum festival railway hospital village forest ocean "
    "engine printer window kitchen teacher doctor farmer painter writer singer "
    "yellow purple silver golden quiet rapid gentle ancient modern distant"
).split()


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)) + "."


def records(seed: int = 7) -> List[Dict[str, str]]:
    """Rows ``{"id", "text"}``: unique, exact, typographic, near, in-record
    repeats, and a family of templated pages sharing most words (large LSH
    buckets, kept records past the partner cap)."""
    rng = random.Random(seed)
    out: List[str] = []
    bases = [_text(rng, 60) for _ in range(25)]
    out.extend(bases)
    for b in bases[:8]:
        out.append(b)  # exact
    for b in bases[8:12]:
        out.append('He said "' + b + '" -- and left.')
        out.append("He said \u201c" + b + "\u201d \u2014 and left.")  # typographic
    for b in bases[12:20]:
        w = b.split()
        w[30] = "zebra"
        out.append(" ".join(w))  # near (one word)
    para = "This paragraph is long enough to count as a repeated passage, well over the hundred character minimum."
    for i in range(4):
        out.append(f"{para}\n{_text(rng, 20)}\n{para}")  # in-record repeat
    shared = _text(rng, 100)
    family = [shared + " " + _text(rng, 15) for _ in range(30)]
    out.extend(family)
    for f in family[20:26]:
        w = f.split()
        w[-3] = "yak"
        out.append(" ".join(w))  # near copies of late family members
    rng.shuffle(out)
    return [{"id": f"r{i:04d}", "text": t} for i, t in enumerate(out)]
