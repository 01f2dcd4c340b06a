# shellcheck shell=bash
# Source this file: it puts a Node.js >= 22 first on PATH. When the system Node is older it installs Node 24
# from the npm registry's `node` package into ~/.cache/mlops-operator/node-24 (once) and uses that.
# Sourced by .ci/run and hack/up.sh; a user with Node >= 22 installed is left alone.
_mlops_hack=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$_mlops_hack/lib.sh"

_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(_node_major)" -lt 22 ]; then
  _node_prefix="$MLOPS_CACHE/node-24"
  if [ ! -x "$_node_prefix/node_modules/node/bin/node" ]; then
    command -v npm >/dev/null || die "npm is required to bring Node 24 (install Node.js >= 22 instead)"
    log "system Node is $(node -v 2>/dev/null || echo absent); installing Node 24 from the npm registry"
    mkdir -p "$_node_prefix"
    npm install --prefix "$_node_prefix" --no-save --no-audit --no-fund --loglevel=error node@24 >&2 ||
      die "installing Node 24 failed"
  fi
  export PATH="$_node_prefix/node_modules/node/bin:$_node_prefix/node_modules/.bin:$PATH"
  [ "$(_node_major)" -ge 22 ] || die "Node 24 was installed but is not usable: $(node -v 2>&1)"
fi
unset -f _node_major
