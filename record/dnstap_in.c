/* The recorder's dnstap socket: accept, handshake and decode on a thread, queue for the
 * recording loop (which alone touches the capture writer). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "dnsreel.h"
#include "dnstap.h"
#include "dnstap_in.h"

/* Events waiting for the recording loop; past this the newest are dropped (and counted). At
 * a 10 ms loop this is far above what a server reports in that time. */
#define QUEUE_MAX 262144

struct qev {
	struct dnsreel_event ev; /* payload owned */
};

struct rec_dnstap {
	int lfd;
	int cfd; /* the connection being read, -1 when none; under mu */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char proc[512]; /* <host-root>/proc */
	int64_t boot_to_wall;
	pthread_t thr;
	bool started;
	pthread_mutex_t mu;
	bool stop; /* under mu */
	struct qev *q;
	size_t n, cap;
	struct rec_dnstap_stats st;
	char last_err[512];
};

static void set_err(struct rec_dnstap *d, const char *msg)
{
	pthread_mutex_lock(&d->mu);
	size_t n = strnlen(msg, sizeof(d->last_err) - 1);
	memcpy(d->last_err, msg, n);
	d->last_err[n] = 0;
	pthread_mutex_unlock(&d->mu);
}

static uint64_t peer_netns(struct rec_dnstap *d, int fd)
{
	struct ucred cr;
	socklen_t l = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) || cr.pid <= 0)
		return 0;
	char p[600];
	snprintf(p, sizeof(p), "%s/%d/ns/net", d->proc, (int)cr.pid);
	struct stat sb;
	return stat(p, &sb) == 0 ? (uint64_t)sb.st_ino : 0;
}

static void enqueue(struct rec_dnstap *d, const struct dnsreel_event *ev)
{
	uint8_t *pl = malloc(ev->cap_len ? ev->cap_len : 1);
	pthread_mutex_lock(&d->mu);
	if (!pl || d->n >= QUEUE_MAX) {
		d->st.dropped++;
		pthread_mutex_unlock(&d->mu);
		free(pl);
		return;
	}
	if (d->n == d->cap) {
		size_t c = d->cap ? d->cap * 2 : 1024;
		struct qev *q = realloc(d->q, c * sizeof(*q));
		if (!q) {
			d->st.dropped++;
			pthread_mutex_unlock(&d->mu);
			free(pl);
			return;
		}
		d->q = q;
		d->cap = c;
	}
	memcpy(pl, ev->payload, ev->cap_len);
	d->q[d->n].ev = *ev;
	d->q[d->n].ev.payload = pl;
	d->n++;
	d->st.messages++;
	pthread_mutex_unlock(&d->mu);
}

static void serve(struct rec_dnstap *d, int fd)
{
	char err[384] = "", msg[512];
	uint64_t netns = peer_netns(d, fd);
	struct dnsreel_dnstap_reader *rd = NULL;
	struct dnsreel_dnstap_msg m = {0};
	if (dnsreel_dnstap_reader__open(&rd, fd, true, err, sizeof(err)) < 0) {
		snprintf(msg, sizeof(msg), "dnstap connection: %s", err);
		set_err(d, msg);
		pthread_mutex_lock(&d->mu);
		d->st.bad++;
		pthread_mutex_unlock(&d->mu);
		return;
	}
	for (;;) {
		const uint8_t *data;
		size_t len;
		uint64_t off = 0;
		int r = dnsreel_dnstap_reader__next(rd, &data, &len, &off, err, sizeof(err));
		if (r <= 0) {
			pthread_mutex_lock(&d->mu);
			bool stopping = d->stop;
			if (r < 0 && !stopping)
				d->st.bad++;
			pthread_mutex_unlock(&d->mu);
			if (r < 0 && !stopping) {
				snprintf(msg, sizeof(msg), "dnstap connection: %s", err);
				set_err(d, msg);
			}
			break;
		}
		if (dnsreel_dnstap_msg__decode(&m, data, len, d->boot_to_wall, err, sizeof(err)) <
		    0) {
			snprintf(msg, sizeof(msg), "dnstap frame at byte offset %llu: %s",
				 (unsigned long long)off, err);
			set_err(d, msg);
			pthread_mutex_lock(&d->mu);
			d->st.bad++;
			pthread_mutex_unlock(&d->mu);
			continue;
		}
		m.ev.netns = netns;
		enqueue(d, &m.ev);
	}
	dnsreel_dnstap_msg__free(&m);
	dnsreel_dnstap_reader__close(rd);
}

static void *run(void *arg)
{
	struct rec_dnstap *d = arg;
	for (;;) {
		pthread_mutex_lock(&d->mu);
		bool stop = d->stop;
		pthread_mutex_unlock(&d->mu);
		if (stop)
			break;
		struct pollfd p = {.fd = d->lfd, .events = POLLIN};
		if (poll(&p, 1, 100) <= 0)
			continue;
		int fd = accept4(d->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		pthread_mutex_lock(&d->mu);
		d->st.connections++;
		d->cfd = fd;
		stop = d->stop;
		pthread_mutex_unlock(&d->mu);
		if (!stop)
			serve(d, fd);
		pthread_mutex_lock(&d->mu);
		d->cfd = -1;
		pthread_mutex_unlock(&d->mu);
		close(fd);
	}
	return NULL;
}

int rec_dnstap__open(struct rec_dnstap **out, const char *path, const char *host_root,
		     int64_t boot_to_wall_ns, char *errbuf, size_t errlen)
{
	*out = NULL;
	struct rec_dnstap *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->lfd = d->cfd = -1;
	d->boot_to_wall = boot_to_wall_ns;
	snprintf(d->proc, sizeof(d->proc), "%s/proc", host_root ? host_root : "");
	pthread_mutex_init(&d->mu, NULL);
	if (strlen(path) >= sizeof(d->path)) {
		snprintf(errbuf, errlen,
			 "--dnstap-socket %s: longer than a unix socket path can be", path);
		rec_dnstap__close(d);
		return DNSREEL_E_ARG;
	}
	snprintf(d->path, sizeof(d->path), "%s", path);
	struct stat sb;
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			snprintf(errbuf, errlen,
				 "--dnstap-socket %s: exists and is not a socket; give a new path",
				 path);
			d->path[0] = 0; /* not ours to remove */
			rec_dnstap__close(d);
			return DNSREEL_E_ARG;
		}
		unlink(path); /* a stale socket of an earlier run */
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, d->path, strlen(d->path) + 1);
	d->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int e = 0;
	if (d->lfd < 0 || bind(d->lfd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0666) ||
	    listen(d->lfd, 4)) {
		e = -errno;
		snprintf(errbuf, errlen, "--dnstap-socket %s: %s", path, strerror(errno));
		if (d->lfd >= 0 && lstat(path, &sb) != 0)
			d->path[0] = 0;
		rec_dnstap__close(d);
		return e;
	}
	if ((e = pthread_create(&d->thr, NULL, run, d))) {
		snprintf(errbuf, errlen, "--dnstap-socket: thread: %s", strerror(e));
		rec_dnstap__close(d);
		return -e;
	}
	d->started = true;
	*out = d;
	return 0;
}

int rec_dnstap__drain(struct rec_dnstap *d, int (*fn)(void *arg, const struct dnsreel_event *ev),
		      void *arg)
{
	if (!d)
		return 0;
	pthread_mutex_lock(&d->mu);
	struct qev *q = d->q;
	size_t n = d->n;
	d->q = NULL;
	d->n = d->cap = 0;
	pthread_mutex_unlock(&d->mu);
	int ret = 0;
	for (size_t i = 0; i < n; i++) {
		if (!ret)
			ret = fn(arg, &q[i].ev);
		free((void *)q[i].ev.payload);
	}
	free(q);
	return ret;
}

void rec_dnstap__stats(struct rec_dnstap *d, struct rec_dnstap_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!d)
		return;
	pthread_mutex_lock(&d->mu);
	*st = d->st;
	pthread_mutex_unlock(&d->mu);
}

void rec_dnstap__last_error(struct rec_dnstap *d, char *buf, size_t len)
{
	if (!d) {
		snprintf(buf, len, "%s", "");
		return;
	}
	pthread_mutex_lock(&d->mu);
	snprintf(buf, len, "%s", d->last_err);
	pthread_mutex_unlock(&d->mu);
}

void rec_dnstap__stop(struct rec_dnstap *d)
{
	if (!d || !d->started)
		return;
	pthread_mutex_lock(&d->mu);
	d->stop = true;
	/* wakes the reader blocked in read(): it sees the end of the stream */
	if (d->cfd >= 0)
		shutdown(d->cfd, SHUT_RDWR);
	pthread_mutex_unlock(&d->mu);
	pthread_join(d->thr, NULL);
	d->started = false;
}

void rec_dnstap__close(struct rec_dnstap *d)
{
	if (!d)
		return;
	rec_dnstap__stop(d);
	if (d->lfd >= 0)
		close(d->lfd);
	if (d->path[0])
		unlink(d->path);
	for (size_t i = 0; i < d->n; i++)
		free((void *)d->q[i].ev.payload);
	free(d->q);
	pthread_mutex_destroy(&d->mu);
	free(d);
}
