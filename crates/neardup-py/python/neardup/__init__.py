"""neardup: find and remove repeated text — exact, near and in-record duplicates.

Matching happens on a canonical form that folds Unicode and typographic
variants; what comes out is your own text, cut only where a passage was
repeated. The engine is Rust (the same library as the ``neardup`` command);
this package feeds it Arrow data and releases the GIL while it works.

>>> import neardup
>>> r = neardup.dedup(["He said \\"yes\\" -- today.", "He said “yes” — today.", "a dog"])
>>> r.summary["removed"]
1

Settings are the command line's long options with underscores
(``threshold=0.7``, ``no_near=True``, ``keep="longest"``), with its defaults,
validation and messages. ``neardup.spark`` and ``neardup.ray`` run the same
decisions on Spark DataFrames and Ray Datasets; ``neardup.Index`` checks
records against an index of everything kept before.
"""

from neardup._api import (
    Index,
    NeardupError,
    Result,
    Stages,
    dedup,
    explain,
    fingerprint,
    normalize,
    settings_json,
)
from neardup._native import __version__

__all__ = [
    "Index",
    "NeardupError",
    "Result",
    "Stages",
    "__version__",
    "dedup",
    "explain",
    "fingerprint",
    "normalize",
    "settings_json",
]
