/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
#include "uh_util.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int uh_connect(const char *path, int flags)
{
	struct sockaddr_un sa;
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | flags, 0);
	if (fd < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

void uh_hdr(struct csx_uh_hdr *h, uint16_t type, uint32_t len, uint32_t seq)
{
	h->magic = CSX_UH_MAGIC;
	h->version = CSX_UH_PROTO_VERSION;
	h->type = type;
	h->len = len;
	h->seq = seq;
}

int uh_send(int fd, const void *buf, size_t len, const int *fds, int nfds,
	    int flags)
{
	if (nfds < 0 || nfds > UH_MAX_FDS)
		return -EINVAL;
	return csx_uh_msg_send(fd, buf, len, fds, (unsigned int)nfds, flags);
}

ssize_t uh_recv(int fd, union uh_msg *m, int *fds, int *nfds, int flags,
		int *msg_flags)
{
	unsigned int n = 0;
	ssize_t ret;

	ret = csx_uh_msg_recv(fd, m->raw, sizeof(m->raw), fds, UH_MAX_FDS, &n,
			      flags, msg_flags);
	*nfds = (int)n;
	return ret;
}

void uh_close_fds(const int *fds, int nfds)
{
	int i;

	for (i = 0; i < nfds; i++)
		close(fds[i]);
}

ssize_t uh_call(int fd, void *req, size_t len, union uh_msg *m, int *fd_out,
		unsigned int *connects)
{
	const struct csx_uh_hdr *h = req;
	int fds[UH_MAX_FDS], nfds;
	ssize_t n;
	int ret;

	if (fd_out)
		*fd_out = -1;
	ret = len ? uh_send(fd, req, len, NULL, 0, 0) : 0;
	if (ret)
		return ret;
	for (;;) {
		n = uh_recv(fd, m, fds, &nfds, 0, NULL);
		if (n <= 0)
			return n ? n : -ECONNRESET;
		if ((size_t)n >= sizeof(m->reply) &&
		    m->hdr.type == CSX_UH_REPLY && m->hdr.seq == h->seq) {
			if (fd_out && nfds == 1) {
				*fd_out = fds[0];
				nfds = 0;
			}
			uh_close_fds(fds, nfds);
			return n;
		}
		if (m->hdr.type == CSX_UH_CONNECT && connects)
			(*connects)++;
		uh_close_fds(fds, nfds);
	}
}

int uh_hello(int fd, const char *name, uint32_t seq)
{
	struct csx_uh_hello hello;
	union uh_msg *m;
	ssize_t n;
	static union uh_msg buf;

	m = &buf;
	memset(&hello, 0, sizeof(hello));
	uh_hdr(&hello.hdr, CSX_UH_HELLO, sizeof(hello), seq);
	hello.proto = CSX_UH_PROTO_VERSION;
	strncpy(hello.name, name, sizeof(hello.name) - 1);
	n = uh_call(fd, &hello, sizeof(hello), m, NULL, NULL);
	if (n < 0)
		return (int)n;
	return m->reply.status;
}

pid_t uh_peer_pid(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return -1;
	return cred.pid;
}

bool uh_name_ok(const char *name, size_t field)
{
	size_t len = strnlen(name, field), i;
	bool slash = false;

	if (len == 0 || len >= field || len >= CSX_UH_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		if ((unsigned char)name[i] <= ' ' ||
		    (unsigned char)name[i] > '~')
			return false;
		if (name[i] == '/' && i > 0 && i + 1 < len)
			slash = true;
	}
	return slash;
}
