#!/usr/bin/env python3
"""Exact document dedup with a Python peer, run the way its users run it.

    bench/.venv/bin/python bench/peers/exact_dedup.py IN.jsonl OUT.jsonl [--peer datatrove|text-dedup]

Prints one line of JSON on stdout:
    {"peer": ..., "read": N, "kept": K, "seconds": S, ...}

Peers
-----
datatrove (default; the most faithful: JSONL in, JSONL out, streaming):
    its three-stage exact dedup, each stage a LocalPipelineExecutor as in
    datatrove's own dedup examples:
      1. JsonlReader -> ExactDedupSignature   (xxhash64 of the text per doc)
      2. ExactFindDedups                       (k-way merge of sorted hashes)
      3. JsonlReader -> ExactDedupFilter -> JsonlWriter
    Tie rule: the first document (smallest index) of a hash group is kept.
    The writer's adapter emits {"id", "text"} so the output has the input's
    schema (datatrove's default adds "metadata"); compression off.

text-dedup:
    its `python -m text_dedup.exact_hash` entry point (md5 of the UTF-8
    text, first occurrence kept) over a HF `datasets` JSON load of IN.jsonl,
    which saves an Arrow dataset; we then export it to OUT.jsonl with
    `Dataset.to_json` (timed apart as "export_seconds"). It needs no network
    for a local file (HF_DATASETS_OFFLINE=1 is set).

Both compare the raw `text` bytes: no normalization of any kind.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


def count_lines(path: str) -> int:
    n = 0
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                n += 1
    return n


def run_datatrove(inp: str, out: str, work: str) -> dict:
    from datatrove.executor.local import LocalPipelineExecutor
    from datatrove.pipeline.dedup import (
        ExactDedupConfig,
        ExactDedupFilter,
        ExactDedupSignature,
        ExactFindDedups,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    def get_text(doc) -> str:  # the return annotation tells datatrove to hash str
        return doc.text

    config = ExactDedupConfig(content_getter=get_text)
    in_dir, in_name = os.path.split(os.path.abspath(inp))
    out_dir, out_name = os.path.split(os.path.abspath(out))

    def reader():
        return JsonlReader(in_dir, glob_pattern=in_name, recursive=False, text_key="text", id_key="id")

    def id_text(self, doc) -> dict:
        return {"id": doc.id, "text": doc.text}

    stage1 = LocalPipelineExecutor(
        pipeline=[reader(), ExactDedupSignature(output_folder=f"{work}/sigs", config=config)],
        tasks=1,
        workers=1,
        logging_dir=f"{work}/logs/1",
    )
    stage2 = LocalPipelineExecutor(
        pipeline=[ExactFindDedups(data_folder=f"{work}/sigs", output_folder=f"{work}/dups", config=config)],
        tasks=1,
        workers=1,
        logging_dir=f"{work}/logs/2",
        depends=stage1,
    )
    tmp_out = f"{work}/out"
    stage3 = LocalPipelineExecutor(
        pipeline=[
            reader(),
            ExactDedupFilter(data_folder=f"{work}/dups", config=config),
            JsonlWriter(tmp_out, output_filename="kept.jsonl", compression=None, adapter=id_text),
        ],
        tasks=1,
        workers=1,
        logging_dir=f"{work}/logs/3",
        depends=stage2,
    )
    stage3.run()  # runs stage1, then stage2, then stage3
    os.makedirs(out_dir or ".", exist_ok=True)
    kept_path = f"{tmp_out}/kept.jsonl"
    if os.path.exists(kept_path):
        shutil.move(kept_path, out)
    else:  # nothing kept
        open(out, "wb").close()
    return {"read": count_lines(inp), "kept": count_lines(out), "hash": "xxhash64"}


def run_text_dedup(inp: str, out: str, work: str) -> dict:
    env = dict(os.environ, HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", TQDM_DISABLE="1")
    arrow = f"{work}/arrow"
    cmd = [
        sys.executable, "-m", "text_dedup.exact_hash",
        "--path", "json",
        "--data_files", os.path.abspath(inp),
        "--split", "train",
        "--cache_dir", f"{work}/cache",
        "--output", arrow,
        "--column", "text",
        "--batch_size", "10000",
        "--hash_func", "md5",
        "--num_proc", "1",
    ]
    subprocess.run(cmd, check=True, env=env, stdout=sys.stderr)
    t = time.perf_counter()
    from datasets import load_from_disk

    ds = load_from_disk(arrow)
    ds = ds.remove_columns([c for c in ds.column_names if c not in ("id", "text")])
    ds.to_json(out, lines=True, force_ascii=False)
    export = time.perf_counter() - t
    return {"read": count_lines(inp), "kept": len(ds), "hash": "md5", "export_seconds": round(export, 3)}


PEERS = {"datatrove": run_datatrove, "text-dedup": run_text_dedup}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input", help="JSONL with a `text` field")
    ap.add_argument("output", help="JSONL of the kept documents")
    ap.add_argument("--peer", choices=sorted(PEERS), default="datatrove")
    ap.add_argument("--workdir", help="scratch directory (default: a temp dir, removed)")
    args = ap.parse_args()

    work = args.workdir or tempfile.mkdtemp(prefix=f"exact-{args.peer}-")
    if args.workdir and os.path.exists(work):
        shutil.rmtree(work)  # datatrove skips completed tasks: start clean
    os.makedirs(work, exist_ok=True)
    t = time.perf_counter()
    try:
        res = PEERS[args.peer](args.input, args.output, work)
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    seconds = time.perf_counter() - t
    print(json.dumps({"peer": args.peer, "read": res.pop("read"), "kept": res.pop("kept"),
                      "seconds": round(seconds, 3), **res}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
