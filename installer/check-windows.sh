#!/usr/bin/env bash
# The Windows program, checked on Debian: cross-built for x86_64-pc-windows-gnu with
# mingw-w64, then run under Wine: `--version`, `devices`, its installer (built by Debian's
# makensis from installer/windows/videomeet.nsi, installed silently, the program and its
# videomeet:// link type checked, then removed), and a headless call with the Linux program
# (app/tests/windows_wine.rs: video both ways at 25 fps or more, both tones heard), and its
# window's tray icon in Wine's system tray, marked when muted.
# Not part of ./test.sh: the cross build of everything takes about 25 minutes on 2 cores.
#   installer/check-windows.sh
set -euo pipefail
cd "$(dirname "$0")/.."
installer/setup-debian.sh --windows
export PATH="$HOME/.cargo/bin:$PATH"
rustup target add x86_64-pc-windows-gnu
cargo build --locked --target x86_64-pc-windows-gnu -p videomeet
target="${CARGO_TARGET_DIR:-target}"
[[ "$target" == /* ]] || target="$PWD/$target"
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

echo "== the installer"
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
setup="$(dirname "$exe")/videomeet_${version}_x64-setup.exe"
makensis -V2 -DVERSION="$version" -DEXE="$exe" -DRUNTIME="$runtime" -DOUT="$setup" installer/windows/videomeet.nsi
wine "$setup" /S
wineserver -w
installed="$(winepath -u "$(wine cmd /c 'echo %LOCALAPPDATA%' | tr -d '\r')\Programs\Video Meet")"
for file in videomeet.exe libstdc++-6.dll libgcc_s_seh-1.dll uninstall.exe; do
  [[ -f "$installed/$file" ]] || { echo "the installer did not install $file" >&2; exit 1; }
done
opens="$(wine reg query 'HKCU\Software\Classes\videomeet\shell\open\command' /ve | tr -d '\r')"
grep -qF 'videomeet.exe" "%1"' <<<"$opens" || { echo "videomeet:// links are not registered: $opens" >&2; exit 1; }
# The installed program runs with the DLLs installed beside it (Wine 8 still needs the
# stand-in above).
WINEPATH="$(winepath -w "$target/wine-dlls")" wine "$installed/videomeet.exe" --version
wine "$installed/uninstall.exe" /S
wineserver -w
if [[ -e "$installed/videomeet.exe" ]] || wine reg query 'HKCU\Software\Classes\videomeet' >/dev/null 2>&1; then
  echo "the uninstaller left the program or its link type behind" >&2
  exit 1
fi
echo "installer: $setup ($(du -h "$setup" | cut -f1)), installed, checked and removed"

# shellcheck source=installer/test-env.sh
source installer/test-env.sh
VIDEOMEET_WINDOWS_EXE="$exe" cargo test --locked -p videomeet --test windows_wine -- --nocapture
