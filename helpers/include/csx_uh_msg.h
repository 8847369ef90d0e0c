/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * One datagram with descriptors (SCM_RIGHTS) on the user helper's Unix
 * sockets, sent and received the same way by the user back end
 * (csx-user/csx_os_uh.c), the daemon (helpers/user/) and their tests.
 * Header-only: the three are built into different programs.
 */
#ifndef CSX_UH_MSG_H
#define CSX_UH_MSG_H

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* Most descriptors one message carries; more are dropped by the kernel. */
#define CSX_UH_MSG_FDS_MAX 64

/*
 * Send @len bytes of @buf with @nfds descriptors of @fds attached, retried
 * on EINTR, never raising SIGPIPE; @flags adds e.g. MSG_DONTWAIT. 0,
 * -EMSGSIZE (sent short), -EINVAL (too many descriptors) or -errno.
 */
static inline int csx_uh_msg_send(int fd, const void *buf, size_t len,
				  const int *fds, unsigned int nfds, int flags)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * CSX_UH_MSG_FDS_MAX)];
	} cbuf;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds > CSX_UH_MSG_FDS_MAX)
		return -EINVAL;
	if (nfds) {
		struct cmsghdr *cm;

		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	do {
		n = sendmsg(fd, &mh, flags | MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

/*
 * Receive one message into @buf (@cap bytes) and at most @max_fds of the
 * descriptors that came with it (close-on-exec) into @fds, their number in
 * *@nfds. Retried on EINTR; @flags adds e.g. MSG_DONTWAIT. *@mflags (if
 * not NULL) gets the message flags (MSG_TRUNC, MSG_CTRUNC). Bytes read,
 * 0 at hang-up, or -errno.
 */
static inline ssize_t csx_uh_msg_recv(int fd, void *buf, size_t cap, int *fds,
				      unsigned int max_fds, unsigned int *nfds,
				      int flags, int *mflags)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * CSX_UH_MSG_FDS_MAX)];
	} cbuf;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf.buf,
		.msg_controllen = sizeof(cbuf.buf),
	};
	struct cmsghdr *cm;
	ssize_t n;

	*nfds = 0;
	if (mflags)
		*mflags = 0;
	do {
		n = recvmsg(fd, &mh, flags | MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t i, k;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k; i++) {
			int got;

			memcpy(&got, CMSG_DATA(cm) + i * sizeof(int),
			       sizeof(got));
			if (*nfds < max_fds)
				fds[(*nfds)++] = got;
			else
				close(got); /* never leak what we cannot keep */
		}
	}
	if (mflags)
		*mflags = mh.msg_flags;
	return n;
}

#endif /* CSX_UH_MSG_H */
