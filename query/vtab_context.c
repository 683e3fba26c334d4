/* The context tables: what the recorder knew about each capture's network namespaces, pods,
 * processes and services, with a capture column, straight from the readers.
 *
 *   SELECT p.k8s_namespace, p.k8s_podname, count(*) FROM dns d JOIN pods p USING (netns_id)
 *   GROUP BY 1, 2;
 */
#include <arpa/inet.h>
#include <string.h>

#include "rowtab_int.h"

/* ---- netns -------------------------------------------------------------------------------- */

enum {
	NETNS_CAPTURE,
	NETNS_NETNS_ID,
	NETNS_NAME,
	NETNS_HOST,
	NETNS_GONE,
	NETNS_FIRST_SEEN,
	NETNS_K8S_NAMESPACE,
	NETNS_K8S_PODNAME,
	NETNS_K8S_POD_UID,
	NETNS_K8S_CONTAINERNAME,
	NETNS_RUNTIME_CONTAINERNAME,
	NETNS_RUNTIME_CONTAINERID,
	NETNS_IPS,
	NETNS_NCOLS
};
static const char netns_schema[] =
    "CREATE TABLE x(capture TEXT, netns_id INTEGER, name TEXT, host INTEGER, gone INTEGER, "
    "first_seen INTEGER, k8s_namespace TEXT, k8s_podname TEXT, k8s_pod_uid TEXT, "
    "k8s_containername TEXT, runtime_containername TEXT, runtime_containerid TEXT, ips TEXT)";

/* The pod and container identity of a netns, into six consecutive columns from first (netns
 * and pods list them in the same order). */
static void ns_identity(struct rowtab_cur *c, int first, const struct dnsreel_netns_ctx *ns)
{
	dnsreel_q_row_ctx(c, first, ns->k8s_namespace);
	dnsreel_q_row_ctx(c, first + 1, ns->k8s_podname);
	dnsreel_q_row_ctx(c, first + 2, ns->k8s_pod_uid);
	dnsreel_q_row_ctx(c, first + 3, ns->k8s_containername);
	dnsreel_q_row_ctx(c, first + 4, ns->runtime_containername);
	dnsreel_q_row_ctx(c, first + 5, ns->runtime_containerid);
}

static void netns_fill(struct rowtab_cur *c, const struct dnsreel_query *q, size_t ci)
{
	const struct dnsreel_capr *r = q->capr[ci];
	int64_t off = dnsreel_q_boot_to_wall(r);

	for (size_t i = 0; i < dnsreel_capr__netns_count(r); i++) {
		const struct dnsreel_netns_ctx *ns = dnsreel_capr__netns_at(r, i);

		dnsreel_q_row_text(c, NETNS_CAPTURE, q->paths[ci]);
		dnsreel_q_row_int(c, NETNS_NETNS_ID, (int64_t)ns->netns);
		dnsreel_q_row_ctx(c, NETNS_NAME, ns->name);
		dnsreel_q_row_int(c, NETNS_HOST, !!(ns->flags & DNSREEL_NETNS_HOST));
		dnsreel_q_row_int(c, NETNS_GONE, !!(ns->flags & DNSREEL_NETNS_GONE));
		dnsreel_q_row_int(c, NETNS_FIRST_SEEN,
				  ns->first_seen_ns ? ns->first_seen_ns + off : 0);
		ns_identity(c, NETNS_K8S_NAMESPACE, ns);
		dnsreel_q_row_ctx(c, NETNS_IPS, ns->ips);
		dnsreel_q_row_end(c);
	}
}

_Static_assert(NETNS_RUNTIME_CONTAINERID == NETNS_K8S_NAMESPACE + 5, "ns_identity columns");

static const struct rowtab netns_table = {netns_schema, NETNS_NCOLS, netns_fill};
const struct dnsreel_qtable dnsreel_qtable_netns = {"netns", &dnsreel_q_rowtab_module, &netns_table,
						    false};

/* ---- pods: the netns that belong to a pod ------------------------------------------------- */

enum {
	PODS_CAPTURE,
	PODS_K8S_NODE,
	PODS_K8S_NAMESPACE,
	PODS_K8S_PODNAME,
	PODS_K8S_POD_UID,
	PODS_K8S_CONTAINERNAME,
	PODS_RUNTIME_CONTAINERNAME,
	PODS_RUNTIME_CONTAINERID,
	PODS_NETNS_ID,
	PODS_IPS,
	PODS_NCOLS
};
static const char pods_schema[] =
    "CREATE TABLE x(capture TEXT, k8s_node TEXT, k8s_namespace TEXT, k8s_podname TEXT, "
    "k8s_pod_uid TEXT, k8s_containername TEXT, runtime_containername TEXT, "
    "runtime_containerid TEXT, netns_id INTEGER, ips TEXT)";

static void pods_fill(struct rowtab_cur *c, const struct dnsreel_query *q, size_t ci)
{
	const struct dnsreel_capr *r = q->capr[ci];
	const struct dnsreel_meta *m = dnsreel_capr__meta(r);

	for (size_t i = 0; i < dnsreel_capr__netns_count(r); i++) {
		const struct dnsreel_netns_ctx *ns = dnsreel_capr__netns_at(r, i);

		if (!ns->k8s_podname[0])
			continue;
		dnsreel_q_row_text(c, PODS_CAPTURE, q->paths[ci]);
		dnsreel_q_row_ctx(c, PODS_K8S_NODE, m ? m->node : NULL);
		ns_identity(c, PODS_K8S_NAMESPACE, ns);
		dnsreel_q_row_int(c, PODS_NETNS_ID, (int64_t)ns->netns);
		dnsreel_q_row_ctx(c, PODS_IPS, ns->ips);
		dnsreel_q_row_end(c);
	}
}

_Static_assert(PODS_RUNTIME_CONTAINERID == PODS_K8S_NAMESPACE + 5, "ns_identity columns");

static const struct rowtab pods_table = {pods_schema, PODS_NCOLS, pods_fill};
/* The index has no pods table, so the extension registers this one too. */
const struct dnsreel_qtable dnsreel_qtable_pods = {"pods", &dnsreel_q_rowtab_module, &pods_table,
						   true};

/* ---- processes ---------------------------------------------------------------------------- */

enum {
	PROC_CAPTURE,
	PROC_PID,
	PROC_PPID,
	PROC_START_NS,
	PROC_NETNS_ID,
	PROC_CGROUP_ID,
	PROC_UID,
	PROC_GID,
	PROC_COMM,
	PROC_CMDLINE,
	PROC_CGROUP,
	PROC_K8S_POD_UID,
	PROC_RUNTIME_CONTAINERID,
	PROC_NCOLS
};
static const char processes_schema[] =
    "CREATE TABLE x(capture TEXT, pid INTEGER, ppid INTEGER, start_ns INTEGER, "
    "netns_id INTEGER, cgroup_id INTEGER, uid INTEGER, gid INTEGER, comm TEXT, "
    "cmdline TEXT, cgroup TEXT, k8s_pod_uid TEXT, runtime_containerid TEXT)";

static void processes_fill(struct rowtab_cur *c, const struct dnsreel_query *q, size_t ci)
{
	const struct dnsreel_capr *r = q->capr[ci];

	for (size_t i = 0; i < dnsreel_capr__proc_count(r); i++) {
		const struct dnsreel_proc_ctx *p = dnsreel_capr__proc_at(r, i);
		char comm[sizeof(p->comm) + 1];

		memcpy(comm, p->comm, sizeof(p->comm));
		comm[sizeof(p->comm)] = 0;
		dnsreel_q_row_text(c, PROC_CAPTURE, q->paths[ci]);
		dnsreel_q_row_int(c, PROC_PID, p->pid);
		dnsreel_q_row_int(c, PROC_PPID, p->ppid);
		dnsreel_q_row_int(c, PROC_START_NS, (int64_t)p->start_ns);
		dnsreel_q_row_int(c, PROC_NETNS_ID, (int64_t)p->netns);
		dnsreel_q_row_int(c, PROC_CGROUP_ID, (int64_t)p->cgroup_id);
		dnsreel_q_row_int(c, PROC_UID, p->uid);
		dnsreel_q_row_int(c, PROC_GID, p->gid);
		dnsreel_q_row_ctx(c, PROC_COMM, comm);
		dnsreel_q_row_ctx(c, PROC_CMDLINE, p->cmdline);
		dnsreel_q_row_ctx(c, PROC_CGROUP, p->cgroup);
		dnsreel_q_row_ctx(c, PROC_K8S_POD_UID, p->k8s_pod_uid);
		dnsreel_q_row_ctx(c, PROC_RUNTIME_CONTAINERID, p->runtime_containerid);
		dnsreel_q_row_end(c);
	}
}

static const struct rowtab processes_table = {processes_schema, PROC_NCOLS, processes_fill};
const struct dnsreel_qtable dnsreel_qtable_processes = {"processes", &dnsreel_q_rowtab_module,
							&processes_table, false};

/* ---- services ----------------------------------------------------------------------------- */

enum { SVC_CAPTURE, SVC_ADDR, SVC_PORT, SVC_PROTO, SVC_K8S_NAMESPACE, SVC_NAME, SVC_NCOLS };
static const char services_schema[] = "CREATE TABLE x(capture TEXT, addr TEXT, port INTEGER, "
				      "proto INTEGER, k8s_namespace TEXT, name TEXT)";

static void services_fill(struct rowtab_cur *c, const struct dnsreel_query *q, size_t ci)
{
	const struct dnsreel_capr *r = q->capr[ci];

	for (size_t i = 0; i < dnsreel_capr__service_count(r); i++) {
		const struct dnsreel_service_ctx *sv = dnsreel_capr__service_at(r, i);
		char a[INET6_ADDRSTRLEN] = "";

		inet_ntop(sv->ip_version == 6 ? AF_INET6 : AF_INET, sv->addr, a, sizeof(a));
		dnsreel_q_row_text(c, SVC_CAPTURE, q->paths[ci]);
		dnsreel_q_row_text(c, SVC_ADDR, a);
		dnsreel_q_row_int(c, SVC_PORT, sv->port);
		dnsreel_q_row_int(c, SVC_PROTO, sv->proto);
		dnsreel_q_row_ctx(c, SVC_K8S_NAMESPACE, sv->k8s_namespace);
		dnsreel_q_row_ctx(c, SVC_NAME, sv->name);
		dnsreel_q_row_end(c);
	}
}

static const struct rowtab services_table = {services_schema, SVC_NCOLS, services_fill};
const struct dnsreel_qtable dnsreel_qtable_services = {"services", &dnsreel_q_rowtab_module,
						       &services_table, false};
