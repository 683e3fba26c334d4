/* Pod, container and service context from cgroups, kubelet log folders, iptables text and
 * nftables JSON. */
#include "k8s.h"

#include <ctype.h>
#include <stdbool.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

static void copy(char *dst, size_t n, const char *src, size_t len)
{
	if (!n)
		return;
	if (len >= n)
		len = n - 1;
	memcpy(dst, src, len);
	dst[len] = 0;
}

static bool is_hex64(const char *s, size_t len)
{
	if (len != 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* One path element: pod UID or container ID? */
static void element(const char *e, size_t len, char *uid, size_t uid_len, char *cid, size_t cid_len)
{
	/* strip ".slice" / ".scope" */
	if (len > 6 && (!memcmp(e + len - 6, ".slice", 6) || !memcmp(e + len - 6, ".scope", 6)))
		len -= 6;
	const char *pod = NULL;
	for (size_t i = 0; i + 3 < len; i++) {
		if (!memcmp(e + i, "pod", 3) && (i == 0 || e[i - 1] == '-' || e[i - 1] == '_')) {
			pod = e + i + 3;
			break;
		}
	}
	if (pod && !uid[0]) {
		size_t n = len - (size_t)(pod - e);
		if (n >= 32 && n < 40) {
			char tmp[40];
			for (size_t i = 0; i < n; i++)
				tmp[i] = pod[i] == '_' ? '-' : pod[i];
			copy(uid, uid_len, tmp, n);
			return;
		}
	}
	static const char *const prefixes[] = {"cri-containerd-", "crio-", "docker-", ""};
	for (size_t k = 0; k < 4; k++) {
		size_t pl = strlen(prefixes[k]);
		if (len >= pl && !memcmp(e, prefixes[k], pl) && is_hex64(e + pl, len - pl)) {
			copy(cid, cid_len, e + pl, 64);
			return;
		}
	}
}

int dnsreel_cgroup_parse(const char *text, char *pod_uid, size_t uid_len, char *cid, size_t cid_len,
			 char *path, size_t path_len)
{
	if (uid_len)
		pod_uid[0] = 0;
	if (cid_len)
		cid[0] = 0;
	if (path_len)
		path[0] = 0;
	const char *line = text;
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t ll = nl ? (size_t)(nl - line) : strlen(line);
		/* "hierarchy-ID:controllers:path" */
		const char *c1 = memchr(line, ':', ll);
		const char *c2 = c1 ? memchr(c1 + 1, ':', ll - (size_t)(c1 + 1 - line)) : NULL;
		if (c2) {
			const char *p = c2 + 1;
			size_t pl = ll - (size_t)(p - line);
			bool primary = (c2 == c1 + 1) || !memcmp(c1 + 1, "name=systemd", 12);
			if (path_len && (!path[0] || primary) && pl)
				copy(path, path_len, p, pl);
			const char *e = p;
			while (e < p + pl) {
				const char *s = memchr(e, '/', (size_t)(p + pl - e));
				size_t el = s ? (size_t)(s - e) : (size_t)(p + pl - e);
				if (el)
					element(e, el, pod_uid, uid_len, cid, cid_len);
				e += el + 1;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	return 0;
}

static int read_small(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	size_t n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	fclose(f);
	return (int)n;
}

int dnsreel_k8s_lookup(const char *pod_logs, const char *containers_logs, const char *docker_dir,
		       const char *pod_uid, const char *cid, struct dnsreel_netns_ctx *ns)
{
	int found = -ENOENT;
	char path[4096];

	if (cid && cid[0] && docker_dir && docker_dir[0]) {
		char buf[65536];
		snprintf(path, sizeof(path), "%s/%s/config.v2.json", docker_dir, cid);
		if (read_small(path, buf, sizeof(buf)) > 0) {
			const char *n = strstr(buf, "\"Name\":\"");
			if (n) {
				n += 8;
				if (*n == '/')
					n++;
				const char *e = strchr(n, '"');
				if (e)
					copy(ns->runtime_containername,
					     sizeof(ns->runtime_containername), n, (size_t)(e - n));
			}
		}
		copy(ns->runtime_containerid, sizeof(ns->runtime_containerid), cid, strlen(cid));
	}
	if (!pod_uid || !pod_uid[0] || !pod_logs || !pod_logs[0])
		return found;
	DIR *d = opendir(pod_logs);
	if (!d)
		return found;
	struct dirent *de;
	size_t ul = strlen(pod_uid);
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l <= ul + 2 || strcmp(de->d_name + l - ul, pod_uid) ||
		    de->d_name[l - ul - 1] != '_')
			continue;
		/* <namespace>_<podname>_<uid>: namespaces have no '_', pod names neither. */
		const char *u1 = strchr(de->d_name, '_');
		if (!u1 || u1 >= de->d_name + l - ul - 1)
			continue;
		copy(ns->k8s_namespace, sizeof(ns->k8s_namespace), de->d_name,
		     (size_t)(u1 - de->d_name));
		copy(ns->k8s_podname, sizeof(ns->k8s_podname), u1 + 1,
		     (size_t)(de->d_name + l - ul - 1 - (u1 + 1)));
		copy(ns->k8s_pod_uid, sizeof(ns->k8s_pod_uid), pod_uid, ul);
		found = 0;
		/* Container name: by container ID through /var/log/containers, else the pod's
		 * only container folder. */
		bool named = false;
		if (cid && cid[0] && containers_logs && containers_logs[0]) {
			DIR *cd = opendir(containers_logs);
			if (cd) {
				struct dirent *ce;
				char pre[512];
				snprintf(pre, sizeof(pre), "%s_%s_", ns->k8s_podname,
					 ns->k8s_namespace);
				size_t pl = strlen(pre), cl = strlen(cid);
				while ((ce = readdir(cd))) {
					size_t el = strlen(ce->d_name);
					if (el < pl + cl + 6 || strncmp(ce->d_name, pre, pl) ||
					    strcmp(ce->d_name + el - 4, ".log") ||
					    strncmp(ce->d_name + el - 4 - cl, cid, cl) ||
					    ce->d_name[el - 5 - cl] != '-')
						continue;
					copy(ns->k8s_containername, sizeof(ns->k8s_containername),
					     ce->d_name + pl, el - 5 - cl - pl);
					named = true;
					break;
				}
				closedir(cd);
			}
		}
		if (!named) {
			snprintf(path, sizeof(path), "%s/%s", pod_logs, de->d_name);
			DIR *pd = opendir(path);
			if (pd) {
				struct dirent *pe;
				int n = 0;
				char only[DNSREEL_SHORT_LEN] = "";
				while ((pe = readdir(pd))) {
					if (pe->d_name[0] == '.')
						continue;
					n++;
					copy(only, sizeof(only), pe->d_name, strlen(pe->d_name));
				}
				closedir(pd);
				if (n == 1)
					copy(ns->k8s_containername, sizeof(ns->k8s_containername),
					     only, strlen(only));
			}
		}
		break;
	}
	closedir(d);
	/* CRI runtimes (containerd, CRI-O) name a container as kubelet does: what crictl and
	 * trace_dns show as runtime.containerName */
	if (!ns->runtime_containername[0] && ns->k8s_containername[0])
		copy(ns->runtime_containername, sizeof(ns->runtime_containername),
		     ns->k8s_containername, strlen(ns->k8s_containername));
	return found;
}

int dnsreel_service_parse(const char *arg, struct dnsreel_service_ctx *svc)
{
	memset(svc, 0, sizeof(*svc));
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg)
		return -EINVAL;
	const char *slash = strchr(eq + 1, '/');
	if (!slash || slash == eq + 1 || !slash[1])
		return -EINVAL;
	char host[128];
	size_t hl = (size_t)(eq - arg);
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, arg, hl);
	host[hl] = 0;
	char *port = NULL;
	char *h = host;
	if (h[0] == '[') {
		char *rb = strchr(h, ']');
		if (!rb)
			return -EINVAL;
		*rb = 0;
		h++;
		if (rb[1] == ':')
			port = rb + 2;
		else if (rb[1])
			return -EINVAL;
	} else {
		char *c = strchr(h, ':');
		if (c && !strchr(c + 1, ':')) { /* one colon: IPv4:port */
			*c = 0;
			port = c + 1;
		}
	}
	int v = dnsreel_parse_addr(h, svc->addr);
	if (!v)
		return -EINVAL;
	svc->ip_version = (uint8_t)v;
	if (port) {
		char *end;
		unsigned long p = strtoul(port, &end, 10);
		if (end == port || *end || p == 0 || p > 65535)
			return -EINVAL;
		svc->port = (uint16_t)p;
	}
	copy(svc->k8s_namespace, sizeof(svc->k8s_namespace), eq + 1, (size_t)(slash - eq - 1));
	copy(svc->name, sizeof(svc->name), slash + 1, strlen(slash + 1));
	return 0;
}

/* Value after "flag " in a rule line, up to a space (quoted values keep their spaces). */
static size_t rule_arg(const char *line, size_t ll, const char *flag, char *out, size_t outlen)
{
	size_t fl = strlen(flag);
	for (size_t i = 0; i + fl < ll; i++) {
		if (memcmp(line + i, flag, fl) || (i && line[i - 1] != ' '))
			continue;
		const char *v = line + i + fl;
		const char *end = line + ll;
		const char *e;
		if (*v == '"') {
			v++;
			e = memchr(v, '"', (size_t)(end - v));
		} else {
			e = memchr(v, ' ', (size_t)(end - v));
		}
		if (!e)
			e = end;
		copy(out, outlen, v, (size_t)(e - v));
		return (size_t)(e - v);
	}
	return 0;
}

int dnsreel_iptables_parse(const char *text, dnsreel_service_fn fn, void *arg)
{
	int n = 0;
	const char *line = text;
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t ll = nl ? (size_t)(nl - line) : strlen(line);
		char comment[512], dst[128], dport[16], proto[16];
		if (ll > 3 && !memcmp(line, "-A ", 3) &&
		    rule_arg(line, ll, "--comment ", comment, sizeof(comment)) &&
		    rule_arg(line, ll, "-d ", dst, sizeof(dst)) && strstr(comment, "cluster IP")) {
			/* "NS/NAME:PORTNAME cluster IP" */
			struct dnsreel_service_ctx svc;
			memset(&svc, 0, sizeof(svc));
			char *slash = strchr(comment, '/');
			char *sp = strchr(comment, ' ');
			char *colon = slash ? strchr(slash, ':') : NULL;
			if (colon && sp && colon > sp)
				colon = NULL;
			char *pfx = strchr(dst, '/');
			if (pfx)
				*pfx = 0;
			int v = dnsreel_parse_addr(dst, svc.addr);
			if (slash && sp && v && slash < sp) {
				svc.ip_version = (uint8_t)v;
				copy(svc.k8s_namespace, sizeof(svc.k8s_namespace), comment,
				     (size_t)(slash - comment));
				char *ne = colon ? colon : sp;
				copy(svc.name, sizeof(svc.name), slash + 1,
				     (size_t)(ne - slash - 1));
				if (rule_arg(line, ll, "--dport ", dport, sizeof(dport)))
					svc.port = (uint16_t)atoi(dport);
				if (rule_arg(line, ll, "-p ", proto, sizeof(proto)))
					svc.proto = !strcmp(proto, "udp")   ? 17
						    : !strcmp(proto, "tcp") ? 6
									    : 0;
				fn(arg, &svc);
				n++;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	return n;
}

/* "NS/NAME:PORTNAME" or "NS/NAME" (kube-proxy's ServicePortName) into svc. */
static bool svc_port_name(const char *c, struct dnsreel_service_ctx *svc)
{
	const char *slash = strchr(c, '/');
	if (!slash || slash == c || !slash[1])
		return false;
	const char *colon = strchr(slash, ':');
	const char *end = colon ? colon : slash + strlen(slash);
	if (end == slash + 1)
		return false;
	copy(svc->k8s_namespace, sizeof(svc->k8s_namespace), c, (size_t)(slash - c));
	copy(svc->name, sizeof(svc->name), slash + 1, (size_t)(end - slash - 1));
	return true;
}

/* A concat member: the port or protocol as nft prints it (number, or a name when not run
 * with numeric output). */
static long nft_number(json_t *v, const char *const *names, const long *values, size_t n)
{
	if (json_is_integer(v))
		return (long)json_integer_value(v);
	const char *s = json_string_value(v);
	if (!s)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, names[i]))
			return values[i];
	char *end;
	long x = strtol(s, &end, 10);
	return end != s && !*end ? x : -1;
}

static int nft_map(json_t *map, dnsreel_service_fn fn, void *arg)
{
	static const char *const protos[] = {"tcp", "udp", "sctp"};
	static const long proto_nums[] = {6, 17, 132};
	static const char *const ports[] = {"domain"};
	static const long port_nums[] = {53};
	const char *name = json_string_value(json_object_get(map, "name"));
	const char *table = json_string_value(json_object_get(map, "table"));
	json_t *elems = json_object_get(map, "elem");
	if (!name || !table || strcmp(table, "kube-proxy") || !json_is_array(elems))
		return 0;
	/* ClusterIPs and external IPs; the no-endpoints map names services without endpoints. */
	if (strcmp(name, "service-ips") && strcmp(name, "service-nodeports") &&
	    strcmp(name, "no-endpoint-services"))
		return 0;
	int found = 0;
	size_t i;
	json_t *pair;
	json_array_foreach(elems, i, pair)
	{
		json_t *el = json_object_get(json_array_get(pair, 0), "elem");
		const char *comment = json_string_value(json_object_get(el, "comment"));
		json_t *concat = json_object_get(json_object_get(el, "val"), "concat");
		const char *addr = json_string_value(json_array_get(concat, 0));
		if (!comment || !addr || json_array_size(concat) != 3)
			continue;
		struct dnsreel_service_ctx svc;
		memset(&svc, 0, sizeof(svc));
		int v = dnsreel_parse_addr(addr, svc.addr);
		long proto = nft_number(json_array_get(concat, 1), protos, proto_nums, 3);
		long port = nft_number(json_array_get(concat, 2), ports, port_nums, 1);
		if (!v || proto < 0 || proto > 255 || port < 0 || port > 65535 ||
		    !svc_port_name(comment, &svc))
			continue;
		svc.ip_version = (uint8_t)v;
		svc.proto = (uint8_t)proto;
		svc.port = (uint16_t)port;
		fn(arg, &svc);
		found++;
	}
	return found;
}

int dnsreel_nft_json_parse(const char *text, size_t len, dnsreel_service_fn fn, void *arg)
{
	int found = 0;
	size_t off = 0;
	while (off < len) {
		while (off < len && isspace((unsigned char)text[off]))
			off++;
		if (off == len)
			break;
		json_error_t jerr;
		json_t *doc = json_loadb(text + off, len - off, JSON_DISABLE_EOF_CHECK, &jerr);
		if (!doc)
			return -EINVAL;
		off += (size_t)jerr.position;
		json_t *list = json_object_get(doc, "nftables");
		size_t i;
		json_t *item;
		json_array_foreach(list, i, item)
		{
			json_t *map = json_object_get(item, "map");
			if (map)
				found += nft_map(map, fn, arg);
		}
		json_decref(doc);
		if (!jerr.position)
			break;
	}
	return found;
}
