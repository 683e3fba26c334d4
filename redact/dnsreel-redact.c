/* dnsreel-redact: a copy of a capture that can be handed to another team. Addresses become
 * Crypto-PAn pseudonyms (subnets stay subnets), names and identifiers keyed pseudonyms, DNS
 * messages are rebuilt around them; one key gives one mapping across captures. The output is
 * written beside its final name and renamed into place only when whole, and its index is
 * vacuumed, so no byte of what was replaced survives in it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "capture.h"
#include "cli.h"
#include "dnsreel.h"
#include "redact.h"

enum {
	OPT_OUT = 'o',
	OPT_KEY = 1000,
	OPT_KEYGEN,
	OPT_KEEP,
	OPT_DROP,
};

static const struct dnsreel_opt opts[] = {
    {OPT_OUT, "output", 'o', DNSREEL_REQ_ARG, "OUT.reel", "the redacted capture (must not exist)",
     "Output"},
    {OPT_KEY, "key-file", 0, DNSREEL_REQ_ARG, "FILE",
     "the key: 32 bytes, raw or as 64 hex digits (one key, one mapping)", "Key"},
    {OPT_KEYGEN, "keygen", 0, DNSREEL_REQ_ARG, "FILE",
     "write a new random key to FILE (mode 0600, must not exist) and exit", NULL},
    {OPT_KEEP, "keep-suffix", 0, DNSREEL_REQ_ARG, "SUFFIX",
     "keep names under SUFFIX as they are (labels below it still pseudonymised; repeat it; "
     "'.' keeps every name)",
     "Policy"},
    {OPT_DROP, "drop", 0, DNSREEL_REQ_ARG, "LIST",
     "remove instead of pseudonymise: proc, names, cmdline, answers (comma-separated)", NULL},
    {0},
};

static void print_versions(FILE *out)
{
	fprintf(out, ", %s", OpenSSL_version(OPENSSL_VERSION));
}

static const struct dnsreel_tool tool = {
    .name = "dnsreel-redact",
    .usage = "IN.reel -o OUT.reel --key-file KEY [OPTIONS]",
    .summary = "Write a pseudonymised copy of a capture, consistent across captures under one key.",
    .opts = opts,
    .epilog = "Examples:\n  dnsreel redact --keygen team.key\n"
	      "  dnsreel redact incident.reel -o shared.reel --key-file team.key "
	      "--keep-suffix cluster.local.\n",
    .print_versions = print_versions,
};

static const struct {
	const char *name;
	uint32_t bit;
} drops[] = {
    {"proc", DNSREEL_REDACT_DROP_PROC},
    {"names", DNSREEL_REDACT_DROP_NAMES},
    {"cmdline", DNSREEL_REDACT_DROP_CMDLINE},
    {"answers", DNSREEL_REDACT_DROP_ANSWERS},
};

static int parse_drop(const char *s, uint32_t *out)
{
	char buf[256];
	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		size_t i;
		for (i = 0; i < sizeof(drops) / sizeof(drops[0]); i++)
			if (!strcmp(t, drops[i].name))
				break;
		if (i == sizeof(drops) / sizeof(drops[0]))
			return -1;
		*out |= drops[i].bit;
	}
	return 0;
}

static int keygen(const struct dnsreel_cli *c, const char *path)
{
	uint8_t k[DNSREEL_REDACT_KEY_LEN];
	if (RAND_bytes(k, sizeof(k)) != 1) {
		dnsreel_err(c, "no random bytes from OpenSSL: cannot make a key");
		return DNSREEL_EXIT_FAIL;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		dnsreel_err(c, "%s: %s%s", path, strerror(errno),
			    errno == EEXIST ? " (a key is never overwritten: choose another name)"
					    : "");
		return DNSREEL_EXIT_FAIL;
	}
	char hex[2 * sizeof(k) + 2];
	for (size_t i = 0; i < sizeof(k); i++)
		snprintf(hex + 2 * i, 3, "%02x", k[i]);
	hex[2 * sizeof(k)] = '\n';
	OPENSSL_cleanse(k, sizeof(k));
	bool ok =
	    write(fd, hex, 2 * sizeof(k) + 1) == (ssize_t)(2 * sizeof(k) + 1) && fsync(fd) == 0;
	OPENSSL_cleanse(hex, sizeof(hex));
	if (close(fd) != 0 || !ok) {
		dnsreel_err(c, "%s: writing the key failed: %s", path, strerror(errno));
		unlink(path);
		return DNSREEL_EXIT_FAIL;
	}
	dnsreel_log(c, 0,
		    "%s: new key written; keep it secret, and use it for every capture "
		    "that must map alike",
		    path);
	return DNSREEL_EXIT_OK;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* 32 raw bytes, or 64 hex digits and optional trailing whitespace. */
static int read_key(const struct dnsreel_cli *c, const char *path, uint8_t key[32])
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		dnsreel_err(c, "%s: %s (make a key with --keygen FILE)", path, strerror(errno));
		return -1;
	}
	uint8_t buf[200];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	int ret = -1;
	size_t t = n;
	while (t > 0 && (buf[t - 1] == '\n' || buf[t - 1] == '\r' || buf[t - 1] == ' '))
		t--;
	if (n == 32) {
		memcpy(key, buf, 32);
		ret = 0;
	} else if (t == 64) {
		ret = 0;
		for (int i = 0; i < 32 && !ret; i++) {
			int hi = hexval(buf[2 * i]), lo = hexval(buf[2 * i + 1]);
			if (hi < 0 || lo < 0)
				ret = -1;
			else
				key[i] = (uint8_t)(hi << 4 | lo);
		}
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	if (ret)
		dnsreel_err(c,
			    "%s: not a key: want 32 bytes or 64 hex digits (make one with "
			    "--keygen FILE)",
			    path);
	return ret;
}

/* SHA-256 over the input as it lies on disk: each segment's name, size and bytes in order,
 * then index.sqlite's. Names what was redacted until captures carry a root hash of their own. */
static int hash_file(EVP_MD_CTX *md, const char *dir, const char *rel, char *err, size_t errlen)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	uint64_t size = (uint64_t)st.st_size;
	EVP_DigestUpdate(md, rel, strlen(rel) + 1);
	EVP_DigestUpdate(md, &size, sizeof(size));
	uint8_t buf[1 << 16];
	ssize_t k;
	while ((k = read(fd, buf, sizeof(buf))) > 0)
		EVP_DigestUpdate(md, buf, (size_t)k);
	int e = errno;
	close(fd);
	if (k < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -1;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int input_hash(const char *dir, char out[65], char *err, size_t errlen)
{
	char segdir[PATH_MAX];
	snprintf(segdir, sizeof(segdir), "%s/seg", dir);
	DIR *d = opendir(segdir);
	if (!d) {
		snprintf(err, errlen, "%s: %s", segdir, strerror(errno));
		return -1;
	}
	char **names = NULL;
	size_t n = 0, capn = 0;
	int ret = -1;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 4, ".zst"))
			continue;
		if (n == capn) {
			capn = capn ? 2 * capn : 16;
			char **nn = realloc(names, capn * sizeof(*names));
			if (!nn)
				goto out;
			names = nn;
		}
		if (!(names[n] = malloc(l + 5)))
			goto out;
		snprintf(names[n++], l + 5, "seg/%s", de->d_name);
	}
	qsort(names, n, sizeof(*names), cmp_str);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(md);
		snprintf(err, errlen, "SHA-256 unavailable from OpenSSL");
		goto out;
	}
	ret = 0;
	for (size_t i = 0; i < n && !ret; i++)
		ret = hash_file(md, dir, names[i], err, errlen);
	if (!ret)
		ret = hash_file(md, dir, "index.sqlite", err, errlen);
	uint8_t h[32];
	unsigned hl = 0;
	if (!ret && (!EVP_DigestFinal_ex(md, h, &hl) || hl != 32))
		ret = -1;
	EVP_MD_CTX_free(md);
	for (unsigned i = 0; !ret && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
out:
	closedir(d);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return ret;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* Every file and directory of the output onto the disk, once, before it is renamed into place:
 * nothing reads the output before that, so the writer need not sync each frame. */
static int sync_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	int fd =
	    open(p, (flag == FTW_D || flag == FTW_DP ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = fsync(fd);
	close(fd);
	return r;
}

static int sync_tree(const char *dir)
{
	return nftw(dir, sync_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void remove_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The writer's index rewritten into a fresh file: no free pages, nothing from before. */
static int vacuum(const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/index.sqlite", dir);
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "PRAGMA secure_delete=ON; VACUUM;", NULL, NULL, NULL);
	sqlite3_stmt *st = NULL;
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "PRAGMA freelist_count", -1, &st, NULL);
	if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) != 0) {
		snprintf(err, errlen, "%s: free pages remain after VACUUM", path);
		sqlite3_finalize(st);
		sqlite3_close(db);
		return -1;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		snprintf(err, errlen, "%s: VACUUM: %s", path,
			 db ? sqlite3_errmsg(db) : "no memory");
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

static int write_file_synced(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	size_t n = strlen(text);
	bool ok = write(fd, text, n) == (ssize_t)n && fsync(fd) == 0;
	return close(fd) == 0 && ok ? 0 : -1;
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = fsync(fd);
	close(fd);
	return r;
}

struct policy {
	const char *keep[DNSREEL_REDACT_MAX_KEEP];
	size_t n_keep;
	uint32_t drop;
};

static void policy_text(const struct policy *p, char *buf, size_t len)
{
	size_t o = (size_t)snprintf(buf, len, "addresses=cryptopan-aes128 names=hmac-sha512");
	for (size_t i = 0; i < p->n_keep && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, " keep-suffix=%s", p->keep[i]);
	bool first = true;
	for (size_t i = 0; i < sizeof(drops) / sizeof(drops[0]) && o < len; i++)
		if (p->drop & drops[i].bit) {
			o += (size_t)snprintf(buf + o, len - o, "%s%s", first ? " drop=" : ",",
					      drops[i].name);
			first = false;
		}
}

struct run {
	const struct dnsreel_cli *c;
	struct dnsreel_capr *in;
	struct dnsreel_capw *out;
	struct dnsreel_redactor *red;
	uint8_t *buf;
	size_t bufcap;
	uint32_t *order; /* processing order of a block's events */
	void *ordtmp;
	size_t ordcap;
	char err[2 * PATH_MAX + 256];
};

/* Context first (so every segment of the output starts with it), then every event. */
static int copy(struct run *x, const struct policy *pol)
{
	struct dnsreel_meta meta;
	int e = dnsreel_redactor__meta(x->red, dnsreel_capr__meta(x->in),
				       "dnsreel-redact " DNSREEL_VERSION, &meta);
	if (!e)
		e = dnsreel_capw__set_meta(x->out, &meta);
	for (size_t i = 0; !e && i < dnsreel_capr__netns_count(x->in); i++) {
		struct dnsreel_netns_ctx ns;
		e = dnsreel_redactor__netns(x->red, dnsreel_capr__netns_at(x->in, i), &ns);
		if (!e)
			e = dnsreel_capw__put_netns(x->out, &ns);
	}
	for (size_t i = 0;
	     !e && !(pol->drop & DNSREEL_REDACT_DROP_PROC) && i < dnsreel_capr__proc_count(x->in);
	     i++) {
		struct dnsreel_proc_ctx p;
		e = dnsreel_redactor__proc(x->red, dnsreel_capr__proc_at(x->in, i), &p);
		if (!e)
			e = dnsreel_capw__put_proc(x->out, &p);
	}
	for (size_t i = 0; !e && i < dnsreel_capr__service_count(x->in); i++) {
		struct dnsreel_service_ctx s;
		e = dnsreel_redactor__service(x->red, dnsreel_capr__service_at(x->in, i), &s);
		if (!e)
			e = dnsreel_capw__put_service(x->out, &s);
	}
	for (size_t i = 0; !e && i < dnsreel_capr__counter_count(x->in); i++) {
		const struct dnsreel_counter *k = dnsreel_capr__counter_at(x->in, i);
		e = dnsreel_capw__set_counter(x->out, k->name, k->value);
	}
	if (e) {
		snprintf(x->err, sizeof(x->err), "writing context: %s", dnsreel_strerror(e));
		return e;
	}
	struct dnsreel_progress prog;
	dnsreel_progress_init(&prog, x->c);
	struct dnsreel_capr_summary sum;
	dnsreel_capr__summary(x->in, &sum);
	uint64_t done = 0;
	size_t nf = dnsreel_capr__frame_count(x->in);
	for (size_t f = 0; f < nf; f++) {
		struct dnsreel_block blk = {0};
		char ebuf[512] = "";
		e = dnsreel_capr__read_frame(x->in, f, &blk, ebuf, sizeof(ebuf));
		if (e) {
			snprintf(x->err, sizeof(x->err),
				 "%s (%s); nothing was written: 'dnsreel verify' names the damage, "
				 "'dnsreel verify --reindex' keeps what is intact",
				 ebuf[0] ? ebuf : "reading a frame", dnsreel_strerror(e));
			return e;
		}
		if (blk.n > x->ordcap) {
			free(x->order);
			free(x->ordtmp);
			x->order = malloc(blk.n * sizeof(*x->order));
			x->ordtmp = malloc(blk.n * 16);
			x->ordcap = blk.n;
			if (!x->order || !x->ordtmp) {
				x->ordcap = 0;
				dnsreel_block__release(&blk);
				snprintf(x->err, sizeof(x->err), "out of memory");
				return -ENOMEM;
			}
		}
		dnsreel_redactor__order(blk.ev, blk.n, x->order, x->ordtmp);
		for (size_t i = 0; !e && i < blk.n; i++) {
			struct dnsreel_event ev = blk.ev[x->order[i]];
			e = dnsreel_redactor__event(x->red, &ev, x->buf, x->bufcap);
			if (!e)
				e = dnsreel_capw__append(x->out, &ev);
		}
		done += blk.n;
		dnsreel_block__release(&blk);
		if (e) {
			snprintf(x->err, sizeof(x->err), "writing events: %s", dnsreel_strerror(e));
			return e;
		}
		char rate[96];
		dnsreel_progress_rate(&prog, done, sum.events, "events", rate, sizeof(rate));
		dnsreel_progress(&prog, "redacting: %" PRIu64 "/%" PRIu64 " events%s", done,
				 sum.events, rate);
	}
	dnsreel_progress_done(&prog);
	const struct dnsreel_redact_stats *st = dnsreel_redactor__stats(x->red);
	struct {
		const char *n;
		uint64_t v;
	} ks[] = {
	    {"redact.events", st->events},
	    {"redact.messages", st->messages},
	    {"redact.payloads_dropped", st->payloads_dropped},
	    {"redact.rrs_dropped", st->rrs_dropped},
	    {"redact.messages_cut", st->messages_cut},
	    {"redact.edns_options_dropped", st->edns_options_dropped},
	};
	for (size_t i = 0; !e && i < sizeof(ks) / sizeof(ks[0]); i++)
		e = dnsreel_capw__set_counter(x->out, ks[i].n, ks[i].v);
	if (e)
		snprintf(x->err, sizeof(x->err), "writing counters: %s", dnsreel_strerror(e));
	return e;
}

int main(int argc, char **argv)
{
	struct dnsreel_cli c;
	int ret = DNSREEL_EXIT_FAIL, code = 0, id;
	const char *outp = NULL, *keyfile = NULL, *keygen_path = NULL;
	struct policy pol = {0};
	struct run x = {0};
	char tmp[PATH_MAX] = "";
	uint8_t key[DNSREEL_REDACT_KEY_LEN];
	bool have_key = false;
	dnsreel_cli_init(&c, &tool, argc, argv);
	x.c = &c;
	while ((id = dnsreel_cli_next(&c, &code)) != -1) {
		switch (id) {
		case DNSREEL_CLI_EXIT:
			ret = code;
			goto cleanup;
		case OPT_OUT:
			outp = c.arg;
			break;
		case OPT_KEY:
			keyfile = c.arg;
			break;
		case OPT_KEYGEN:
			keygen_path = c.arg;
			break;
		case OPT_KEEP:
			if (pol.n_keep == DNSREEL_REDACT_MAX_KEEP) {
				ret = dnsreel_cli_usage_error(&tool, "at most %d --keep-suffix",
							      DNSREEL_REDACT_MAX_KEEP);
				goto cleanup;
			}
			pol.keep[pol.n_keep++] = c.arg;
			break;
		case OPT_DROP:
			if (parse_drop(c.arg, &pol.drop)) {
				ret = dnsreel_cli_usage_error(
				    &tool,
				    "--drop %s: want a list of proc, names, cmdline, answers",
				    c.arg);
				goto cleanup;
			}
			break;
		}
	}
	if (keygen_path) {
		if (c.optind < argc || outp) {
			ret = dnsreel_cli_usage_error(&tool, "--keygen takes no capture");
			goto cleanup;
		}
		ret = keygen(&c, keygen_path);
		goto cleanup;
	}
	if (c.optind >= argc) {
		ret = dnsreel_cli_usage_error(&tool, "no capture given");
		goto cleanup;
	}
	if (c.optind + 1 < argc) {
		ret = dnsreel_cli_usage_error(&tool, "one capture at a time (merge first)");
		goto cleanup;
	}
	if (!outp || !keyfile) {
		ret = dnsreel_cli_usage_error(&tool, "%s is required",
					      !outp ? "-o OUT.reel" : "--key-file FILE");
		goto cleanup;
	}
	const char *inp = argv[c.optind];
	struct stat st;
	if (stat(outp, &st) == 0 || errno != ENOENT) {
		dnsreel_err(&c, "%s: %s; choose a new name for the redacted capture", outp,
			    errno == ENOENT ? "exists" : strerror(errno));
		goto cleanup;
	}
	if (read_key(&c, keyfile, key))
		goto cleanup;
	have_key = true;
	const char *kp[DNSREEL_REDACT_MAX_KEEP];
	for (size_t i = 0; i < pol.n_keep; i++)
		kp[i] = pol.keep[i];
	struct dnsreel_redact_opts ro = {
	    .sz = sizeof(ro), .keep_suffix = kp, .n_keep = pol.n_keep, .drop = pol.drop};
	int e = dnsreel_redactor__new(&x.red, key, sizeof(key), &ro);
	if (e) {
		if (e == DNSREEL_E_ARG)
			ret =
			    dnsreel_cli_usage_error(&tool, "a --keep-suffix is not a domain name");
		else
			dnsreel_err(&c, "setting up the redactor: %s", dnsreel_strerror(e));
		goto cleanup;
	}
	struct dnsreel_capr_opts co = {.sz = sizeof(co)};
	char ebuf[2 * PATH_MAX] = "";
	e = dnsreel_capr__open(&x.in, inp, &co, ebuf, sizeof(ebuf));
	if (e) {
		dnsreel_err(&c, "%s: %s", inp, ebuf[0] ? ebuf : dnsreel_strerror(e));
		goto cleanup;
	}
	char ihash[65] = "";
	if (input_hash(inp, ihash, x.err, sizeof(x.err))) {
		dnsreel_err(&c, "hashing the input: %s", x.err);
		goto cleanup;
	}
	{
		char d[PATH_MAX], b[PATH_MAX];
		snprintf(d, sizeof(d), "%s", outp);
		snprintf(b, sizeof(b), "%s", outp);
		snprintf(tmp, sizeof(tmp), "%s/.%s.part-%ld", dirname(d), basename(b),
			 (long)getpid());
	}
	x.bufcap = 65536 + 2;
	x.buf = malloc(x.bufcap);
	if (!x.buf) {
		dnsreel_err(&c, "out of memory");
		goto cleanup;
	}
	struct dnsreel_capw_opts wo = {
	    .sz = sizeof(wo), .snaplen = 65535, .errbuf = x.err, .errlen = sizeof(x.err)};
	e = dnsreel_capw__open(&x.out, tmp, &wo);
	if (e) {
		dnsreel_err(&c, "%s: %s", tmp, x.err[0] ? x.err : dnsreel_strerror(e));
		tmp[0] = '\0'; /* not ours to remove */
		goto cleanup;
	}
	/* the output names its input by capture id and custody root, in every segment and the
	 * manifest, so the receiving team can tie it to the capture it was made from */
	const struct dnsreel_custody *icu = NULL;
	struct dnsreel_custody_input in = {.role = "redact"};
	snprintf(in.capture_id, sizeof(in.capture_id), "%s", dnsreel_capr__meta(x.in)->capture_id);
	if (!dnsreel_capr__custody(x.in, &icu) && icu && icu->chained)
		snprintf(in.root, sizeof(in.root), "%s", icu->root);
	e = dnsreel_capw__add_input(x.out, &in);
	if (e) {
		dnsreel_err(&c, "%s: %s", tmp, dnsreel_strerror(e));
		goto cleanup;
	}
	e = copy(&x, &pol);
	int ce = dnsreel_capw__close(x.out);
	x.out = NULL;
	if (e || ce) {
		dnsreel_err(&c, "%s: %s", e ? inp : outp,
			    x.err[0] ? x.err : dnsreel_strerror(e ? e : ce));
		goto cleanup;
	}
	if (vacuum(tmp, x.err, sizeof(x.err))) {
		dnsreel_err(&c, "%s", x.err);
		goto cleanup;
	}
	char kid[17], ptext[1024], prov[2048], ppath[PATH_MAX + 16];
	dnsreel_redactor__key_id(x.red, kid);
	policy_text(&pol, ptext, sizeof(ptext));
	const struct dnsreel_redact_stats *rs = dnsreel_redactor__stats(x.red);
	snprintf(prov, sizeof(prov),
		 "redacted-by: dnsreel-redact %s\n"
		 "input-capture-id: %s\n"
		 "input-sha256: %s\n"
		 "input-root: %s\n"
		 "input-events: %" PRIu64 "\n"
		 "key-id: %s\n"
		 "policy: %s\n"
		 "payloads-dropped: %" PRIu64 "\n"
		 "records-dropped: %" PRIu64 "\n",
		 DNSREEL_VERSION, dnsreel_capr__meta(x.in)->capture_id, ihash,
		 in.root[0] ? in.root : "none (recorded before custody)", rs->events, kid, ptext,
		 rs->payloads_dropped, rs->rrs_dropped);
	snprintf(ppath, sizeof(ppath), "%s/REDACTED", tmp);
	if (write_file_synced(ppath, prov) || sync_tree(tmp)) {
		dnsreel_err(&c, "%s: %s", ppath, strerror(errno));
		goto cleanup;
	}
	if (rename(tmp, outp) != 0) {
		dnsreel_err(&c, "%s: cannot rename into place: %s", outp, strerror(errno));
		goto cleanup;
	}
	tmp[0] = '\0';
	{
		char d[PATH_MAX];
		snprintf(d, sizeof(d), "%s", outp);
		sync_dir(dirname(d));
	}
	dnsreel_log(&c, 0,
		    "%s: %" PRIu64 " events redacted (%" PRIu64 " messages rebuilt, %" PRIu64
		    " payloads emptied, %" PRIu64 " records left out), key id %s",
		    outp, rs->events, rs->messages, rs->payloads_dropped, rs->rrs_dropped, kid);
	ret = DNSREEL_EXIT_OK;
cleanup:
	if (x.out)
		dnsreel_capw__close(x.out);
	if (tmp[0])
		remove_tree(tmp);
	dnsreel_capr__close(x.in);
	dnsreel_redactor__free(x.red);
	free(x.buf);
	free(x.order);
	free(x.ordtmp);
	if (have_key)
		OPENSSL_cleanse(key, sizeof(key));
	return dnsreel_cli_end(&c, ret);
}
