# shellcheck shell=bash
# Sourced by test.sh: a virtual display (Xvfb) and a sound server with a virtual speaker
# whose monitor is the default microphone, so tests can play sound and hear it back.
# Reuses a display or sound server that is already running.

if [[ -z "${XDG_RUNTIME_DIR:-}" || ! -w "${XDG_RUNTIME_DIR:-}" ]]; then
  XDG_RUNTIME_DIR="${TMPDIR:-/tmp}/videomeet-runtime-$EUID"
  mkdir -p "$XDG_RUNTIME_DIR"
  export XDG_RUNTIME_DIR
fi
chmod 700 "$XDG_RUNTIME_DIR"

if [[ -z "${DISPLAY:-}" ]] || ! xdpyinfo >/dev/null 2>&1; then
  export DISPLAY=:99
  if ! xdpyinfo >/dev/null 2>&1; then
    Xvfb "$DISPLAY" -screen 0 1920x1080x24 -nolisten tcp >/dev/null 2>&1 &
    for _ in $(seq 50); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done
  fi
fi
xdpyinfo >/dev/null 2>&1 || { echo "could not start a virtual display" >&2; exit 1; }

if ! pactl info >/dev/null 2>&1; then
  pulseaudio --start --exit-idle-time=-1 --disallow-exit >/dev/null 2>&1 || true
  for _ in $(seq 50); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
fi
pactl info >/dev/null 2>&1 || { echo "could not start the PulseAudio sound server" >&2; exit 1; }
if ! pactl list short sinks | grep -q videomeet_test; then
  pactl load-module module-null-sink sink_name=videomeet_test \
    sink_properties=device.description=Video-Meet-test-speaker >/dev/null
fi
pactl set-default-sink videomeet_test
pactl set-default-source videomeet_test.monitor

export VIDEOMEET_EXPECT_AUDIO_DEVICES=1
export VIDEOMEET_EXPECT_DISPLAY=1
export VIDEOMEET_EXPECT_DBUS=1
export VIDEOMEET_EXPECT_PORTAL=1
export VIDEOMEET_EXPECT_FFMPEG=1
