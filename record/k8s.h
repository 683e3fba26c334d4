/* Kubernetes and container context for the recorder: pod UID and container ID from a
 * /proc/PID/cgroup text, pod and container names from the kubelet's log folders, docker names,
 * service VIPs from --service arguments and kube-proxy iptables comments. Parsers take text so
 * they are unit-tested without a cluster; lookups take a host root.
 */
#ifndef DNSREEL_RECORD_K8S_H
#define DNSREEL_RECORD_K8S_H

#include <stddef.h>
#include <stdint.h>

#include "capture.h"

/* From the text of /proc/PID/cgroup (v1 or v2, systemd or cgroupfs driver): the pod UID
 * (dashes, as the API shows it) from a "pod<uid>" path element and the container ID from
 * "cri-containerd-<64hex>.scope", "crio-<64hex>.scope", "docker-<64hex>.scope" or a 64-hex last
 * element. Also returns the cgroup path of the first (v2 or name=systemd) line in path.
 * Empty strings when absent. Returns 0. */
int dnsreel_cgroup_parse(const char *text, char *pod_uid, size_t uid_len, char *cid, size_t cid_len,
			 char *path, size_t path_len);

/* Looks for POD_LOGS/<namespace>_<podname>_<uid>/ and fills ns->k8s_namespace,
 * k8s_podname, k8s_pod_uid; k8s_containername from CONTAINERS_LOGS/<pod>_<ns>_<name>-<cid>.log
 * when cid matches, else the only container folder of the pod. Docker: runtime_containername
 * from DOCKER_DIR/<cid>/config.v2.json "Name". Any argument may be NULL/empty.
 * Returns 0 when the pod was found, -ENOENT otherwise. */
int dnsreel_k8s_lookup(const char *pod_logs, const char *containers_logs, const char *docker_dir,
		       const char *pod_uid, const char *cid, struct dnsreel_netns_ctx *ns);

/* "IP[:PORT]=NAMESPACE/NAME", IPv6 as "[fd00::10]:53=ns/name" or bare "fd00::10=ns/name".
 * Returns 0 or -EINVAL. */
int dnsreel_service_parse(const char *arg, struct dnsreel_service_ctx *svc);

/* Scans iptables-save output for kube-proxy service rules
 * ("-d 10.96.0.10/32 -p udp -m comment --comment "kube-system/kube-dns:dns cluster IP" ...
 * --dport 53") and calls fn for each. Returns the number found. */
typedef void (*dnsreel_service_fn)(void *arg, const struct dnsreel_service_ctx *svc);
int dnsreel_iptables_parse(const char *text, dnsreel_service_fn fn, void *arg);

/* Scans `nft -j list map ip kube-proxy service-ips` output (one or more JSON documents, back to
 * back) for kube-proxy's nftables-mode service maps: elements "ADDR . PROTO . PORT" with the
 * comment "NS/NAME:PORTNAME", and calls fn for each. Returns the number found or -EINVAL when
 * the text is not JSON. */
int dnsreel_nft_json_parse(const char *text, size_t len, dnsreel_service_fn fn, void *arg);

#endif
