#!/usr/bin/env bash
# dnsreel lab: a one-node "cluster" made of network namespaces (see DESIGN.md, "The lab").
#
#   LAB_ID=dr42 tests/lab/lab.sh up      build it; prints the env (as `env` does); without
#                                        LAB_ID: dr<pid>, set by eval "$(lab.sh up)";
#                                        LAB_APP2=1 adds a second app pod (role app2)
#   LAB_ID=dr42 tests/lab/lab.sh env     shell variables for tests: eval "$(lab.sh env)"
#   LAB_ID=dr42 tests/lab/lab.sh exec ROLE CMD...   run CMD in a pod's netns and cgroup
#   LAB_ID=dr42 tests/lab/lab.sh down    remove everything; idempotent, safe after a failed up
#   tests/lab/lab.sh list                labs present on this machine (to clean leftovers)
#   tests/lab/lab.sh gc                  remove empty pod cgroups that killed labs left behind
#   LAB_DNSTAP_SOCKET=PATH lab.sh restart-dns   restart unbound, now sending dnstap to the
#                                        unix socket PATH (unbound 1.17 connects only at start,
#                                        so the listener must be there first)
#
# Topology (all inside namespaces named $LAB_ID-*; nothing touches the host netns):
#
#   app pod  10.244.0.10 fd00:244::10 ─┐
#                                      ├─ cbr0 (node netns) 10.244.0.1 fd00:244::1
#   app2 pod 10.244.0.11 fd00:244::11 ─┤   (only with LAB_APP2=1)
#   dns pod  10.244.0.2  fd00:244::2  ─┘   iptables DNAT 10.96.0.10:53 / [fd00:96::a]:53 → dns pod
#   (unbound: cluster.local itself,        ip forwarding between the two links
#    the rest forwarded upstream)        vup 10.254.0.1 fd00:254::1
#                                          │
#   upstream 10.254.0.2 fd00:254::2 (nsd, authoritative for example.test and broken.test)
#
# Only routes between these subnets; no default route anywhere. The app pod's resolv.conf
# (/etc/netns/$LAB_ID-app/resolv.conf, bind-mounted by `ip netns exec`) names the VIP.
# Pod context as a kubelet leaves it: the pods' processes in cgroups named as the runtime names
# them, and a pod-logs dir NS_POD_UID/CONTAINER/ (give it to the recorder with --pod-logs; the
# real /var/log/pods is never touched). LAB_LAYOUT at up picks the node layout:
#   containerd (default)  kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid>.slice/
#                         cri-containerd-<id>.scope      (systemd driver, cgroup v2, BestEffort)
# LAB_NODELOCAL=1 at up adds NodeLocal DNSCache: a caching forwarder (unbound) in the node netns
# on 169.254.20.10 and the kube-dns VIP (an interface "nodelocaldns", NOTRACK rules so
# kube-proxy's DNAT leaves those queries alone), asking CoreDNS over TCP through the
# kube-dns-upstream service (10.96.0.11) as node-local-dns does.
# LAB_PROXY at up picks kube-proxy's mode: iptables (default: KUBE-SERVICES chains with their
# comments) or nftables (`table ip kube-proxy` / `ip6 kube-proxy` with the service-ips maps).
#   docker                kubepods.slice/kubepods-pod<uid>.slice/docker-<id>.scope
#                                                        (cri-dockerd, systemd, v2, Guaranteed)
#   crio-v1               /kubepods/burstable/pod<uid>/crio-<id> in the v1 pids and name=systemd
#                         hierarchies                    (CRI-O, cgroupfs driver, v1, Burstable)
set -euo pipefail

LAB_ID=${LAB_ID:-}
TMPROOT=${TMPDIR:-/tmp}

die() {
	echo "lab.sh: $*" >&2
	exit 1
}

need_id() {
	[[ -n $LAB_ID ]] || die "set LAB_ID (e.g. LAB_ID=dr\$\$)"
	[[ $LAB_ID =~ ^[A-Za-z][A-Za-z0-9]{0,11}$ ]] || die "LAB_ID must be 1-12 letters/digits"
}

# ---- names, addresses and identities, all derived from LAB_ID so `down` needs nothing else ----
set_names() {
	NS_NODE=$LAB_ID-node
	NS_APP=$LAB_ID-app
	NS_APP2=$LAB_ID-app2
	NS_DNS=$LAB_ID-dns
	NS_UP=$LAB_ID-up
	LAB_DIR=$TMPROOT/dnsreel-lab.$LAB_ID
	POD_LOGS=$LAB_DIR/pods

	APP_IP=10.244.0.10 APP_IP6=fd00:244::10
	APP2_IP=10.244.0.11 APP2_IP6=fd00:244::11
	DNS_IP=10.244.0.2 DNS_IP6=fd00:244::2
	BR_IP=10.244.0.1 BR_IP6=fd00:244::1
	NODEUP_IP=10.254.0.1 NODEUP_IP6=fd00:254::1
	UP_IP=10.254.0.2 UP_IP6=fd00:254::2
	VIP=10.96.0.10 VIP6=fd00:96::a
	NODELOCAL_IP=169.254.20.10 UPSTREAM_VIP=10.96.0.11

	APP_K8S_NS=default APP_POD=dnsclient APP_CONTAINER=client
	APP2_POD=dnsclient2
	DNS_K8S_NS=kube-system DNS_POD=coredns-5d78c9869d-$(hexof "$LAB_ID-dnspod" | cut -c1-5)
	DNS_CONTAINER=coredns
	APP_UID=$(uuidof "$LAB_ID-app")
	DNS_UID=$(uuidof "$LAB_ID-dns")
	APP_CID=$(hexof "$LAB_ID-app-container")
	APP2_UID=$(uuidof "$LAB_ID-app2")
	APP2_CID=$(hexof "$LAB_ID-app2-container")
	DNS_CID=$(hexof "$LAB_ID-dns-container")

	CG2=$(cgroup2_root)
	# The layout as up chose it (down and exec read it back).
	if [[ -z ${LAB_LAYOUT:-} && -r $LAB_DIR/layout ]]; then LAB_LAYOUT=$(cat "$LAB_DIR/layout"); fi
	LAYOUT=${LAB_LAYOUT:-containerd}
	# Pod cgroups named exactly as each runtime and kubelet cgroup driver name them. CG_APP and
	# CG_DNS are lists: on cgroup v1 a process joins one cgroup per hierarchy.
	local u_app=${APP_UID//-/_} u_dns=${DNS_UID//-/_} u_app2=${APP2_UID//-/_} h
	case $LAYOUT in
	containerd) # containerd, systemd driver, cgroup v2, BestEffort
		CG_BASE=$CG2/kubepods.slice/kubepods-besteffort.slice
		CG_APP=$CG_BASE/kubepods-besteffort-pod$u_app.slice/cri-containerd-$APP_CID.scope
		CG_DNS=$CG_BASE/kubepods-besteffort-pod$u_dns.slice/cri-containerd-$DNS_CID.scope
		CG_APP2=$CG_BASE/kubepods-besteffort-pod$u_app2.slice/cri-containerd-$APP2_CID.scope
		;;
	docker) # cri-dockerd, systemd driver, cgroup v2, Guaranteed (no QoS slice)
		CG_BASE=$CG2/kubepods.slice
		CG_APP=$CG_BASE/kubepods-pod$u_app.slice/docker-$APP_CID.scope
		CG_DNS=$CG_BASE/kubepods-pod$u_dns.slice/docker-$DNS_CID.scope
		CG_APP2=$CG_BASE/kubepods-pod$u_app2.slice/docker-$APP2_CID.scope
		;;
	crio-v1) # CRI-O, cgroupfs driver, cgroup v1, Burstable
		CG_BASE="" CG_APP="" CG_DNS="" CG_APP2=""
		for h in $(cgroup1_roots); do
			CG_BASE+=" $h/kubepods/burstable"
			CG_APP+=" $h/kubepods/burstable/pod$APP_UID/crio-$APP_CID"
			CG_DNS+=" $h/kubepods/burstable/pod$DNS_UID/crio-$DNS_CID"
			CG_APP2+=" $h/kubepods/burstable/pod$APP2_UID/crio-$APP2_CID"
		done
		;;
	*) die "unknown LAB_LAYOUT $LAYOUT (containerd, docker, crio-v1)" ;;
	esac
	# NodeLocal DNSCache: as asked at up, then as up left it.
	NODELOCAL=${LAB_NODELOCAL:-}
	[[ ! -e $LAB_DIR/nodelocal ]] || NODELOCAL=1
	# The second app pod exists only when asked for at up; later commands see its netns.
	HAVE_APP2=${LAB_APP2:-}
	[[ ! -e /run/netns/$NS_APP2 ]] || HAVE_APP2=1
	ALL_NS="$NS_NODE $NS_APP $NS_DNS $NS_UP"
	[[ -z $HAVE_APP2 ]] || ALL_NS+=" $NS_APP2"
}

# cgroup v1 hierarchies a cgroupfs-driver kubelet uses (pids and the named systemd one suffice
# for /proc/PID/cgroup to show the pod on v1 lines).
cgroup1_roots() {
	awk '$3 == "cgroup" && ($4 ~ /(^|,)pids(,|$)/ || $4 ~ /name=systemd/) { print $2 }' /proc/mounts
}

# cg_join CGROUPS PID: PID into each cgroup of the list.
cg_join() {
	local c
	for c in $1; do echo "$2" >"$c/cgroup.procs"; done
}

hexof() { printf '%s' "$1" | sha256sum | cut -c1-64; }
uuidof() {
	local h
	h=$(printf '%s' "$1" | md5sum | cut -c1-32)
	# version-4 style layout, as kubelet pod UIDs are
	echo "${h:0:8}-${h:8:4}-4${h:13:3}-a${h:17:3}-${h:20:12}"
}

# The cgroup v2 hierarchy: /sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid.
cgroup2_root() {
	awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts
}

nsx() { # nsx NETNS CMD...
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# ---- up -----------------------------------------------------------------------------------
mk_ns() {
	ip netns add "$1"
	nsx "$1" ip link set lo up
	# Addresses usable at once: no duplicate address detection delay in the lab.
	nsx "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
}

up() {
	# Without LAB_ID a fresh one (dr<pid>); it is the first line of the env printed at the end,
	# so `eval "$(lab.sh up)"` sets it for `down`.
	LAB_ID=${LAB_ID:-dr$$}
	need_id
	set_names
	for t in ip iptables ip6tables unbound nsd sha256sum md5sum; do
		command -v $t >/dev/null || die "missing tool: $t"
	done
	[[ -n $CG2 ]] || die "no cgroup2 hierarchy mounted"
	[[ -n $CG_APP ]] || die "layout $LAYOUT: no cgroup v1 hierarchy (pids, name=systemd) mounted"
	if ip netns list | awk '{print $1}' | grep -qx "$NS_NODE"; then
		die "lab $LAB_ID already exists (run: LAB_ID=$LAB_ID $0 down)"
	fi
	# A failed up (any error, any signal) leaves nothing behind.
	UP_DONE=0
	[[ -n ${LAB_KEEP_FAILED:-} ]] ||
		trap 'if [[ $UP_DONE != 1 ]]; then echo "lab.sh: up failed, cleaning" >&2; down >/dev/null 2>&1 || true; fi' EXIT
	trap 'exit 1' INT TERM HUP
	mkdir -p "$LAB_DIR"
	echo "$LAYOUT" >"$LAB_DIR/layout"
	[[ -z $NODELOCAL ]] || : >"$LAB_DIR/nodelocal"

	for ns in $ALL_NS; do mk_ns "$ns"; done

	# node: the bridge for pods, a routed link to the upstream, forwarding, br_netfilter so
	# replies between two pods on the bridge get their DNAT undone (as kube-proxy needs).
	nsx "$NS_NODE" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	nsx "$NS_NODE" sysctl -qw net.bridge.bridge-nf-call-iptables=1 \
		net.bridge.bridge-nf-call-ip6tables=1 2>/dev/null ||
		echo "lab.sh: warning: br_netfilter sysctls missing" >&2
	ip -n "$NS_NODE" link add cbr0 type bridge forward_delay 0 stp_state 0
	ip -n "$NS_NODE" addr add $BR_IP/24 dev cbr0
	ip -n "$NS_NODE" addr add $BR_IP6/64 dev cbr0 nodad
	ip -n "$NS_NODE" link set cbr0 up

	local role ns ip ip6 peer roles=app
	[[ -z $HAVE_APP2 ]] || roles+=" app2"
	for role in $roles dns; do
		case $role in
		app) ns=$NS_APP ip=$APP_IP ip6=$APP_IP6 ;;
		app2) ns=$NS_APP2 ip=$APP2_IP ip6=$APP2_IP6 ;;
		*) ns=$NS_DNS ip=$DNS_IP ip6=$DNS_IP6 ;;
		esac
		peer=veth-$role
		ip -n "$NS_NODE" link add $peer type veth peer name eth0 netns "$ns"
		ip -n "$NS_NODE" link set $peer master cbr0 up
		ip -n "$ns" addr add $ip/24 dev eth0
		ip -n "$ns" addr add $ip6/64 dev eth0 nodad
		ip -n "$ns" link set eth0 up
		# Lab-internal routes only: services and the upstream subnet via the node.
		ip -n "$ns" route add 10.96.0.0/12 via $BR_IP
		ip -n "$ns" route add 10.254.0.0/24 via $BR_IP
		ip -n "$ns" -6 route add fd00:96::/64 via $BR_IP6
		ip -n "$ns" -6 route add fd00:254::/64 via $BR_IP6
	done

	ip -n "$NS_NODE" link add vup type veth peer name eth0 netns "$NS_UP"
	ip -n "$NS_NODE" addr add $NODEUP_IP/24 dev vup
	ip -n "$NS_NODE" addr add $NODEUP_IP6/64 dev vup nodad
	ip -n "$NS_NODE" link set vup up
	ip -n "$NS_UP" addr add $UP_IP/24 dev eth0
	ip -n "$NS_UP" addr add $UP_IP6/64 dev eth0 nodad
	ip -n "$NS_UP" link set eth0 up
	ip -n "$NS_UP" route add 10.244.0.0/16 via $NODEUP_IP
	ip -n "$NS_UP" -6 route add fd00:244::/64 via $NODEUP_IP6

	case ${LAB_PROXY:-iptables} in
	iptables) setup_iptables ;;
	nftables) setup_nftables ;;
	*) die "unknown LAB_PROXY ${LAB_PROXY} (iptables, nftables)" ;;
	esac
	if [[ -n $NODELOCAL ]]; then
		[[ ${LAB_PROXY:-iptables} == iptables ]] || die "LAB_NODELOCAL needs LAB_PROXY=iptables"
		setup_nodelocal
	fi

	# The app pods resolve through the service VIP, as kubelet writes it.
	for ns in $NS_APP ${HAVE_APP2:+$NS_APP2}; do
		mkdir -p /etc/netns/"$ns"
		cat >/etc/netns/"$ns"/resolv.conf <<EOF
search default.svc.cluster.local svc.cluster.local cluster.local
nameserver $VIP
options ndots:5
EOF
	done

	setup_pod_context
	write_nsd_conf
	write_unbound_conf

	# Servers. Outputs go to files in LAB_DIR; pids are tracked through netns and cgroups.
	start_in "$NS_UP" "" "$LAB_DIR/nsd.out" nsd -d -c "$LAB_DIR/nsd/nsd.conf"
	start_in "$NS_DNS" "$CG_DNS" "$LAB_DIR/unbound.out" unbound -d -c "$LAB_DIR/unbound.conf"
	if [[ -n $NODELOCAL ]]; then
		write_nodelocal_conf
		start_in "$NS_NODE" "" "$LAB_DIR/nodelocal.out" unbound -d -c "$LAB_DIR/nodelocal.conf"
	fi
	# A long-lived process in the app pod (its "pause"), so netns discovery through /proc
	# finds the pod and its cgroup even when no client runs.
	start_in "$NS_APP" "$CG_APP" /dev/null sleep infinity
	[[ -z $HAVE_APP2 ]] || start_in "$NS_APP2" "$CG_APP2" /dev/null sleep infinity

	wait_dns "$NS_UP" "$UP_IP" www.example.test
	wait_dns "$NS_APP" "$VIP" kube-dns.kube-system.svc.cluster.local
	wait_dns "$NS_APP" "$VIP" www.example.test
	[[ -z $HAVE_APP2 ]] || wait_dns "$NS_APP2" "$VIP" www.example.test
	[[ -z $NODELOCAL ]] || wait_dns "$NS_APP" "$NODELOCAL_IP" www.example.test
	UP_DONE=1
	env_out
}

setup_iptables() {
	# kube-proxy iptables mode, as iptables-save shows it on a node (hash names are fixed).
	local ipt
	for ipt in iptables ip6tables; do
		local vip=$VIP/32 ep=$DNS_IP:53
		if [[ $ipt == ip6tables ]]; then vip=$VIP6/128 ep=[$DNS_IP6]:53; fi
		nsx "$NS_NODE" $ipt -t nat -N KUBE-SERVICES
		nsx "$NS_NODE" $ipt -t nat -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
		nsx "$NS_NODE" $ipt -t nat -A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
		local p svc sep pn
		for p in udp tcp; do
			if [[ $p == udp ]]; then
				pn=dns svc=KUBE-SVC-TCOU7JCQXEZGVUNU sep=KUBE-SEP-IT2ZTR26TO4XFPTO
			else
				pn=dns-tcp svc=KUBE-SVC-ERIFXISQEP7F7OF4 sep=KUBE-SEP-ZXMNUKOKXUTL2MK2
			fi
			nsx "$NS_NODE" $ipt -t nat -N $svc
			nsx "$NS_NODE" $ipt -t nat -N $sep
			nsx "$NS_NODE" $ipt -t nat -A KUBE-SERVICES -d $vip -p $p -m comment \
				--comment "kube-system/kube-dns:$pn cluster IP" -m $p --dport 53 -j $svc
			nsx "$NS_NODE" $ipt -t nat -A $svc -m comment \
				--comment "kube-system/kube-dns:$pn -> $ep" -j $sep
			nsx "$NS_NODE" $ipt -t nat -A $sep -p $p -m comment \
				--comment "kube-system/kube-dns:$pn" -m $p -j DNAT --to-destination $ep
		done
	done
}

setup_nftables() {
	# kube-proxy nftables mode, as `nft list table ip kube-proxy` shows it on a node: the
	# service-ips verdict map keyed by address . protocol . port, each element commented with
	# the service port name, a chain per service and one per endpoint (hash names fixed).
	command -v nft >/dev/null || die "missing tool: nft (LAB_PROXY=nftables)"
	local fam vip ep addr
	for fam in ip ip6; do
		vip=$VIP ep=$DNS_IP:53 addr=ipv4_addr
		if [[ $fam == ip6 ]]; then vip=$VIP6 ep=[$DNS_IP6]:53 addr=ipv6_addr; fi
		nsx "$NS_NODE" nft -f - <<EOF
table $fam kube-proxy {
	comment "rules for kube-proxy"
	map service-ips {
		type $addr . inet_proto . inet_service : verdict
		comment "ClusterIP, ExternalIP and LoadBalancer IP traffic"
	}
	chain endpoint-5OJB2KTY-kube-system/kube-dns/udp/dns {
		meta l4proto udp dnat to $ep
	}
	chain endpoint-7PMD3CEK-kube-system/kube-dns/tcp/dns-tcp {
		meta l4proto tcp dnat to $ep
	}
	chain service-FKJ6XQ3G-kube-system/kube-dns/udp/dns {
		goto endpoint-5OJB2KTY-kube-system/kube-dns/udp/dns
	}
	chain service-ERIFXISQ-kube-system/kube-dns/tcp/dns-tcp {
		goto endpoint-7PMD3CEK-kube-system/kube-dns/tcp/dns-tcp
	}
	chain services {
		$fam daddr . meta l4proto . th dport vmap @service-ips
	}
	chain nat-prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		jump services
	}
	chain nat-output {
		type nat hook output priority -110; policy accept;
		jump services
	}
}
add element $fam kube-proxy service-ips { $vip . udp . 53 comment "kube-system/kube-dns:dns" : goto service-FKJ6XQ3G-kube-system/kube-dns/udp/dns }
add element $fam kube-proxy service-ips { $vip . tcp . 53 comment "kube-system/kube-dns:dns-tcp" : goto service-ERIFXISQ-kube-system/kube-dns/tcp/dns-tcp }
EOF
	done
}

setup_nodelocal() {
	# kube-dns-upstream: a second service in front of the CoreDNS pod, as kube-proxy writes it.
	local ipt p pn svc sep
	for p in udp tcp; do
		if [[ $p == udp ]]; then
			pn=dns svc=KUBE-SVC-QAIUW7BQLOLTW4FR sep=KUBE-SEP-5NBIUCVNT3ROWDDD
		else
			pn=dns-tcp svc=KUBE-SVC-G4BYZO5SXW4ORBVQ sep=KUBE-SEP-JV5DJ2GTZ6DNLYGL
		fi
		ipt="nsx $NS_NODE iptables -t nat"
		$ipt -N $svc
		$ipt -N $sep
		$ipt -A KUBE-SERVICES -d $UPSTREAM_VIP/32 -p $p -m comment \
			--comment "kube-system/kube-dns-upstream:$pn cluster IP" -m $p --dport 53 -j $svc
		$ipt -A $svc -m comment --comment "kube-system/kube-dns-upstream:$pn -> $DNS_IP:53" -j $sep
		$ipt -A $sep -p $p -m comment --comment "kube-system/kube-dns-upstream:$pn" -m $p \
			-j DNAT --to-destination $DNS_IP:53
	done
	# node-local-dns's interface, addresses and NOTRACK rules (its iptables "setup" step).
	# A dummy interface on a node; this kernel has no dummy driver, and a bridge without ports
	# holds local addresses the same way.
	ip -n "$NS_NODE" link add nodelocaldns type dummy 2>/dev/null ||
		ip -n "$NS_NODE" link add nodelocaldns type bridge
	ip -n "$NS_NODE" addr add $NODELOCAL_IP/32 dev nodelocaldns
	ip -n "$NS_NODE" addr add $VIP/32 dev nodelocaldns
	ip -n "$NS_NODE" link set nodelocaldns up
	local a
	for a in $NODELOCAL_IP $VIP; do
		for p in udp tcp; do
			nsx "$NS_NODE" iptables -t raw -A PREROUTING -d $a/32 -p $p --dport 53 -j NOTRACK
			nsx "$NS_NODE" iptables -t raw -A OUTPUT -s $a/32 -p $p --sport 53 -j NOTRACK
		done
	done
	# The node's own queries to a ClusterIP need a route before OUTPUT's DNAT picks the pod.
	ip -n "$NS_NODE" route add 10.96.0.0/12 dev cbr0 src $BR_IP
	for ns in $NS_APP ${HAVE_APP2:+$NS_APP2}; do
		ip -n "$ns" route add $NODELOCAL_IP/32 via $BR_IP
	done
}

write_nodelocal_conf() {
	# node-local-dns's Corefile role: cache, and every query over TCP to kube-dns-upstream.
	cat >"$LAB_DIR/nodelocal.conf" <<EOF
server:
	interface: $NODELOCAL_IP
	interface: $VIP
	port: 53
	do-ip4: yes
	do-ip6: no
	do-udp: yes
	do-tcp: yes
	tcp-upstream: yes
	num-threads: 1
	username: ""
	chroot: ""
	directory: "$LAB_DIR"
	pidfile: "$LAB_DIR/nodelocal.pid"
	use-syslog: no
	logfile: ""
	verbosity: 0
	access-control: 0.0.0.0/0 allow
	module-config: "iterator"
	qname-minimisation: no
	prefetch: no
	cache-max-ttl: 0
	cache-max-negative-ttl: 0
	do-not-query-localhost: no
	local-zone: "test." nodefault
forward-zone:
	name: "."
	forward-addr: $UPSTREAM_VIP
EOF
}

setup_pod_context() {
	# shellcheck disable=SC2086
	mkdir -p $CG_APP $CG_DNS
	local d
	d=$POD_LOGS/${APP_K8S_NS}_${APP_POD}_$APP_UID/$APP_CONTAINER
	mkdir -p "$d" && : >"$d/0.log"
	if [[ -n $HAVE_APP2 ]]; then
		# shellcheck disable=SC2086
		mkdir -p $CG_APP2
		d=$POD_LOGS/${APP_K8S_NS}_${APP2_POD}_$APP2_UID/$APP_CONTAINER
		mkdir -p "$d" && : >"$d/0.log"
	fi
	d=$POD_LOGS/${DNS_K8S_NS}_${DNS_POD}_$DNS_UID/$DNS_CONTAINER
	mkdir -p "$d" && : >"$d/0.log"
}

# start_in NETNS CGROUP OUT CMD...: CMD in the netns (and cgroup, if given), in the background.
start_in() {
	local ns=$1 cg=$2 out=$3
	shift 3
	(
		if [[ -n $cg ]]; then cg_join "$cg" $BASHPID; fi
		exec setsid ip netns exec "$ns" "$@" </dev/null >"$out" 2>&1
	) &
}

wait_dns() { # wait_dns NETNS SERVER NAME: until SERVER answers (5 s)
	local end=$((SECONDS + 5))
	while ((SECONDS < end)); do
		if nsx "$1" dig +time=1 +tries=1 +short @"$2" "$3" A 2>/dev/null | grep -q .; then
			return 0
		fi
		sleep 0.1
	done
	echo "lab.sh: no answer from $2 in $1 for $3" >&2
	cat "$LAB_DIR"/*.out >&2 2>/dev/null || true
	return 1
}

write_nsd_conf() {
	mkdir -p "$LAB_DIR/nsd"
	cat >"$LAB_DIR/nsd/nsd.conf" <<EOF
server:
	ip-address: $UP_IP
	ip-address: $UP_IP6
	port: 53
	server-count: 1
	username: ""
	chroot: ""
	zonesdir: "$LAB_DIR/nsd"
	database: ""
	zonelistfile: "$LAB_DIR/nsd/zone.list"
	xfrdfile: "$LAB_DIR/nsd/xfrd.state"
	xfrdir: "$LAB_DIR/nsd"
	pidfile: "$LAB_DIR/nsd/nsd.pid"
	logfile: "$LAB_DIR/nsd/nsd.log"
	hide-version: yes
	verbosity: 0
	refuse-any: no
	# No response rate limiting: the lab and the benchmark send far past its 200 qps.
	rrl-ratelimit: 0
	rrl-whitelist-ratelimit: 0
remote-control:
	control-enable: no
zone:
	name: example.test
	zonefile: example.test.zone
# Configured but never loadable: nsd answers SERVFAIL for it, an upstream error.
zone:
	name: broken.test
	zonefile: broken.test.zone
EOF
	local big="" i
	# A TXT set well past 1232 bytes: over UDP it comes back truncated, then over TCP.
	for i in $(seq -w 1 12); do
		big+=$'\n\t'"\"chunk-$i $(printf 'x%.0s' $(seq 180))\""
	done
	cat >"$LAB_DIR/nsd/example.test.zone" <<EOF
\$ORIGIN example.test.
\$TTL 60
@	IN SOA ns1 hostmaster 2026112601 3600 600 86400 60
@	IN NS ns1
@	IN MX 10 mail
ns1	IN A $UP_IP
ns1	IN AAAA $UP_IP6
www	IN A 192.0.2.10
www	IN A 192.0.2.11
www	IN AAAA 2001:db8::10
alias	IN CNAME www
mail	IN A 192.0.2.25
txt	IN TXT "dnsreel lab" "v=spf1 -all"
_sip._udp IN SRV 10 60 5060 sip
sip	IN A 192.0.2.50
big	IN TXT ($big
	)
; Any name under w.example.test answers: tests make up unique names per scenario.
*.w	IN A 192.0.2.77
*.w	IN AAAA 2001:db8::77
EOF
}

write_unbound_conf() {
	cat >"$LAB_DIR/unbound.conf" <<EOF
server:
	interface: 0.0.0.0
	interface: ::
	port: 53
	do-ip4: yes
	do-ip6: yes
	do-udp: yes
	do-tcp: yes
	num-threads: ${LAB_UNBOUND_THREADS:-1}
	username: ""
	chroot: ""
	directory: "$LAB_DIR"
	pidfile: "$LAB_DIR/unbound.pid"
	use-syslog: no
	logfile: ""
	verbosity: 0
	access-control: 0.0.0.0/0 allow
	access-control: ::/0 allow
	module-config: "iterator"
	qname-minimisation: no
	prefetch: no
	serve-expired: no
	# Effectively no cache: every forwarded query goes upstream, so the lab shows that hop.
	cache-max-ttl: 0
	cache-max-negative-ttl: 0
	do-not-query-localhost: no
	# "test." is a special-use zone unbound answers NXDOMAIN for by default; the lab's
	# upstream zones live under it.
	local-zone: "test." nodefault
	# CoreDNS's "kubernetes" plugin role: cluster.local answered here, the rest NXDOMAIN.
	local-zone: "cluster.local." static
	local-data: "kube-dns.kube-system.svc.cluster.local. 5 IN A $VIP"
	local-data: "kube-dns.kube-system.svc.cluster.local. 5 IN AAAA $VIP6"
	local-data: "web.default.svc.cluster.local. 5 IN A 10.96.0.20"
	local-data: "web.default.svc.cluster.local. 5 IN AAAA fd00:96::14"
	local-data: "_http._tcp.web.default.svc.cluster.local. 5 IN SRV 0 100 80 web.default.svc.cluster.local."
	local-data: "db.prod.svc.cluster.local. 5 IN A 10.96.0.30"
	local-data: "_postgres._tcp.db.prod.svc.cluster.local. 5 IN SRV 0 100 5432 db.prod.svc.cluster.local."
	local-data: "dnsclient.default.pod.cluster.local. 5 IN A $APP_IP"
	local-data: "dnsclient.default.pod.cluster.local. 5 IN AAAA $APP_IP6"
	local-data: "flowsvc.default.svc.cluster.local. 5 IN A 10.96.0.40"
	# LAB_UNBOUND_EXTRA: more server: lines for a scenario (e.g. a local-zone that refuses)
	${LAB_UNBOUND_EXTRA:-}
forward-zone:
	name: "."
	forward-addr: $UP_IP
EOF
	# LAB_DNSTAP_SOCKET: unbound also reports every client and forwarder message over dnstap
	[[ -z ${LAB_DNSTAP_SOCKET:-} ]] || cat >>"$LAB_DIR/unbound.conf" <<EOF
dnstap:
	dnstap-enable: yes
	dnstap-socket-path: "$LAB_DNSTAP_SOCKET"
	dnstap-send-identity: yes
	dnstap-identity: "lab-unbound"
	dnstap-send-version: yes
	dnstap-log-client-query-messages: yes
	dnstap-log-client-response-messages: yes
	dnstap-log-forwarder-query-messages: yes
	dnstap-log-forwarder-response-messages: yes
EOF
}

# ---- env ----------------------------------------------------------------------------------
env_out() {
	cat <<EOF
export LAB_ID=$LAB_ID
LAB_DIR=$LAB_DIR
LAB_NS_NODE=$NS_NODE
LAB_NS_APP=$NS_APP
LAB_NS_DNS=$NS_DNS
LAB_NS_UP=$NS_UP
LAB_NETNS='$ALL_NS'
LAB_NS_APP2=${HAVE_APP2:+$NS_APP2}
LAB_APP2_IP=$APP2_IP
LAB_APP2_IP6=$APP2_IP6
LAB_APP2_POD=$APP2_POD
LAB_CGROUP_APP2='${HAVE_APP2:+$CG_APP2}'
LAB_APP2_POD_UID=$APP2_UID
LAB_APP_IP=$APP_IP
LAB_APP_IP6=$APP_IP6
LAB_DNS_IP=$DNS_IP
LAB_DNS_IP6=$DNS_IP6
LAB_BR_IP=$BR_IP
LAB_BR_IP6=$BR_IP6
LAB_NODEUP_IP=$NODEUP_IP
LAB_NODEUP_IP6=$NODEUP_IP6
LAB_UP_IP=$UP_IP
LAB_UP_IP6=$UP_IP6
LAB_VIP=$VIP
LAB_VIP6=$VIP6
LAB_NODELOCAL=$NODELOCAL
LAB_NODELOCAL_IP=$NODELOCAL_IP
LAB_UPSTREAM_VIP=$UPSTREAM_VIP
LAB_ZONE=example.test
LAB_POD_LOGS=$POD_LOGS
LAB_LAYOUT=$LAYOUT
LAB_CGROUP_APP='$CG_APP'
LAB_CGROUP_DNS='$CG_DNS'
LAB_APP_K8S_NS=$APP_K8S_NS
LAB_APP_POD=$APP_POD
LAB_APP_CONTAINER=$APP_CONTAINER
LAB_APP_POD_UID=$APP_UID
LAB_APP_CONTAINER_ID=$APP_CID
LAB_DNS_K8S_NS=$DNS_K8S_NS
LAB_DNS_POD=$DNS_POD
LAB_DNS_CONTAINER=$DNS_CONTAINER
LAB_DNS_POD_UID=$DNS_UID
LAB_DNS_CONTAINER_ID=$DNS_CID
LAB_SERVICES='$VIP:53=kube-system/kube-dns [$VIP6]:53=kube-system/kube-dns'
LAB_NODE_NAME=lab-node-$LAB_ID
EOF
}

# ---- exec ---------------------------------------------------------------------------------
lab_exec() { # lab_exec ROLE CMD...: in the role's netns; pods also in their container cgroup
	local role=$1 ns cg=""
	shift
	case $role in
	app) ns=$NS_APP cg=$CG_APP ;;
	app2) ns=$NS_APP2 cg=$CG_APP2 ;;
	dns) ns=$NS_DNS cg=$CG_DNS ;;
	node) ns=$NS_NODE ;;
	up) ns=$NS_UP ;;
	*) die "exec: unknown role $role (app, app2, dns, node, up)" ;;
	esac
	[[ -d /run/netns && -e /run/netns/$ns ]] || die "lab $LAB_ID is not up"
	if [[ -n $cg ]]; then cg_join "$cg" $$; fi
	exec ip netns exec "$ns" "$@"
}

# ---- down ---------------------------------------------------------------------------------
kill_cgroup() {
	local cg=$1 i
	[[ -d $cg ]] || return 0
	if [[ -e $cg/cgroup.kill ]]; then
		echo 1 >"$cg/cgroup.kill" 2>/dev/null || true
	else
		xargs -r kill -9 <"$cg/cgroup.procs" 2>/dev/null || true
	fi
	# Killed tasks stay in the cgroup (rmdir: EBUSY) until their parent reaps them, and an
	# orphan's new parent (init) may take a while: retry for up to 5 s.
	for i in $(seq 100); do
		rmdir "$cg" 2>/dev/null && break
		sleep 0.05
	done
	rmdir "$(dirname "$cg")" 2>/dev/null || true
	[[ ! -d $cg ]] || echo "lab.sh: could not remove cgroup $cg" >&2
}

# Empty pod cgroups left by labs that were killed mid-down (older than a minute, so a lab being
# built right now is not touched).
gc() {
	local cg2 d
	cg2=$(cgroup2_root)
	[[ -n $cg2 ]] || return 0
	for d in "$cg2"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod*.slice \
		"$cg2"/kubepods.slice/kubepods-pod*.slice \
		$(cgroup1_roots | sed 's|$|/kubepods/burstable/pod*|'); do
		[[ -d $d ]] || continue
		[[ -n $(find "$d" -maxdepth 0 -mmin +1) ]] || continue
		rmdir "$d"/cri-containerd-*.scope "$d"/docker-*.scope "$d"/crio-* 2>/dev/null || true
		rmdir "$d" 2>/dev/null && echo "removed $d"
	done
	# resolv.conf folders of lab app pods whose netns is gone
	for d in /etc/netns/*-app; do
		[[ -f $d/resolv.conf && ! -e /run/netns/$(basename "$d") ]] || continue
		grep -q "^nameserver 10.96.0.10$" "$d/resolv.conf" || continue
		rm -rf "$d" && echo "removed $d"
	done
	return 0
}

down() {
	need_id
	set_names
	local ns pids i
	for ns in $NS_NODE $NS_APP $NS_APP2 $NS_DNS $NS_UP; do
		[[ -e /run/netns/$ns ]] || continue
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		if [[ -n $pids ]]; then
			# shellcheck disable=SC2086
			kill -9 $pids 2>/dev/null || true
		fi
	done
	if [[ -n $CG2 ]]; then
		local c
		for c in $CG_APP $CG_APP2 $CG_DNS; do kill_cgroup "$c"; done
		# Shared parents go once no lab (or anything else) uses them.
		for c in $CG_BASE; do
			rmdir "$c" 2>/dev/null || true
			rmdir "$(dirname "$c")" 2>/dev/null || true
		done
	fi
	for ns in $NS_NODE $NS_APP $NS_APP2 $NS_DNS $NS_UP; do
		for i in 1 2 3 4 5; do
			[[ -e /run/netns/$ns ]] || break
			pids=$(ip netns pids "$ns" 2>/dev/null || true)
			# shellcheck disable=SC2086
			[[ -z $pids ]] || kill -9 $pids 2>/dev/null || true
			ip netns del "$ns" 2>/dev/null || sleep 0.1
		done
		rm -rf "/etc/netns/$ns"
		[[ ! -e /run/netns/$ns ]] || echo "lab.sh: could not delete netns $ns" >&2
	done
	rm -rf "$LAB_DIR"
}

list() {
	ip netns list | awk '{print $1}' | sed -n 's/-node$//p'
}

# restart_dns: unbound again with the current LAB_DNSTAP_SOCKET, in the same netns and cgroup
restart_dns() {
	local pid i
	pid=$(cat "$LAB_DIR/unbound.pid" 2>/dev/null) || die "lab $LAB_ID: no unbound.pid"
	kill "$pid" 2>/dev/null || true
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && die "unbound $pid did not stop"
	write_unbound_conf
	start_in "$NS_DNS" "$CG_DNS" "$LAB_DIR/unbound.out" unbound -d -c "$LAB_DIR/unbound.conf"
	wait_dns "$NS_DNS" "$DNS_IP" www.example.test
}

cmd=${1:-}
shift || true
case $cmd in
up) up ;;
down) down ;;
env)
	need_id
	set_names
	env_out
	;;
exec)
	need_id
	set_names
	[[ $# -ge 2 ]] || die "usage: lab.sh exec ROLE CMD..."
	lab_exec "$@"
	;;
restart-dns)
	need_id
	set_names
	restart_dns
	;;
list) list ;;
gc) gc ;;
-h | --help | help)
	sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
	;;
*)
	echo "usage: LAB_ID=ID lab.sh up|down|env|exec ROLE CMD...|list|gc" >&2
	exit 2
	;;
esac
