/* pcapng writer (see pcapng.h). Blocks are written in host byte order with the byte-order
 * magic in the section header, as the format allows; packet bytes are network order. */
#include "pcapng.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dnsreel.h"

#define BT_SHB		    0x0A0D0D0Au
#define BT_IDB		    0x00000001u
#define BT_EPB		    0x00000006u
#define LINKTYPE_LINUX_SLL2 276
#define SLL2_LEN	    20
#define OPT_END		    0
#define OPT_COMMENT	    1
#define SHB_USERAPPL	    4
#define IF_NAME		    2
#define IF_DESCRIPTION	    3
#define IF_TSRESOL	    9
#define EPB_FLAGS	    2
#define EPB_PID_TID	    8 /* epb_processid_threadid: u32 pid, u32 tid */

struct ifkey {
	uint64_t netns;
	uint32_t capture;
	uint32_t ifindex;
	uint32_t id;  /* interface id + 1; 0 = empty slot */
	char *prefix; /* packet comment start: "netns=N pod=NS/POD container=C" */
	size_t plen;
};

/* Next sequence number per TCP stream direction for messages written one per segment. */
struct tcpkey {
	uint64_t netns;
	uint32_t capture, ifindex;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint32_t next_seq;
	bool used;
};

struct dnsreel_pcapng {
	struct tcpkey *tcp;
	size_t tcp_cap, ntcp;
	FILE *f;
	const struct dnsreel_ctx *ctx;
	size_t ncaps;
	const char *const *names;
	struct ifkey *ifs;
	size_t ifs_cap, nifs;
	uint64_t packets;
	int err;
	uint8_t *blk; /* block under construction */
	size_t blk_cap, blk_len;
};

static int blk_reserve(struct dnsreel_pcapng *w, size_t n)
{
	if (w->blk_len + n <= w->blk_cap)
		return 0;
	size_t nc = w->blk_cap ? w->blk_cap : 4096;
	while (nc < w->blk_len + n)
		nc *= 2;
	uint8_t *nb = realloc(w->blk, nc);
	if (!nb)
		return -ENOMEM;
	w->blk = nb;
	w->blk_cap = nc;
	return 0;
}

static void put(struct dnsreel_pcapng *w, const void *p, size_t n)
{
	if (blk_reserve(w, n + 3) < 0) {
		w->err = -ENOMEM;
		return;
	}
	memcpy(w->blk + w->blk_len, p, n);
	w->blk_len += n;
}

static void put32(struct dnsreel_pcapng *w, uint32_t v)
{
	put(w, &v, 4);
}

static void pad4(struct dnsreel_pcapng *w)
{
	static const uint8_t z[4];
	if (w->blk_len & 3)
		put(w, z, 4 - (w->blk_len & 3));
}

static void opt(struct dnsreel_pcapng *w, uint16_t code, const void *v, size_t n)
{
	if (n > 0xfff0)
		n = 0xfff0;
	uint16_t h[2] = {code, (uint16_t)n};
	put(w, h, 4);
	if (n)
		put(w, v, n);
	pad4(w);
}

static void block_begin(struct dnsreel_pcapng *w, uint32_t type)
{
	w->blk_len = 0;
	put32(w, type);
	put32(w, 0); /* length, patched at the end */
}

static void block_end(struct dnsreel_pcapng *w)
{
	pad4(w);
	uint32_t len = (uint32_t)w->blk_len + 4;
	put32(w, len);
	if (w->err)
		return;
	memcpy(w->blk + 4, &len, 4);
	if (fwrite(w->blk, 1, w->blk_len, w->f) != w->blk_len && !w->err)
		w->err = errno ? -errno : -EIO;
}

static void write_shb(struct dnsreel_pcapng *w)
{
	block_begin(w, BT_SHB);
	put32(w, 0x1A2B3C4D);
	uint16_t ver[2] = {1, 0};
	put(w, ver, 4);
	int64_t section_len = -1;
	put(w, &section_len, 8);
	static const char app[] = "dnsreel-replay " DNSREEL_VERSION;
	opt(w, SHB_USERAPPL, app, sizeof(app) - 1);
	opt(w, OPT_END, NULL, 0);
	block_end(w);
}

int dnsreel_pcapng__new(struct dnsreel_pcapng **out, FILE *f, const struct dnsreel_ctx *ctx,
			size_t ncaptures, const char *const *capture_names)
{
	*out = NULL;
	struct dnsreel_pcapng *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->f = f;
	w->ctx = ctx;
	w->ncaps = ncaptures;
	w->names = capture_names;
	write_shb(w);
	if (w->err) {
		int err = w->err;
		free(w->blk);
		free(w);
		return err;
	}
	*out = w;
	return 0;
}

static uint64_t ifhash(uint32_t capture, uint64_t netns, uint32_t ifindex)
{
	uint64_t h = netns * 0x9E3779B97F4A7C15ull ^ ((uint64_t)capture << 32 | ifindex);
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ull;
	return h ^ (h >> 32);
}

static int if_grow(struct dnsreel_pcapng *w)
{
	size_t nc = w->ifs_cap ? w->ifs_cap * 2 : 256;
	struct ifkey *n = calloc(nc, sizeof(*n));
	if (!n)
		return -ENOMEM;
	for (size_t i = 0; i < w->ifs_cap; i++) {
		if (!w->ifs[i].id)
			continue;
		size_t j = ifhash(w->ifs[i].capture, w->ifs[i].netns, w->ifs[i].ifindex) & (nc - 1);
		while (n[j].id)
			j = (j + 1) & (nc - 1);
		n[j] = w->ifs[i];
	}
	free(w->ifs);
	w->ifs = n;
	w->ifs_cap = nc;
	return 0;
}

static void write_idb(struct dnsreel_pcapng *w, uint32_t capture, uint64_t netns, uint32_t ifindex)
{
	const struct dnsreel_netns_ctx *ns =
	    w->ctx ? dnsreel_ctx__netns(w->ctx, capture, netns) : NULL;
	const struct dnsreel_meta *m = w->ctx ? dnsreel_ctx__meta(w->ctx, capture) : NULL;
	char name[640], desc[1400];
	const char *node = m ? m->node : "";
	if (ns && ns->k8s_podname[0])
		snprintf(name, sizeof(name), "%s/%s:if%u", ns->k8s_namespace, ns->k8s_podname,
			 ifindex);
	else if (ns && ns->name[0])
		snprintf(name, sizeof(name), "%s:if%u", ns->name, ifindex);
	else if (ns && (ns->flags & DNSREEL_NETNS_HOST))
		snprintf(name, sizeof(name), "host:if%u", ifindex);
	else
		snprintf(name, sizeof(name), "netns-%llu:if%u", (unsigned long long)netns, ifindex);
	int n = snprintf(desc, sizeof(desc),
			 "k8s.node=%s k8s.namespace=%s k8s.podname=%s netns=%llu "
			 "ifindex=%u",
			 node, ns ? ns->k8s_namespace : "", ns ? ns->k8s_podname : "",
			 (unsigned long long)netns, ifindex);
	if (ns && ns->k8s_containername[0] && n > 0 && (size_t)n < sizeof(desc))
		n += snprintf(desc + n, sizeof(desc) - (size_t)n, " k8s.containername=%s",
			      ns->k8s_containername);
	if (ns && ns->name[0] && n > 0 && (size_t)n < sizeof(desc))
		n += snprintf(desc + n, sizeof(desc) - (size_t)n, " netns.name=%s", ns->name);
	if (w->names && capture < w->ncaps && n > 0 && (size_t)n < sizeof(desc))
		snprintf(desc + n, sizeof(desc) - (size_t)n, " capture=%s", w->names[capture]);

	block_begin(w, BT_IDB);
	uint16_t lt[2] = {LINKTYPE_LINUX_SLL2, 0};
	put(w, lt, 4);
	put32(w, 0); /* snaplen: no limit */
	opt(w, IF_NAME, name, strlen(name));
	opt(w, IF_DESCRIPTION, desc, strlen(desc));
	uint8_t tsresol = 9;
	opt(w, IF_TSRESOL, &tsresol, 1);
	opt(w, OPT_END, NULL, 0);
	block_end(w);
}

/* The netns/pod part of every packet comment of an interface, built once. */
static char *comment_prefix(struct dnsreel_pcapng *w, uint32_t capture, uint64_t netns, size_t *len)
{
	const struct dnsreel_netns_ctx *ns =
	    w->ctx ? dnsreel_ctx__netns(w->ctx, capture, netns) : NULL;
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "netns=%llu", (unsigned long long)netns);
	if (ns && ns->k8s_podname[0] && n > 0 && (size_t)n < sizeof(buf))
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, " pod=%s/%s", ns->k8s_namespace,
			      ns->k8s_podname);
	if (ns && ns->k8s_containername[0] && n > 0 && (size_t)n < sizeof(buf))
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, " container=%s",
			      ns->k8s_containername);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(buf))
		n = (int)sizeof(buf) - 1;
	*len = (size_t)n;
	return strndup(buf, (size_t)n);
}

/* Interface id for (capture, netns, ifindex), writing its IDB the first time; *prefix gets
 * the start of its packets' comments (owned by the writer). */
static int iface(struct dnsreel_pcapng *w, uint32_t capture, uint64_t netns, uint32_t ifindex,
		 uint32_t *id, const char **prefix, size_t *plen)
{
	if (w->nifs * 2 >= w->ifs_cap && if_grow(w) < 0)
		return -ENOMEM;
	size_t j = ifhash(capture, netns, ifindex) & (w->ifs_cap - 1);
	while (w->ifs[j].id) {
		struct ifkey *k = &w->ifs[j];
		if (k->netns == netns && k->capture == capture && k->ifindex == ifindex) {
			*id = k->id - 1;
			*prefix = k->prefix;
			*plen = k->plen;
			return 0;
		}
		j = (j + 1) & (w->ifs_cap - 1);
	}
	struct ifkey k = {
	    .netns = netns, .capture = capture, .ifindex = ifindex, .id = (uint32_t)w->nifs + 1};
	k.prefix = comment_prefix(w, capture, netns, &k.plen);
	if (!k.prefix)
		return -ENOMEM;
	w->ifs[j] = k;
	w->nifs++;
	*id = k.id - 1;
	*prefix = k.prefix;
	*plen = k.plen;
	write_idb(w, capture, netns, ifindex);
	return w->err;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i = 0;
	for (; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (i < n)
		sum += (uint32_t)(p[i] << 8);
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* " key=" then v in decimal; returns bytes written (<= 16). */
static size_t put_kv(char *d, const char *key, uint32_t v)
{
	size_t n = strlen(key);
	memcpy(d, key, n);
	char t[10];
	size_t k = 0;
	do {
		t[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (k)
		d[n++] = t[--k];
	return n;
}

/* epb_flags: direction in bits 0-1, reception type in bits 2-4. */
static uint32_t epb_flags(uint8_t pkt_type)
{
	switch (pkt_type) {
	case DNSREEL_PKT_HOST:
		return 1 | 1 << 2;
	case DNSREEL_PKT_BROADCAST:
		return 1 | 3 << 2;
	case DNSREEL_PKT_MULTICAST:
		return 1 | 2 << 2;
	case DNSREEL_PKT_OTHERHOST:
		return 1 | 4 << 2;
	case DNSREEL_PKT_OUTGOING:
		return 2;
	default:
		return 0;
	}
}

/* Writes one packet: SLL2 + IP + L4 header around pl (cap bytes of orig on the wire). */
static int write_packet(struct dnsreel_pcapng *w, uint32_t capture, const struct dnsreel_event *ev,
			int64_t wall_ns, const uint8_t *pl, uint32_t cap, uint32_t orig,
			uint32_t seq)
{
	uint32_t id;
	const char *prefix;
	size_t plen;
	int err = iface(w, capture, ev->netns, ev->ifindex, &id, &prefix, &plen);
	if (err)
		return err;
	bool v6 = ev->ip_version == 6, tcp = ev->proto == 6;
	size_t iplen = v6 ? 40 : 20, l4len = tcp ? 20 : 8;
	size_t hdr = SLL2_LEN + iplen + l4len;
	uint8_t h[SLL2_LEN + 40 + 20];
	memset(h, 0, sizeof(h));

	/* LINUX_SLL2: protocol, reserved, ifindex, ARPHRD_ETHER, packet type, no address. */
	be16(h, v6 ? 0x86DD : 0x0800);
	be32(h + 4, ev->ifindex);
	be16(h + 8, 1);
	h[10] = ev->pkt_type;
	h[11] = 0;

	uint8_t *ip = h + SLL2_LEN, *l4 = ip + iplen;
	uint32_t l4_total = (uint32_t)l4len + orig;
	if (v6) {
		ip[0] = 0x60;
		be16(ip + 4, l4_total);
		ip[6] = tcp ? 6 : 17;
		ip[7] = 64;
		memcpy(ip + 8, ev->src_addr, 16);
		memcpy(ip + 24, ev->dst_addr, 16);
	} else {
		ip[0] = 0x45;
		be16(ip + 2, (uint32_t)iplen + l4_total);
		be16(ip + 6, 0x4000); /* DF */
		ip[8] = 64;
		ip[9] = tcp ? 6 : 17;
		memcpy(ip + 12, ev->src_addr, 4);
		memcpy(ip + 16, ev->dst_addr, 4);
		be16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	}
	be16(l4, ev->src_port);
	be16(l4 + 2, ev->dst_port);
	if (tcp) {
		be32(l4 + 4, seq);
		l4[12] = 5 << 4;
		l4[13] = ev->tcp_flags ? ev->tcp_flags : 0x18; /* PSH|ACK when unknown */
		be16(l4 + 14, 65535);
	} else {
		be16(l4 + 4, l4_total);
	}
	/* Checksum over the pseudo header; only when the whole payload is here. */
	if (cap == orig) {
		uint32_t sum = 0;
		if (v6) {
			sum = csum_add(sum, ip + 8, 32);
			sum += l4_total;
			sum += tcp ? 6 : 17;
		} else {
			sum = csum_add(sum, ip + 12, 8);
			sum += tcp ? 6 : 17;
			sum += l4_total;
		}
		sum = csum_add(sum, l4, l4len);
		sum = csum_add(sum, pl, cap);
		uint16_t c = csum_fold(sum);
		if (!tcp && c == 0)
			c = 0xffff;
		be16(l4 + (tcp ? 16 : 6), c);
	}

	block_begin(w, BT_EPB);
	put32(w, id);
	uint64_t ts = (uint64_t)wall_ns;
	put32(w, (uint32_t)(ts >> 32));
	put32(w, (uint32_t)ts);
	put32(w, (uint32_t)(hdr + cap));
	put32(w, (uint32_t)(hdr + orig));
	put(w, h, hdr);
	if (cap)
		put(w, pl, cap);
	pad4(w);

	/* Comment: the interface's netns/pod part, then process and packet type, by hand (this
	 * runs for every packet). */
	char comment[1024 + 160];
	size_t n = plen < 1024 ? plen : 1024;
	memcpy(comment, prefix, n);
	if (ev->flags & DNSREEL_EV_PROC) {
		size_t cl = strnlen(ev->comm, sizeof(ev->comm));
		memcpy(comment + n, " comm=", 6);
		n += 6;
		memcpy(comment + n, ev->comm, cl);
		n += cl;
		n += put_kv(comment + n, " pid=", ev->pid);
		n += put_kv(comment + n, " tid=", ev->tid);
		n += put_kv(comment + n, " uid=", ev->uid);
		n += put_kv(comment + n, " gid=", ev->gid);
	}
	const char *pt = dnsreel_pkt_type_name(ev->pkt_type);
	size_t ptl = strnlen(pt, 32);
	memcpy(comment + n, " pkt_type=", 10);
	n += 10;
	memcpy(comment + n, pt, ptl);
	n += ptl;
	opt(w, OPT_COMMENT, comment, n);
	uint32_t fl = epb_flags(ev->pkt_type);
	opt(w, EPB_FLAGS, &fl, 4);
	if (ev->flags & DNSREEL_EV_PROC) {
		uint32_t pt[2] = {ev->pid, ev->tid};
		opt(w, EPB_PID_TID, pt, 8);
	}
	opt(w, OPT_END, NULL, 0);
	block_end(w);
	w->packets++;
	return w->err;
}

int dnsreel_pcapng__event(struct dnsreel_pcapng *w, uint32_t capture,
			  const struct dnsreel_event *ev, int64_t wall_ns)
{
	uint32_t orig = ev->orig_len < ev->cap_len ? ev->cap_len : ev->orig_len;
	if (orig > 65000)
		orig = 65000;
	uint32_t cap = ev->cap_len < orig ? ev->cap_len : orig;
	return write_packet(w, capture, ev, wall_ns, ev->payload, cap, orig, ev->tcp_seq);
}

static uint64_t tcphash(const struct tcpkey *k)
{
	uint64_t h = k->netns * 0x9E3779B97F4A7C15ull ^ ((uint64_t)k->capture << 40) ^
		     ((uint64_t)k->ifindex << 20) ^ ((uint64_t)k->sport << 16 | k->dport);
	for (int i = 0; i < 16; i++)
		h = (h ^ k->src[i] ^ ((uint64_t)k->dst[i] << 8)) * 0x100000001B3ull;
	return h ^ (h >> 31);
}

static bool tcpkey_eq(const struct tcpkey *a, const struct tcpkey *b)
{
	return a->netns == b->netns && a->capture == b->capture && a->ifindex == b->ifindex &&
	       a->sport == b->sport && a->dport == b->dport && !memcmp(a->src, b->src, 16) &&
	       !memcmp(a->dst, b->dst, 16);
}

/* The stream's entry, created on first sight (*fresh = true). NULL on allocation failure. */
static struct tcpkey *tcp_stream(struct dnsreel_pcapng *w, const struct tcpkey *k, bool *fresh)
{
	if (w->ntcp * 2 >= w->tcp_cap) {
		size_t nc = w->tcp_cap ? w->tcp_cap * 2 : 256;
		struct tcpkey *n = calloc(nc, sizeof(*n));
		if (!n)
			return NULL;
		for (size_t i = 0; i < w->tcp_cap; i++) {
			if (!w->tcp[i].used)
				continue;
			size_t j = tcphash(&w->tcp[i]) & (nc - 1);
			while (n[j].used)
				j = (j + 1) & (nc - 1);
			n[j] = w->tcp[i];
		}
		free(w->tcp);
		w->tcp = n;
		w->tcp_cap = nc;
	}
	size_t j = tcphash(k) & (w->tcp_cap - 1);
	while (w->tcp[j].used) {
		if (tcpkey_eq(&w->tcp[j], k)) {
			*fresh = false;
			return &w->tcp[j];
		}
		j = (j + 1) & (w->tcp_cap - 1);
	}
	w->tcp[j] = *k;
	w->tcp[j].used = true;
	w->ntcp++;
	*fresh = true;
	return &w->tcp[j];
}

int dnsreel_pcapng__rec(struct dnsreel_pcapng *w, const struct dnsreel_rec *rec)
{
	const struct dnsreel_event *ev = rec->ev;
	if (ev->proto != 6)
		return dnsreel_pcapng__event(w, rec->capture, ev, rec->wall_ns);
	/* TCP: one segment with the length prefix and the reassembled message. Messages of one
	 * stream follow each other in sequence space (starting where the first one ended in the
	 * original stream), so tshark sees neither gaps nor overlaps even when one original
	 * segment completed several messages. */
	uint32_t len = rec->msg_len > 65000 ? 65000 : rec->msg_len;
	struct tcpkey k;
	memset(&k, 0, sizeof(k));
	k.netns = ev->netns;
	k.capture = rec->capture;
	k.ifindex = ev->ifindex;
	memcpy(k.src, ev->src_addr, 16);
	memcpy(k.dst, ev->dst_addr, 16);
	k.sport = ev->src_port;
	k.dport = ev->dst_port;
	bool fresh;
	struct tcpkey *st = tcp_stream(w, &k, &fresh);
	if (!st)
		return -ENOMEM;
	if (fresh)
		st->next_seq = ev->tcp_seq + ev->cap_len - (len + 2);
	uint32_t seq = st->next_seq;
	st->next_seq += len + 2;
	uint8_t *buf = malloc(len + 2);
	if (!buf)
		return -ENOMEM;
	be16(buf, len);
	memcpy(buf + 2, rec->msg, len);
	struct dnsreel_event e = *ev;
	e.tcp_flags = 0x18;
	int err = write_packet(w, rec->capture, &e, rec->wall_ns, buf, len + 2, len + 2, seq);
	free(buf);
	return err;
}

uint64_t dnsreel_pcapng__packets(const struct dnsreel_pcapng *w)
{
	return w->packets;
}

int dnsreel_pcapng__close(struct dnsreel_pcapng *w)
{
	if (!w)
		return 0;
	int err = w->err;
	if (fflush(w->f) && !err)
		err = errno ? -errno : -EIO;
	for (size_t i = 0; i < w->ifs_cap; i++)
		free(w->ifs[i].prefix);
	free(w->ifs);
	free(w->tcp);
	free(w->blk);
	free(w);
	return err;
}
