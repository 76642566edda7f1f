#!/usr/bin/env bash
# Local example of the shared store (docs/deploiement.md): a throwaway PostgreSQL holding the
# DuckLake catalog, a shared data folder, the demo territory written once, two app instances
# and nginx in front of them with sticky sessions. Every process listens on 127.0.0.1 only and
# keeps its configuration, pid and logs under the run folder (never the system services).
#
#   deploy/local.sh start|stop|status
#
# Environment: CDV_DEPLOY_RUN (run folder, default deploy/run), CDV_DEPLOY_PORT (first of four
# consecutive ports: nginx, instance 1, instance 2, PostgreSQL; default 8700), CDV_DEPLOY_SOURCE
# (a store file copied into the new shared store instead of the demo territory), PYTHON (default
# python3, with requirements.txt installed), NGINX (default nginx).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="$(realpath -m "${CDV_DEPLOY_RUN:-$ROOT/deploy/run}")"
PYTHON="${PYTHON:-python3}"
NGINX="${NGINX:-nginx}"
INSTANCES=(1 2)
DB_NAME=cdv

say() { printf '%s\n' "$*"; }
STARTING=0
fail() {
  printf 'Erreur : %s\n' "$*" >&2
  if (( STARTING )); then printf 'Pour arrêter ce qui a déjà démarré : %s stop\n' "$0" >&2; fi
  exit 1
}

# Ports: chosen at start (CDV_DEPLOY_PORT), remembered in the run folder for status and stop.
load_ports() {
  local base="${CDV_DEPLOY_PORT:-8700}"
  if [[ -z "${CDV_DEPLOY_PORT:-}" && -f "$RUN/ports" ]]; then
    base="$(cat "$RUN/ports")"
  fi
  [[ "$base" =~ ^[0-9]+$ ]] && (( base >= 1024 && base <= 65532 )) \
    || fail "CDV_DEPLOY_PORT=« $base » : attendu un numéro de port de 1024 à 65532."
  NGINX_PORT=$base
  APP_PORT_1=$((base + 1))
  APP_PORT_2=$((base + 2))
  PG_PORT=$((base + 3))
  LAKE="ducklake:postgres:dbname=$DB_NAME host=127.0.0.1 port=$PG_PORT user=postgres"
  URL="http://127.0.0.1:$NGINX_PORT"
}

app_port() { local var="APP_PORT_$1"; printf '%s' "${!var}"; }

# A pid file names a live process of ours only if its command line still matches (a stale pid
# file may name a pid the system has given to another program since).
alive() {
  local pidfile=$1 pattern=$2 pid
  [[ -f "$pidfile" ]] || return 1
  pid="$(head -n 1 "$pidfile" 2>/dev/null)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  pid_running "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pattern"
}

# A pid still running (a zombie is not: in a container whose init does not reap, one can linger).
pid_running() {
  kill -0 "$1" 2>/dev/null || return 1
  [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != "Z" ]]
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

healthy() { curl -fsS --max-time 2 "$1/_stcore/health" >/dev/null 2>&1; }

# PostgreSQL refuses to run as root: as root its commands run as the `postgres` user.
as_pg() {
  if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_ctl of the newest installed PostgreSQL (cdv_core.pg_local picks the same one).
pg_ctl() {
  if [[ -z "${PG_CTL:-}" ]]; then
    PG_CTL="$(cd "$ROOT" && "$PYTHON" -c 'from cdv_core import pg_local; print(pg_local.binaries() / "pg_ctl")')"
  fi
  as_pg "$PG_CTL" -D "$RUN/postgresql/data" "$@"
}

pg_running() { [[ -f "$RUN/postgresql/data/postmaster.pid" ]] && pg_ctl status >/dev/null 2>&1; }

app_running() { alive "$RUN/instance-$1.pid" "streamlit run app.py"; }

nginx_running() { alive "$RUN/nginx/nginx.pid" "nginx"; }

# Wait until a URL answers /_stcore/health, or fail with the log to read.
wait_healthy() {
  local url=$1 what=$2 log=$3 pidfile=$4 pattern=$5 deadline=$((SECONDS + 90))
  until healthy "$url"; do
    alive "$pidfile" "$pattern" || fail "$what a cessé de fonctionner au démarrage : voir $log"
    (( SECONDS < deadline )) || fail "$what ne répond pas sur $url après 90 s : voir $log"
    sleep 0.3
  done
}

# terminate SIGNAL PATTERN PIDFILE…: send SIGNAL to each live process of ours, then KILL
# whatever is left after 15 s, their children included (nginx's workers).
terminate() {
  local signal=$1 pattern=$2 pidfile pid deadline
  shift 2
  local pids=()
  for pidfile in "$@"; do
    if alive "$pidfile" "$pattern"; then
      pid="$(head -n 1 "$pidfile")"
      pids+=("$pid" $(pgrep -P "$pid" || true))
      kill "-$signal" "$pid" 2>/dev/null || true
    fi
  done
  deadline=$((SECONDS + 15))
  for pid in "${pids[@]}"; do
    while pid_running "$pid" && (( SECONDS < deadline )); do sleep 0.1; done
    if pid_running "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  for pid in "${pids[@]}"; do
    while pid_running "$pid"; do sleep 0.1; done
  done
  rm -f "$@"
}

start_postgres_and_store() {
  say "PostgreSQL (catalogue de la base partagée) sur 127.0.0.1:$PG_PORT…"
  # pg_local: initdb on first start (trust authentication, loopback only), then pg_ctl start.
  # The demo territory (or CDV_DEPLOY_SOURCE) is written only into an empty store: a restart
  # keeps the data.
  (cd "$ROOT" && CDV_DATA_PATH="$RUN/donnees" "$PYTHON" - "$RUN/postgresql" "$PG_PORT" "$DB_NAME" "$LAKE" "$SOURCE" <<'PY'
import sys

import psycopg

from cdv_core import demo, fmt, pg_local, store, store_ops

folder, port, dbname, lake, source = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
cluster = pg_local.start(folder, port=port, durable=True)
with psycopg.connect(cluster.conninfo("postgres"), autocommit=True) as con:
    exists = con.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [dbname]).fetchone()[0]
if not exists:
    cluster.create_database(dbname)
con = store.connect(lake)  # creates the DuckLake catalog and its schema when new
try:
    empty = store.is_empty(con.cursor())
finally:
    con.close()
if empty and source:
    print(f"Copie de {source} dans la base partagée…", flush=True)
    try:
        copied = store_ops.copy_store(source, lake)
    except store.StoreError as exc:
        sys.exit(str(exc))
    print(f"{fmt.plural(len(copied), 'table')}, {fmt.plural(sum(copied.values()), 'ligne')} copiées, "
          "empreinte de chaque table identique à la source.", flush=True)
elif empty:
    print("Écriture du territoire de démonstration dans la base partagée…", flush=True)
    demo.build_store(lake)
else:
    print("La base partagée contient déjà des données : elles sont conservées"
          + (" (CDV_DEPLOY_SOURCE n'est pas copié)." if source else "."), flush=True)
PY
  ) || fail "démarrage de PostgreSQL ou préparation de la base impossible (journal : $RUN/postgresql/server.log)"
}

start_instance() {
  local i=$1 port log="$RUN/instance-$1.log"
  port="$(app_port "$i")"
  say "Instance $i de l'application sur 127.0.0.1:$port…"
  # Same store and the same cookie secret on every instance (signed cookies such as the XSRF
  # token of an upload stay valid if nginx has to send a user to the other instance), and the
  # same read cache on disk: what one instance computed, the other reads back.
  (
    cd "$ROOT"
    export CDV_STORE="$LAKE" CDV_DATA_PATH="$RUN/donnees" CDV_CACHE_DISQUE="$RUN/cache"
    STREAMLIT_SERVER_COOKIE_SECRET="$(cat "$RUN/cookie_secret")"
    export STREAMLIT_SERVER_COOKIE_SECRET
    exec setsid "$PYTHON" -m streamlit run app.py --server.address 127.0.0.1 --server.port "$port" \
      --server.headless true --server.fileWatcherType none --browser.gatherUsageStats false \
      </dev/null >"$log" 2>&1
  ) &
  echo $! >"$RUN/instance-$i.pid"
}

write_nginx_conf() {
  local dir="$RUN/nginx"
  mkdir -p "$dir/tmp"
  cat >"$dir/nginx.conf" <<EOF
# Generated by deploy/local.sh: nginx in front of the two app instances (loopback only).
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
# Open websockets must not hold a stopping worker for long.
worker_shutdown_timeout 10s;

events { worker_connections 1024; }

http {
    # Everything under the run folder: never the system's /var/lib/nginx or /var/log/nginx.
    client_body_temp_path $dir/tmp/client_body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;

    log_format cdv '\$remote_addr [\$time_local] "\$request" \$status \$body_bytes_sent '
                   'instance=\$upstream_addr affinite=\$cdv_affinity \$request_time s';
    access_log $dir/access.log cdv;

    # Sticky sessions. A Streamlit session lives in one instance's memory and is bound to its
    # websocket (/_stcore/stream); a file upload is a separate HTTP PUT to
    # /_stcore/upload_file/<session>/… that only that instance knows. So every request of a
    # browser must reach the same instance. The first response gives the browser a random
    # affinity cookie (its request id); the instance is chosen by a consistent hash of that
    # cookie, so the browser keeps its instance, and adding an instance moves only a share of
    # the browsers. Not ip_hash: behind a NAT or a company proxy every user has the same address
    # and all would land on one instance (here, on loopback, all of them would).
    map \$cookie_cdv_affinite \$cdv_affinity {
        ""      \$request_id;
        default \$cookie_cdv_affinite;
    }
    map \$cookie_cdv_affinite \$cdv_set_cookie {
        ""      "cdv_affinite=\$request_id; Path=/; HttpOnly; SameSite=Lax";
        default "";
    }
    map \$http_upgrade \$connection_upgrade {
        default upgrade;
        ""      close;
    }

    upstream cdv_instances {
        hash \$cdv_affinity consistent;
        server 127.0.0.1:$APP_PORT_1 max_fails=1 fail_timeout=10s;
        server 127.0.0.1:$APP_PORT_2 max_fails=1 fail_timeout=10s;
    }

    server {
        listen 127.0.0.1:$NGINX_PORT;
        server_name localhost;
        # The app's own limit is CDV_MAX_UPLOAD_MB; Streamlit's ceiling is 200 MB.
        client_max_body_size 200m;
        add_header Set-Cookie \$cdv_set_cookie always;

        # A location that sets a proxy header loses the server's ones: each location sets them all.
        location /_stcore/stream {
            proxy_pass http://cdv_instances;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
            # Streamlit accepts a websocket from its own origin: keep the browser's Host.
            proxy_set_header Host \$http_host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
            # Streamlit pings every 30 s; an idle committee screen must not be cut.
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
            proxy_buffering off;
        }

        location / {
            proxy_pass http://cdv_instances;
            proxy_http_version 1.1;
            proxy_set_header Host \$http_host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
            # Uploads stream to the instance instead of being spooled to disk here first.
            proxy_request_buffering off;
        }
    }
}
EOF
}

start_nginx() {
  local dir="$RUN/nginx"
  say "nginx (répartition avec affinité de session) sur 127.0.0.1:$NGINX_PORT…"
  command -v "$NGINX" >/dev/null || fail "nginx est introuvable : apt-get install -y nginx"
  write_nginx_conf
  # -e: the error log before the configuration is read (else the system's /var/log/nginx).
  "$NGINX" -t -q -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" \
    || fail "configuration nginx refusée : voir $dir/nginx.conf et $dir/error.log"
  setsid "$NGINX" -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" </dev/null >>"$dir/error.log" 2>&1 &
  local launched=$! deadline=$((SECONDS + 15))
  until nginx_running; do
    pid_running "$launched" || fail "nginx s'est arrêté au démarrage : voir $dir/error.log"
    (( SECONDS < deadline )) || fail "nginx n'a pas écrit $dir/nginx.pid : voir $dir/error.log"
    sleep 0.1
  done
}

cmd_start() {
  load_ports
  local running=0 total=0
  pg_running && running=$((running + 1)); total=$((total + 1))
  for i in "${INSTANCES[@]}"; do app_running "$i" && running=$((running + 1)); total=$((total + 1)); done
  nginx_running && running=$((running + 1)); total=$((total + 1))
  if (( running == total )); then
    say "L'exemple est déjà démarré : $URL"
    return 0
  fi
  if (( running > 0 )); then
    fail "une partie de l'exemple tourne déjà ($running processus sur $total) : lancez d'abord « deploy/local.sh stop »."
  fi
  for port in "$NGINX_PORT" "$APP_PORT_1" "$APP_PORT_2" "$PG_PORT"; do
    port_busy "$port" && fail "le port 127.0.0.1:$port est déjà utilisé. Choisissez d'autres ports avec CDV_DEPLOY_PORT (4 ports consécutifs, par exemple CDV_DEPLOY_PORT=8800)."
  done
  command -v "$NGINX" >/dev/null || fail "nginx est introuvable : apt-get install -y nginx"
  command -v curl >/dev/null || fail "curl est introuvable : apt-get install -y curl"
  SOURCE=""
  if [[ -n "${CDV_DEPLOY_SOURCE:-}" ]]; then
    SOURCE="$(realpath -m "$CDV_DEPLOY_SOURCE")"
    [[ -f "$SOURCE" ]] || fail "CDV_DEPLOY_SOURCE : le fichier $SOURCE est introuvable."
  fi

  local t0=$SECONDS
  STARTING=1
  mkdir -p "$RUN" "$RUN/donnees"
  echo "$NGINX_PORT" >"$RUN/ports"
  if [[ ! -s "$RUN/cookie_secret" ]]; then
    (umask 077 && "$PYTHON" -c 'import secrets; print(secrets.token_hex(32))' >"$RUN/cookie_secret")
  fi
  say "Dossier de l'exemple : $RUN"
  start_postgres_and_store
  for i in "${INSTANCES[@]}"; do start_instance "$i"; done
  for i in "${INSTANCES[@]}"; do
    wait_healthy "http://127.0.0.1:$(app_port "$i")" "L'instance $i" "$RUN/instance-$i.log" \
      "$RUN/instance-$i.pid" "streamlit run app.py"
  done
  start_nginx
  wait_healthy "$URL" "nginx" "$RUN/nginx/error.log" "$RUN/nginx/nginx.pid" "nginx"
  say ""
  say "Démarré en $((SECONDS - t0)) s : PostgreSQL, 2 instances de l'application, nginx."
  say "Base partagée : CDV_STORE='$LAKE'"
  say "Fichiers de données : $RUN/donnees"
  say "Arrêt : deploy/local.sh stop · état : deploy/local.sh status"
  say ""
  say "Application disponible à l'adresse : $URL"
}

cmd_stop() {
  load_ports
  say "Arrêt de nginx…"
  terminate TERM "nginx" "$RUN/nginx/nginx.pid"
  say "Arrêt des instances de l'application…"
  local pidfiles=()
  for i in "${INSTANCES[@]}"; do pidfiles+=("$RUN/instance-$i.pid"); done
  terminate TERM "streamlit run app.py" "${pidfiles[@]}"
  say "Arrêt de PostgreSQL…"
  if pg_running; then
    pg_ctl -m fast -w -t 60 stop >/dev/null
  fi
  say "Exemple arrêté (les données restent dans $RUN ; supprimez ce dossier pour repartir de zéro)."
}

cmd_status() {
  load_ports
  local down=0
  if pg_running; then say "PostgreSQL      : en marche (127.0.0.1:$PG_PORT)"
  else say "PostgreSQL      : arrêté"; down=1; fi
  for i in "${INSTANCES[@]}"; do
    local port
    port="$(app_port "$i")"
    if app_running "$i" && healthy "http://127.0.0.1:$port"; then
      say "Instance $i      : en marche (127.0.0.1:$port, pid $(cat "$RUN/instance-$i.pid"))"
    elif app_running "$i"; then say "Instance $i      : ne répond pas (127.0.0.1:$port, voir $RUN/instance-$i.log)"; down=1
    else say "Instance $i      : arrêtée"; down=1; fi
  done
  if nginx_running && healthy "$URL"; then say "nginx           : en marche ($URL)"
  elif nginx_running; then say "nginx           : en marche, mais l'application ne répond pas à travers lui ($URL)"; down=1
  else say "nginx           : arrêté"; down=1; fi
  if (( down == 0 )); then say "Application disponible à l'adresse : $URL"; fi
  return $(( down ? 3 : 0 ))
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) say "Utilisation : deploy/local.sh start|stop|status" >&2; exit 2 ;;
esac
