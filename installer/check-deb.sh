#!/usr/bin/env bash
# Builds the .deb from a binary that is already built, installs it on this machine, checks the
# installed program, its menu entry and icons, then removes the package and checks that
# nothing of it is left. test.sh runs it on the test build's binary, so the packaging is
# tested without a second (release) build; the release workflow packages the release build.
#   installer/check-deb.sh target/debug/videomeet
# Uses sudo when not run as root. Needs a display and sound server for `videomeet devices`
# to list real devices (installer/test-env.sh); the synthetic ones are listed anyway.
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:?usage: installer/check-deb.sh PATH-TO-BINARY}"

started=$SECONDS
out=target/packages-check
rm -rf "$out"
installer/package.sh --formats deb --binary "$binary" --out "$out"
debs=("$out"/*.deb)
deb="$PWD/${debs[0]}"
package="$(dpkg-deb --field "$deb" Package)"
version="$(dpkg-deb --field "$deb" Version)"
echo "Packaged $(basename "$deb"): $(wc -c <"$deb") bytes, $((SECONDS - started)) s"

sudo=()
if ((EUID != 0)); then sudo=(sudo); fi
apt_get() { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -qq "$@" >/dev/null; }
apt_install() { apt_get install --no-install-recommends "$@"; }
remove() { apt_get purge "$package"; }
trap 'if dpkg-query -W "$package" >/dev/null 2>&1; then remove >/dev/null || true; fi' EXIT

# apt installs what the package depends on; the package lists may need a refresh first.
apt_install "$deb" || { apt_get update && apt_install "$deb"; }
fail() { echo "check-deb: $*" >&2; exit 1; }

installed_version="$(dpkg-query -W -f '${Version}' "$package")"
[[ "$installed_version" == "$version" ]] || fail "installed version $installed_version, built $version"
reported="$(/usr/bin/videomeet --version)"
[[ "$reported" == "videomeet $version" ]] || fail "videomeet --version says '$reported', the package $version"
echo "Installed: $reported, $(dpkg-query -W -f '${Installed-Size}' "$package") KiB"
depends="$(dpkg-query -W -f '${Depends}' "$package")"
[[ "$depends" == *libc6* && "$depends" == *libasound2* && "$depends" == *libpipewire* ]] || fail "Depends misses linked libraries: $depends"

devices="$(/usr/bin/videomeet devices)" || fail "videomeet devices failed"
grep -q "test-pattern" <<<"$devices" || fail "videomeet devices lists no test pattern: $devices"

desktop=/usr/share/applications/videomeet.desktop
desktop-file-validate "$desktop" || fail "$desktop does not validate"
icon="$(sed -n 's/^Icon=//p' "$desktop")"
for size in 16x16 32x32 48x48 64x64 128x128 256x256 512x512; do
  [[ -f "/usr/share/icons/hicolor/$size/apps/$icon.png" ]] || fail "no $size icon named $icon"
done
[[ -f "/usr/share/icons/hicolor/scalable/apps/$icon.svg" ]] || fail "no scalable icon named $icon"

# videomeet:// links open with the installed program, and a clicked link reaches the window
# already open (a second program hands it over and ends).
handler="$(xdg-mime query default x-scheme-handler/videomeet)"
[[ "$handler" == "videomeet.desktop" ]] || fail "videomeet:// links open with '$handler', not videomeet.desktop"
if [[ -n "${DISPLAY:-}" ]]; then
  config="$(mktemp -d)"
  window_log="$config/window.log"
  VIDEOMEET_CONFIG_DIR="$config" /usr/bin/videomeet 2>"$window_log" &
  window=$!
  for _ in $(seq 100); do
    grep -q "first frame shown" "$window_log" && break
    sleep 0.2
  done
  link="videomeet://127.0.0.1:47800/ABCD2345"
  VIDEOMEET_CONFIG_DIR="$config" timeout 20 xdg-open "$link" || fail "xdg-open $link failed"
  for _ in $(seq 50); do
    grep -q "opening the meeting a link names" "$window_log" && break
    sleep 0.2
  done
  kill "$window" 2>/dev/null || true
  wait "$window" 2>/dev/null || true
  grep -q "opening the meeting a link names.*$link" "$window_log" ||
    fail "the open window did not get the clicked link; its log: $(tail -5 "$window_log")"
  rm -rf "$config"
  echo "Links: xdg-open $link reached the open window"
fi

mapfile -t files < <(dpkg-query -L "$package" | while read -r path; do [[ -f "$path" ]] && echo "$path"; done)
remove
status="$(dpkg-query -W -f '${Status}' "$package" 2>/dev/null || true)"
[[ -z "$status" || "$status" == *not-installed ]] || fail "$package is '$status' after apt-get purge"
for path in "${files[@]}"; do [[ ! -e "$path" ]] || fail "$path is left after removal"; done
echo "Removed $package: ${#files[@]} files gone. Package check took $((SECONDS - started)) s."
