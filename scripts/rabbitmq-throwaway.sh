#!/usr/bin/env bash
# A throwaway RabbitMQ node for tests and the dev run command: nothing is shared with other
# nodes on the machine (own node name, data, logs, Erlang cookie, AMQP port, distribution
# port and epmd).
#
#   rabbitmq-throwaway.sh start DIR   start a node with its data under DIR on free loopback
#                                     ports; print its AMQP URL on stdout once guest can log in.
#                                     Again on the same DIR (after stop): the same node, ports
#                                     and data (durable queues and persistent messages survive)
#   rabbitmq-throwaway.sh stop DIR    stop the node started under DIR and its epmd, and wait
#                                     until its port is closed (DIR itself is left)
#
# The first start takes the node name and ports from RABBITMQ_NODENAME, RABBITMQ_NODE_PORT,
# RABBITMQ_DIST_PORT and ERL_EPMD_PORT when set, and otherwise picks them itself.
# RABBITMQ_START_TIMEOUT (seconds, default 60) bounds the wait for the broker. No plugins
# (no management UI); alarms are set so that a busy, shared machine does not trip them. Runs
# as root or not (the node runs as the calling user). Fails loudly, with the broker's log.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$(realpath -m "$2")

rabbit_bin=/usr/lib/rabbitmq/bin/rabbitmq-server
if [ ! -x "$rabbit_bin" ] || ! command -v epmd >/dev/null; then
  echo "rabbitmq-throwaway: rabbitmq-server not found; run scripts/install-deps.sh" >&2
  exit 1
fi

# A process that runs (a zombie does not count: ours are reaped by whoever adopted them).
alive() {
  local stat
  [ -n "${1:-}" ] && stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat:0:1}" != Z ]
}
pid_in() { if [ -s "$1" ]; then cat "$1"; fi; }
# Whether PID is one of this node's processes: a pid file may outlive its process, and PIDs
# are reused (quickly, under gVisor), so a stale one could name, say, the worker beside us.
# The node and its wrapper carry DIR in their environment, epmd its port on its command line.
ours() {
  local pid=$1 seen
  seen=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null; tr '\0' ' ' <"/proc/$pid/environ" 2>/dev/null)
  [[ "$seen" == *"$dir"* || "$seen" == *"-port $epmd_port "* ]]
}
running() { alive "${1:-}" && ours "$1"; }
listening() { (: <>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A port in 20000..32767 (below Linux's ephemeral range) that nothing listens on and that is
# none of the arguments.
pick_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 12768))
    case " $* " in *" $p "*) continue ;; esac
    if ! listening "$p"; then echo "$p"; return 0; fi
  done
  echo "rabbitmq-throwaway: no free port found" >&2
  return 1
}

# Logs in as guest over AMQP 0-9-1 (handshake, open vhost "/", close), with nothing but
# bash: succeeds only when the broker accepts logins.
amqp_login() (
  set +e
  exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
  octal() { local b; for b in "$@"; do printf '\\%03o' "$b"; done; }
  # send TYPE CHANNEL PAYLOAD-BYTES...: one frame
  send() {
    local type=$1 channel=$2 size
    shift 2
    size=$#
    # shellcheck disable=SC2059  # the format is the frame, as octal escapes
    printf "$(octal "$type" $((channel >> 8)) $((channel & 255)) $((size >> 24)) \
      $(((size >> 16) & 255)) $(((size >> 8) & 255)) $((size & 255)) "$@" 206)" >&3
  }
  # bytes N: the next N bytes as decimal numbers
  bytes() {
    timeout 5 dd bs="$1" count=1 iflag=fullblock status=none <&3 2>/dev/null |
      od -An -v -tu1 | tr '\n' ' '
  }
  # expect CLASS METHOD: reads one frame into $payload; fails unless it is that method
  expect() {
    local header size
    read -ra header <<<"$(bytes 7)"
    [ "${#header[@]}" -eq 7 ] && [ "${header[0]}" -eq 1 ] || return 1
    size=$(((header[3] << 24) | (header[4] << 16) | (header[5] << 8) | header[6]))
    read -ra payload <<<"$(bytes $((size + 1)))"
    [ "${#payload[@]}" -eq $((size + 1)) ] && [ "${payload[1]}" -eq "$1" ] &&
      [ "${payload[3]}" -eq "$2" ]
  }
  str() { local s=$1 i; for ((i = 0; i < ${#s}; i++)); do printf '%d ' "'${s:i:1}"; done; }
  printf 'AMQP\000\000\011\001' >&3
  expect 10 10 || exit 1  # connection.start
  # connection.start-ok: no client properties, PLAIN "\0guest\0guest", en_US
  # shellcheck disable=SC2046  # str prints one word per byte
  send 1 0 0 10 0 11 0 0 0 0 5 $(str PLAIN) 0 0 0 12 0 $(str guest) 0 $(str guest) \
    5 $(str en_US) || exit 1
  expect 10 30 || exit 1  # connection.tune: the login worked
  # connection.tune-ok with the broker's channel-max and frame-max, no heartbeat
  send 1 0 0 10 0 31 "${payload[@]:4:6}" 0 0 || exit 1
  send 1 0 0 10 0 40 1 47 0 0 || exit 1  # connection.open "/"
  expect 10 41 || exit 1                 # connection.open-ok
  send 1 0 0 10 0 50 0 200 0 0 0 0 0 || exit 1  # connection.close 200
  expect 10 51                                  # connection.close-ok
)

show_logs() {
  local f
  for f in "$dir"/log/*.log; do
    [ -s "$f" ] || continue
    echo "--- tail of $f" >&2
    tail -n 40 "$f" >&2 || true
  done
}

# Saved on the first start, read on every later one: the same node and ports.
load_or_make_settings() {
  if [ -f "$dir/settings" ]; then
    # shellcheck source=/dev/null
    . "$dir/settings"
    return
  fi
  mkdir -p "$dir/home" "$dir/log" "$dir/mnesia"
  nodename=${RABBITMQ_NODENAME:-zeva-$$-$RANDOM@localhost}
  node_port=${RABBITMQ_NODE_PORT:-$(pick_port "${RABBITMQ_DIST_PORT:-}" "${ERL_EPMD_PORT:-}")}
  dist_port=${RABBITMQ_DIST_PORT:-$(pick_port "$node_port" "${ERL_EPMD_PORT:-}")}
  epmd_port=${ERL_EPMD_PORT:-$(pick_port "$node_port" "$dist_port")}
  if [ "$node_port" = "$dist_port" ] || [ "$node_port" = "$epmd_port" ] ||
    [ "$dist_port" = "$epmd_port" ]; then
    echo "rabbitmq-throwaway: AMQP, distribution and epmd ports must differ" >&2
    exit 1
  fi
  cat >"$dir/rabbitmq.conf" <<EOF
loopback_users.guest = true
disk_free_limit.absolute = 1MB
vm_memory_high_watermark.absolute = 2GB
log.console = false
log.file.level = info
EOF
  echo '[].' >"$dir/enabled_plugins"
  : >"$dir/rabbitmq-env.conf"
  cat >"$dir/settings" <<EOF
nodename=$nodename
node_port=$node_port
dist_port=$dist_port
epmd_port=$epmd_port
EOF
}

# The caller's open files (a test's listening sockets, say) must not live on in the daemons.
close_inherited_fds() {
  local fd
  for fd in /proc/"$BASHPID"/fd/*; do
    fd=${fd##*/}
    if [ "$fd" -gt 2 ] && [ "$fd" -ne 255 ]; then eval "exec $fd>&-"; fi
  done
}

start_node() {
  # A private epmd, run in the foreground of its own session so that stop can end it.
  if ! running "$(pid_in "$dir/epmd.pid")"; then
    (
      close_inherited_fds
      setsid epmd -port "$epmd_port" -address 127.0.0.1 </dev/null >>"$dir/log/epmd.log" 2>&1 &
      echo $! >"$dir/epmd.pid"
    )
    for _ in $(seq 1 100); do
      listening "$epmd_port" && break
      if ! running "$(pid_in "$dir/epmd.pid")"; then
        echo "rabbitmq-throwaway: epmd did not start on port $epmd_port" >&2
        show_logs
        exit 1
      fi
      sleep 0.1
    done
  fi
  # The node in its own session too (Ctrl-C in a terminal reaches the caller, whose cleanup
  # stops it), with a clean environment: only what is set here.
  # Its working folder is DIR (where a crash dump would land).
  (
    cd "$dir"
    close_inherited_fds
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
      LC_ALL=C.UTF-8 HOME="$dir/home" ERL_EPMD_PORT="$epmd_port" \
      ERL_CRASH_DUMP="$dir/log/erl_crash.dump" \
      RABBITMQ_NODENAME="$nodename" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
      RABBITMQ_NODE_PORT="$node_port" RABBITMQ_DIST_PORT="$dist_port" \
      RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" \
      RABBITMQ_PID_FILE="$dir/node.pid" RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" \
      RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config" \
      RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf" \
      RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" RABBITMQ_SCHEDULER_BIND_TYPE=u \
      setsid "$rabbit_bin" </dev/null >>"$dir/log/console.log" 2>&1 &
    echo $! >"$dir/wrapper.pid"
  )
}

stop_pid() {  # PIDFILE: TERM, up to 60 s, then KILL
  local pid
  pid=$(pid_in "$1")
  if running "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 600); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then
      echo "rabbitmq-throwaway: pid $pid ignored SIGTERM for 60 s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.1; done
    fi
  fi
  rm -f "$1"
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    load_or_make_settings
    url="amqp://guest:guest@127.0.0.1:$node_port"
    if ! running "$(pid_in "$dir/wrapper.pid")"; then
      if listening "$node_port"; then
        echo "rabbitmq-throwaway: port $node_port is taken by another process" >&2
        exit 1
      fi
      rm -f "$dir/node.pid"
      start_node
    fi
    timeout_s=${RABBITMQ_START_TIMEOUT:-60}
    deadline=$((SECONDS + timeout_s))
    while [ "$SECONDS" -lt "$deadline" ]; do
      if listening "$node_port" && amqp_login "$node_port"; then
        echo "$url"
        exit 0
      fi
      if ! running "$(pid_in "$dir/wrapper.pid")"; then
        echo "rabbitmq-throwaway: RabbitMQ node $nodename exited during start-up" >&2
        show_logs
        bash "$0" stop "$dir" >/dev/null 2>&1 || true
        exit 1
      fi
      sleep 0.2
    done
    echo "rabbitmq-throwaway: RabbitMQ did not accept logins on port $node_port within" \
      "${timeout_s}s" >&2
    show_logs
    bash "$0" stop "$dir" >/dev/null 2>&1 || true
    exit 1
    ;;
  stop)
    [ -f "$dir/settings" ] || exit 0
    # shellcheck source=/dev/null
    . "$dir/settings"
    # The Erlang VM stops gracefully on SIGTERM (queues and messages are flushed); the
    # rabbitmq-server shell around it exits with it.
    stop_pid "$dir/node.pid"
    stop_pid "$dir/wrapper.pid"
    for _ in $(seq 1 100); do listening "$node_port" || break; sleep 0.1; done
    if listening "$node_port"; then
      echo "rabbitmq-throwaway: port $node_port still open after stop" >&2
      exit 1
    fi
    stop_pid "$dir/epmd.pid"
    ;;
  *) usage ;;
esac
