#!/usr/bin/env bash
# Installs what is missing, builds Video Meet and opens it.
set -euo pipefail
cd "$(dirname "$0")"
installer/setup-debian.sh
export PATH="$HOME/.cargo/bin:$PATH"
exec cargo run --release --locked -p videomeet -- "$@"
