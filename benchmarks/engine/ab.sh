#!/usr/bin/env bash
# Two libbitnet builds timed against each other in one process, step by step (benchmarks/engine/ab.c):
#   benchmarks/engine/ab.sh COMMIT_A COMMIT_B MODEL [CONFIGS...] > results.jsonl
# COMMIT_A / COMMIT_B: any two commits (e.g. a8f25aa^1 and HEAD for the numerics contract's cost);
# each is checked out into a temporary worktree and its libbitnet.so built there. MODEL: a GGUF
# (benchmarks/engine/_files.ts makes the suite's files). CONFIGS: "THREADS KERNELS HEAD MODE N REPS"
# (ab.c's arguments; KERNELS 2 avx2, 3 avx512, 5 avxvnni); the default set is below.
# One JSON line per config, with both commits and the CPU added. Stop every other load first: the
# interleaving cancels slow drifts, not a process competing for the same core within a step.
# AB_PHASES=1: both libraries built with forward.c's phase timers, exported, so each line also has
# the median milliseconds of every phase (matmul, head, attention, ...) for A and B.
set -euo pipefail
A="$1" B="$2" MODEL="$3"
shift 3
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="$(mktemp -d)"
trap 'git -C "$ROOT" worktree remove --force "$WORK/a" 2>/dev/null; git -C "$ROOT" worktree remove --force "$WORK/b" 2>/dev/null; rm -rf "$WORK"' EXIT
for side in a b; do
  commit="$A"; [ "$side" = b ] && commit="$B"
  git -C "$ROOT" worktree add -q --detach "$WORK/$side" "$commit"
  if [ "${AB_PHASES:-0}" = 1 ]; then
    make -s -C "$WORK/$side/native" BUILD=build CFLAGS="-DARIA_PHASE_TIMES -fvisibility=default" >/dev/null
  else
    make -s -C "$WORK/$side/native" >/dev/null
  fi
done
cc -std=c11 -O2 -I"$ROOT/native/include" "$ROOT/benchmarks/engine/ab.c" -ldl -o "$WORK/ab"
if [ $# -eq 0 ]; then
  set -- "1 2 int8 decode 1 40" "1 2 int8 decode 4 20" "1 2 int8 prefill 64 10" \
    "2 2 int8 decode 1 40" "2 2 int8 prefill 64 10" \
    "1 3 int8 decode 1 40" "1 3 int8 decode 4 20" "1 3 int8 prefill 64 10" \
    "2 3 int8 decode 1 40" "2 3 int8 prefill 64 10"
fi
cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
ca="$(git -C "$ROOT" rev-parse --short "$A")" cb="$(git -C "$ROOT" rev-parse --short "$B")"
for cfg in "$@"; do
  # shellcheck disable=SC2086
  set -- $cfg
  out="$("$WORK/ab" "$WORK/a/native/build/libbitnet.so" "$WORK/b/native/build/libbitnet.so" "$MODEL" "$@")"
  echo "{\"a\":\"$ca\",\"b\":\"$cb\",\"cpu\":\"$cpu\",\"model\":\"$(basename "$MODEL")\",\"r\":$out}"
done
