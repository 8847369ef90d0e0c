# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# Kernel modules and the kernel test stage. Kbuild builds them, not
# automake: csx-kernel/build.sh stages the sources under
# $(builddir)/kernel/src and leaves csx.ko, csx_edu.ko, edu_demo.ko,
# csx_conformance.ko, csx_helper.ko and the VM test modules in
# $(builddir)/kernel/.
#
#   make kernel        the modules, against $(KDIR) (configure --with-kernel)
#   make check-kernel  tests/kernel/check-kernel.sh: stock and debug kernel,
#                      MSI and INTx, under QEMU; fails when it cannot run
#   make kernel-clean  remove $(builddir)/kernel

.PHONY: kernel check-kernel kernel-clean

if WITH_KERNEL
kernel:
	$(AM_V_GEN)$(top_srcdir)/csx-kernel/build.sh --kdir "$(KDIR)" \
		$(CSX_KERNEL_BUILD_FLAGS) "$(abs_top_builddir)/kernel"

check-kernel:
	$(top_srcdir)/tests/kernel/check-kernel.sh \
		--out "$(abs_top_builddir)/kernel-tests" \
		--user-build "$(abs_top_builddir)" $(CSX_CHECK_KERNEL_FLAGS)
	@echo "check-kernel: proving the debug kernel run would catch a bug"
	$(top_srcdir)/tests/kernel/smoke.sh --prove-detection \
		--log "$(abs_top_builddir)/kernel-tests/prove-detection.log"
else
kernel:
	@echo "kernel headers not found: skipping kernel modules (install linux-headers-amd64)"

check-kernel:
	@echo "kernel headers not found: cannot run the kernel tests (install linux-headers-amd64, then re-run configure)" >&2
	@exit 1
endif

kernel-clean:
	-rm -rf "$(abs_top_builddir)/kernel" "$(abs_top_builddir)/kernel-tests"

EXTRA_DIST += \
	csx-kernel/Kbuild \
	csx-kernel/build.sh \
	csx-kernel/dkms.conf \
	csx-kernel/csx_kernel.h \
	csx-kernel/csx_main.c \
	csx-kernel/csx_exports.c \
	csx-kernel/csx_os_core.c \
	csx-kernel/csx_os_mem.c \
	csx-kernel/csx_os_thread.c \
	csx-kernel/csx_os_sync.c \
	csx-kernel/csx_os_dpc.c \
	csx-kernel/csx_os_timer.c \
	csx-kernel/csx_os_intr.c \
	csx-kernel/csx_os_dev.c \
	csx-kernel/csx_os_remote.c \
	csx-kernel/include/csx_os_types.h \
	csx-kernel/include/csx_os_module.h \
	samples/edu/Kbuild \
	helpers/kernel/Kbuild \
	helpers/kernel/csx_helper.h \
	helpers/kernel/csx_helper_main.c \
	helpers/kernel/csx_helper_intr.c \
	helpers/kernel/csx_helper_dma.c \
	helpers/kernel/csx_helper_svc.c \
	helpers/kernel/csx_helper_upcall.c \
	helpers/include/csx_kh_upcall.h \
	helpers/include/csx_uh_proto.h \
	scripts/check-port-contract.sh \
	tests/kernel/check-kernel.sh \
	tests/kernel/csx/Kbuild \
	tests/kernel/csx/payload.sh \
	tests/kernel/csx/payload-user.sh \
	tests/kernel/csx/payload-calls.sh \
	tests/kernel/user-rootfs.sh \
	tests/kernel/helper/build.sh \
	tests/kernel/helper/payload-helper.sh \
	tests/kernel/helper/kh_abi_test.c \
	tests/kernel/helper/kh_fuzz.c \
	tests/kernel/helper/Kbuild \
	tests/kernel/helper/kh_upcall_client.c \
	tests/kernel/helper/kh_upcall_test.h \
	tests/kernel/debug-kernel.config \
	tests/kernel/csx/csx_null_abi.h \
	tests/kernel/csx/ktap.h \
	tests/kernel/csx/ktap_kernel.c \
	tests/kernel/csx/edu_ktest.c \
	tests/kernel/csx/bench_ktest.c \
	tests/kernel/csx/csx_null.c
