/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * csx_open() of a name no module of this process exported, on a host
 * without the kernel helper: the user back end's csx_os_remote_open()
 * (csx-user/csx_os_remote.c) must answer -CSX_ENOENT, quietly when the
 * node does not exist, with one warning when the node is not the helper
 * (/dev/null: the version ioctl fails). Log lines are read back from
 * stderr, which the back end writes a line at a time.
 */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <csx/csx.h>
#include <csx_user.h>

#define LOG_MAX 8192

static int saved_stderr = -1;
static int log_fd = -1;
static char log_buf[LOG_MAX];

/* Send stderr to a temporary file until log_end(). */
static void log_begin(void)
{
	char path[] = "/tmp/csx-test-remote-XXXXXX";

	log_fd = mkstemp(path);
	assert_true(log_fd >= 0);
	unlink(path);
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(saved_stderr >= 0);
	assert_true(dup2(log_fd, STDERR_FILENO) >= 0);
}

/* Restore stderr; the captured text is in log_buf (and echoed). */
static void log_end(void)
{
	ssize_t n;

	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	n = pread(log_fd, log_buf, sizeof(log_buf) - 1, 0);
	close(log_fd);
	log_buf[n > 0 ? n : 0] = '\0';
	fputs(log_buf, stderr);
}

static unsigned int log_count(const char *needle)
{
	unsigned int n = 0;
	const char *p = log_buf;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

static int setup_nonexistent(void **state)
{
	(void)state;
	setenv("CSX_KH_DEVICE", "/nonexistent/csx", 1);
	return csx_user_init();
}

static int setup_devnull(void **state)
{
	(void)state;
	setenv("CSX_KH_DEVICE", "/dev/null", 1);
	return csx_user_init();
}

static int teardown(void **state)
{
	(void)state;
	csx_user_fini();
	unsetenv("CSX_KH_DEVICE");
	return 0;
}

static void no_helper_is_enoent_quietly(void **state)
{
	struct csx_chan *ch = (struct csx_chan *)1;

	(void)state;
	log_begin();
	assert_int_equal(csx_open("nope/x", 0, &ch), -CSX_ENOENT);
	assert_null(ch);
	assert_int_equal(csx_open("nope/y", 3, &ch), -CSX_ENOENT);
	log_end();
	assert_int_equal(log_count("warning"), 0);
	assert_int_equal(log_count("error"), 0);
}

static int handler(void *ctx, uint32_t op, const void *in, size_t in_len,
		   void *out, size_t out_cap, size_t *out_len)
{
	(void)ctx;
	(void)in;
	(void)in_len;
	(void)out;
	(void)out_cap;
	*out_len = 0;
	return (int)op;
}

static void local_services_still_found(void **state)
{
	struct csx_service *svc;
	struct csx_chan *ch;

	(void)state;
	assert_int_equal(csx_service_export("here/svc", 2, handler, NULL, &svc),
			 0);
	assert_int_equal(csx_open("here/svc", 1, &ch), 0);
	assert_int_equal(csx_chan_version(ch), 2);
	assert_int_equal(csx_call(ch, 0, NULL, 0, NULL, 0, NULL, 0), 0);
	csx_close(ch);
	assert_int_equal(csx_service_unexport(svc), 0);
	assert_int_equal(csx_open("here/svc", 1, &ch), -CSX_ENOENT);
}

static void *open_missing(void *arg)
{
	struct csx_chan *ch;
	int i;

	for (i = 0; i < 50; i++) {
		if (csx_open("nope/x", 0, &ch) != -CSX_ENOENT)
			*(int *)arg = 1;
	}
	return NULL;
}

static void not_the_helper_warns_once(void **state)
{
	pthread_t th[4];
	int bad = 0;
	unsigned int i;

	(void)state;
	log_begin();
	for (i = 0; i < 4; i++)
		assert_int_equal(
			pthread_create(&th[i], NULL, open_missing, &bad), 0);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	log_end();
	assert_int_equal(bad, 0);
	assert_int_equal(log_count("warning"), 1);
	assert_int_equal(log_count("/dev/null is not the CSX kernel helper"),
			 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(no_helper_is_enoent_quietly,
						setup_nonexistent, teardown),
		cmocka_unit_test_setup_teardown(local_services_still_found,
						setup_nonexistent, teardown),
		cmocka_unit_test_setup_teardown(not_the_helper_warns_once,
						setup_devnull, teardown),
		/* The verdict is forgotten at fini: warned again. */
		cmocka_unit_test_setup_teardown(not_the_helper_warns_once,
						setup_devnull, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
