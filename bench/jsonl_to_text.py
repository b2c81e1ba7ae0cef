#!/usr/bin/env python3
"""Join the `text` fields of a JSONL file into one plain-text file.

    python3 bench/jsonl_to_text.py IN.jsonl OUT.txt [--sep SEP]

Documents are separated by SEP (default: a blank line, "\\n\\n"), written as
UTF-8. Used to feed byte-oriented tools (Google's suffix-array peer) the same
text neardup reads from JSONL. Prints "docs bytes" on stdout. Stdlib only.
"""
import argparse
import json
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--sep", default="\n\n")
    ap.add_argument("--limit", type=int, default=0, help="stop after N documents (0 = all)")
    args = ap.parse_args()
    sep = args.sep.encode("utf-8")
    docs = 0
    written = 0
    with open(args.input, "rb") as fin, open(args.output, "wb") as fout:
        for line in fin:
            if not line.strip():
                continue
            text = json.loads(line)["text"].encode("utf-8", "surrogatepass")
            if docs:
                fout.write(sep)
                written += len(sep)
            fout.write(text)
            written += len(text)
            docs += 1
            if args.limit and docs >= args.limit:
                break
    print(docs, written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
