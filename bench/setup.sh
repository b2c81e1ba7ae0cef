#!/usr/bin/env bash
# bench/setup.sh — prepare the benchmark environment (idempotent).
#
#   bench/setup.sh
#
# * makes sure `zstd` and GNU `/usr/bin/time` exist (apt-get, when root);
# * creates the virtualenv bench/.venv (gitignored) and pip-installs the
#   Python peers: datasketch, rensa, text-dedup, datatrove (+ small extras
#   the peer scripts need);
# * writes the installed versions to bench/peers-versions.txt (committed).
# A peer that fails to install is recorded in peers-versions.txt with the
# reason (last lines of pip's error) and the script goes on.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
VENV=$HERE/.venv
PY=${PYTHON:-python3}
VERSIONS=$HERE/peers-versions.txt
LOGDIR=$HERE/out/setup
mkdir -p "$LOGDIR"

# --- system tools ------------------------------------------------------------
missing=()
command -v zstd >/dev/null || missing+=(zstd)
[ -x /usr/bin/time ] || missing+=(time)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: missing ${missing[*]}; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
fi

# --- virtualenv ----------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV" >&2
  "$PY" -m venv "$VENV" || exit 2
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
fi
VPY=$VENV/bin/python

# Peers, each installed on its own so one failure does not block the others.
# Pins keep runs comparable; bump them deliberately and re-record numbers.
PEERS=(
  "datasketch==${DATASKETCH_VERSION:-2.0.0}"
  "rensa==${RENSA_VERSION:-0.5.0}"
  # text-dedup 0.4.1 (newest) requires Python >= 3.12; 0.4.0 is the newest for 3.11.
  "text-dedup==${TEXT_DEDUP_VERSION:-0.4.0}"
  # [processing] brings tokenizers, which `datatrove.pipeline.dedup` imports;
  # [io] brings orjson/zstandard for its JSONL reader, as datatrove's README installs it.
  "datatrove[io,processing]==${DATATROVE_VERSION:-0.10.1}"
)
declare -A FAILED=()
for spec in "${PEERS[@]}"; do
  name=${spec%%==*}; name=${name%%[*}
  if "$VPY" -m pip install -q "$spec" >"$LOGDIR/pip-$name.log" 2>&1; then
    :
  else
    FAILED[$name]=$(grep -E "ERROR|error:" "$LOGDIR/pip-$name.log" | tail -n 3 | tr '\n' ' ')
    echo "setup: $spec failed to install: ${FAILED[$name]}" >&2
  fi
done

# --- versions ------------------------------------------------------------------
{
  echo "# Written by bench/setup.sh — versions of the peers in bench/.venv"
  echo "python	$("$VPY" -c 'import platform; print(platform.python_version())')"
  for spec in "${PEERS[@]}"; do
    name=${spec%%==*}; name=${name%%[*}
    v=$("$VPY" -m pip show "$name" 2>/dev/null | awk '/^Version:/{print $2}')
    if [ -n "$v" ]; then
      echo "$name	$v"
    else
      echo "$name	NOT INSTALLED	${FAILED[$name]:-unknown reason, see bench/out/setup/pip-$name.log}"
    fi
  done
  for extra in numpy xxhash datasets; do
    v=$("$VPY" -m pip show "$extra" 2>/dev/null | awk '/^Version:/{print $2}')
    [ -n "$v" ] && echo "$extra	$v	(dependency)"
  done
  echo "zstd	$(zstd --version | head -n1)"
  echo "time	$(/usr/bin/time --version 2>&1 | head -n1)"
} >"$VERSIONS"
cat "$VERSIONS"
