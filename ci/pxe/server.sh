#!/usr/bin/env bash
# bty's PXE server side for the chain test: withcache and bty-web, configured
# as bty's test runs them (admin passwords, bty-web pointed at withcache), with
# their logs in one directory that can also be served over HTTP for the
# chain test's debug bundle. In Dagger this is the service the QEMU container
# binds; in the payload tier it runs in the chain test's network namespace.
set -euo pipefail

usage() {
  cat <<'TXT'
usage: server.sh --bty-web BIN --withcache BIN --logs DIR --state DIR
                 --withcache-url URL --bty-password-env VAR --withcache-password-env VAR
                 [--host IP] [--bty-port N] [--withcache-port N]
                 [--alias IP] [--log-port N]

  --bty-web BIN          bty-web executable (bty-lab[web])
  --withcache BIN        withcache-server executable
  --logs DIR             bty-web.log and withcache.log go here
  --state DIR            bty-web's state/boot dirs and withcache's data dir
  --withcache-url URL    BTY_WITHCACHE_URL: where bty-web (and, through the
                         flash plan, the client) reaches withcache
  --bty-password-env VAR / --withcache-password-env VAR
                         names of environment variables holding the admin
                         passwords (never in argv)
  --host IP              listen address of both (default 0.0.0.0)
  --bty-port/--withcache-port   default 8080 / 8081, as bty's test
  --alias IP             add IP/32 to lo first (the segment's server address,
                         so URLs bty-web and withcache hand each other resolve
                         here too; needs CAP_NET_ADMIN)
  --log-port N           also serve --logs read-only over HTTP on N

Runs until killed; stops its children on exit.
exit codes: 0 stopped by a signal, 1 a server exited, 2 usage error
TXT
}

die_usage() { echo "server.sh: $*" >&2; exit 2; }

bty_web="" withcache="" logs="" state="" withcache_url="" bty_pw_env="" wc_pw_env=""
host=0.0.0.0 bty_port=8080 wc_port=8081 alias_ip="" log_port=""
while (($#)); do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --bty-web|--withcache|--logs|--state|--withcache-url|--bty-password-env|--withcache-password-env|--host|--bty-port|--withcache-port|--alias|--log-port)
      [[ $# -ge 2 ]] || die_usage "$1 needs a value"
      case "$1" in
        --bty-web) bty_web="$2" ;; --withcache) withcache="$2" ;; --logs) logs="$2" ;;
        --state) state="$2" ;; --withcache-url) withcache_url="$2" ;;
        --bty-password-env) bty_pw_env="$2" ;; --withcache-password-env) wc_pw_env="$2" ;;
        --host) host="$2" ;; --bty-port) bty_port="$2" ;; --withcache-port) wc_port="$2" ;;
        --alias) alias_ip="$2" ;; --log-port) log_port="$2" ;;
      esac
      shift 2 ;;
    *) usage >&2; die_usage "unknown argument $1" ;;
  esac
done
for v in bty_web withcache logs state withcache_url bty_pw_env wc_pw_env; do
  [[ -n "${!v}" ]] || die_usage "--${v//_/-} is required"
done
[[ -n "${!bty_pw_env:-}" ]] || die_usage "environment variable $bty_pw_env (bty-web's admin password) is empty"
[[ -n "${!wc_pw_env:-}" ]] || die_usage "environment variable $wc_pw_env (withcache's admin password) is empty"
for tool in "$bty_web" "$withcache"; do
  command -v "$tool" >/dev/null || die_usage "$tool not found"
done

mkdir -p "$logs" "$state/bty/boot" "$state/withcache"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 0' INT TERM

if [[ -n "$alias_ip" ]]; then
  ip link set lo up
  ip addr add "$alias_ip/32" dev lo
fi

WITHCACHE_ADMIN_PASSWORD="${!wc_pw_env}" \
  "$withcache" --host "$host" --port "$wc_port" --data-dir "$state/withcache" >"$logs/withcache.log" 2>&1 &
pids+=($!)
# bty-web's own settings only: an empty config file keeps any host /etc/bty out.
: >"$state/bty.toml"
BTY_ADMIN_PASSWORD="${!bty_pw_env}" BTY_WITHCACHE_URL="$withcache_url" BTY_WITHCACHE_PASSWORD="${!wc_pw_env}" \
  BTY_PATHS_STATE_DIR="$state/bty" BTY_PATHS_BOOT_DIR="$state/bty/boot" \
  BTY_SERVER_HOST="$host" BTY_SERVER_PORT="$bty_port" \
  "$bty_web" --config "$state/bty.toml" >"$logs/bty-web.log" 2>&1 &
pids+=($!)
if [[ -n "$log_port" ]]; then
  python3 -m http.server --bind "$host" --directory "$logs" "$log_port" >/dev/null 2>&1 &
  pids+=($!)
fi
echo "server.sh: withcache on $host:$wc_port, bty-web on $host:$bty_port (withcache for clients: $withcache_url)"
# Whichever server stops first ends the service.
wait -n
echo "server.sh: a server exited; last lines of the logs:" >&2
tail -n 20 "$logs"/*.log >&2 || true
exit 1
