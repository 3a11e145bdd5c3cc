#!/usr/bin/env bash
# Installs what is missing, then runs the whole test suite: script and workflow lints,
# formatting, lints, unit and integration tests (with a virtual display and sound server),
# and the .deb built from the tested binary, installed, checked and removed again.
set -euo pipefail
cd "$(dirname "$0")"
installer/setup-debian.sh --test
export PATH="$HOME/.cargo/bin:$PATH"
# shellcheck source=installer/test-env.sh
source installer/test-env.sh
installer/lint-scripts.sh
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
installer/check-deb.sh "${CARGO_TARGET_DIR:-target}/debug/videomeet"
