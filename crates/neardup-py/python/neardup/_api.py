"""The Python API over the native module: inputs to Arrow, settings to text."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import pyarrow as pa

from neardup import _native
from neardup._native import NeardupError

Stages = _native.Stages

#: What ``dedup`` accepts: a pyarrow Table or RecordBatchReader, anything with
#: ``__arrow_c_stream__`` (polars, Hugging Face datasets' ``.data``), a pandas
#: DataFrame, or a list of str or of dict.
Data = Any


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _pairs(settings: Mapping[str, Any]) -> List[Tuple[str, str]]:
    """Settings as (CLI option name, text) pairs; ``None`` means default.

    A list value gives the option once per item (``repetition_threshold``).
    """
    out: List[Tuple[str, str]] = []
    for name, value in settings.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            out.extend((name, _text(v)) for v in value)
        else:
            out.append((name, _text(value)))
    return out


def settings_json(**settings: Any) -> str:
    """The validated settings as JSON (banding resolved), as ledgers record them.

    Raises ``ValueError`` with the command line's message for a bad value.
    """
    return _native.settings_json(_pairs(settings))[0]


def fingerprint(**settings: Any) -> str:
    """The settings' fingerprint (``v1-…``): runs with equal fingerprints decide alike."""
    return _native.settings_json(_pairs(settings))[1]


@dataclass(frozen=True)
class Result:
    """What ``dedup`` returns.

    Attributes:
        kept: the kept and modified rows, every other column untouched, the
            text cut where passages were cut; the input's schema.
        ledger: one row per input row, in input order: ``id``, ``status``
            (kept, modified, removed, rejected), ``reason`` (exact, near,
            repeat, repetition), ``duplicate_of`` (the id of the row kept in
            its place), ``similarity``, ``spans`` (byte ranges cut: offset,
            length), ``first`` (where each span's earlier copy is), ``error``.
        summary: the totals, as ``neardup dedup --json`` prints them.
        fingerprint: the settings' fingerprint.
    """

    kept: pa.Table
    ledger: pa.Table
    summary: Dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""


def _to_stream(data: Data, text: str) -> pa.RecordBatchReader:
    """Any supported input as an Arrow stream."""
    if isinstance(data, pa.RecordBatchReader):
        return data
    if isinstance(data, pa.Table):
        return data.to_reader()
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data]).to_reader()
    if isinstance(data, (list, tuple)):
        if all(isinstance(x, str) or x is None for x in data):
            return pa.table({text: pa.array(list(data), type=pa.string())}).to_reader()
        if all(isinstance(x, Mapping) for x in data):
            return pa.Table.from_pylist(list(data)).to_reader()
        raise TypeError("a list must hold str or dict items")
    module = type(data).__module__.split(".")[0]
    if module == "pandas":
        return pa.Table.from_pandas(data, preserve_index=False).to_reader()
    if module == "datasets" and hasattr(data, "data"):
        # A Hugging Face Dataset: its Arrow table.
        table = data.data
        return (table.table if hasattr(table, "table") else table).to_reader()
    if hasattr(data, "__arrow_c_stream__"):
        return pa.RecordBatchReader.from_stream(data)
    if hasattr(data, "to_arrow"):
        return _to_stream(data.to_arrow(), text)
    raise TypeError(
        f"cannot read {type(data).__name__}: give a pyarrow Table or RecordBatchReader, "
        "an object with __arrow_c_stream__, a pandas DataFrame, or a list of str or dict"
    )


def dedup(
    data: Data,
    *,
    text: str = "text",
    id: str = "id",
    threads: Optional[int] = None,
    memory: Union[int, str, None] = None,
    tmp_dir: Union[str, "os.PathLike[str]", None] = None,
    on_error: str = "fail",
    **settings: Any,
) -> Result:
    """Removes exact and near duplicates and cuts passages a row repeats.

    Args:
        data: a pyarrow Table or RecordBatchReader, anything exposing
            ``__arrow_c_stream__`` (a polars DataFrame), a Hugging Face
            ``datasets.Dataset``, a pandas DataFrame, or a list of str (the
            text) or of dict (rows).
        text: the column holding the text (string, large string or string view).
        id: the column holding each row's id; rows without one are named by
            their 0-based row number.
        threads: worker threads (default: all cores).
        memory: memory budget of the stages that spill to disk (``"512M"``, bytes).
        tmp_dir: where temporary files go.
        on_error: ``"fail"`` (raise ``NeardupError`` naming the row) or
            ``"skip"`` (the row is ``rejected`` in the ledger).
        **settings: the command line's options with underscores, e.g.
            ``threshold=0.7``, ``keep="longest"``, ``no_near=True``,
            ``min_repeat=200``, ``shingle="char:5"``, ``similarity="containment"``,
            ``substrings=True``.

    Returns:
        a ``Result`` with ``kept``, ``ledger``, ``summary`` and ``fingerprint``.

    Raises:
        ValueError: a bad setting, with the command line's message.
        NeardupError: a bad row (null text, a text column that is not text)
            with ``on_error="fail"``, or a run that could not finish.
    """
    stream = _to_stream(data, text)
    kept, ledger, summary, fp = _native.dedup(
        stream,
        text,
        id,
        _pairs(settings),
        threads=threads,
        memory=None if memory is None else str(memory),
        tmp_dir=None if tmp_dir is None else os.fspath(tmp_dir),
        on_error=on_error,
    )
    return Result(
        kept=kept.read_all(),
        ledger=ledger.read_all(),
        summary={"type": "summary", **json.loads(summary)},
        fingerprint=fp,
    )


_NORMALIZE = {
    "raw",
    "no_nfkc",
    "no_typography",
    "no_invisible",
    "no_case_fold",
    "whitespace",
    "ascii",
    "strip_punctuation",
    "strip_digits",
}


def normalize(text: str, **settings: Any) -> str:
    """The canonical form of ``text``: what matching sees.

    Settings are the canonical-form options of ``neardup normalize``
    (``no_case_fold=True``, ``whitespace="all"``, ``ascii=True``, …).
    """
    unknown = sorted(k for k in settings if k.replace("-", "_") not in _NORMALIZE)
    if unknown:
        raise ValueError(f"`{unknown[0]}` is not a canonical-form setting")
    return _native.normalize(text, _pairs(settings))


def explain(a: str, b: str, *, limit: int = 10, **settings: Any) -> Dict[str, Any]:
    """Why two texts are, or are not, duplicates: what ``neardup explain --json`` prints.

    The two are run through the very analysis and decisions of ``dedup`` (A
    read first): the passages cut, the canonical forms, exact Jaccard,
    containment, the MinHash estimate, the LSH bands that collided, the
    verdict, shared and distinct shingles, a line diff, and what ``dedup``
    decides for each.
    """
    return json.loads(_native.explain(a, b, _pairs(settings), limit))


class Index:
    """An index of everything kept before: check new records against all of
    history, and add them, as ``neardup dedup --index`` and ``neardup serve``
    do (the same library decides, so the answers are theirs).

    >>> ix = neardup.Index.create("/tmp/ix", threshold=0.8)   # doctest: +SKIP
    >>> ix.add([("a", "He said \"yes\" -- today.")])           # doctest: +SKIP
    >>> ix.check([("b", "He said “yes” — today.")])[0]["duplicate_of"]  # doctest: +SKIP
    'a'

    ``check`` and ``add`` take ``(id, text)`` pairs or mappings with ``id`` and
    ``text``, and return one dict per record, in order: ``id``, ``status``
    (``"new"`` or ``"duplicate"``), ``reason`` (``"exact"``, ``"near"`` or
    ``None``), ``duplicate_of`` (an id of history or of an earlier record of
    the call), ``similarity`` and ``added``. ``add`` adds the new records (and
    what later exact copies need) in one atomic batch; ``check`` changes
    nothing. ``memory`` bounds the storage engine's caches (``"256M"``).
    One process and one ``Index`` object hold an index at a time: a second
    open raises ``NeardupError`` until the first is gone (``del``).
    """

    def __init__(self, path: Any, *, memory: Optional[str] = None) -> None:
        self._native = _native.Index(str(path), memory)

    @classmethod
    def create(cls, path: Any, *, memory: Optional[str] = None, **settings: Any) -> "Index":
        """Creates an index with these matching settings (``neardup index create``)."""
        ix = cls.__new__(cls)
        ix._native = _native.Index.create(str(path), _pairs(settings), memory)
        return ix

    @staticmethod
    def _records(records: Iterable[Any]) -> List[Tuple[str, str]]:
        out: List[Tuple[str, str]] = []
        for k, r in enumerate(records):
            if isinstance(r, Mapping):
                rid, text = r.get("id"), r.get("text")
            elif isinstance(r, (tuple, list)) and len(r) == 2:
                rid, text = r
            else:
                raise ValueError(f"record {k}: expected an (id, text) pair or a mapping with id and text")
            if not isinstance(rid, str) or not isinstance(text, str):
                raise ValueError(f"record {k}: id and text must be strings")
            out.append((rid, text))
        return out

    def check(self, records: Iterable[Any]) -> List[Dict[str, Any]]:
        """What each record is against history and the call's earlier records."""
        return json.loads(self._native.check(self._records(records), False))["results"]

    def add(self, records: Iterable[Any]) -> List[Dict[str, Any]]:
        """``check``, then the new records are added in one atomic batch."""
        return json.loads(self._native.check(self._records(records), True))["results"]

    def stats(self) -> Dict[str, Any]:
        """``neardup index stats --json``: records, kept, aliases, batches, settings..."""
        return json.loads(self._native.stats())

    def __len__(self) -> int:
        return self._native.records()


def _stages(settings: Mapping[str, Any]) -> Tuple[str, Any]:
    js = settings_json(**settings)
    return js, _native.Stages(js)


__all__: Sequence[str] = [
    "Index",
    "NeardupError",
    "Result",
    "dedup",
    "explain",
    "fingerprint",
    "normalize",
    "settings_json",
]
