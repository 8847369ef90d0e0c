/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * A minimal csx-uhelperd client for tests/uh/uhelperd.sh, so that the
 * script can act as different uids (setpriv) against the real daemon:
 *
 *   uh_client SOCKET export NAME VERSION user|public
 *	prints "status=S"; on success holds the export until killed or the
 *	daemon goes, printing "connect NAME pid=P" for each channel opened
 *	to it (whose descriptor it closes: the opener sees the hang-up).
 *   uh_client SOCKET open NAME MINVER
 *	prints "status=S value=V fd=yes|no" ("fd=yes" only for a
 *	SOCK_SEQPACKET socket).
 *   uh_client SOCKET idle SECONDS
 *	connects, says nothing, and prints "closed" if the daemon hangs up
 *	within SECONDS, else "open".
 *
 * Exit status: 0 once the status is printed, 2 bad usage, 3 the daemon
 * closed the connection or cannot be reached.
 */
#include "uh_util.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static union uh_msg msg;

static int usage(void)
{
	fprintf(stderr, "usage: uh_client SOCKET export NAME VERSION "
			"user|public\n"
			"       uh_client SOCKET open NAME MINVER\n"
			"       uh_client SOCKET idle SECONDS\n");
	return 2;
}

static int transport(const char *what, int err)
{
	printf("%s: %s\n", what,
	       err == -ECONNRESET ? "connection closed" : strerror(-err));
	return 3;
}

/* Holds the export: answers nothing, reports and closes each channel. */
static int serve(int fd)
{
	int fds[UH_MAX_FDS], nfds;
	ssize_t n;

	for (;;) {
		n = uh_recv(fd, &msg, fds, &nfds, 0, NULL);
		if (n <= 0)
			return 0;
		if ((size_t)n == sizeof(msg.connect) &&
		    msg.hdr.type == CSX_UH_CONNECT) {
			msg.connect.name[CSX_UH_NAME_MAX - 1] = '\0';
			printf("connect %s pid=%u fds=%d\n", msg.connect.name,
			       msg.connect.peer_pid, nfds);
			fflush(stdout);
		}
		uh_close_fds(fds, nfds);
	}
}

static int do_export(int fd, char **argv)
{
	struct csx_uh_export e;
	ssize_t n;

	memset(&e, 0, sizeof(e));
	uh_hdr(&e.hdr, CSX_UH_EXPORT, sizeof(e), 2);
	e.version = (uint32_t)strtoul(argv[1], NULL, 0);
	if (!strcmp(argv[2], "user"))
		e.scope = CSX_UH_SCOPE_USER;
	else if (!strcmp(argv[2], "public"))
		e.scope = CSX_UH_SCOPE_PUBLIC;
	else
		return usage();
	strncpy(e.name, argv[0], sizeof(e.name) - 1);
	n = uh_call(fd, &e, sizeof(e), &msg, NULL, NULL);
	if (n < 0)
		return transport("export", (int)n);
	printf("status=%d\n", msg.reply.status);
	fflush(stdout);
	return msg.reply.status ? 0 : serve(fd);
}

static int do_open(int fd, char **argv)
{
	struct csx_uh_open o;
	int type = 0, cfd;
	socklen_t len = sizeof(type);
	ssize_t n;

	memset(&o, 0, sizeof(o));
	uh_hdr(&o.hdr, CSX_UH_OPEN, sizeof(o), 2);
	o.min_version = (uint32_t)strtoul(argv[1], NULL, 0);
	strncpy(o.name, argv[0], sizeof(o.name) - 1);
	n = uh_call(fd, &o, sizeof(o), &msg, &cfd, NULL);
	if (n < 0)
		return transport("open", (int)n);
	if (cfd >= 0) {
		getsockopt(cfd, SOL_SOCKET, SO_TYPE, &type, &len);
		close(cfd);
	}
	printf("status=%d value=%u fd=%s\n", msg.reply.status, msg.reply.value,
	       type == SOCK_SEQPACKET ? "yes" : "no");
	return 0;
}

/* A silent connection: does the daemon hang up on it in time? */
static int do_idle(int fd, const char *secs)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	if (poll(&p, 1, atoi(secs) * 1000) == 1 &&
	    recv(fd, &c, 1, MSG_DONTWAIT) == 0)
		printf("closed\n");
	else
		printf("open\n");
	return 0;
}

int main(int argc, char **argv)
{
	int fd, ret;

	if (argc == 4 && !strcmp(argv[2], "idle")) {
		fd = uh_connect(argv[1], 0);
		if (fd < 0)
			return transport("connect", fd);
		ret = do_idle(fd, argv[3]);
		close(fd);
		return ret;
	}
	if (argc < 5)
		return usage();
	fd = uh_connect(argv[1], 0);
	if (fd < 0)
		return transport("connect", fd);
	ret = uh_hello(fd, "uh_client", 1);
	/* A transport error or a refused HELLO: either ends the test. */
	if (ret == -ECONNRESET || ret == -EPIPE)
		return transport("hello", ret);
	if (ret) {
		printf("hello: status=%d\n", ret);
		return 3;
	}
	if (!strcmp(argv[2], "export") && argc == 6)
		ret = do_export(fd, argv + 3);
	else if (!strcmp(argv[2], "open") && argc == 5)
		ret = do_open(fd, argv + 3);
	else
		ret = usage();
	close(fd);
	return ret;
}
