// SPDX-License-Identifier: GPL-2.0-only
/*
 * csx_null.ko: the baseline of the user → kernel call benchmark, "a bare
 * ioctl on a trivial misc device". /dev/csx_null has one ioctl that takes
 * the same struct csx_kh_svc_call as /dev/csx's CSX_KH_IOC_SVC_CALL and
 * does the same copying work (the request into a kvmalloc'd buffer, then
 * back out as the response, up to out_cap) but calls no service: the
 * difference to a CSX call is CSX's own cost. Plain Linux, no CSX.
 */
#define pr_fmt(fmt) "csx_null: " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "csx_kh_abi.h"

/* The one ioctl: the /dev/csx call's structure and number. */
#define CSX_NULL_IOC_CALL CSX_KH_IOC_SVC_CALL
/* Calls this small need no allocation (as in csx_helper_svc.c). */
#define CSX_NULL_SMALL 256

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

static long csx_null_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	void __user *up = (void __user *)arg;
	struct csx_kh_svc_call a;
	long ret;

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
MODULE_DESCRIPTION("Baseline for the CSX call benchmark: a bare ioctl");
MODULE_AUTHOR("CSX");
