#!/usr/bin/env bash
# Batched decode and the lookup-table GEMM, wall clock, builds interleaved in one run (issue 18):
# benchmarks/engine/batch-time.c linked against each libbitnet build, run one after the other for
# every repetition, pinned to CPU 1 when THREADS is 1 (taskset). One JSON line per run on stdout.
#
#   batch-ab.sh decode BASE_COMMIT MODEL KERNELS THREADS REPS [SEQS] [STEPS]
#       libbitnet of BASE_COMMIT (git archive into a temporary directory) against this checkout's,
#       SEQS (default "1 4") sequences decoding together, STEPS steps (default 16)
#   batch-ab.sh lut MODEL THREADS REPS [TOKENS] [PREP]
#       this checkout built with ARIA_X16_LUT_MIN=1 (the lookup-table GEMM from 1 token on) and
#       with ARIA_X16_LUT_MIN=1<<30 (never), on the AVX2 table: prefill of TOKENS (default
#       "16 32 128") in one batch, the median of PREP (default 5) repetitions each run
#
# Builds go to native/build/ab-* and node_modules/.cache/aria-bench/. Timing: normal priority,
# keep runs short on a shared machine; compare rows of one run, not across runs.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="$ROOT/node_modules/.cache/aria-bench"
mkdir -p "$BIN"
CPU="$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"

# build NAME SRC_DIR [CFLAGS]: libbitnet of SRC_DIR with CFLAGS, linked with batch-time.c
build() {
  local name="$1" dir="$2" cflags="${3:-}"
  nice -n 19 make -s -C "$dir/native" BUILD="build/ab-$name" CFLAGS="$cflags" -j2 >&2
  cc -std=c11 -O2 -D_GNU_SOURCE -I"$dir/native/include" "$ROOT/benchmarks/engine/batch-time.c" \
    "$dir/native/build/ab-$name/libbitnet.a" -lm -pthread -o "$BIN/batch-time-$name"
}

# run NAME THREADS ARGS...: one measurement, pinned for one thread
run() {
  local name="$1" threads="$2"
  shift 2
  if [ "$threads" = 1 ]; then
    taskset -c 1 "$BIN/batch-time-$name" "$@"
  else
    "$BIN/batch-time-$name" "$@"
  fi
}

case "${1:-}" in
  decode)
    BASE="$2" MODEL="$3" KERNELS="$4" THREADS="$5" REPS="$6" SEQS="${7:-1 4}" STEPS="${8:-16}"
    TMP="$(mktemp -d)"
    trap 'rm -rf "$TMP"' EXIT
    git -C "$ROOT" archive "$BASE" native | tar -x -C "$TMP"
    build base "$TMP"
    build new "$ROOT"
    for rep in $(seq 1 "$REPS"); do
      for seqs in $SEQS; do
        for tree in base new; do
          out=$(run "$tree" "$THREADS" "$MODEL" "$KERNELS" "$THREADS" decode "$seqs" "$STEPS")
          echo "{\"bench\":\"batch-decode\",\"cpu\":\"$CPU\",\"rep\":$rep,\"tree\":\"$tree\",\"base\":\"$BASE\",\"model\":\"$(basename "$MODEL")\",\"out\":$out}"
        done
      done
    done
    ;;
  lut)
    MODEL="$2" THREADS="$3" REPS="$4" TOKENS="${5:-16 32 128}" PREP="${6:-5}"
    build lut-on "$ROOT" "-DARIA_X16_LUT_MIN=1"
    build lut-off "$ROOT" "-DARIA_X16_LUT_MIN=1073741824"
    for rep in $(seq 1 "$REPS"); do
      for n in $TOKENS; do
        for tree in lut-on lut-off; do
          out=$(run "$tree" "$THREADS" "$MODEL" avx2 "$THREADS" prefill "$n" "$PREP")
          echo "{\"bench\":\"lut-prefill\",\"cpu\":\"$CPU\",\"rep\":$rep,\"tree\":\"$tree\",\"model\":\"$(basename "$MODEL")\",\"out\":$out}"
        done
      done
    done
    ;;
  *)
    sed -n '2,20p' "$0" >&2
    exit 2
    ;;
esac
