"""What the distributed drivers share: settings, schemas, stage wrappers.

The drivers (``neardup.spark``, ``neardup.ray``) run the command line's
decisions with the engine doing the shuffles and Rust doing the work per
batch. See ``neardup.spark`` for the plan.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional

import pyarrow as pa

from neardup import _native
from neardup._api import _pairs

#: Column names the drivers add (and drop) around the user's columns.
ORDER = "__nd_order"
ID = "__nd_id"


@dataclass(frozen=True)
class Plan:
    """Validated settings for a distributed run."""

    settings_json: str
    threshold: float
    trust: bool
    near: bool
    exact: bool
    keep: str
    on_error: str
    cap: int

    @staticmethod
    def of(settings: Mapping[str, Any], on_error: str) -> "Plan":
        """Validates ``settings`` (``ValueError`` with the CLI's message)."""
        if on_error not in ("fail", "skip"):
            raise ValueError(
                f"`on_error={on_error}`: expected an error policy, one of `fail`, `skip`"
            )
        js, _ = _native.settings_json(_pairs(settings))
        _native.Stages(js)  # refuses what the drivers do not run (substrings)
        s: Dict[str, Any] = json.loads(js)
        near: Optional[Dict[str, Any]] = s.get("near")
        return Plan(
            settings_json=js,
            threshold=float(near["threshold"]) if near else 1.0,
            trust=bool(near and near["verify"] == "none"),
            near=near is not None,
            exact=bool(s["exact"]),
            keep=str(s["keep"]),
            on_error=on_error,
            cap=_native.max_partners(),
        )


@functools.lru_cache(maxsize=4)
def stages(settings_json: str) -> Any:
    """The native stages for these settings, built once per worker process."""
    return _native.Stages(settings_json)


def analysis_fields() -> list:
    """The analysis columns, as pyarrow fields, plus the order column."""
    return [
        pa.field("hash_hi", pa.int64(), False),
        pa.field("hash_lo", pa.int64(), False),
        pa.field("len", pa.int64(), False),
        pa.field("exact_key", pa.int64(), False),
        pa.field("near_key", pa.int64(), False),
        pa.field("filtered", pa.string()),
        pa.field("error", pa.string()),
        pa.field(
            "repeats",
            pa.list_(
                pa.struct(
                    [
                        pa.field("start", pa.int64(), False),
                        pa.field("len", pa.int64(), False),
                        pa.field("first", pa.int64(), False),
                    ]
                )
            ),
            False,
        ),
        pa.field("band_keys", pa.list_(pa.int64()), False),
        pa.field(ORDER, pa.int64(), False),
    ]


def analyse(settings_json: str, text: str, batch: pa.RecordBatch) -> pa.RecordBatch:
    """Analysis columns of one batch (``text`` and ``ORDER``)."""
    out = stages(settings_json).analyse(batch, text, ORDER)
    return pa.RecordBatch.from_arrays(
        [*out.columns, batch.column(ORDER)], schema=pa.schema(analysis_fields())
    )


def similarity(settings_json: str, batch: pa.RecordBatch) -> pa.RecordBatch:
    """``later``, ``earlier``, ``sim`` of pairs with texts ``a_text``, ``b_text``."""
    sims = stages(settings_json).similarity(batch, "a_text", "b_text").column(0)
    return pa.RecordBatch.from_arrays(
        [batch.column("later"), batch.column("earlier"), sims],
        names=["later", "earlier", "sim"],
    )


def cut(settings_json: str, text: str, batch: pa.RecordBatch) -> pa.RecordBatch:
    """The batch with ``text`` cut by ``__nd_cut`` (a list of repeats)."""
    new = stages(settings_json).cut(batch, text, "__nd_cut").column(0)
    i = batch.schema.get_field_index(text)
    cols = list(batch.columns)
    cols[i] = new.cast(batch.schema.field(i).type)
    return pa.RecordBatch.from_arrays(cols, schema=batch.schema)
