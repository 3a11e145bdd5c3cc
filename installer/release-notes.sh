#!/usr/bin/env bash
# Prints the CHANGELOG.md section of a version, for its release notes, after checking that the
# version is the workspace's (a tag v0.2.0 on a workspace still at 0.1.0 is a mistake).
#   installer/release-notes.sh 0.1.0
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:?usage: installer/release-notes.sh VERSION}"

pkgid="$(cargo pkgid --locked --manifest-path app/Cargo.toml)"
workspace_version="${pkgid##*@}"
if [[ "$version" != "$workspace_version" ]]; then
  echo "the tag says $version, the workspace version is $workspace_version" >&2
  exit 1
fi

# The lines after "## [VERSION]" up to the next "## " heading.
notes="$(awk -v heading="## [$version]" '
  index($0, "## ") == 1 { in_section = (index($0, heading) == 1); next }
  in_section { print }
' CHANGELOG.md)"
if [[ -z "${notes//[[:space:]]/}" ]]; then
  echo "CHANGELOG.md has no section \"## [$version]\"" >&2
  exit 1
fi
printf '%s\n' "$notes"
