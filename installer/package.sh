#!/usr/bin/env bash
# Builds the packages this platform can build, into target/packages/:
#   Linux    videomeet_VERSION_amd64.deb and videomeet_VERSION_x86_64.AppImage
#   macOS    Video Meet.app in videomeet_VERSION_ARCH.dmg
#   Windows  videomeet_VERSION_x64-setup.exe (NSIS) and videomeet_VERSION_x64-portable.zip
#
#   installer/package.sh                      build the release binary, then every package
#   installer/package.sh --formats deb        only these formats (deb, appimage, app, dmg, nsis, zip)
#   installer/package.sh --binary PATH        package a binary that is already built, stripped here
#   installer/package.sh --target TRIPLE      build for another target (macOS x86_64 on arm64)
#   installer/package.sh --out DIR            put the packages in DIR
#
# Installs cargo-packager (pinned below) with `cargo install` when it is missing. Signs only
# when the signing secrets are in the environment: APPLE_SIGNING_IDENTITY (with
# APPLE_CERTIFICATE, APPLE_CERTIFICATE_PASSWORD, and APPLE_ID, APPLE_PASSWORD, APPLE_TEAM_ID
# for notarization) on macOS; WINDOWS_CERTIFICATE (a base64 .pfx) and
# WINDOWS_CERTIFICATE_PASSWORD on Windows.
set -euo pipefail

packager_version=0.11.8

# The paths given are read from where the script is called.
absolute() { printf '%s/%s\n' "$(cd "$(dirname "$1")" && pwd)" "$(basename "$1")"; }
formats="" binary="" target="" out_dir=""
while (($#)); do
  case "$1" in
    --formats) formats="$2"; shift 2 ;;
    --binary) binary="$(absolute "$2")"; shift 2 ;;
    --target) target="$2"; shift 2 ;;
    --out) mkdir -p "$2" && out_dir="$(absolute "$2")"; shift 2 ;;
    *) echo "unknown option: $1 (see the top of $0)" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.."
out_dir="${out_dir:-$PWD/target/packages}"

case "$(uname -s)" in
  Linux) platform=linux exe="" default_formats=deb,appimage ;;
  Darwin) platform=macos exe="" default_formats=app,dmg ;;
  MINGW* | MSYS* | CYGWIN*) platform=windows exe=.exe default_formats=nsis,zip ;;
  *) echo "packages are built on Linux, macOS and Windows, not on $(uname -s)" >&2; exit 1 ;;
esac
formats="${formats:-$default_formats}"

# A path as the native (non-MSYS) programs on Windows read it; unchanged elsewhere.
native_path() {
  if [[ $platform == windows ]]; then cygpath -m "$1"; else printf '%s\n' "$1"; fi
}

# Name and version come from the workspace: `cargo pkgid` prints ...app#videomeet@0.1.0.
pkgid="$(cargo pkgid --locked --manifest-path app/Cargo.toml)"
spec="${pkgid##*#}"
name="${spec%@*}"
version="${spec##*@}"

if [[ -z "$binary" ]]; then
  echo "Building $name $version (profile dist${target:+, target $target})"
  cargo build --profile dist --locked -p "$name" ${target:+--target "$target"}
  binary="$(absolute "${CARGO_TARGET_DIR:-target}/${target:+$target/}dist/$name$exe")"
fi
[[ -f "$binary" ]] || { echo "no binary at $binary" >&2; exit 1; }

# The packages take the binary from a folder of their own, stripped of symbols.
staging=target/packager/bin
rm -rf "$staging" && mkdir -p "$staging" "$out_dir"
cp "$binary" "$staging/$name$exe"
if [[ $platform == linux ]]; then strip --strip-all "$staging/$name"; fi
if [[ -z "$target" ]]; then
  reported="$("$staging/$name$exe" --version)"
  [[ "$reported" == "$name $version" ]] ||
    { echo "the binary reports '$reported', the workspace says '$name $version'" >&2; exit 1; }
fi

# The shared libraries the binary links (dpkg-shlibdeps reads them and the versions it needs),
# and those it loads at run time, which no tool can see: the window system (X11, Wayland),
# keyboard maps, system fonts, and the GPU through Vulkan or else OpenGL (EGL).
deb_depends() {
  local scratch=target/packager/shlibdeps linked
  rm -rf "$scratch" && mkdir -p "$scratch/debian" && touch "$scratch/debian/control"
  # (Its warning that the binary is not inside a package's folder is only noise here.)
  linked="$(cd "$scratch" && dpkg-shlibdeps -O "$OLDPWD/$staging/$name" 2>stderr)" ||
    { cat "$scratch/stderr" >&2; return 1; }
  local all=() quoted=() dependency
  IFS=',' read -ra all <<<"${linked#shlibs:Depends=}"
  all+=(libx11-6 libx11-xcb1 libxcb1 libxcursor1 libxi6 libxkbcommon0 libxkbcommon-x11-0
    libwayland-client0 libwayland-egl1 libfontconfig1 "libvulkan1 | libegl1")
  for dependency in "${all[@]}"; do
    dependency="${dependency#"${dependency%%[![:space:]]*}"}"
    quoted+=("\"$dependency\"")
  done
  local IFS=','
  printf '%s\n' "${quoted[*]}"
}
deb_depends_list=""
if [[ ",$formats," == *,deb,* ]]; then deb_depends_list="$(deb_depends)"; fi

# Says why signing is skipped; on GitHub Actions as a notice on the run's summary.
skipped() {
  if [[ -n "${GITHUB_ACTIONS:-}" ]]; then echo "::notice title=Signing skipped::$*"; else echo "$*"; fi
}
signing_identity="" sign_command=""
if [[ $platform == macos ]]; then
  if [[ -n "${APPLE_SIGNING_IDENTITY:-}" ]]; then
    signing_identity="$APPLE_SIGNING_IDENTITY"
    if [[ -z "${APPLE_ID:-}" || -z "${APPLE_PASSWORD:-}" || -z "${APPLE_TEAM_ID:-}" ]]; then
      skipped "Notarization skipped: APPLE_ID, APPLE_PASSWORD and APPLE_TEAM_ID are not all set."
    fi
  else
    skipped "Code signing and notarization skipped: APPLE_SIGNING_IDENTITY is not set."
  fi
fi
if [[ $platform == windows ]]; then
  if [[ -n "${WINDOWS_CERTIFICATE:-}" ]]; then
    sign_command="pwsh -NoProfile -NonInteractive -File $(native_path "$PWD/installer/sign-windows.ps1") %1"
  else
    skipped "Authenticode signing skipped: WINDOWS_CERTIFICATE is not set."
  fi
fi

# Fills in installer/packager.toml; a line whose placeholder has no value is left out.
keys=(NAME VERSION ROOT BINARIES_DIR OUT_DIR DEB_DEPENDS APPLE_SIGNING_IDENTITY WINDOWS_SIGN_COMMAND)
values=("$name" "$version" "$(native_path "$PWD")" "$(native_path "$PWD/$staging")"
  "$(native_path "$out_dir")" "$deb_depends_list" "$signing_identity" "$sign_command")
config=target/packager/packager.toml
shopt -u patsub_replacement 2>/dev/null || true # bash 5.2: keep an & in a value literal
while IFS= read -r line; do
  for i in "${!keys[@]}"; do
    placeholder="@${keys[i]}@" value="${values[i]}"
    if [[ "$line" == *"$placeholder"* ]]; then
      [[ -n "$value" ]] || continue 2
      line="${line//$placeholder/$value}"
    fi
  done
  if [[ "$line" =~ @[A-Z_]+@ ]]; then
    echo "installer/packager.toml: no value for ${BASH_REMATCH[0]}" >&2
    exit 1
  fi
  printf '%s\n' "$line"
done <installer/packager.toml >"$config"

if [[ "$(cargo packager --version 2>/dev/null)" != "cargo-packager $packager_version" ]]; then
  echo "Installing cargo-packager $packager_version"
  cargo install --locked --force cargo-packager --version "$packager_version"
fi

packager_formats=""
IFS=',' read -ra requested <<<"$formats"
for format in "${requested[@]}"; do
  [[ "$format" == zip ]] || packager_formats="${packager_formats:+$packager_formats,}$format"
done
if [[ -n "$packager_formats" ]]; then
  cargo packager --config "$config" --formats "$packager_formats" ${target:+--target "$target"}
fi

if [[ ",$formats," == *,zip,* ]]; then
  [[ $platform == windows ]] || { echo "the portable zip is for Windows" >&2; exit 1; }
  zip="$out_dir/${name}_${version}_x64-portable.zip"
  rm -f "$zip"
  powershell.exe -NoProfile -NonInteractive -Command \
    "Compress-Archive -Path '$(cygpath -w "$staging/$name.exe")' -DestinationPath '$(cygpath -w "$zip")'"
fi

echo "Binary: $(wc -c <"$staging/$name$exe" | tr -d " ") bytes ($name $version, stripped)"
echo "Packages in $out_dir:"
find "$out_dir" -maxdepth 1 -type f \( -name "*.deb" -o -name "*.AppImage" -o -name "*.dmg" \
  -o -name "*-setup.exe" -o -name "*.zip" \) -newer "$config" -exec ls -l {} +
