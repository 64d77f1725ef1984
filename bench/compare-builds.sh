#!/usr/bin/env bash
# Two builds of the server side by side, call family by call family (issue 24: "no method
# slower"), in one run on one machine:
#
#   bash bench/compare-builds.sh BEFORE_BUILD_DIR AFTER_BUILD_DIR [ROUNDS]
#
# Runs `SKIP_BUILD=1 BUILD_DIR=<dir> bash bench/run.sh --methods` ROUNDS times (default 3) for
# each build, alternating (before, after, after, before, before, after...) so that the shared
# machine's load falls on both alike, each run into BENCH_OUT/before-N or BENCH_OUT/after-N
# (BENCH_OUT defaults to bench/results/call-boundary); an even ROUNDS balances the order.
# Then, from each run's results.json: per scenario the median over the rounds of calls/s, p50
# latency and server CPU per call, before and after, the after / before ratios, and the range
# of the rounds' CPU ratios, printed and written to BENCH_OUT/comparison.md.
#
# Run it from ONE checkout: its scripts (this one and bench/run.sh: scenarios, data, server
# settings) and its zeva-bench client (BENCH_BIN, default build/bench/zeva-bench of this
# checkout) drive both builds; each build directory gives only its server, zeva-migrate and
# zeva-dev-token. Nothing is built: build both first (their zeva-transaction-service,
# zeva-migrate and zeva-dev-token, and this checkout's zeva-bench). Other settings as
# bench/run.sh (DURATION_MS, WARMUP_MS, CONCURRENCY, CHANNELS, SERVER_FLAGS).
set -euo pipefail
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "usage: $0 BEFORE_BUILD_DIR AFTER_BUILD_DIR [ROUNDS]" >&2
  exit 2
fi
# The build directories as given, relative to where the command was typed.
before=$(cd "$1" && pwd)
after=$(cd "$2" && pwd)
rounds=${3:-3}
cd "$(dirname "$0")/.."
OUT=${BENCH_OUT:-bench/results/call-boundary}
BENCH_BIN=$(realpath "${BENCH_BIN:-build/bench/zeva-bench}")
command -v python3 >/dev/null || { echo "$0: needs python3" >&2; exit 1; }
for binary in "$BENCH_BIN" "$before/server/zeva-transaction-service" \
    "$after/server/zeva-transaction-service" "$before/migrate/zeva-migrate" \
    "$after/migrate/zeva-migrate" "$before/tools/zeva-dev-token" "$after/tools/zeva-dev-token"; do
  [ -x "$binary" ] || { echo "$0: $binary is missing: build it first" >&2; exit 1; }
done
"$BENCH_BIN" --help | grep -q compliance-ratios ||
  { echo "$0: $BENCH_BIN is older than bench/run.sh --methods: rebuild it" >&2; exit 1; }

# Both builds are run through one symbolic link, and every run writes into the same folder
# (renamed after): the runs' command lines and environments are the same byte for byte. With
# BENCH_OUT=.../before-N and .../after-N (one byte apart), one build measured 20-35% more server
# CPU per health Check in its "after" runs in 14 of 15 pairs; with one folder, no such lean.
link_dir=$(mktemp -d)
trap 'rm -rf "$link_dir"' EXIT
build_link=$link_dir/build
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
run_seconds=()
for round in $(seq 1 "$rounds"); do
  # Before first in odd rounds, after first in even ones (before, after, after, before, ...):
  # what a run inherits from the one just before it, and the machine's drift, fall on both.
  sides="before after"
  [ $((round % 2)) = 0 ] && sides="after before"
  for side in $sides; do
    dir=$before
    [ "$side" = after ] && dir=$after
    ln -sfn "$dir" "$build_link"
    rm -rf "$OUT/run" "${OUT:?}/$side-$round"
    mkdir -p "$OUT/run"
    echo "compare-builds: round $round of $rounds, $side ($dir)" >&2
    started=$(date +%s)
    SKIP_BUILD=1 BUILD_DIR=$build_link BENCH_BIN=$BENCH_BIN BENCH_OUT=$OUT/run \
      bash bench/run.sh --methods >"$OUT/run/run.log" 2>&1 ||
      { tail -n 40 "$OUT/run/run.log" >&2; echo "compare-builds: $side-$round failed" >&2; exit 1; }
    mv "$OUT/run" "$OUT/$side-$round"
    run_seconds+=("$(($(date +%s) - started))")
    echo "compare-builds: $side-$round took ${run_seconds[-1]} s" >&2
  done
done

python3 - "$OUT" "$rounds" "$before" "$after" "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)" \
    "${run_seconds[*]}" <<'PY' | tee "$OUT/comparison.md"
import json, statistics, sys

out, rounds, before, after, load_before, load_after, seconds = sys.argv[1:]
seconds = [int(s) for s in seconds.split()]
rounds = int(rounds)
sides = ("before", "after")
runs = {side: [json.load(open(f"{out}/{side}-{n}/results.json")) for n in range(1, rounds + 1)]
        for side in sides}
machine = runs["before"][0]["machine"]

def name(r):
    # Labels of bench/run.sh: "scenarios" and "writes" say nothing a scenario does not.
    label = r.get("label", "")
    return r["scenario"] if label in ("scenarios", "writes") else f'{r["scenario"]} ({label})'

order, values, errors, by_round = [], {}, {}, {}
for side in sides:
    for n, document in enumerate(runs[side]):
        for r in document["results"]:
            key = name(r)
            if key not in order:
                order.append(key)
            for field in ("calls_per_second", "p50_ms", "server_cpu_us_per_call"):
                if isinstance(r.get(field), (int, float)):
                    values.setdefault((key, side, field), []).append(r[field])
            by_round[(key, side, n)] = r
            errors[(key, side)] = errors.get((key, side), 0) + r.get("errors", 0)

def median(key, side, field):
    found = values.get((key, side, field))
    return statistics.median(found) if found else None

def cell(value, digits):
    return "-" if value is None else f"{value:,.{digits}f}"

def ratio(key, field):
    a, b = median(key, "after", field), median(key, "before", field)
    return "-" if a is None or not b else f"**{a / b:.2f}**"

def round_ratios(key, field):
    """after-N / before-N of each round: how far the rounds spread."""
    found = []
    for n in range(rounds):
        a = by_round.get((key, "after", n), {}).get(field)
        b = by_round.get((key, "before", n), {}).get(field)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b:
            found.append(a / b)
    return f"{min(found):.2f}-{max(found):.2f}" if found else "-"

print("# Two builds, call family by call family (bench/compare-builds.sh)\n")
print(f"- before: `{before}`\n- after: `{after}`")
print(f"- {rounds} round(s), before first in odd rounds and after first in even ones; each cell "
      "is the median over the rounds, the range is that of each round's after / before")
print(f"- per run: {machine.get('callers', '?')}, {machine.get('window', '?')}; "
      f"scripts and client of commit {machine.get('commit', '?')}")
span = f"{min(seconds)}" if min(seconds) == max(seconds) else f"{min(seconds)}-{max(seconds)}"
print(f"- {machine.get('cores (nproc)', '?')} cores; load average (1, 5, 15 min) {load_before} "
      f"before, {load_after} after; each run {span} s (set-up included), {sum(seconds)} s in all")
print(f"- each run: `{out}/before-N/`, `{out}/after-N/` (results.md, results.json, run.log)\n")
print("| scenario | calls/s before | after | after / before | p50 ms before | after "
      "| after / before | server CPU µs/call before | after | after / before "
      "| CPU after / before, rounds' range | errors before, after |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for key in order:
    row = [key]
    for field, digits in (("calls_per_second", 0), ("p50_ms", 2), ("server_cpu_us_per_call", 0)):
        row += [cell(median(key, "before", field), digits),
                cell(median(key, "after", field), digits), ratio(key, field)]
    row.append(round_ratios(key, "server_cpu_us_per_call"))
    row.append(f'{errors.get((key, "before"), 0)}, {errors.get((key, "after"), 0)}')
    print("| " + " | ".join(row) + " |")
print("\nBetter after: calls/s ratio above 1, p50 and CPU ratios below 1. The steadiest measure on "
      "a shared machine is server CPU per call; transfer-lifecycle's call is a whole lifecycle "
      "(five RPCs).")
PY
