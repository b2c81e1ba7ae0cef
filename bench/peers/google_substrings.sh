#!/usr/bin/env bash
# bench/peers/google_substrings.sh — repeated substrings with Google's
# suffix-array tool (Lee et al. 2022, github.com/google-research/deduplicate-text-datasets),
# run the way its README and scripts/deduplicate_single_file.sh run it.
#
#   bench/peers/google_substrings.sh IN.txt OUT_DIR LEN [THREADS]
#
#   IN.txt    one text file (bytes; e.g. the corpus's `text` fields joined, bench/corpus.sh writes all.txt)
#   OUT_DIR   scratch + results (emptied first)
#   LEN       length threshold in bytes (the paper: 100)
#   THREADS   self-similar threads (default 2)
#
# Phases, each under /usr/bin/time -v (logs in OUT_DIR/time/PHASE.txt):
#   1 make          dedup_dataset make --data-file DATA        -> DATA.table.bin (suffix array; one core)
#   2 self-similar  dedup_dataset self-similar --data-file DATA --length-threshold LEN
#                     --cache-dir OUT_DIR/cache --num-threads THREADS  -> dups_*/sizes_* files
#   3 collect       dedup_dataset collect --data-file DATA --cache-dir OUT_DIR/cache
#                     --length-threshold LEN > OUT_DIR/remove.byterange   ("out" line, then "a b" per range)
#   4 finish        python3 scripts/finish_single_file.py DATA remove.byterange OUT_DIR/deduped.txt
#                     (the tool's own script: strike the ranges, write the rest)
# DATA is OUT_DIR/data.txt, a symlink to IN.txt, so the tool's side files land in OUT_DIR.
# `make` is the tool's single-process suffix-array builder, fine for files that fit in RAM
# (~10x the input here); scripts/make_suffix_array.py (make-part + merge) is its path for
# bigger ones and hard-codes ./target/debug and ./tmp, so we don't use it.
#
# Prints, on stdout, the path of the byte-range file, last. OUT_DIR/phases.tsv has
# phase, wall seconds, max RSS KB; OUT_DIR/summary.json the totals.
# Env: GOOGLE_DEDUP_DIR (default /work/peers-build/deduplicate-text-datasets), the built copy.
set -euo pipefail

if [ $# -lt 3 ]; then
  sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
IN=$1 OUT=$2 LEN=$3 THREADS=${4:-2}
GDIR=${GOOGLE_DEDUP_DIR:-/work/peers-build/deduplicate-text-datasets}
BIN=$GDIR/target/release/dedup_dataset
PY=${PYTHON:-python3}
[ -x "$BIN" ] || { echo "google_substrings: $BIN missing; build it: (cd $GDIR && CARGO_TARGET_DIR=\$PWD/target cargo build --release)" >&2; exit 2; }
[ -f "$IN" ] || { echo "google_substrings: input \`$IN\` not found" >&2; exit 2; }

rm -rf "$OUT"
mkdir -p "$OUT/time" "$OUT/cache"
OUT=$(cd "$OUT" && pwd)
DATA=$OUT/data.txt
ln -s "$(cd "$(dirname "$IN")" && pwd)/$(basename "$IN")" "$DATA"
: >"$OUT/phases.tsv"

phase() {  # phase NAME STDOUT_FILE CMD...
  local name=$1 out=$2; shift 2
  echo "google_substrings: $name: $*" >&2
  /usr/bin/time -v -o "$OUT/time/$name.txt" "$@" >"$out" 2>"$OUT/time/$name.stderr" || {
    echo "google_substrings: $name failed; see $OUT/time/$name.stderr" >&2; tail -5 "$OUT/time/$name.stderr" >&2; exit 1; }
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$OUT/time/$name.txt")
  rss=$(awk -F': ' '/Maximum resident set size/{print $2}' "$OUT/time/$name.txt")
  printf '%s\t%s\t%s\n' "$name" "$wall" "$rss" >>"$OUT/phases.tsv"
  printf 'google_substrings: %-12s %8.2f s %10.1f MB\n' "$name" "$wall" "$(echo "$rss/1024" | bc -l)" >&2
}

phase make "$OUT/time/make.stdout" "$BIN" make --data-file "$DATA"
phase self-similar "$OUT/time/self-similar.stdout" "$BIN" self-similar --data-file "$DATA" \
  --length-threshold "$LEN" --cache-dir "$OUT/cache" --num-threads "$THREADS"
phase collect "$OUT/remove.byterange" "$BIN" collect --data-file "$DATA" --cache-dir "$OUT/cache" \
  --length-threshold "$LEN"
phase finish "$OUT/time/finish.stdout" "$PY" "$GDIR/scripts/finish_single_file.py" "$DATA" \
  "$OUT/remove.byterange" "$OUT/deduped.txt"

# Totals: ranges, bytes inside them, and what the tool itself printed.
"$PY" - "$OUT" "$IN" "$LEN" "$THREADS" <<'EOF'
import json, os, sys
out, inp, length, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ranges = covered = 0
with open(f"{out}/remove.byterange") as f:
    for line in f:
        if line.strip() == "out":
            break
    for line in f:
        a, b = map(int, line.split())
        ranges += 1
        covered += b - a
dups = None
for line in open(f"{out}/time/self-similar.stdout", errors="replace"):
    if line.startswith("Duplicates found:"):
        dups = int(line.split(":")[1])
phases = {}
for line in open(f"{out}/phases.tsv"):
    name, wall, rss = line.split("\t")
    phases[name] = {"seconds": float(wall), "max_rss_kb": int(rss)}
size = os.path.getsize(inp)
summary = {
    "peer": "google-deduplicate-text-datasets", "input": inp, "input_bytes": size,
    "length_threshold": length, "threads": threads, "duplicates_found": dups,
    "ranges": ranges, "bytes_in_ranges": covered, "share_in_ranges": round(covered / size, 4) if size else 0,
    "deduped_bytes": os.path.getsize(f"{out}/deduped.txt"),
    "seconds": round(sum(p["seconds"] for p in phases.values()), 2),
    "max_rss_kb": max(p["max_rss_kb"] for p in phases.values()), "phases": phases,
}
json.dump(summary, open(f"{out}/summary.json", "w"), indent=1)
print(json.dumps({k: v for k, v in summary.items() if k != "phases"}), file=sys.stderr)
EOF
echo "$OUT/remove.byterange"
