/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only */
/*
 * edu_demo: a client module of the csx_edu driver. Its init opens every
 * "edu/N" service, has each device compute a few factorials and do a DMA
 * round trip, checks every answer and says what it did. It fails (and so
 * does "csx-run --once") if there is no device or any answer is wrong.
 *
 * Mode-free like the driver: the same file is a kernel module calling a
 * kernel driver, or a user-mode module calling a user-mode driver.
 */
#include <csx/csx.h>

#include "edu.h"

#define DEMO_CALL_TIMEOUT_NS (10 * CSX_NSEC_PER_SEC)
#define DEMO_MAX_DEVICES 16

static const uint32_t demo_args[] = { 0, 1, 5, 10, 12 };

/* n! modulo 2^32, what the device must answer. */
static uint32_t demo_factorial(uint32_t n)
{
	uint32_t r = 1;

	while (n > 1)
		r *= n--;
	return r;
}

static int demo_info(struct csx_chan *chan, struct edu_info *info)
{
	size_t len = 0;
	int ret;

	ret = csx_call(chan, EDU_OP_INFO, NULL, 0, info, sizeof(*info), &len,
		       DEMO_CALL_TIMEOUT_NS);
	if (!ret && len != sizeof(*info))
		ret = -CSX_EPROTO;
	if (ret)
		return ret;
	csx_info("edu: %s: id 0x%08x, liveness %s, %s interrupt",
		 info->dev_name, info->id, info->liveness_ok ? "ok" : "FAILED",
		 info->msi ? "MSI" : "INTx");
	return info->liveness_ok ? 0 : -CSX_EIO;
}

static int demo_factorials(struct csx_chan *chan, const char *dev)
{
	struct edu_fact_resp resp;
	struct edu_fact_req req;
	unsigned int i;
	size_t len;
	int ret;

	for (i = 0; i < sizeof(demo_args) / sizeof(demo_args[0]); i++) {
		req.n = demo_args[i];
		ret = csx_call(chan, EDU_OP_FACTORIAL, &req, sizeof(req), &resp,
			       sizeof(resp), &len, DEMO_CALL_TIMEOUT_NS);
		if (ret) {
			csx_err("edu: %s: factorial(%u) failed: %s", dev, req.n,
				csx_strerror(ret));
			return ret;
		}
		if (resp.result != demo_factorial(req.n)) {
			csx_err("edu: %s: factorial(%u) = %u, expected %u", dev,
				req.n, resp.result, demo_factorial(req.n));
			return -CSX_EIO;
		}
		csx_info("edu: %s: factorial(%u) = %u via interrupt", dev,
			 req.n, resp.result);
	}
	return 0;
}

static int demo_dma(struct csx_chan *chan, const char *dev)
{
	uint8_t *out, *back;
	size_t i, len = 0;
	int ret = -CSX_ENOMEM;

	out = csx_alloc(EDU_DMA_MAX, 0);
	back = csx_alloc(EDU_DMA_MAX, CSX_MEM_ZERO);
	if (!out || !back)
		goto out_free;
	for (i = 0; i < EDU_DMA_MAX; i++)
		out[i] = (uint8_t)(i * 7 + 3);
	ret = csx_call(chan, EDU_OP_DMA_ROUNDTRIP, out, EDU_DMA_MAX, back,
		       EDU_DMA_MAX, &len, DEMO_CALL_TIMEOUT_NS);
	if (ret) {
		csx_err("edu: %s: DMA round trip failed: %s", dev,
			csx_strerror(ret));
		goto out_free;
	}
	ret = len == EDU_DMA_MAX ? 0 : -CSX_EIO;
	for (i = 0; !ret && i < EDU_DMA_MAX; i++)
		if (back[i] != out[i])
			ret = -CSX_EIO;
	if (ret)
		csx_err("edu: %s: DMA round trip returned different bytes",
			dev);
	else
		csx_info("edu: %s: DMA round trip of %u bytes verified", dev,
			 (unsigned int)EDU_DMA_MAX);
out_free:
	csx_free(back);
	csx_free(out);
	return ret;
}

static int demo_device(const char *svc)
{
	struct edu_info info;
	struct csx_chan *chan;
	int ret;

	ret = csx_open(svc, EDU_SERVICE_VERSION, &chan);
	if (ret)
		return ret;
	ret = demo_info(chan, &info);
	if (!ret)
		ret = demo_factorials(chan, info.dev_name);
	if (!ret)
		ret = demo_dma(chan, info.dev_name);
	csx_close(chan);
	return ret;
}

static int demo_init(void)
{
	char svc[EDU_SERVICE_NAME_MAX];
	unsigned int i, found = 0;
	int ret;

	for (i = 0; i < DEMO_MAX_DEVICES; i++) {
		edu_service_name(svc, i);
		ret = demo_device(svc);
		if (ret == -CSX_ENOENT)
			continue;
		if (ret) {
			csx_err("edu: %s: demo failed: %s", svc,
				csx_strerror(ret));
			return ret;
		}
		found++;
	}
	if (!found) {
		csx_err("edu: no edu device service (is csx_edu loaded and an edu device present?)");
		return -CSX_ENODEV;
	}
	csx_info("edu: demo done: %u device(s) OK", found);
	return 0;
}

static void demo_fini(void)
{
}

CSX_MODULE("edu_demo", "1.0.0", demo_init, demo_fini);
