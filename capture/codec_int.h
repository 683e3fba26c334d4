/* Internals shared by the block encoder (codec_enc.c), decoder (codec_dec.c) and catalog
 * summary (summary.c): the stream layout of a block body, the tuple dictionary and the
 * question-extent rule. */
#ifndef DNSREEL_CODEC_INT_H
#define DNSREEL_CODEC_INT_H

#include <string.h>

#include "capture_int.h"

enum {
	S_DICT, /* tuple dictionary entries */
	S_TS,
	S_TSR,	/* time since the referenced event (copies) */
	S_TSLO, /* low bytes of both time columns: nearly uniform, kept apart */
	S_POP,
	S_REF,
	S_TUP,
	S_PORT,
	S_DPORT, /* destination ports apart: mostly 53 */
	S_EXTRA,
	S_TCP,
	S_ID,
	S_FLAGS,
	S_CNT,
	S_QT,
	S_HB, /* derived header: which parts repeat the reference */
	S_LEN,
	S_LIT,
	S_COUNT
};

/* POP byte: payload op (bits 0-1), where mode (2-3), port mode (4-5), extra flags (6),
 * orig_len != cap_len (7) */
enum { P_LIT = 0, P_DUP = 1, P_DER_ID = 2, P_DER = 3 };
enum { CM_LIT = 0, CM_SAME = 1, CM_PRED = 2, CM_REV = 3 };
enum { PM_LIT = 0, PM_SAME = 1, PM_SWAP = 2 };

/* The seed the encoder hashes tuples with for its question-at-tuple table, so that one hash
 * serves both. A dictionary is exact, so its hash never shows in the output. */
#define DICT_SEED 3

struct dr_dict {
	size_t keylen;
	uint8_t *keys; /* n * keylen */
	uint32_t n, cap;
	uint32_t *tab; /* open addressing: index + 1, 0 = empty */
	uint32_t tabmask;
};

void dr_dict_reset(struct dr_dict *d);
void dr_dict_free(struct dr_dict *d);
/* Index of key, inserting it when new (*is_new set). Negative on allocation failure. hash is
 * dnsreel_hash_bytes(key, keylen, DICT_SEED): the encoder has it already for its tuple tables. */
int64_t dr_dict_get_h(struct dr_dict *d, const void *key, uint64_t hash, bool *is_new);
int64_t dr_dict_get(struct dr_dict *d, const void *key, bool *is_new);
/* Room for n keys in all: dr_dict_get_h() then inserts without allocating. */
int dr_dict_reserve(struct dr_dict *d, uint32_t n);
/* Index of key, or -1 when it is not there; nothing is inserted. */
int64_t dr_dict_find_h(const struct dr_dict *d, const void *key, uint64_t hash);

/* End offset of the first question's name (written without compression), or 0 when the
 * message does not start with such a question. Encoder and decoder use the same rule, so a
 * derived payload always reproduces exactly. */
size_t dr_name_end(const uint8_t *p, size_t len);

/* Where and by whom an event was seen: one dictionary entry per distinct tuple in a block. */
struct tup_key {
	uint64_t netns;
	uint64_t cgroup_id;
	uint32_t ifindex, pid, tid, uid, gid;
	uint8_t pkt_type, ip_version, proto, has_proc;
	uint8_t src[16], dst[16];
	char comm[DNSREEL_COMM_LEN];
};

#define TUP_NONE UINT32_MAX

static inline void tup_of(const struct dnsreel_event *x, struct tup_key *k)
{
	memset(k, 0, sizeof(*k));
	k->netns = x->netns;
	k->ifindex = x->ifindex;
	k->pkt_type = x->pkt_type;
	k->ip_version = x->ip_version;
	k->proto = x->proto;
	memcpy(k->src, x->src_addr, 16);
	memcpy(k->dst, x->dst_addr, 16);
	k->pid = x->pid;
	k->tid = x->tid;
	k->uid = x->uid;
	k->gid = x->gid;
	k->cgroup_id = x->cgroup_id;
	/* bytes after the NUL are not part of comm: zero them so keys compare by meaning */
	if (x->comm[0])
		memcpy(k->comm, x->comm, strnlen(x->comm, DNSREEL_COMM_LEN - 1));
	static const char zero[DNSREEL_COMM_LEN];
	k->has_proc = (x->flags & DNSREEL_EV_PROC) || k->pid || k->tid || k->uid || k->gid ||
		      k->cgroup_id || memcmp(k->comm, zero, sizeof(zero));
}

/* The reply direction: same place and process, endpoints swapped, sent <-> received. */
static inline uint8_t rev_pkt(uint8_t t)
{
	return t == DNSREEL_PKT_OUTGOING ? DNSREEL_PKT_HOST
	       : t == DNSREEL_PKT_HOST	 ? DNSREEL_PKT_OUTGOING
					 : t;
}

#endif
