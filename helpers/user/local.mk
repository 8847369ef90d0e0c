# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
# The user helper daemon, csx-uhelperd (libevent; protocol in
# helpers/include/csx_uh_proto.h; supervisor in doc/supervisor.md), and its
# systemd unit. It speaks to csx-user over a socket and does not link
# libcsx-user; it runs csx-run ($(bindir), unless --csx-run says otherwise).

sbin_PROGRAMS += helpers/user/csx-uhelperd
helpers_user_csx_uhelperd_SOURCES = \
	helpers/user/csx-uhelperd.c \
	helpers/user/uhd.h \
	helpers/user/uhd_client.c \
	helpers/user/uhd_conf.c \
	helpers/user/uhd_event.c \
	helpers/user/uhd_registry.c \
	helpers/user/uhd_state.c \
	helpers/user/uhd_super.c \
	helpers/include/csx_uh_proto.h \
	helpers/include/csx_uh_msg.h
helpers_user_csx_uhelperd_CPPFLAGS = $(AM_CPPFLAGS) \
	-DCSX_RUN_PATH='"$(bindir)/csx-run"'
helpers_user_csx_uhelperd_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS)
helpers_user_csx_uhelperd_LDADD = $(LIBEVENT_LIBS)

# @sbindir@ is substituted at make time: configure leaves it as
# ${exec_prefix}/sbin, which only make expands.
uhd_unit = helpers/user/csx-uhelperd.service
uhd_unit_in = $(top_srcdir)/helpers/user/csx-uhelperd.service.in
$(uhd_unit): $(uhd_unit_in) Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && \
	sed -e 's|@sbindir[@]|$(sbindir)|g' $(uhd_unit_in) > $@.tmp && \
	mv $@.tmp $@
if WITH_SYSTEMD_UNIT
systemdsystemunit_DATA = $(uhd_unit)
endif
EXTRA_DIST += helpers/user/csx-uhelperd.service.in doc/supervisor.md
CLEANFILES += $(uhd_unit)
