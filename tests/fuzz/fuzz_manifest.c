/* Invariant: any bytes as a merged capture's manifest (index.sqlite beside parts/) never crash or
 * hang the manifest loader, the expansion into parts or verify, and whatever the loader accepts
 * holds its promises: at least one input, part directories of the NNN-NODE.reel form that exist
 * under parts/, no two inputs with one directory or one capture id, and expanded paths that stay
 * inside DIR/parts/.
 *
 * Input: the whole index.sqlite file. A directory with parts/001-node-a.reel and
 * parts/002-node-b.reel (empty) is made once per process under $TMPDIR.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)                                                                                 \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

static char dir[256];
static const char *const parts[] = {"001-node-a.reel", "002-node-b.reel"};

static void cleanup(void)
{
	char p[400];
	snprintf(p, sizeof(p), "%s/index.sqlite", dir);
	unlink(p);
	for (size_t i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/parts/%s", dir, parts[i]);
		rmdir(p);
	}
	snprintf(p, sizeof(p), "%s/parts", dir);
	rmdir(p);
	rmdir(dir);
}

static void setup(void)
{
	const char *t = getenv("TMPDIR");
	char p[400];
	snprintf(dir, sizeof(dir), "%s/dnsreel-fuzz-manifest-%d.reel", t ? t : "/tmp",
		 (int)getpid());
	mkdir(dir, 0700);
	snprintf(p, sizeof(p), "%s/parts", dir);
	mkdir(p, 0700);
	for (size_t i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/parts/%s", dir, parts[i]);
		mkdir(p, 0700);
	}
	atexit(cleanup);
}

static void nop(void *ctx, const char *msg)
{
	(void)ctx;
	REQUIRE(msg != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0])
		setup();
	char path[300];
	snprintf(path, sizeof(path), "%s/index.sqlite", dir);
	FILE *f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);

	char eb[600];
	struct dnsreel_merged *m = NULL;
	int r = dnsreel_merged__load(dir, &m, eb, sizeof(eb));
	REQUIRE(r == 1 ? m != NULL : m == NULL);
	if (m) {
		REQUIRE(m->ninputs >= 1 && m->ninputs <= 2);
		for (size_t i = 0; i < m->ninputs; i++) {
			REQUIRE(dr_part_name_ok(m->inputs[i].part));
			for (size_t k = 0; k < i; k++)
				REQUIRE(strcmp(m->inputs[i].part, m->inputs[k].part) &&
					strcmp(m->inputs[i].capture_id, m->inputs[k].capture_id));
		}
	} else
		REQUIRE(r < 0 && eb[0]);
	const char *in[] = {dir};
	char **xp;
	size_t nx;
	if (dnsreel_capture_expand(in, 1, &xp, &nx, eb, sizeof(eb)) == 0) {
		REQUIRE(m && nx == m->ninputs);
		size_t dl = strlen(dir);
		for (size_t i = 0; i < nx; i++)
			REQUIRE(!strncmp(xp[i], dir, dl) && !strncmp(xp[i] + dl, "/parts/", 7) &&
				!strstr(xp[i] + dl, "..") && !strchr(xp[i] + dl + 7, '/'));
		dnsreel_capture_expand_free(xp, nx);
	} else
		REQUIRE(!m);
	dnsreel_merged__free(m);
	struct dnsreel_verify_opts vo = {.sz = sizeof(vo), .problem = nop};
	REQUIRE(dnsreel_capture_verify(dir, &vo) >= 1 || r == 1);
	return 0;
}
