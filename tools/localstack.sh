#!/usr/bin/env bash
# Start/stop a host LocalStack (no Docker) with moto-backed DynamoDB and the subprocess Lambda executor.
#   tools/localstack.sh up      start unless something already answers on the endpoint
#   tools/localstack.sh down    stop it (only if this script started it)
#   tools/localstack.sh status  print whether it runs and who owns it
# If an endpoint already answers as LocalStack (a user's LocalStack in Docker, or AWS_ENDPOINT_URL), it is
# used as-is and never stopped by us. A port held by something that is not LocalStack is an error.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
# shellcheck source=tools/versions.env
. "$here/versions.env"
cache=${DDB_REPLICA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ddb-replica}
venv="$cache/localstack-$LOCALSTACK_CORE_VERSION"
endpoint=${AWS_ENDPOINT_URL:-http://127.0.0.1:4566}
port=${endpoint##*:}; port=${port%%/*}
state="$root/.localstack/$port"  # one state dir per port: several instances can run side by side
pidfile="$state/localstack.pid"
logfile="$state/localstack.log"
health="$endpoint/_localstack/health"

answers_as_localstack() {
  local body
  body=$(curl -fsS --max-time 2 "$health" 2>/dev/null) || return 1
  [[ "$body" == *'"services"'* ]]
}
port_busy() {
  local hostport=${endpoint#*://}; hostport=${hostport%%/*}
  (exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}") 2>/dev/null
}
our_pid() { [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null && cat "$pidfile"; }

up() {
  if pid=$(our_pid); then
    echo "localstack: already running (pid $pid, started by make localstack-up) at $endpoint"
    return 0
  fi
  if answers_as_localstack; then
    echo "localstack: using the LocalStack already answering at $endpoint (not started here, will not be stopped)"
    return 0
  fi
  if port_busy; then
    echo "error: $endpoint is in use by something that is not LocalStack." >&2
    echo "fix: stop that process (e.g. 'ss -ltnp | grep :$port'), or point AWS_ENDPOINT_URL at a running LocalStack." >&2
    return 1
  fi
  if [[ ! -x "$venv/bin/python" ]]; then
    echo "error: no LocalStack venv at $venv; run 'make setup' first." >&2
    return 1
  fi
  mkdir -p "$state/data"
  : >"$state/calls.jsonl"  # every AWS call this LocalStack serves, by principal (the least-privilege tests read it)
  local hostport=${endpoint#*://}; hostport=${hostport%%/*}
  echo "localstack: starting localstack-core $LOCALSTACK_CORE_VERSION on $hostport (log: $logfile)"
  # setsid: own process group, so 'down' can stop LocalStack and every worker it spawned at once.
  # SQS metrics every 10 s (AWS: every minute): the on-failure queue alarm, evaluated every minute, sees a
  # message within one evaluation, and the e2e that waits for it does not wait for a second one.
  OVERRIDE_IN_DOCKER=0 FILESYSTEM_ROOT="$state/data" GATEWAY_LISTEN="$hostport" DISABLE_EVENTS=1 \
    DNS_ADDRESS=0 SKIP_SSL_CERT_DOWNLOAD=1 \
    PROVIDER_OVERRIDE_DYNAMODB=moto PROVIDER_OVERRIDE_DYNAMODBSTREAMS=moto \
    DDB_REPLICA_CALL_LOG="$state/calls.jsonl" LAMBDA_RUNTIME_EXECUTOR=subprocess LAMBDA_SUBPROCESS_RUNTIMES_DIR="$cache/lambda-runtimes" \
    LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC=${LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC:-0.25} \
    SQS_CLOUDWATCH_METRICS_REPORT_INTERVAL=${SQS_CLOUDWATCH_METRICS_REPORT_INTERVAL:-10} \
    SERVICES=dynamodb,dynamodbstreams,lambda,iam,sts,sqs,logs,kms,cloudwatch,stepfunctions \
    setsid "$venv/bin/python" -m localstack.runtime.main >"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
  for _ in $(seq 1 120); do
    if answers_as_localstack; then
      echo "localstack: ready at $endpoint (pid $(cat "$pidfile"))"
      return 0
    fi
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "error: LocalStack exited during start-up; last lines of $logfile:" >&2
      tail -20 "$logfile" >&2
      rm -f "$pidfile"
      return 1
    fi
    sleep 0.25
  done
  echo "error: LocalStack did not answer on $health within 30 s; see $logfile" >&2
  down
  return 1
}

down() {
  local pid
  if ! pid=$(our_pid); then
    rm -f "$pidfile"
    echo "localstack: nothing to stop (not started by make localstack-up)"
    return 0
  fi
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do
    kill -0 -- "-$pid" 2>/dev/null || break
    sleep 0.25
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$pidfile"
  echo "localstack: stopped (pid $pid and its process group)"
}

status() {
  if pid=$(our_pid); then echo "localstack: running (pid $pid, ours) at $endpoint"
  elif answers_as_localstack; then echo "localstack: running at $endpoint (not ours)"
  else echo "localstack: not running at $endpoint"; return 1; fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
