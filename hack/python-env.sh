# shellcheck shell=bash
# Source this file: it makes a Python virtual environment with hack/requirements-test.txt under
# ~/.cache/mlops-operator/venv (rebuilt when the requirements change) and exports MLOPS_PYTHON.
_mlops_hack=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$_mlops_hack/lib.sh"
_venv="$MLOPS_CACHE/venv"
_req="$_mlops_hack/requirements-test.txt"
_stamp="$_venv/.requirements.sha256"
_want=$(sha256sum "$_req" | cut -d' ' -f1)
if [ "$(cat "$_stamp" 2>/dev/null)" != "$_want" ]; then
  command -v python3 >/dev/null || die "python3 >= 3.10 is required for the test models"
  log "creating the Python environment for test models in $_venv"
  rm -rf "$_venv"
  python3 -m venv "$_venv" || die "python3 -m venv failed (apt-get install python3-venv)"
  "$_venv/bin/pip" install --quiet --disable-pip-version-check -r "$_req" >&2 || die "pip install failed"
  echo "$_want" >"$_stamp"
fi
export MLOPS_PYTHON="$_venv/bin/python"
