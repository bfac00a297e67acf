/* The control socket of overlay LUNs and "wupan-target ctl": see fleet.h.
 * One request a connection, a line of words: "list", "versions", "reset
 * INITIATOR", "commit INITIATOR COMMENT", "rollback", "prune", with "json"
 * first for JSON.  The answer starts with a line "ok" or
 * "error", then the text. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "iscsi/fleet.h"

#define CTL_LINE_MAX 1024
#define CTL_DEFAULT "/run/wupan-target.sock"

/* Takes the next word of *p (NUL-terminating it), or NULL. */
static char *word(char **p)
{
	char *w;

	*p += strspn(*p, " \t");
	if (!**p)
		return NULL;
	w = *p;
	*p += strcspn(*p, " \t");
	if (**p)
		*(*p)++ = 0;
	return w;
}

/* Runs one request line; writes the answer to out; returns 0 or -1. */
static int ctl_run(char *line, FILE *out)
{
	char *p = line, *cmd, *arg;
	int json = 0;

	line[strcspn(line, "\r\n")] = 0;
	cmd = word(&p);
	if (cmd && !strcmp(cmd, "json")) {
		json = 1;
		cmd = word(&p);
	}
	if (!cmd)
		cmd = "";
	if (!strcmp(cmd, "list") && !word(&p)) {
		fleet_report(out, json);
		return 0;
	}
	if (!strcmp(cmd, "versions") && !word(&p)) {
		fleet_versions(out, json);
		return 0;
	}
	if (!strcmp(cmd, "reset") && (arg = word(&p)) && !word(&p))
		return fleet_reset(arg, out);
	if (!strcmp(cmd, "commit") && (arg = word(&p)))
		return fleet_commit(arg, p + strspn(p, " \t"), out);
	if (!strcmp(cmd, "rollback") && !word(&p))
		return fleet_rollback(out);
	if (!strcmp(cmd, "prune") && !word(&p))
		return fleet_prune(out);
	fprintf(out, "unknown request (list, versions, reset INITIATOR, "
		     "commit INITIATOR [COMMENT], rollback, prune)\n");
	return -1;
}

/* Answers one connection. */
static void ctl_serve(int fd)
{
	struct timeval tv = { 2, 0 };
	char line[CTL_LINE_MAX + 1], *body = NULL;
	size_t len = 0, blen = 0;
	FILE *out;
	int rc;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (len < CTL_LINE_MAX) {
		ssize_t r = read(fd, line + len, CTL_LINE_MAX - len);

		if (r <= 0)
			break;
		len += (size_t)r;
		if (memchr(line, '\n', len))
			break;
	}
	line[len] = 0;
	out = open_memstream(&body, &blen);
	if (!out)
		return;
	rc = ctl_run(line, out);
	fclose(out);
	if (dprintf(fd, "%s\n", rc ? "error" : "ok") < 0 ||
	    write(fd, body, blen) < 0)
		log_line("control: answer not sent: %s", strerror(errno));
	free(body);
}

/* The control thread: one connection at a time. */
static void *ctl_thread(void *arg)
{
	int lfd = (int)(intptr_t)arg;

	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			/* Out of descriptors: try again shortly. */
			sleep(1);
			continue;
		}
		ctl_serve(fd);
		close(fd);
	}
	return NULL;
}

int fleet_ctl_start(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	pthread_t th;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto err;
	unlink(path); /* left by an earlier run */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0600) ||
	    listen(fd, 8))
		goto err;
	if (pthread_create(&th, NULL, ctl_thread, (void *)(intptr_t)fd)) {
		errno = EAGAIN;
		goto err;
	}
	pthread_detach(th);
	log_line("control socket %s", path);
	return 0;
err:
	snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

int fleet_ctl_main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = CTL_DEFAULT;
	char req[CTL_LINE_MAX], buf[65536];
	size_t len = 0;
	int i = 1, json = 0, fd, ok = -1;
	ssize_t n;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			path = argv[++i];
		else
			break;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: wupan-target ctl [--socket PATH] "
				"[--json] list | versions | reset INITIATOR |\n"
				"         commit INITIATOR [COMMENT...] | "
				"rollback | prune\n");
		return 2;
	}
	len = (size_t)snprintf(req, sizeof(req), "%s", json ? "json" : "");
	for (; i < argc && len < sizeof(req); i++) {
		if (strpbrk(argv[i], "\r\n")) {
			fprintf(stderr, "wupan-target ctl: no newlines in "
					"arguments\n");
			return 2;
		}
		len += (size_t)snprintf(req + len, sizeof(req) - len, "%s%s",
					len ? " " : "", argv[i]);
	}
	if (len < sizeof(req) - 1)
		req[len++] = '\n';
	if (len >= sizeof(req) - 1 || strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "wupan-target ctl: request or path too long\n");
		return 2;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "wupan-target ctl: %s: %s\n", path,
			strerror(errno));
		return 1;
	}
	if (write(fd, req, len) != (ssize_t)len) {
		fprintf(stderr, "wupan-target ctl: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	len = 0;
	while (len < sizeof(buf) - 1 &&
	       (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = 0;
	if (!strncmp(buf, "ok\n", 3))
		ok = 0;
	else if (strncmp(buf, "error\n", 6)) {
		fprintf(stderr, "wupan-target ctl: no answer from %s\n", path);
		return 1;
	}
	fputs(buf + (ok ? 6 : 3), ok ? stderr : stdout);
	return ok ? 1 : 0;
}
