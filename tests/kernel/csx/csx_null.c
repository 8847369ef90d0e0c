// SPDX-License-Identifier: GPL-2.0-only
/*
 * csx_null.ko: the baseline of the user → kernel call benchmark, "a bare
 * ioctl on a trivial misc device". /dev/csx_null has one ioctl that takes
 * the same struct csx_kh_svc_call as /dev/csx's CSX_KH_IOC_SVC_CALL and
 * does the same copying work (the request into a kvmalloc'd buffer, then
 * back out as the response, up to out_cap) but calls no service: the
 * difference to a CSX call is CSX's own cost. Plain Linux, no CSX.
 *
 * It is also the baseline of the kernel → user call benchmark, "an
 * eventfd-signalled round trip between the kernel and a user thread":
 * CSX_NULL_IOC_EFD_PING signals an eventfd the caller passes, n times,
 * each time waiting until a user thread that reads the eventfd answers
 * with CSX_NULL_IOC_EFD_ACK, and returns the median round trip. The CSX
 * figure is calls_client.ko calling calls_svc.so in a process.
 */
#define pr_fmt(fmt) "csx_null: " fmt

#include <linux/completion.h>
#include <linux/eventfd.h>
#include <linux/fs.h>
#include <linux/ktime.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/sort.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "csx_kh_abi.h"
#include "csx_null_abi.h"

/* The one ioctl: the /dev/csx call's structure and number. */
#define CSX_NULL_IOC_CALL CSX_KH_IOC_SVC_CALL
/* Calls this small need no allocation (as in csx_helper_svc.c). */
#define CSX_NULL_SMALL 256

/* One ping at a time: it owns the completion the ACKs complete. */
static DEFINE_MUTEX(csx_null_ping_lock);
static DECLARE_COMPLETION(csx_null_ack);

static long csx_null_call(struct csx_kh_svc_call *a)
{
	void __user *uin = u64_to_user_ptr(a->in_ptr);
	void __user *uout = u64_to_user_ptr(a->out_ptr);
	u8 small[CSX_NULL_SMALL] __aligned(8);
	void *buf = NULL;
	size_t len;
	long ret = 0;

	if (a->in_len > CSX_KH_CALL_MAX || a->out_cap > CSX_KH_CALL_MAX)
		return -EMSGSIZE;
	if ((!a->in_ptr && a->in_len) || (!a->out_ptr && a->out_cap))
		return -EINVAL;
	a->status = 0;
	a->out_len = 0;
	/*
	 * As /dev/csx: one buffer for the request and the response, on the
	 * stack when both fit.
	 */
	if (a->in_len + a->out_cap <= sizeof(small)) {
		buf = small;
	} else {
		buf = kvmalloc(a->in_len + a->out_cap, GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
	}
	if (a->in_len && copy_from_user(buf, uin, a->in_len)) {
		ret = -EFAULT;
		goto out;
	}
	/* The "handler": echo the request. */
	len = min_t(size_t, a->in_len, a->out_cap);
	if (len)
		memcpy(buf + a->in_len, buf, len);
	if (len && copy_to_user(uout, buf + a->in_len, len)) {
		ret = -EFAULT;
		goto out;
	}
	a->out_len = len;
out:
	if (buf != small)
		kvfree(buf);
	return ret;
}

static int csx_null_cmp(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static long csx_null_ping(struct csx_null_ping __user *up)
{
	struct csx_null_ping p;
	struct eventfd_ctx *ctx;
	u64 *t, t0;
	u32 i;
	long ret = 0;

	if (copy_from_user(&p, up, sizeof(p)))
		return -EFAULT;
	if (!p.n || p.n > CSX_NULL_PING_MAX)
		return -EINVAL;
	t = kvmalloc_array(p.n, sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	ctx = eventfd_ctx_fdget(p.efd);
	if (IS_ERR(ctx)) {
		kvfree(t);
		return PTR_ERR(ctx);
	}
	mutex_lock(&csx_null_ping_lock);
	for (i = 0; i < p.n; i++) {
		reinit_completion(&csx_null_ack);
		t0 = ktime_get_ns();
		eventfd_signal(ctx, 1);
		if (!wait_for_completion_timeout(&csx_null_ack, 10 * HZ)) {
			ret = -ETIMEDOUT;
			break;
		}
		t[i] = ktime_get_ns() - t0;
	}
	mutex_unlock(&csx_null_ping_lock);
	eventfd_ctx_put(ctx);
	if (!ret) {
		sort(t, p.n, sizeof(*t), csx_null_cmp, NULL);
		p.median_ns = t[p.n / 2];
		if (copy_to_user(up, &p, sizeof(p)))
			ret = -EFAULT;
	}
	kvfree(t);
	return ret;
}

static long csx_null_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	void __user *up = (void __user *)arg;
	struct csx_kh_svc_call a;
	long ret;

	if (cmd == CSX_NULL_IOC_EFD_PING)
		return csx_null_ping(up);
	if (cmd == CSX_NULL_IOC_EFD_ACK) {
		complete(&csx_null_ack);
		return 0;
	}
	if (cmd != CSX_NULL_IOC_CALL)
		return -ENOTTY;
	if (copy_from_user(&a, up, sizeof(a)))
		return -EFAULT;
	if (a.size != sizeof(a))
		return -EINVAL;
	ret = csx_null_call(&a);
	if (!ret && copy_to_user(up, &a, sizeof(a)))
		ret = -EFAULT;
	return ret;
}

static const struct file_operations csx_null_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = csx_null_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = no_llseek,
};

static struct miscdevice csx_null_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "csx_null",
	.fops = &csx_null_fops,
	.mode = 0666,
};

module_misc_device(csx_null_misc);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION(
	"Baselines of the CSX call benchmarks: a bare ioctl, an eventfd round trip");
MODULE_AUTHOR("CSX");
