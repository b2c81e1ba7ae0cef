#!/usr/bin/env bash
# bench/corpus.sh — build the debdocs corpus and one file every tool reads.
#
#   bench/corpus.sh [small|full]        (default: small)
#
# Runs /work/shared/data/get-corpus MODE into $NEARDUP_CORPUS_DIR (default
# /work/corpus), then writes
#   $NEARDUP_CORPUS_DIR/MODE/all.jsonl       the per-package files, concatenated in name order
#   $NEARDUP_CORPUS_DIR/MODE/all.jsonl.zst   the same bytes, zstd -3
#   $NEARDUP_CORPUS_DIR/MODE/all.txt         the `text` fields joined by "\n\n" (suffix-array peer)
# Idempotent: each output is rebuilt only when an input is newer (temp file, then rename).
# Prints the path of all.jsonl on stdout.
set -euo pipefail

MODE=${1:-small}
case "$MODE" in small|full) ;; *) echo "corpus.sh: mode must be small or full, not \`$MODE\`" >&2; exit 2 ;; esac
DIR=${NEARDUP_CORPUS_DIR:-/work/corpus}
GET=${NEARDUP_GET_CORPUS:-/work/shared/data/get-corpus}
HERE=$(cd "$(dirname "$0")" && pwd)

"$GET" "$MODE" "$DIR" >&2
OUT=$DIR/$MODE
shopt -s nullglob
parts=("$OUT"/jsonl/*.jsonl)
[ ${#parts[@]} -gt 0 ] || { echo "corpus.sh: no JSONL in $OUT/jsonl" >&2; exit 2; }
# Sort by name with a fixed collation so every machine concatenates the same order.
mapfile -t parts < <(printf '%s\n' "${parts[@]}" | LC_ALL=C sort)

stale() {  # stale TARGET SOURCE... : true if TARGET is missing or older than a source
  local t=$1; shift
  [ -e "$t" ] || return 0
  local s; for s in "$@"; do [ "$s" -nt "$t" ] && return 0; done
  return 1
}

if stale "$OUT/all.jsonl" "${parts[@]}" "$OUT/.complete"; then
  echo "corpus.sh: writing $OUT/all.jsonl" >&2
  cat "${parts[@]}" >"$OUT/all.jsonl.tmp"
  mv "$OUT/all.jsonl.tmp" "$OUT/all.jsonl"
fi
if stale "$OUT/all.jsonl.zst" "$OUT/all.jsonl"; then
  echo "corpus.sh: writing $OUT/all.jsonl.zst" >&2
  zstd -q -3 -f -T0 "$OUT/all.jsonl" -o "$OUT/all.jsonl.zst.tmp"
  mv "$OUT/all.jsonl.zst.tmp" "$OUT/all.jsonl.zst"
fi
if stale "$OUT/all.txt" "$OUT/all.jsonl"; then
  echo "corpus.sh: writing $OUT/all.txt" >&2
  python3 "$HERE/jsonl_to_text.py" "$OUT/all.jsonl" "$OUT/all.txt.tmp" >&2
  mv "$OUT/all.txt.tmp" "$OUT/all.txt"
fi
echo "$OUT/all.jsonl"
