/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * efd_rt: the baseline of the kernel → user call benchmark. The same job
 * as a kernel module's csx_call() answered by a user process (the "call64"
 * figure of calls_client.ko calling calls_svc.so) without CSX: csx_null.ko
 * signals an eventfd, a user thread reads it and answers with an ioctl,
 * and the kernel measures each round trip. Static, for the test VM.
 *
 * usage: efd_rt [samples]   prints "BENCH-RAW efd n=N median=NS"
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "csx_null_abi.h"

static int fd, efd;

/* The user side of each round trip: wake on the eventfd, answer. */
static void *responder(void *arg)
{
	uint64_t v;

	(void)arg;
	for (;;) {
		if (read(efd, &v, sizeof(v)) != sizeof(v))
			return NULL;
		if (ioctl(fd, CSX_NULL_IOC_EFD_ACK))
			return NULL;
	}
}

int main(int argc, char **argv)
{
	struct csx_null_ping p = { 0 };
	pthread_t t;

	p.n = argc > 1 ? (unsigned int)atoi(argv[1]) : 2001;
	fd = open("/dev/csx_null", O_RDWR);
	efd = eventfd(0, EFD_CLOEXEC);
	if (fd < 0 || efd < 0) {
		perror("efd_rt: /dev/csx_null or eventfd");
		return 1;
	}
	p.efd = efd;
	if (pthread_create(&t, NULL, responder, NULL)) {
		perror("efd_rt: pthread_create");
		return 1;
	}
	if (ioctl(fd, CSX_NULL_IOC_EFD_PING, &p)) {
		perror("efd_rt: ping");
		return 1;
	}
	printf("BENCH-RAW efd n=%u median=%llu\n", p.n,
	       (unsigned long long)p.median_ns);
	return 0;
}
