# Sourced by the export test and bench/clickhouse: a throwaway ClickHouse server (Debian's
# clickhouse-server) on 127.0.0.1 with free random ports, its data in DIR and a minimal config.
#   ch_start DIR       starts it (again, on the same data, when called after ch_stop) and waits
#                      until it answers; sets CH_URL (HTTP), CH_TCP_PORT (native, for
#                      clickhouse-client --port) and CH_PID; exits 1 naming the log if it never answers
#   ch_stop [SIGNAL]   TERM (default) waits for a clean shutdown; KILL is a server gone at once
#   ch SQL             runs SQL over HTTP, the answer on stdout
CH_SERVER=$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)
CH_PID=
ch_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
ch_start() {
	local dir=$1
	if [ ! -f "$dir/config.xml" ]; then
		CH_HTTP_PORT=$(ch_free_port)
		CH_TCP_PORT=$(ch_free_port)
		mkdir -p "$dir/data" "$dir/tmp"
		cat >"$dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$dir/server.log</log><errorlog>$dir/server.err</errorlog></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$CH_HTTP_PORT</http_port>
  <tcp_port>$CH_TCP_PORT</tcp_port>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <mark_cache_size>536870912</mark_cache_size>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile><quota>default</quota></default>
  </users>
  <profiles><default></default></profiles>
  <quotas><default></default></quotas>
</yandex>
XML
	fi
	CH_URL=http://127.0.0.1:$CH_HTTP_PORT/
	"$CH_SERVER" --config-file="$dir/config.xml" >>"$dir/server.out" 2>&1 &
	CH_PID=$!
	for _ in $(seq 1 300); do
		[ "$(curl -s "${CH_URL}ping")" = "Ok." ] && return 0
		kill -0 "$CH_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "FAIL: clickhouse-server did not answer on $CH_URL:" >&2
	tail -20 "$dir/server.out" "$dir/server.err" >&2
	exit 1
}
ch_stop() {
	[ -n "$CH_PID" ] || return 0
	kill -"${1:-TERM}" "$CH_PID" 2>/dev/null || true
	for _ in $(seq 1 100); do kill -0 "$CH_PID" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$CH_PID" 2>/dev/null || true
	wait "$CH_PID" 2>/dev/null || true
	CH_PID=
}
ch() { curl -sS "$CH_URL" --data-binary "$1"; }
