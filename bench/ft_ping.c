/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * ft-ping: the baseline of the fault-containment benchmark
 * (bench/bench-ft.sh, and the test VM's payload-ft.sh). The same
 * supervisor that restarts edu instances restarts this instead: csx-uhelperd
 * --csx-run ft-ping. It does the least a restartable server must do, with
 * nothing of CSX: listen on DIR/ping.N.sock (N: $CSX_INSTANCE, DIR: the
 * --ping-dir argument; every other argument, meant for csx-run, is
 * ignored), tell the daemon it serves (HELLO and EXPORT "ping/N", which
 * is what makes the supervisor report READY), and echo every 8 bytes a
 * client sends (ft_client --ping DIR).
 *
 * So "kill -> first answer" here is the supervisor's own part of a
 * recovery (noticing the death, the backoff, fork and exec) plus a trivial
 * start; the edu instance adds loading CSX and the driver, probing the
 * device, restoring saved state and the client's re-open and re-issue.
 */
#include "../helpers/include/csx_uh_msg.h"
#include "../helpers/include/csx_uh_proto.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define PING_CONNS_MAX 64

struct ping_conn {
	int fd;
	unsigned char buf[8];
	size_t got;
};

static int ping_listen(const char *dir, const char *inst)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/ping.%s.sock", dir,
		     inst) >= (int)sizeof(sa.sun_path))
		return -1;
	unlink(sa.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(fd, PING_CONNS_MAX)) {
		perror("ft-ping: listen");
		return -1;
	}
	return fd;
}

/* One request to the daemon and its reply's status; -1 if none. */
static int ping_call(int fd, void *msg, size_t len, uint16_t type, uint32_t seq)
{
	struct csx_uh_hdr *h = msg;
	union {
		struct csx_uh_reply reply;
		unsigned char raw[CSX_UH_MSG_MAX];
	} m;
	unsigned int nfds;
	int fds[CSX_UH_MSG_FDS_MAX];
	ssize_t n;

	*h = (struct csx_uh_hdr){ .magic = CSX_UH_MAGIC,
				  .version = CSX_UH_PROTO_VERSION,
				  .type = type,
				  .len = (uint32_t)len,
				  .seq = seq };
	if (csx_uh_msg_send(fd, msg, len, NULL, 0, 0))
		return -1;
	for (;;) {
		nfds = 0;
		n = csx_uh_msg_recv(fd, &m, sizeof(m), fds, CSX_UH_MSG_FDS_MAX,
				    &nfds, 0, NULL);
		while (nfds)
			close(fds[--nfds]);
		if (n < (ssize_t)sizeof(m.reply))
			return -1;
		if (m.reply.hdr.type == CSX_UH_REPLY && m.reply.hdr.seq == seq)
			return m.reply.status;
	}
}

/* HELLO and EXPORT "ping/N": the daemon's READY. The connection, or -1. */
static int ping_register(const char *inst)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct csx_uh_hello hello = { .proto = CSX_UH_PROTO_VERSION };
	struct csx_uh_export exp = { .version = 1, .scope = CSX_UH_SCOPE_USER };
	const char *path = getenv(CSX_UH_SOCKET_ENV);
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s",
		 path ? path : CSX_UH_SOCKET_DEFAULT);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("ft-ping: csx-uhelperd");
		return -1;
	}
	snprintf(hello.name, sizeof(hello.name), "ft-ping");
	snprintf(exp.name, sizeof(exp.name), "ping/%s", inst);
	if (ping_call(fd, &hello, sizeof(hello), CSX_UH_HELLO, 1) ||
	    ping_call(fd, &exp, sizeof(exp), CSX_UH_EXPORT, 2)) {
		fprintf(stderr, "ft-ping: HELLO/EXPORT refused\n");
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads what came on @c; echoes each whole 8 bytes. false: drop it. */
static bool ping_serve(struct ping_conn *c)
{
	ssize_t n = read(c->fd, c->buf + c->got, sizeof(c->buf) - c->got);

	if (n <= 0)
		return n < 0 && errno == EINTR;
	c->got += (size_t)n;
	if (c->got < sizeof(c->buf))
		return true;
	c->got = 0;
	return send(c->fd, c->buf, sizeof(c->buf), MSG_NOSIGNAL) ==
	       (ssize_t)sizeof(c->buf);
}

static void ping_loop(int lfd, int dfd)
{
	struct pollfd p[PING_CONNS_MAX + 2];
	struct ping_conn c[PING_CONNS_MAX];
	unsigned int n = 0, i;
	int fd;

	for (;;) {
		p[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = dfd, .events = POLLIN };
		for (i = 0; i < n; i++)
			p[i + 2] = (struct pollfd){ .fd = c[i].fd,
						    .events = POLLIN };
		if (poll(p, n + 2, -1) < 0 && errno != EINTR)
			return;
		/* The daemon says nothing we need; a restarted one forgets
		 * us, which changes nothing for the clients. */
		if (dfd >= 0 && p[1].revents) {
			close(dfd);
			dfd = -1;
		}
		for (i = n; i-- > 0;) {
			if (!p[i + 2].revents || ping_serve(&c[i]))
				continue;
			close(c[i].fd);
			c[i] = c[--n];
		}
		if (p[0].revents & POLLIN) {
			fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0 && n < PING_CONNS_MAX)
				c[n++] = (struct ping_conn){ .fd = fd };
			else if (fd >= 0)
				close(fd);
		}
	}
}

int main(int argc, char **argv)
{
	const char *inst = getenv(CSX_UH_INSTANCE_ENV), *dir = NULL;
	int i, lfd, dfd;

	for (i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--ping-dir"))
			dir = argv[i + 1];
	if (!dir || !inst) {
		fprintf(stderr, "ft-ping: needs --ping-dir DIR and $%s\n",
			CSX_UH_INSTANCE_ENV);
		return 64;
	}
	lfd = ping_listen(dir, inst);
	if (lfd < 0)
		return 70;
	dfd = ping_register(inst);
	if (dfd < 0)
		return 69;
	ping_loop(lfd, dfd);
	return 70;
}
