/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * A minimal csx-uhelperd client for tests/uh/uhelperd.sh and
 * tests/uh/supervisor.sh, so that the scripts can act as different uids
 * (setpriv) and as supervised processes against the real daemon:
 *
 *   uh_client SOCKET export NAME VERSION user|public [IDEMPOTENT]
 *	prints "status=S"; on success holds the export until killed or the
 *	daemon goes, printing "connect NAME pid=P" for each channel opened
 *	to it (whose descriptor it closes: the opener sees the hang-up).
 *   uh_client SOCKET open NAME MINVER
 *	prints "status=S value=V fd=yes|no aux=0xA" ("fd=yes" only for a
 *	SOCK_SEQPACKET socket; aux: the idempotent mask).
 *   uh_client SOCKET open-wait NAME MINVER MS
 *	the same with CSX_UH_OPEN_WAIT; prints "waiting" once sent.
 *   uh_client SOCKET open-many NAME MINVER N
 *	N opens on one connection, one line each as "open".
 *   uh_client SOCKET state-put NAME SIZE BYTE
 *	a sealed memfd of SIZE bytes of BYTE as NAME; prints "status=S".
 *   uh_client SOCKET state-get NAME
 *	prints "status=S value=V fd=yes|no size=N byte=B".
 *   uh_client SOCKET state-drop NAME
 *	prints "status=S".
 *   uh_client SOCKET state-bad NAME unsealed|notmemfd|size|nofd|twofds
 *	a STATE_PUT that must be refused; prints "status=S".
 *   uh_client SOCKET instance SERVICE STATE
 *	what a supervised driver does: gets its saved state STATE back (a
 *	counter: prints "state STATE new" or "state STATE restored gen=N"),
 *	puts it again incremented, exports SERVICE and holds it as export.
 *   uh_client SOCKET idle SECONDS
 *	connects, says nothing, and prints "closed" if the daemon hangs up
 *	within SECONDS, else "open".
 *
 * Exit status: 0 once the status is printed, 2 bad usage, 3 the daemon
 * closed the connection or cannot be reached, 4 a system call failed.
 */
#include "uh_util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static union uh_msg msg;

static int usage(void)
{
	fprintf(stderr,
		"usage: uh_client SOCKET export NAME VERSION user|public "
		"[IDEMPOTENT]\n"
		"       uh_client SOCKET open NAME MINVER\n"
		"       uh_client SOCKET open-wait NAME MINVER MS\n"
		"       uh_client SOCKET open-many NAME MINVER N\n"
		"       uh_client SOCKET state-put NAME SIZE BYTE\n"
		"       uh_client SOCKET state-get NAME\n"
		"       uh_client SOCKET state-drop NAME\n"
		"       uh_client SOCKET state-bad NAME "
		"unsealed|notmemfd|size|nofd|twofds\n"
		"       uh_client SOCKET instance SERVICE STATE\n"
		"       uh_client SOCKET idle SECONDS\n");
	return 2;
}

static int transport(const char *what, int err)
{
	printf("%s: %s\n", what,
	       err == -ECONNRESET ? "connection closed" : strerror(-err));
	return 3;
}

static int sys_fail(const char *what)
{
	printf("%s: %s\n", what, strerror(errno));
	return 4;
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

static int export_call(int fd, const char *name, uint32_t version,
		       const char *scope, uint64_t idempotent)
{
	struct csx_uh_export e;
	ssize_t n;

	memset(&e, 0, sizeof(e));
	uh_hdr(&e.hdr, CSX_UH_EXPORT, sizeof(e), 2);
	e.version = version;
	e.idempotent = idempotent;
	if (!strcmp(scope, "user"))
		e.scope = CSX_UH_SCOPE_USER;
	else if (!strcmp(scope, "public"))
		e.scope = CSX_UH_SCOPE_PUBLIC;
	else
		return usage();
	strncpy(e.name, name, sizeof(e.name) - 1);
	n = uh_call(fd, &e, sizeof(e), &msg, NULL, NULL);
	if (n < 0)
		return transport("export", (int)n);
	printf("status=%d\n", msg.reply.status);
	fflush(stdout);
	return msg.reply.status ? 0 : serve(fd);
}

static int do_export(int fd, int argc, char **argv)
{
	uint64_t idem = argc > 3 ? strtoull(argv[3], NULL, 0) : 0;

	return export_call(fd, argv[0], (uint32_t)strtoul(argv[1], NULL, 0),
			   argv[2], idem);
}

/* One OPEN (@flags, @wait_ms); prints its outcome. */
static int open_one(int fd, const char *name, uint32_t min_version,
		    uint32_t flags, uint32_t wait_ms, uint32_t seq)
{
	struct csx_uh_open o;
	int type = 0, cfd;
	socklen_t len = sizeof(type);
	ssize_t n;

	memset(&o, 0, sizeof(o));
	uh_hdr(&o.hdr, CSX_UH_OPEN, sizeof(o), seq);
	o.min_version = min_version;
	o.flags = flags;
	o.wait_ms = wait_ms;
	strncpy(o.name, name, sizeof(o.name) - 1);
	if (flags & CSX_UH_OPEN_WAIT) {
		/* Sent first, then said: the script waits for the line. */
		if (uh_send(fd, &o, sizeof(o), NULL, 0, 0))
			return sys_fail("send");
		printf("waiting\n");
		fflush(stdout);
		o.hdr.len = 0; /* uh_call() must not send it again */
	}
	n = uh_call(fd, &o, o.hdr.len ? sizeof(o) : 0, &msg, &cfd, NULL);
	if (n < 0)
		return transport("open", (int)n);
	if (cfd >= 0) {
		getsockopt(cfd, SOL_SOCKET, SO_TYPE, &type, &len);
		close(cfd);
	}
	printf("status=%d value=%u fd=%s aux=0x%" PRIx64 "\n", msg.reply.status,
	       msg.reply.value, type == SOCK_SEQPACKET ? "yes" : "no",
	       msg.reply.aux);
	fflush(stdout);
	return 0;
}

static int do_open(int fd, char **argv, uint32_t flags)
{
	return open_one(fd, argv[0], (uint32_t)strtoul(argv[1], NULL, 0), flags,
			flags ? (uint32_t)strtoul(argv[2], NULL, 0) : 0, 2);
}

static int do_open_many(int fd, char **argv)
{
	unsigned long i, n = strtoul(argv[2], NULL, 0);
	int ret = 0;

	for (i = 0; i < n && !ret; i++)
		ret = open_one(fd, argv[0], (uint32_t)strtoul(argv[1], NULL, 0),
			       0, 0, (uint32_t)(2 + i));
	return ret;
}

/* A memfd of @size bytes of @byte, sealed against resizing as asked. */
static int make_memfd(uint64_t size, int byte, unsigned int seals)
{
	int fd = memfd_create("uh_client", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	char buf[4096];
	uint64_t off;

	if (fd < 0 || ftruncate(fd, (off_t)size))
		return -1;
	memset(buf, byte, sizeof(buf));
	for (off = 0; byte && off < size; off += sizeof(buf))
		if (pwrite(fd, buf,
			   size - off < sizeof(buf) ? size - off : sizeof(buf),
			   (off_t)off) < 0)
			return -1;
	if (seals && fcntl(fd, F_ADD_SEALS, seals))
		return -1;
	return fd;
}

/* A STATE request of @type carrying @nfds descriptors; prints status. */
static int state_call(int fd, uint16_t type, const char *name, uint64_t size,
		      const int *fds, int nfds, int *fd_out)
{
	struct csx_uh_state st;
	ssize_t n;
	int ret;

	memset(&st, 0, sizeof(st));
	uh_hdr(&st.hdr, type, sizeof(st), 2);
	st.size = size;
	strncpy(st.name, name, sizeof(st.name) - 1);
	if (type == CSX_UH_STATE_DROP) {
		struct csx_uh_name *m = (struct csx_uh_name *)&st;

		uh_hdr(&m->hdr, type, sizeof(*m), 2);
		memset(m->name, 0, sizeof(m->name));
		strncpy(m->name, name, sizeof(m->name) - 1);
		ret = uh_send(fd, m, sizeof(*m), NULL, 0, 0);
	} else {
		ret = uh_send(fd, &st, sizeof(st), fds, nfds, 0);
	}
	if (ret)
		return transport("send", ret);
	/* The request is out: wait for its reply. */
	n = uh_call(fd, &st, 0, &msg, fd_out, NULL);
	if (n < 0)
		return transport("state", (int)n);
	return 0;
}

static int do_state_put(int fd, char **argv)
{
	uint64_t size = strtoull(argv[1], NULL, 0);
	int mfd = make_memfd(size, atoi(argv[2]), F_SEAL_SHRINK | F_SEAL_GROW);
	int ret;

	if (mfd < 0)
		return sys_fail("memfd");
	ret = state_call(fd, CSX_UH_STATE_PUT, argv[0], size, &mfd, 1, NULL);
	close(mfd);
	if (!ret)
		printf("status=%d\n", msg.reply.status);
	return ret;
}

static int do_state_get(int fd, char **argv)
{
	unsigned char byte = 0;
	struct stat st = { 0 };
	int ret, mfd;

	ret = state_call(fd, CSX_UH_STATE_GET, argv[0], 0, NULL, 0, &mfd);
	if (ret)
		return ret;
	if (mfd >= 0) {
		fstat(mfd, &st);
		if (pread(mfd, &byte, 1, 0) < 0)
			byte = 0;
		close(mfd);
	}
	printf("status=%d value=%u fd=%s size=%lld byte=%u\n", msg.reply.status,
	       msg.reply.value, mfd >= 0 ? "yes" : "no", (long long)st.st_size,
	       byte);
	return 0;
}

static int do_state_drop(int fd, char **argv)
{
	int ret = state_call(fd, CSX_UH_STATE_DROP, argv[0], 0, NULL, 0, NULL);

	if (!ret)
		printf("status=%d\n", msg.reply.status);
	return ret;
}

/* STATE_PUTs the daemon must refuse, one kind each. */
static int do_state_bad(int fd, char **argv)
{
	const char *kind = argv[1];
	int fds[2] = { -1, -1 }, nfds = 1, ret;
	uint64_t size = 4096;

	if (!strcmp(kind, "unsealed")) {
		fds[0] = make_memfd(size, 1, 0);
	} else if (!strcmp(kind, "notmemfd")) {
		fds[0] = open("/dev/null", O_RDWR | O_CLOEXEC);
	} else if (!strcmp(kind, "size")) {
		fds[0] = make_memfd(size, 1, F_SEAL_SHRINK | F_SEAL_GROW);
		size++;
	} else if (!strcmp(kind, "nofd")) {
		nfds = 0;
	} else if (!strcmp(kind, "twofds")) {
		fds[0] = make_memfd(size, 1, F_SEAL_SHRINK | F_SEAL_GROW);
		fds[1] = make_memfd(size, 1, F_SEAL_SHRINK | F_SEAL_GROW);
		nfds = 2;
	} else {
		return usage();
	}
	if (nfds && (fds[0] < 0 || (nfds == 2 && fds[1] < 0)))
		return sys_fail("memfd");
	ret = state_call(fd, CSX_UH_STATE_PUT, argv[0], size, fds, nfds, NULL);
	uh_close_fds(fds, nfds);
	if (!ret)
		printf("status=%d\n", msg.reply.status);
	return ret;
}

/*
 * A supervised driver in miniature: its saved state survives its death
 * (the supervisor's key is its container and instance, whatever its pid),
 * then it exports its service, which makes its instance READY.
 */
static int do_instance(int fd, char **argv)
{
	uint64_t gen = 0;
	int ret, mfd;

	ret = state_call(fd, CSX_UH_STATE_GET, argv[1], 0, NULL, 0, &mfd);
	if (ret)
		return ret;
	if (mfd >= 0) {
		if (pread(mfd, &gen, sizeof(gen), 0) != sizeof(gen))
			gen = 0;
		close(mfd);
		printf("state %s restored gen=%" PRIu64 "\n", argv[1], gen);
	} else {
		printf("state %s new (status=%d)\n", argv[1], msg.reply.status);
	}
	gen++;
	mfd = make_memfd(4096, 0, 0);
	if (mfd < 0 || pwrite(mfd, &gen, sizeof(gen), 0) != sizeof(gen) ||
	    fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW))
		return sys_fail("memfd");
	ret = state_call(fd, CSX_UH_STATE_PUT, argv[1], 4096, &mfd, 1, NULL);
	close(mfd);
	if (ret)
		return ret;
	printf("state %s put gen=%" PRIu64 " status=%d\n", argv[1], gen,
	       msg.reply.status);
	fflush(stdout);
	return export_call(fd, argv[0], 1, "user", 0);
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

static const struct {
	const char *cmd;
	int nargs, maxargs;
} cmds[] = {
	{ "export", 3, 4 },	{ "open", 2, 2 },      { "open-wait", 3, 3 },
	{ "open-many", 3, 3 },	{ "state-put", 3, 3 }, { "state-get", 1, 1 },
	{ "state-drop", 1, 1 }, { "state-bad", 2, 2 }, { "instance", 2, 2 },
};

static int run(int fd, const char *cmd, int argc, char **argv)
{
	if (!strcmp(cmd, "export"))
		return do_export(fd, argc, argv);
	if (!strcmp(cmd, "open"))
		return do_open(fd, argv, 0);
	if (!strcmp(cmd, "open-wait"))
		return do_open(fd, argv, CSX_UH_OPEN_WAIT);
	if (!strcmp(cmd, "open-many"))
		return do_open_many(fd, argv);
	if (!strcmp(cmd, "state-put"))
		return do_state_put(fd, argv);
	if (!strcmp(cmd, "state-get"))
		return do_state_get(fd, argv);
	if (!strcmp(cmd, "state-drop"))
		return do_state_drop(fd, argv);
	if (!strcmp(cmd, "state-bad"))
		return do_state_bad(fd, argv);
	return do_instance(fd, argv);
}

int main(int argc, char **argv)
{
	size_t i;
	int fd, ret;

	if (argc == 4 && !strcmp(argv[2], "idle")) {
		fd = uh_connect(argv[1], 0);
		if (fd < 0)
			return transport("connect", fd);
		ret = do_idle(fd, argv[3]);
		close(fd);
		return ret;
	}
	if (argc < 3)
		return usage();
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[2], cmds[i].cmd))
			break;
	if (i == sizeof(cmds) / sizeof(cmds[0]) || argc - 3 < cmds[i].nargs ||
	    argc - 3 > cmds[i].maxargs)
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
	ret = run(fd, argv[2], argc - 3, argv + 3);
	fflush(stdout);
	close(fd);
	return ret;
}
