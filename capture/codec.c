/* Block codec: a block of events encoded column by column (capture/FORMAT.md "Block body").
 * Most of a DNS capture repeats itself: the same message seen at several hops, a response
 * that starts with its query's header and question, an upstream query that repeats the
 * client's question under a new id. Payloads are therefore coded against an earlier event of
 * the block (exact copy, or "header + question of event k + tail"), and small dictionaries
 * replace netns, addresses and process tuples. zstd then squeezes the columns.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec_int.h"

int dr_buf_reserve(struct dr_buf *b, size_t extra)
{
	if (b->err)
		return b->err;
	size_t need = b->len + extra;
	if (need <= b->cap)
		return 0;
	size_t nc = b->cap ? b->cap : 256;
	while (nc < need)
		nc *= 2;
	uint8_t *np = realloc(b->p, nc);
	if (!np) {
		b->err = -ENOMEM;
		return b->err;
	}
	b->p = np;
	b->cap = nc;
	return 0;
}

void dr_buf_free(struct dr_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ---- CRC32C (Castagnoli), table driven, slicing by 8 ------------------------------------- */

static uint32_t crc_tab[8][256];
static int crc_ready;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_tab[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_tab[t][i] =
			    (crc_tab[t - 1][i] >> 8) ^ crc_tab[0][crc_tab[t - 1][i] & 0xff];
	__atomic_store_n(&crc_ready, 1, __ATOMIC_RELEASE);
}

uint32_t dr_crc32c(uint32_t crc, const void *data, size_t len)
{
	if (!__atomic_load_n(&crc_ready, __ATOMIC_ACQUIRE))
		crc_init(); /* idempotent: racing threads compute the same table */
	const uint8_t *p = data;
	crc = ~crc;
	while (len >= 8) {
		uint32_t lo = crc ^ dr_rd32(p);
		uint32_t hi = dr_rd32(p + 4);
		crc = crc_tab[7][lo & 0xff] ^ crc_tab[6][(lo >> 8) & 0xff] ^
		      crc_tab[5][(lo >> 16) & 0xff] ^ crc_tab[4][lo >> 24] ^ crc_tab[3][hi & 0xff] ^
		      crc_tab[2][(hi >> 8) & 0xff] ^ crc_tab[1][(hi >> 16) & 0xff] ^
		      crc_tab[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ crc_tab[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

/* ---- hashing ----------------------------------------------------------------------------- */

uint64_t dnsreel_name_hash(const char *name, size_t len)
{
	/* normalized: lowercase, exactly one trailing dot ("." for the root) */
	while (len > 1 && name[len - 1] == '.' && name[len - 2] == '.')
		len--;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		h = (h ^ c) * 0x100000001b3ull;
	}
	if (len == 0 || name[len - 1] != '.')
		h = (h ^ '.') * 0x100000001b3ull;
	return dnsreel_mix64(h);
}

/* ---- question extent --------------------------------------------------------------------- */

size_t dr_name_end(const uint8_t *p, size_t len)
{
	if (len < 12 + 1 || p[4] != 0 || p[5] == 0)
		return 0;
	size_t o = 12, total = 0;
	for (;;) {
		if (o >= len)
			return 0;
		uint8_t l = p[o];
		if (l == 0)
			break;
		if (l > 63)
			return 0;
		total += (size_t)l + 1;
		if (total > 255)
			return 0;
		o += (size_t)l + 1;
	}
	return o + 1;
}

/* ---- dictionaries ------------------------------------------------------------------------ */

void dr_dict_reset(struct dr_dict *d)
{
	d->n = 0;
	if (d->tab)
		memset(d->tab, 0, ((size_t)d->tabmask + 1) * sizeof(uint32_t));
}

void dr_dict_free(struct dr_dict *d)
{
	free(d->keys);
	free(d->tab);
	memset(d, 0, sizeof(*d));
}

static int dr_dict_grow(struct dr_dict *d)
{
	uint32_t nc = d->cap ? d->cap * 2 : 64;
	uint8_t *nk = realloc(d->keys, (size_t)nc * d->keylen);
	if (!nk)
		return -ENOMEM;
	d->keys = nk;
	d->cap = nc;
	uint32_t tsz = nc * 2;
	uint32_t *nt = calloc(tsz, sizeof(uint32_t));
	if (!nt)
		return -ENOMEM;
	free(d->tab);
	d->tab = nt;
	d->tabmask = tsz - 1;
	for (uint32_t i = 0; i < d->n; i++) {
		uint32_t h = (uint32_t)dnsreel_hash_bytes(d->keys + (size_t)i * d->keylen,
							  d->keylen, DICT_SEED);
		while (d->tab[h & d->tabmask])
			h++;
		d->tab[h & d->tabmask] = i + 1;
	}
	return 0;
}

int dr_dict_reserve(struct dr_dict *d, uint32_t n)
{
	while (!d->tab || n > d->cap)
		if (dr_dict_grow(d))
			return -ENOMEM;
	return 0;
}

int64_t dr_dict_get_h(struct dr_dict *d, const void *key, uint64_t hash, bool *is_new)
{
	*is_new = false;
	if (!d->tab && dr_dict_grow(d))
		return -ENOMEM;
	uint32_t h = (uint32_t)hash;
	for (;;) {
		uint32_t v = d->tab[h & d->tabmask];
		if (!v)
			break;
		if (memcmp(d->keys + (size_t)(v - 1) * d->keylen, key, d->keylen) == 0)
			return v - 1;
		h++;
	}
	if (d->n == d->cap) {
		if (dr_dict_grow(d))
			return -ENOMEM;
		return dr_dict_get_h(d, key, hash, is_new);
	}
	memcpy(d->keys + (size_t)d->n * d->keylen, key, d->keylen);
	d->tab[h & d->tabmask] = d->n + 1;
	*is_new = true;
	return d->n++;
}

int64_t dr_dict_find_h(const struct dr_dict *d, const void *key, uint64_t hash)
{
	if (!d->tab)
		return -1;
	for (uint32_t h = (uint32_t)hash;; h++) {
		uint32_t v = d->tab[h & d->tabmask];
		if (!v)
			return -1;
		if (memcmp(d->keys + (size_t)(v - 1) * d->keylen, key, d->keylen) == 0)
			return v - 1;
	}
}

int64_t dr_dict_get(struct dr_dict *d, const void *key, bool *is_new)
{
	return dr_dict_get_h(d, key, dnsreel_hash_bytes(key, d->keylen, DICT_SEED), is_new);
}
