#!/usr/bin/env bash
# The wall-clock cost of numerics contract v2 (issue 20 item 1): `aria bench` from two checkouts,
# interleaved, each with its own libbitnet (make -s -C native in each first).
#   benchmarks/engine/numerics-cost.sh BEFORE_DIR AFTER_DIR MODEL [REPS] > results.jsonl
# BEFORE_DIR / AFTER_DIR: checkouts of a8f25aa^1 and a8f25aa (the merge of the contract), or any
# two commits; MODEL: a GGUF (benchmarks/engine/_files.ts makes the suite's files).
# One JSON line per run: rep, tree (before/after), threads, kernels, and aria bench's --json.
set -euo pipefail
BEFORE="$1" AFTER="$2" MODEL="$3" REPS="${4:-5}"
BUN="$(cd "$(dirname "$0")/../.." && pwd)/node_modules/.bin/bun"
for rep in $(seq 1 "$REPS"); do
  for cfg in "1 avx2" "1 auto" "2 avx2"; do
    set -- $cfg
    for tree in before after; do
      dir="$BEFORE"; [ "$tree" = after ] && dir="$AFTER"
      out=$(cd "$dir" && "$BUN" src/main.ts bench --model "$MODEL" --threads "$1" --kernels "$2" \
        --pp 64 --tg 32 --reps 1 --json 2>/dev/null)
      echo "{\"rep\":$rep,\"tree\":\"$tree\",\"threads\":$1,\"kernels\":\"$2\",\"out\":$out}"
    done
  done
done
