#!/usr/bin/env bash
# The Windows program, checked on Debian: cross-built for x86_64-pc-windows-gnu with
# mingw-w64, then run under Wine: `--version`, `devices`, and a headless call with the Linux
# program (app/tests/windows_wine.rs: video both ways at 25 fps or more, both tones heard).
# Not part of ./test.sh: the cross build of everything takes about 25 minutes on 2 cores.
#   installer/check-windows.sh
set -euo pipefail
cd "$(dirname "$0")/.."
installer/setup-debian.sh --windows
export PATH="$HOME/.cargo/bin:$PATH"
rustup target add x86_64-pc-windows-gnu
cargo build --locked --target x86_64-pc-windows-gnu -p videomeet
target="$PWD/${CARGO_TARGET_DIR:-target}"
exe="$target/x86_64-pc-windows-gnu/debug/videomeet.exe"

# Wine's own setup, quiet, and the DLLs a MinGW build needs beside Windows' own: the C++
# runtime (openh264), and for Wine 8 a stand-in for bcryptprimitives.dll (see its source).
export WINEPREFIX="${WINEPREFIX:-$target/wine}" WINEDEBUG=-all
mkdir -p "$WINEPREFIX" "$target/wine-dlls"
x86_64-w64-mingw32-gcc -shared -O2 -o "$target/wine-dlls/bcryptprimitives.dll" \
  installer/wine/bcryptprimitives.c installer/wine/bcryptprimitives.def -lbcrypt
runtime="$(dirname "$(x86_64-w64-mingw32-g++ -print-file-name=libstdc++-6.dll)")"
WINEPATH="$(winepath -w "$runtime");$(winepath -w "$target/wine-dlls")"
export WINEPATH
echo "== videomeet.exe --version"
wine "$exe" --version
echo "== videomeet.exe devices"
wine "$exe" devices

# shellcheck source=installer/test-env.sh
source installer/test-env.sh
VIDEOMEET_WINDOWS_EXE="$exe" cargo test --locked -p videomeet --test windows_wine -- --nocapture
