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

/* Where the in-place handler expects its windows. */
struct inplace {
	const void *in;
	void *out;
};

static int inplace_handler(void *ctx, uint32_t op, const void *in,
			   size_t in_len, void *out, size_t out_cap,
			   size_t *out_len)
{
	struct inplace *w = ctx;
	const unsigned char *src = in;
	unsigned char *dst = out;
	size_t i;

	(void)op;
	if (in != w->in || out != w->out || in_len > out_cap)
		return -CSX_EFAULT;
	for (i = 0; i < in_len; i++)
		dst[i] = (unsigned char)(src[i] + 1);
	*out_len = in_len;
	return 0;
}

/*
 * Shared buffers for an in-process service need no helper: plain memory,
 * the handler's windows point into it, nothing said in the log.
 */
static void shbuf_without_helper(void **state)
{
	const size_t big = 4u << 20; /* above CSX_CALL_MAX_PAYLOAD */
	struct inplace w;
	struct csx_service *svc;
	struct csx_shbuf *sb;
	struct csx_chan *ch;
	unsigned char *p;
	size_t i, len;

	(void)state;
	assert_int_equal(
		csx_service_export("here/sb", 1, inplace_handler, &w, &svc), 0);
	assert_int_equal(csx_open("here/sb", 1, &ch), 0);
	log_begin();
	assert_int_equal(csx_shbuf_alloc(ch, 2 * big - 100, &sb), 0);
	log_end();
	assert_int_equal(log_count("warning") + log_count("error"), 0);
	assert_int_equal(csx_shbuf_size(sb), 2 * big);
	p = csx_shbuf_addr(sb);
	assert_non_null(p);
	for (i = 0; i < 2 * big; i += 4096)
		assert_int_equal(p[i], 0);
	for (i = 0; i < big; i++)
		p[i] = (unsigned char)i;
	w.in = p;
	w.out = p + big;
	assert_int_equal(csx_call_shbuf(ch, 1, sb, 0, big, big, big, &len,
					CSX_WAIT_FOREVER),
			 0);
	assert_int_equal(len, big);
	for (i = 0; i < big; i++) {
		if (p[big + i] != (unsigned char)(i + 1))
			fail_msg("byte %zu", i);
	}
	assert_int_equal(csx_shbuf_free(sb), 0);
	csx_close(ch);
	assert_int_equal(csx_service_unexport(svc), 0);
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
		cmocka_unit_test_setup_teardown(shbuf_without_helper,
						setup_nonexistent, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
