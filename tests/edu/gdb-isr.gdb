# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
# gdb command file for tests/edu/gdb-isr.sh and doc/tutorial-user-mode.md:
# stop in the edu driver's real ISR, let it read the interrupt status
# register, and print the value it is about to handle.
set pagination off
set confirm off
# csx_edu.so is loaded by csx-run with dlopen(): the breakpoint is pending
# until then.
set breakpoint pending on
break edu_isr
run
# In the ISR (the wait thread of the interrupt). Its first act is reading
# the status register: run to that read in this thread, then to its return.
bt 3
eval "tbreak csx_read32 thread %d", $_thread
continue
finish
printf "edu ISR: interrupt status = 0x%x\n", $
kill
quit
