/* RowBinary encoding and the ClickHouse HTTP client (libcurl): one connection kept alive for
 * every request of an export, the server's exception text or libcurl's reason on failure.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsreel.h"
#include "export_int.h"

/* ---- RowBinary ------------------------------------------------------------------------------ */

void rb_free(struct rb *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void rb_reset(struct rb *b)
{
	b->n = 0;
	b->rows = 0;
}

static bool rb_room(struct rb *b, size_t n)
{
	if (b->err)
		return false;
	if (b->n + n <= b->cap)
		return true;
	size_t nc = b->cap ? b->cap : 1 << 16;
	while (nc < b->n + n)
		nc *= 2;
	uint8_t *np = realloc(b->p, nc);
	if (!np) {
		b->err = -ENOMEM;
		return false;
	}
	b->p = np;
	b->cap = nc;
	return true;
}

void rb_bytes(struct rb *b, const void *p, size_t n)
{
	if (!rb_room(b, n))
		return;
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

/* Integers little-endian, as RowBinary wants them, whatever the host. */
static void rb_le(struct rb *b, uint64_t v, size_t n)
{
	if (!rb_room(b, n))
		return;
	for (size_t i = 0; i < n; i++)
		b->p[b->n + i] = (uint8_t)(v >> (8 * i));
	b->n += n;
}

void rb_u8(struct rb *b, uint8_t v)
{
	rb_le(b, v, 1);
}

void rb_u16(struct rb *b, uint16_t v)
{
	rb_le(b, v, 2);
}

void rb_u32(struct rb *b, uint32_t v)
{
	rb_le(b, v, 4);
}

void rb_u64(struct rb *b, uint64_t v)
{
	rb_le(b, v, 8);
}

void rb_i64(struct rb *b, int64_t v)
{
	rb_le(b, (uint64_t)v, 8);
}

void rb_strn(struct rb *b, const char *s, size_t n)
{
	uint8_t len[10];
	size_t k = 0;
	uint64_t v = n;

	do {
		len[k] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			len[k] |= 0x80;
		k++;
	} while (v);
	rb_bytes(b, len, k);
	if (n)
		rb_bytes(b, s, n);
}

void rb_str(struct rb *b, const char *s)
{
	rb_strn(b, s ? s : "", s ? strlen(s) : 0);
}

void rb_fixed(struct rb *b, const char *s, size_t n)
{
	size_t l = s ? strnlen(s, n) : 0;

	if (!rb_room(b, n))
		return;
	if (l)
		memcpy(b->p + b->n, s, l);
	memset(b->p + b->n + l, 0, n - l);
	b->n += n;
}

void rb_nint64(struct rb *b, bool null, int64_t v)
{
	rb_u8(b, null ? 1 : 0);
	if (!null)
		rb_i64(b, v);
}

/* ClickHouse keeps a UUID as two UInt64, the high half first, each little-endian. */
void rb_uuid(struct rb *b, const uint8_t u[16])
{
	uint64_t hi = 0, lo = 0;

	for (int i = 0; i < 8; i++) {
		hi = hi << 8 | u[i];
		lo = lo << 8 | u[8 + i];
	}
	rb_u64(b, hi);
	rb_u64(b, lo);
}

/* ---- HTTP ----------------------------------------------------------------------------------- */

struct chx {
	CURL *curl;
	char *base; /* URL without a trailing '?...' part, ending in '/' */
	char *url;  /* the last request's URL */
	struct rb resp;
	char curl_err[CURL_ERROR_SIZE];
	char err[1024];
	bool gone;
};

int chx__new(struct chx **out, const char *url)
{
	struct chx *c = calloc(1, sizeof(*c));
	size_t n = strlen(url);

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->curl = curl_easy_init();
	c->base = malloc(n + 2);
	if (!c->curl || !c->base) {
		chx__free(c);
		return -ENOMEM;
	}
	memcpy(c->base, url, n + 1);
	if (strchr(c->base, '?'))
		*strchr(c->base, '?') = 0;
	n = strlen(c->base);
	/* "http://host:8123" names the root; a path given ("/ch/") is kept */
	const char *scheme = strstr(c->base, "://");
	if (!scheme || !strchr(scheme + 3, '/')) {
		c->base[n++] = '/';
		c->base[n] = 0;
	}
	*out = c;
	return 0;
}

void chx__free(struct chx *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->base);
	free(c->url);
	rb_free(&c->resp);
	free(c);
}

const char *chx__error(const struct chx *c)
{
	return c->err;
}

bool chx__gone(const struct chx *c)
{
	return c->gone;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct rb *b = arg;

	rb_bytes(b, p, size * n);
	return b->err ? 0 : size * n;
}

int chx__post(struct chx *c, const char *query, const char *settings, const void *body, size_t len,
	      const char **resp, size_t *resp_len)
{
	char *q = curl_easy_escape(c->curl, query, 0);
	struct curl_slist *hdr = NULL;
	long code = 0;
	CURLcode rc;

	c->err[0] = 0;
	c->gone = false;
	if (!q)
		return -ENOMEM;
	free(c->url);
	size_t n = strlen(c->base) + strlen(q) + (settings ? strlen(settings) : 0) + 16;
	c->url = malloc(n);
	if (!c->url) {
		curl_free(q);
		return -ENOMEM;
	}
	snprintf(c->url, n, "%s?query=%s%s", c->base, q, settings ? settings : "");
	curl_free(q);
	rb_reset(&c->resp);
	c->resp.err = 0;

	CURL *h = c->curl;
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, c->url);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &c->resp);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->curl_err);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	/* a server that stops reading or answering is gone after 60 s without progress */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
	/* no "Expect: 100-continue" round trip before each batch */
	hdr = curl_slist_append(hdr, "Expect:");
	hdr = curl_slist_append(hdr, "Content-Type: application/octet-stream");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	c->curl_err[0] = 0;
	rc = curl_easy_perform(h);
	curl_slist_free_all(hdr);
	rb_u8(&c->resp, 0);
	if (c->resp.err)
		return -ENOMEM;
	c->resp.n--;
	if (rc != CURLE_OK) {
		c->gone = true;
		snprintf(c->err, sizeof(c->err), "%s",
			 c->curl_err[0] ? c->curl_err : curl_easy_strerror(rc));
		return -EIO;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		/* the server's exception: "Code: 60, e.displayText() = DB::Exception: ..." */
		size_t l = c->resp.n;
		while (l && (c->resp.p[l - 1] == '\n' || c->resp.p[l - 1] == ' '))
			l--;
		snprintf(c->err, sizeof(c->err), "HTTP %ld: %.*s", code, (int)(l > 900 ? 900 : l),
			 (const char *)c->resp.p);
		return -EIO;
	}
	if (resp)
		*resp = (const char *)c->resp.p;
	if (resp_len)
		*resp_len = c->resp.n;
	return 0;
}
