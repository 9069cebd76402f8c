#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60) with cargo-fuzz (libFuzzer + AddressSanitizer).
#
#   fuzz/run.sh [SECONDS]        usually as ./build.sh fuzz [SECONDS]
#
# Each target starts from its committed seeds (fuzz/corpus/<target>/, read only) and writes what it
# discovers to a scratch corpus (fuzz/target/work/<target>/), so a run never changes the checkout.
# A failing input is saved by libFuzzer under fuzz/artifacts/<target>/; copy it into
# fuzz/regressions/<target>/ and `cargo test --test fuzz_regressions` replays it from then on.
set -euo pipefail
cd "$(dirname "$0")"

seconds=${1:-60}
[[ "$seconds" =~ ^[0-9]+$ ]] && [ "$seconds" -gt 0 ] || { echo "fuzz: SECONDS must be a positive whole number" >&2; exit 2; }
# libFuzzer needs nightly (-Zsanitizer): the one build.sh pins for the shipped module.
nightly=${NIGHTLY:-$(sed -n 's/^readonly NIGHTLY=//p' ../build.sh)}
readonly CARGO_FUZZ_VERSION=0.13.2
targets=(settings event mgmt_answers permit_answers claims_read claims_roundtrip cache_value)

rustup run "$nightly" rustc --version >/dev/null 2>&1 ||
  rustup toolchain install "$nightly" --profile minimal
if [ "$(cargo fuzz --version 2>/dev/null | awk '{print $2}')" != "$CARGO_FUZZ_VERSION" ]; then
  echo "==> installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install cargo-fuzz --version "=$CARGO_FUZZ_VERSION" --locked
fi

echo "==> cargo fuzz build (${#targets[@]} targets, $nightly)"
cargo +"$nightly" fuzz build

summary=()
failed=0
for t in "${targets[@]}"; do
  work=target/work/$t
  mkdir -p "$work" "artifacts/$t"
  log=target/work/$t.log
  echo "==> fuzz $t for ${seconds}s"
  if cargo +"$nightly" fuzz run "$t" "$work" "corpus/$t" -- \
    -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
    status=ok
  else
    status="FAILED (input in fuzz/artifacts/$t/; log $PWD/$log)"
    failed=1
    tail -40 "$log" >&2
  fi
  runs=$(awk '/stat::number_of_executed_units:/ { print $2 }' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  summary+=("$(printf '%-18s %12s %8s  %s' "$t" "${runs:-?}" "${cov:-?}" "$status")")
done

printf '\n%-18s %12s %8s  %s\n' target executions edges outcome
printf '%s\n' "${summary[@]}"
exit "$failed"
