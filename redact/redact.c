/* The redactor: keys, caches, addresses, identifiers, context records and events. Names and
 * messages are in names.c and message.c. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include "dnsreel.h"
#include "redact_int.h"

static const char alnum36[] = "abcdefghijklmnopqrstuvwxyz0123456789";
static const char base32[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char hexd[] = "0123456789abcdef";

int dr_prf(struct dnsreel_redactor *r, uint8_t use, uint8_t tag, const void *data, size_t len,
	   uint8_t out[64])
{
	uint8_t head[2] = {use, tag};
	size_t olen = 0;
	if (!EVP_MAC_init(r->hmac, NULL, 0, NULL) || !EVP_MAC_update(r->hmac, head, 2) ||
	    (len && !EVP_MAC_update(r->hmac, data, len)) ||
	    !EVP_MAC_final(r->hmac, out, &olen, 64) || olen != 64)
		return DNSREEL_E_ARG;
	return 0;
}

int dr_prf_chars(struct dnsreel_redactor *r, uint8_t use, const void *data, size_t len,
		 uint8_t *out, size_t n)
{
	uint8_t h[64];
	for (size_t i = 0; i < n; i++) {
		if (i % 64 == 0) {
			/* the block counter rides in the tag byte: strings past 64 * 256 bytes do
			 * not occur (DNS character-strings are at most 255) */
			int err = dr_prf(r, use, (uint8_t)(i / 64), data, len, h);
			if (err)
				return err;
		}
		out[i] = (uint8_t)alnum36[h[i % 64] % 36];
	}
	return 0;
}

static int derive(const uint8_t *key, size_t keylen, const char *label, uint8_t out[32])
{
	unsigned int olen = 0;
	if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)label, strlen(label), out,
		  &olen) ||
	    olen != 32)
		return DNSREEL_E_ARG;
	return 0;
}

void dnsreel_redactor__free(struct dnsreel_redactor *r)
{
	if (!r)
		return;
	dnsreel_cryptopan__free(r->cp);
	EVP_MAC_CTX_free(r->hmac);
	EVP_MAC_free(r->mac);
	free(r->addr);
	free(r->label);
	free(r->name);
	free(r->msg);
	free(r->comm);
	dr_tcp_free(r);
	free(r->tcp);
	OPENSSL_cleanse(r, sizeof(*r));
	free(r);
}

/* "cluster.local." (or without the dot) into lowercase wire labels without the root. */
static int parse_suffix(const char *s, uint8_t wire[256], size_t *len, unsigned *labels)
{
	size_t n = strlen(s), o = 0;
	*labels = 0;
	if (n && s[n - 1] == '.')
		n--;
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && s[j] != '.')
			j++;
		size_t l = j - i;
		if (l == 0 || l > 63 || o + l + 1 > 254)
			return DNSREEL_E_ARG;
		wire[o++] = (uint8_t)l;
		for (size_t k = i; k < j; k++)
			wire[o++] = (uint8_t)tolower((unsigned char)s[k]);
		(*labels)++;
		i = j + 1;
	}
	*len = o;
	return 0;
}

int dnsreel_redactor__new(struct dnsreel_redactor **out, const uint8_t *key, size_t keylen,
			  const struct dnsreel_redact_opts *opts)
{
	*out = NULL;
	if (!key || keylen < DNSREEL_REDACT_KEY_LEN ||
	    (opts && opts->n_keep > DNSREEL_REDACT_MAX_KEEP))
		return DNSREEL_E_ARG;
	struct dnsreel_redactor *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	int err = 0;
	if (opts) {
		r->drop = opts->drop;
		for (size_t i = 0; i < opts->n_keep; i++) {
			const char *s = opts->keep_suffix[i];
			if (!s || !*s) {
				err = DNSREEL_E_ARG;
				goto fail;
			}
			if (!strcmp(s, ".")) {
				r->keep_all = true;
				continue;
			}
			err = parse_suffix(s, r->keep[r->n_keep].wire, &r->keep[r->n_keep].len,
					   &r->keep[r->n_keep].labels);
			if (err)
				goto fail;
			r->n_keep++;
		}
	}
	r->addr = calloc(DR_ADDR_SLOTS, sizeof(*r->addr));
	r->label = calloc(DR_LABEL_SLOTS, sizeof(*r->label));
	r->name = calloc(DR_NAME_SLOTS, sizeof(*r->name));
	r->msg = calloc(DR_MSG_SLOTS, sizeof(*r->msg));
	r->comm = calloc(DR_COMM_SLOTS, sizeof(*r->comm));
	r->tcp = calloc(DR_TCP_SLOTS, sizeof(*r->tcp));
	if (!r->addr || !r->label || !r->name || !r->msg || !r->comm || !r->tcp) {
		err = -ENOMEM;
		goto fail;
	}
	uint8_t cpkey[32];
	err = derive(key, keylen, "dnsreel-redact cryptopan v1", cpkey);
	if (!err)
		err = derive(key, keylen, "dnsreel-redact names v1", r->name_key);
	if (!err)
		err = dnsreel_cryptopan__new(&r->cp, cpkey);
	OPENSSL_cleanse(cpkey, sizeof(cpkey));
	if (err)
		goto fail;
	r->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	r->hmac = r->mac ? EVP_MAC_CTX_new(r->mac) : NULL;
	if (!r->hmac) {
		err = -ENOMEM;
		goto fail;
	}
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA512", 0),
	    OSSL_PARAM_construct_end(),
	};
	if (!EVP_MAC_init(r->hmac, r->name_key, sizeof(r->name_key), params)) {
		err = DNSREEL_E_ARG;
		goto fail;
	}
	uint8_t h[64];
	err = dr_prf(r, DR_PRF_KEYID, 0, NULL, 0, h);
	if (err)
		goto fail;
	for (int i = 0; i < 8; i++) {
		r->key_id[2 * i] = hexd[h[i] >> 4];
		r->key_id[2 * i + 1] = hexd[h[i] & 15];
	}
	*out = r;
	return 0;
fail:
	dnsreel_redactor__free(r);
	return err;
}

const struct dnsreel_redact_stats *dnsreel_redactor__stats(const struct dnsreel_redactor *r)
{
	return &r->st;
}

void dnsreel_redactor__key_id(const struct dnsreel_redactor *r, char out[17])
{
	memcpy(out, r->key_id, 17);
}

int dnsreel_redactor__addr(struct dnsreel_redactor *r, uint8_t ip_version, const uint8_t in[16],
			   uint8_t out[16])
{
	if (ip_version != 4 && ip_version != 6)
		return DNSREEL_E_ARG;
	size_t n = ip_version == 4 ? 4 : 16;
	uint64_t h = dnsreel_hash_bytes(in, n, ip_version);
	struct dr_addr_slot *s = &r->addr[h & (DR_ADDR_SLOTS - 1)];
	if (s->ver == ip_version && !memcmp(s->in, in, n)) {
		memcpy(out, s->out, 16);
		return 0;
	}
	uint8_t a[16] = {0};
	int err = dnsreel_cryptopan__map(r->cp, (unsigned)n * 8, in, a);
	if (err)
		return err;
	s->ver = ip_version;
	memcpy(s->in, in, n);
	memcpy(s->out, a, 16);
	memcpy(out, a, 16);
	return 0;
}

/* Every kind's shape: a prefix and base32 characters, or a UUID, or hex. */
static const struct {
	const char *prefix;
	int chars;
} kinds[] = {
    [DNSREEL_RK_NODE] = {"node-", 10},	   [DNSREEL_RK_NETNS] = {"netns-", 10},
    [DNSREEL_RK_NAMESPACE] = {"ns-", 10},  [DNSREEL_RK_POD] = {"pod-", 10},
    [DNSREEL_RK_CONTAINER] = {"ctr-", 10}, [DNSREEL_RK_UID] = {NULL, 0},
    [DNSREEL_RK_CID] = {NULL, 0},	   [DNSREEL_RK_COMM] = {"p-", 10},
    [DNSREEL_RK_CMDLINE] = {"cmd-", 16},   [DNSREEL_RK_CGROUP] = {"/cg-", 16},
    [DNSREEL_RK_SERVICE] = {"svc-", 10},   [DNSREEL_RK_CAPTURE] = {NULL, 0},
};

static void put_str(char *out, size_t outlen, const char *s)
{
	if (!outlen)
		return;
	size_t n = strlen(s);
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

static bool all_hex(const char *s)
{
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s))
			return false;
	return true;
}

int dnsreel_redactor__ident(struct dnsreel_redactor *r, enum dnsreel_redact_kind kind,
			    const char *in, char *out, size_t outlen)
{
	if ((unsigned)kind >= sizeof(kinds) / sizeof(kinds[0]) || !outlen)
		return DNSREEL_E_ARG;
	if (!in[0]) {
		out[0] = '\0';
		return 0;
	}
	uint8_t h[64];
	int err = dr_prf(r, DR_PRF_IDENT, (uint8_t)kind, in, strlen(in), h);
	if (err)
		return err;
	char buf[160];
	size_t o = 0;
	if (kind == DNSREEL_RK_UID || kind == DNSREEL_RK_CAPTURE) {
		for (int i = 0; i < 16; i++) {
			if (i == 4 || i == 6 || i == 8 || i == 10)
				buf[o++] = '-';
			uint8_t b = h[i];
			if (i == 6)
				b = (uint8_t)(0x40 |
					      (b & 0x0F)); /* version 4 shape, as random ids */
			if (i == 8)
				b = (uint8_t)(0x80 | (b & 0x3F));
			buf[o++] = hexd[b >> 4];
			buf[o++] = hexd[b & 15];
		}
	} else if (kind == DNSREEL_RK_CID && all_hex(in) && strlen(in) <= 128) {
		for (size_t i = 0; i < strlen(in); i++)
			buf[o++] = hexd[(h[i / 2 % 64] >> (i % 2 ? 0 : 4)) & 15];
	} else {
		const char *p = kinds[kind].prefix ? kinds[kind].prefix : "id-";
		int chars = kinds[kind].chars ? kinds[kind].chars : 16;
		o = strlen(p);
		memcpy(buf, p, o);
		for (int i = 0; i < chars; i++)
			buf[o++] = base32[h[i] & 31];
	}
	buf[o] = '\0';
	put_str(out, outlen, buf);
	return 0;
}

int dnsreel_redactor__addr_list(struct dnsreel_redactor *r, const char *in, char *out,
				size_t outlen)
{
	size_t o = 0;
	out[0] = '\0';
	const char *p = in;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char item[DNSREEL_NAME_LEN], text[DNSREEL_ADDR_TEXT_LEN + 32];
		if (n >= sizeof(item))
			n = sizeof(item) - 1;
		memcpy(item, p, n);
		item[n] = '\0';
		uint8_t a[16] = {0}, m[16];
		int err = 0;
		if (inet_pton(AF_INET, item, a) == 1) {
			err = dnsreel_redactor__addr(r, 4, a, m);
			if (!err)
				dnsreel_addr_text(4, m, -1, text);
		} else if (inet_pton(AF_INET6, item, a) == 1) {
			err = dnsreel_redactor__addr(r, 6, a, m);
			if (!err)
				dnsreel_addr_text(6, m, -1, text);
		} else if (n) {
			err =
			    dnsreel_redactor__ident(r, DNSREEL_RK_NETNS, item, text, sizeof(text));
		} else {
			text[0] = '\0';
		}
		if (err)
			return err;
		size_t tl = strlen(text);
		/* an address that no longer fits is left out whole, never cut into another */
		if (o + (o ? 1 : 0) + tl < outlen) {
			if (o)
				out[o++] = ',';
			memcpy(out + o, text, tl + 1);
			o += tl;
		}
		if (!e)
			break;
		p = e + 1;
	}
	return 0;
}

#define IDENT(kind, field)                                                                         \
	do {                                                                                       \
		int _e =                                                                           \
		    dnsreel_redactor__ident(r, kind, in->field, out->field, sizeof(out->field));   \
		if (_e)                                                                            \
			return _e;                                                                 \
	} while (0)

int dnsreel_redactor__netns(struct dnsreel_redactor *r, const struct dnsreel_netns_ctx *in,
			    struct dnsreel_netns_ctx *out)
{
	memset(out, 0, sizeof(*out));
	out->netns = in->netns;
	out->flags = in->flags;
	out->first_seen_ns = in->first_seen_ns;
	if (!(r->drop & DNSREEL_REDACT_DROP_NAMES)) {
		IDENT(DNSREEL_RK_NETNS, name);
		IDENT(DNSREEL_RK_NAMESPACE, k8s_namespace);
		IDENT(DNSREEL_RK_POD, k8s_podname);
		IDENT(DNSREEL_RK_UID, k8s_pod_uid);
		IDENT(DNSREEL_RK_CONTAINER, k8s_containername);
		IDENT(DNSREEL_RK_CONTAINER, runtime_containername);
		IDENT(DNSREEL_RK_CID, runtime_containerid);
	}
	return dnsreel_redactor__addr_list(r, in->ips, out->ips, sizeof(out->ips));
}

int dnsreel_redactor__proc(struct dnsreel_redactor *r, const struct dnsreel_proc_ctx *in,
			   struct dnsreel_proc_ctx *out)
{
	memset(out, 0, sizeof(*out));
	out->pid = in->pid;
	out->ppid = in->ppid;
	out->start_ns = in->start_ns;
	out->netns = in->netns;
	out->cgroup_id = in->cgroup_id;
	out->uid = in->uid;
	out->gid = in->gid;
	IDENT(DNSREEL_RK_COMM, comm);
	if (!(r->drop & DNSREEL_REDACT_DROP_CMDLINE)) {
		IDENT(DNSREEL_RK_CMDLINE, cmdline);
		IDENT(DNSREEL_RK_CGROUP, cgroup);
	}
	if (!(r->drop & DNSREEL_REDACT_DROP_NAMES)) {
		IDENT(DNSREEL_RK_UID, k8s_pod_uid);
		IDENT(DNSREEL_RK_CID, runtime_containerid);
	}
	return 0;
}

int dnsreel_redactor__service(struct dnsreel_redactor *r, const struct dnsreel_service_ctx *in,
			      struct dnsreel_service_ctx *out)
{
	memset(out, 0, sizeof(*out));
	out->ip_version = in->ip_version;
	out->proto = in->proto;
	out->port = in->port;
	int err = dnsreel_redactor__addr(r, in->ip_version, in->addr, out->addr);
	if (err)
		return err;
	if (!(r->drop & DNSREEL_REDACT_DROP_NAMES)) {
		IDENT(DNSREEL_RK_NAMESPACE, k8s_namespace);
		IDENT(DNSREEL_RK_SERVICE, name);
	}
	return 0;
}

int dnsreel_redactor__meta(struct dnsreel_redactor *r, const struct dnsreel_meta *in,
			   const char *recorder, struct dnsreel_meta *out)
{
	*out = *in;
	IDENT(DNSREEL_RK_CAPTURE, capture_id);
	if (r->drop & DNSREEL_REDACT_DROP_NAMES)
		out->node[0] = '\0';
	else
		IDENT(DNSREEL_RK_NODE, node);
	put_str(out->recorder, sizeof(out->recorder), recorder);
	return 0;
}

static int comm(struct dnsreel_redactor *r, char c[DNSREEL_COMM_LEN])
{
	if (!c[0])
		return 0;
	c[DNSREEL_COMM_LEN - 1] = '\0';
	struct dr_comm_slot *s =
	    &r->comm[dnsreel_hash_bytes(c, strlen(c), 7) & (DR_COMM_SLOTS - 1)];
	if (strcmp(s->in, c) != 0) {
		char out[DNSREEL_COMM_LEN];
		int err = dnsreel_redactor__ident(r, DNSREEL_RK_COMM, c, out, sizeof(out));
		if (err)
			return err;
		memcpy(s->in, c, DNSREEL_COMM_LEN);
		memcpy(s->out, out, DNSREEL_COMM_LEN);
	}
	memcpy(c, s->out, DNSREEL_COMM_LEN);
	return 0;
}

int dnsreel_redactor__event(struct dnsreel_redactor *r, struct dnsreel_event *ev, uint8_t *buf,
			    size_t cap)
{
	r->st.events++;
	int err = 0;
	if (ev->ip_version == 4 || ev->ip_version == 6) {
		err = dnsreel_redactor__addr(r, ev->ip_version, ev->src_addr, ev->src_addr);
		if (!err)
			err = dnsreel_redactor__addr(r, ev->ip_version, ev->dst_addr, ev->dst_addr);
		if (err)
			return err;
	} else {
		memset(ev->src_addr, 0, 16);
		memset(ev->dst_addr, 0, 16);
	}
	if (r->drop & DNSREEL_REDACT_DROP_PROC) {
		ev->flags &= ~(uint32_t)DNSREEL_EV_PROC;
		ev->pid = ev->tid = ev->uid = ev->gid = 0;
		ev->cgroup_id = 0;
		memset(ev->comm, 0, sizeof(ev->comm));
	} else if ((err = comm(r, ev->comm))) {
		return err;
	}
	if (ev->proto == 6)
		return dr_tcp_event(r, ev, buf, cap);
	if (!ev->cap_len)
		return 0;
	int w = DNSREEL_E_PARSE;
	if (ev->flags & DNSREEL_EV_FRAGMENT)
		w = DNSREEL_E_PARSE; /* a fragment need not start a message */
	else if (ev->proto == 17)
		w = dnsreel_redactor__message(r, ev->payload, ev->cap_len, buf,
					      cap < 65535 ? cap : 65535);
	if (w < 0 && w != DNSREEL_E_PARSE && w != DNSREEL_E_LIMIT && w != DNSREEL_E_TRUNCATED &&
	    w != DNSREEL_E_CORRUPT)
		return w;
	if (w < 0) {
		r->st.payloads_dropped++;
		w = 0;
	}
	/* bytes the snap length cut before: still missing after the rewrite */
	uint32_t lost = ev->orig_len > ev->cap_len ? ev->orig_len - ev->cap_len : 0;
	ev->payload = buf;
	ev->cap_len = (uint32_t)w;
	ev->orig_len = w ? (uint32_t)w + lost : 0;
	if (!w)
		ev->flags &= ~(uint32_t)DNSREEL_EV_TRUNCATED;
	return 0;
}
