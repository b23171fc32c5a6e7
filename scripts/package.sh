#!/usr/bin/env bash
# Builds every Lambda function in functions/ into target/lambda/<function>/bootstrap.zip, the
# artefacts infra/template.yaml points at (CodeUri). Uses a pinned cargo-lambda from PyPI in
# .venv-lambda (it brings zig, which links against an old glibc so the binaries run on
# provided.al2023). Checks every bootstrap's architecture and glibc floor, then prints sizes.
#
#   scripts/package.sh            # x86_64 into target/lambda/, and arm64 into target/lambda-arm64/
#                                 # too when the aarch64 std is installed; it says which it built
#   scripts/package.sh --x86_64   # x86_64 only (the template's default Architecture)
#   scripts/package.sh --arm64    # arm64 only, into target/lambda/ where the template looks; needs
#                                 # `rustup target add aarch64-unknown-linux-gnu` and
#                                 # `sam deploy ... --parameter-overrides Architecture=arm64`
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LAMBDA_VERSION="1.9.2"
VENV=".venv-lambda"
# provided.al2023 ships glibc 2.34: no binary may need a newer symbol version.
GLIBC_MAX="2.34"

ONLY=""
for arg in "$@"; do
  case "$arg" in
    --arm64) ONLY="arm64" ;;
    --x86_64 | --x86-64) ONLY="x86_64" ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "package.sh: unknown argument: $arg (use --arm64, --x86_64 or --help)" >&2; exit 2 ;;
  esac
done

installed_std() { command -v rustup >/dev/null 2>&1 && grep -qx "$1" <<<"$(rustup target list --installed)"; }
ARCHS=()
SKIPPED=""
case "$ONLY" in
  x86_64) ARCHS=(x86_64) ;;
  arm64)
    installed_std aarch64-unknown-linux-gnu || {
      echo "package.sh: the Rust standard library for aarch64-unknown-linux-gnu is not installed." >&2
      echo "            run: rustup target add aarch64-unknown-linux-gnu" >&2
      exit 1
    }
    ARCHS=(arm64)
    ;;
  *)
    ARCHS=(x86_64)
    if installed_std aarch64-unknown-linux-gnu; then ARCHS+=(arm64); else SKIPPED="arm64 (no aarch64 std installed)"; fi
    ;;
esac

for tool in python3 unzip readelf; do
  command -v "$tool" >/dev/null 2>&1 || { echo "package.sh: $tool is required" >&2; exit 1; }
done

# (pip's output is captured first: `pip show | grep -q` can fail under pipefail when grep exits early.)
INSTALLED=$("$VENV/bin/pip" show cargo-lambda 2>/dev/null || true)
if [ ! -x "$VENV/bin/cargo-lambda" ] || ! grep -qx "Version: $CARGO_LAMBDA_VERSION" <<<"$INSTALLED"; then
  echo "package.sh: installing cargo-lambda==$CARGO_LAMBDA_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION"
fi
# cargo finds the `cargo-lambda` subcommand on PATH; cargo-zigbuild finds zig through the venv's
# python (`python3 -m ziglang`, installed with cargo-lambda).
export PATH="$PWD/$VENV/bin:$PATH"

FUNCTIONS=()
for manifest in functions/*/Cargo.toml; do
  FUNCTIONS+=("$(basename "$(dirname "$manifest")")")
done
[ "${#FUNCTIONS[@]}" -gt 0 ] || { echo "package.sh: no functions in functions/" >&2; exit 1; }
PACKAGES=()
for f in "${FUNCTIONS[@]}"; do PACKAGES+=(--package "$f"); done

build_arch() {
  local ARCH=$1 ARCH_FLAGS ELF_MACHINE OUT_DIR
  if [ "$ARCH" = "arm64" ]; then
    ARCH_FLAGS=(--arm64)
    ELF_MACHINE="AArch64"
    # An arm64-only build goes where the template's CodeUri looks; beside x86_64 it gets its own folder.
    if [ "$ONLY" = "arm64" ]; then OUT_DIR="target/lambda"; else OUT_DIR="target/lambda-arm64"; fi
  else
    ARCH_FLAGS=(--x86-64)
    ELF_MACHINE="X86-64"
    OUT_DIR="target/lambda"
  fi
echo "package.sh: building ${#FUNCTIONS[@]} functions for $ARCH with cargo-lambda $CARGO_LAMBDA_VERSION: ${FUNCTIONS[*]}"
START=$(date +%s)
cargo lambda build --profile lambda-release --output-format zip --lambda-dir "$OUT_DIR" "${ARCH_FLAGS[@]}" "${PACKAGES[@]}"
ELAPSED=$(($(date +%s) - START))

local WORK
WORK=$(mktemp -d -t package.XXXXXX)

TOTAL=0
ZIP_MAX=$((3 * 1024 * 1024))
printf '\n%-18s %12s %12s %8s  %s\n' "function" "zip bytes" "bootstrap" "glibc" "zip"
for f in "${FUNCTIONS[@]}"; do
  zip="$OUT_DIR/$f/bootstrap.zip"
  if [ ! -f "$zip" ]; then
    echo "package.sh: $zip was not produced" >&2
    FAILED=1
    continue
  fi
  rm -f "$WORK/bootstrap"
  unzip -q -o "$zip" bootstrap -d "$WORK"
  machine=$(readelf -h "$WORK/bootstrap" | awk -F: '/Machine:/ { gsub(/^[ \t]+/, "", $2); print $2 }')
  if [[ "$machine" != *"$ELF_MACHINE"* ]]; then
    echo "package.sh: $f: bootstrap is built for '$machine', expected $ELF_MACHINE" >&2
    FAILED=1
  fi
  # The highest GLIBC_x.y symbol version the binary needs (its glibc floor).
  floor=$(readelf --version-info --wide "$WORK/bootstrap" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' |
    sort -t. -k1,1n -k2,2n -k3,3n | tail -n 1)
  floor=${floor:-none}
  if [ "$floor" != "none" ] &&
    [ "$(printf '%s\n%s\n' "$floor" "$GLIBC_MAX" | sort -t. -k1,1n -k2,2n -k3,3n | tail -n 1)" != "$GLIBC_MAX" ]; then
    echo "package.sh: $f: bootstrap needs GLIBC_$floor, newer than provided.al2023's $GLIBC_MAX" >&2
    FAILED=1
  fi
  zip_bytes=$(stat -c %s "$zip")
  if [ "$zip_bytes" -gt "$ZIP_MAX" ]; then
    echo "package.sh: $f: $zip is $zip_bytes bytes, over the $ZIP_MAX-byte (3 MiB) budget" >&2
    FAILED=1
  fi
  bin_bytes=$(stat -c %s "$WORK/bootstrap")
  TOTAL=$((TOTAL + zip_bytes))
  printf '%-18s %12s %12s %8s  %s\n' "$f" "$zip_bytes" "$bin_bytes" "$floor" "$zip"
done
printf '%-18s %12s\n' "total" "$TOTAL"
echo "package.sh: $ARCH build took ${ELAPSED}s; glibc limit $GLIBC_MAX"
rm -rf "$WORK"
echo "package.sh: $ARCH: ${#FUNCTIONS[@]} zips in $OUT_DIR/<function>/bootstrap.zip"
}

FAILED=0
for arch in "${ARCHS[@]}"; do build_arch "$arch"; done
echo "package.sh: built: ${ARCHS[*]}${SKIPPED:+; skipped: $SKIPPED}"
if [ "$FAILED" -ne 0 ]; then
  echo "package.sh: FAILED (see messages above)" >&2
  exit 1
fi
echo "package.sh: ok"
