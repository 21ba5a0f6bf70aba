#!/usr/bin/env bash
# Local AWS endpoint (SQS, EventBridge, Secrets Manager) without Docker: LocalStack core 4.14.0 run on the host
# (`python -m localstack.runtime.main`) from a pinned virtual environment in .venv-aws/. See
# docs/adr/0002-aws-emulator-without-docker.md.
#
#   bash scripts/aws-emulator.sh start    # prints exactly one line on stdout: the endpoint URL
#   bash scripts/aws-emulator.sh stop     # stops what `start` started (idempotent)
#   bash scripts/aws-emulator.sh status   # prints the endpoint if it is running and healthy
#
# Environment:
#   AWS_EMULATOR_PORT            preferred port (default 4566; a free one is picked when it is busy)
#   AWS_EMULATOR_PYTHON          CPython >= 3.12 to build the venv with (default: first found on PATH or pyenv)
#   AWS_EMULATOR_START_TIMEOUT   seconds to wait for health (default 120)
#   AWS_EMULATOR_STATE_DIR       pid/port/log directory (default .emulator/)
#   AWS_EMULATOR_SERVICES        LocalStack SERVICES list (default sqs,events,secretsmanager,lambda; lambda only
#                                registers functions, which RotateSecret needs: without Docker nothing runs them)
# All progress goes to stderr.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv-aws"
requirements="$root/scripts/aws-emulator-requirements.txt"
state="${AWS_EMULATOR_STATE_DIR:-$root/.emulator}"
pid_file="$state/aws-emulator.pid"
port_file="$state/aws-emulator.port"
log_file="$state/aws-emulator.log"
uv_pin="uv==0.13.9" # installer only; it installs the pinned requirements ~5x faster than pip
services="${AWS_EMULATOR_SERVICES:-sqs,events,secretsmanager,lambda}"
timeout_s="${AWS_EMULATOR_START_TIMEOUT:-120}"

say() { echo "aws-emulator: $*" >&2; }
die() {
  say "$*"
  exit 1
}

# ---------------------------------------------------------------- python + venv
python_ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }

find_python() {
  local c
  if [ -n "${AWS_EMULATOR_PYTHON:-}" ]; then
    python_ok "$AWS_EMULATOR_PYTHON" || die "AWS_EMULATOR_PYTHON=$AWS_EMULATOR_PYTHON is not a Python >= 3.12"
    echo "$AWS_EMULATOR_PYTHON"
    return
  fi
  for c in python3.13 python3.12 python3; do
    if command -v "$c" >/dev/null && python_ok "$c"; then
      command -v "$c"
      return
    fi
  done
  # The machine image ships pyenv with several CPythons; its default python3 is 3.11.
  for c in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3; do
    if [ -x "$c" ] && python_ok "$c"; then
      echo "$c"
      return
    fi
  done
  die "LocalStack 4.14.0 needs CPython >= 3.12 (none found; set AWS_EMULATOR_PYTHON)"
}

ensure_venv() {
  local py want stamp="$venv/.aws-emulator-stamp" t0
  py="$(find_python)"
  want="$(
    cat "$requirements"
    echo "$uv_pin"
    "$py" -c 'import sys; print(sys.version)'
  )"
  want="$(printf '%s' "$want" | sha256sum | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ]; then
    return
  fi
  t0=$SECONDS
  say "creating $venv with $py ($("$py" -V 2>&1)); installing pinned requirements"
  rm -rf "$venv"
  "$py" -m venv "$venv" >&2
  if "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$uv_pin" >&2; then
    "$venv/bin/uv" pip install --quiet --python "$venv/bin/python" -r "$requirements" >&2
  else
    say "could not install $uv_pin; falling back to pip (slower)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
  fi
  echo "$want" >"$stamp"
  say "venv ready in $((SECONDS - t0))s"
}

# ---------------------------------------------------------------- process helpers
# Our process: the pid in the pid file, alive, and running LocalStack (guards against a reused pid).
running_pid() {
  local pid
  [ -f "$pid_file" ] || return 1
  pid="$(cat "$pid_file")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'localstack.runtime.main' || return 1
  echo "$pid"
}

endpoint_of() { echo "http://127.0.0.1:$1"; }

# Healthy = the gateway answers and every requested service is "running" or "available".
healthy() {
  local py="${venv}/bin/python"
  [ -x "$py" ] || py=python3
  "$py" - "$1" "$services" <<'PY' 2>/dev/null
import json, sys, urllib.request
port, services = sys.argv[1], sys.argv[2].split(",")
with urllib.request.urlopen(f"http://127.0.0.1:{port}/_localstack/health", timeout=2) as r:
    states = json.load(r).get("services", {})
sys.exit(0 if all(states.get(s) in ("running", "available") for s in services) else 1)
PY
}

port_free() {
  python3 - "$1" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket()
# Like the server: TIME_WAIT leftovers of a previous run must not count as busy; a listener still does.
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# ---------------------------------------------------------------- commands
cmd_status() {
  local pid port
  if pid="$(running_pid)" && port="$(cat "$port_file" 2>/dev/null)" && healthy "$port"; then
    endpoint_of "$port"
    return 0
  fi
  say "not running"
  return 1
}

cmd_stop() {
  local pid i
  if ! pid="$(running_pid)"; then
    rm -f "$pid_file" "$port_file"
    say "not running"
    return 0
  fi
  say "stopping pid $pid"
  # start runs it under setsid, so its process group holds it and anything it spawned.
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  # LocalStack's own shutdown can hang in "Stopping all services"; state is not persisted, so don't wait long.
  for i in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null || pgrep -g "$pid" >/dev/null 2>&1; then
    say "still alive after 10s: SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    for i in $(seq 25); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
  fi
  rm -f "$pid_file" "$port_file"
  say "stopped"
}

cmd_start() {
  local pid port t0
  mkdir -p "$state"
  # One start at a time per state dir (two test runs in the same tree must not build the venv twice).
  exec 9>"$state/.lock"
  flock -w 600 9 || die "could not lock $state/.lock"

  if pid="$(running_pid)" && port="$(cat "$port_file" 2>/dev/null)" && healthy "$port"; then
    say "already running (pid $pid)"
    endpoint_of "$port"
    return 0
  fi
  if running_pid >/dev/null; then
    say "stale or unhealthy instance: restarting it"
    cmd_stop
  fi

  ensure_venv

  port="${AWS_EMULATOR_PORT:-4566}"
  if ! port_free "$port"; then
    port="$(free_port)"
    say "port ${AWS_EMULATOR_PORT:-4566} is busy; using $port"
  fi

  rm -rf "$state/fs" "$state/tmp"
  mkdir -p "$state/fs" "$state/tmp"
  t0=$SECONDS
  say "starting LocalStack $(grep -m1 '^localstack-core==' "$requirements" | cut -d= -f3) on 127.0.0.1:$port (log: $log_file)"
  (
    cd "$state"
    # Host mode settings (docs/adr/0002): loopback only, no DNS server, no telemetry, no downloads,
    # queue URLs that point at this endpoint (no *.localhost.localstack.cloud DNS name).
    exec env \
      SERVICES="$services" \
      EAGER_SERVICE_LOADING=1 \
      GATEWAY_LISTEN="127.0.0.1:$port" \
      GATEWAY_SERVER=hypercorn \
      LOCALSTACK_HOST="127.0.0.1:$port" \
      SQS_ENDPOINT_STRATEGY=path \
      DNS_ADDRESS=0 \
      DISABLE_EVENTS=1 \
      SKIP_SSL_CERT_DOWNLOAD=1 \
      SKIP_INFRA_DOWNLOADS=1 \
      PERSISTENCE=0 \
      FILESYSTEM_ROOT="$state/fs" \
      TMP_FOLDER="$state/tmp" \
      AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
      setsid "$venv/bin/python" -m localstack.runtime.main
  ) >"$log_file" 2>&1 </dev/null 9>&- &
  pid=$!
  echo "$pid" >"$pid_file"
  echo "$port" >"$port_file"

  while ! healthy "$port"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      say "LocalStack exited during start; last log lines:"
      tail -n 40 "$log_file" >&2 || true
      rm -f "$pid_file" "$port_file"
      exit 1
    fi
    if [ $((SECONDS - t0)) -ge "$timeout_s" ]; then
      say "not healthy after ${timeout_s}s; last log lines:"
      tail -n 40 "$log_file" >&2 || true
      cmd_stop
      exit 1
    fi
    sleep 0.25
  done
  say "healthy after $((SECONDS - t0))s (pid $pid)"
  endpoint_of "$port"
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*)
  echo "usage: $0 start|stop|status" >&2
  exit 2
  ;;
esac
