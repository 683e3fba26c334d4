# Shared by the recorder's root tests: a client and a server netns joined by a veth pair
# (10.199.0.0/24, fd00:199::/64), unbound in the server answering rec.test, cleanup on exit.
# Source after setting BIN; sets ID CLI SRV WORK, REC (recorder pid, killed on exit).
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
for t in ip unbound dig; do
	command -v $t >/dev/null || { echo "SKIP: $t missing"; exit 77; }
done
ID=${ID_PREFIX:-drt}$$
CLI=$ID-cli SRV=$ID-srv
WORK=$(mktemp -d /tmp/dnsreel-rectest.XXXXXX)
REC=
cleanup() {
	[ -n "$REC" ] && kill -9 "$REC" 2>/dev/null
	[ -f "$WORK/unbound.pid" ] && kill "$(cat "$WORK/unbound.pid")" 2>/dev/null
	ip netns pids "$SRV" 2>/dev/null | xargs -r kill -9 2>/dev/null
	ip netns del "$CLI" 2>/dev/null
	ip netns del "$SRV" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	[ -f "$WORK/rec.err" ] && sed 's/^/  rec: /' "$WORK/rec.err"
	exit 1
}

ip netns add "$CLI" && ip netns add "$SRV" || fail "netns"
ip link add "$ID-c" type veth peer name "$ID-s" || fail "veth"
ip link set "$ID-c" netns "$CLI"
ip link set "$ID-s" netns "$SRV"
ip -n "$CLI" addr add 10.199.0.1/24 dev "$ID-c"
ip -n "$SRV" addr add 10.199.0.2/24 dev "$ID-s"
ip -n "$CLI" addr add fd00:199::1/64 dev "$ID-c" nodad
ip -n "$SRV" addr add fd00:199::2/64 dev "$ID-s" nodad
for n in "$CLI" "$SRV"; do
	ip -n "$n" link set lo up
done
ip -n "$CLI" link set "$ID-c" up
ip -n "$SRV" link set "$ID-s" up

cat >"$WORK/unbound.conf" <<EOF
server:
	interface: 10.199.0.2
	interface: fd00:199::2
	port: 53
	do-tcp: yes
	username: ""
	chroot: ""
	directory: "$WORK"
	pidfile: "$WORK/unbound.pid"
	use-syslog: no
	logfile: ""
	access-control: 0.0.0.0/0 allow
	access-control: ::/0 allow
	module-config: "iterator"
	local-zone: "rec.test." static
	local-data: "a.rec.test. 5 IN A 192.0.2.7"
	local-data: "a.rec.test. 5 IN AAAA 2001:db8::7"
EOF
ip netns exec "$SRV" unbound -c "$WORK/unbound.conf" >"$WORK/unbound.out" 2>&1 ||
	fail "unbound: $(cat "$WORK/unbound.out")"
for _ in $(seq 50); do
	ip netns exec "$CLI" dig @10.199.0.2 a.rec.test +time=1 +tries=1 +short 2>/dev/null |
		grep -q 192.0.2.7 && break
	sleep 0.1
done

ino() { stat -L -c %i "/run/netns/$1"; }

# recorder_start ARGS...: dnsreel-record in the background, waits for --ready-file.
recorder_start() {
	rm -f "$WORK/ready"
	"$BIN/dnsreel-record" --ready-file "$WORK/ready" "$@" >"$WORK/rec.out" 2>"$WORK/rec.err" &
	REC=$!
	for _ in $(seq 200); do
		[ -e "$WORK/ready" ] && return 0
		kill -0 $REC 2>/dev/null || fail "recorder exited early"
		sleep 0.05
	done
	fail "recorder not ready after 10 s"
}
