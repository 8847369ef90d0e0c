# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
# make doc: Doxygen HTML of the public API and the guides in doc/. Any
# Doxygen warning (an undocumented symbol, a bad @param) fails the target.
EXTRA_DIST += doc/Doxyfile.in doc/index.md doc/architecture.md doc/porting.md \
	doc/kernel-helper.md doc/services.md doc/fault-containment.md \
	doc/supervisor.md

.PHONY: doc
doc: doc/Doxyfile
if HAVE_DOXYGEN
	$(AM_V_GEN)mkdir -p doc && rm -f doc/doxygen-warnings.log && \
		$(DOXYGEN) doc/Doxyfile && \
		if test -s doc/doxygen-warnings.log; then \
			cat doc/doxygen-warnings.log; \
			echo "make doc: Doxygen warnings (above) must be fixed"; exit 1; \
		fi; \
		echo "make doc: HTML in $(abs_builddir)/doc/api/html/index.html"
else
	@echo "make doc: doxygen not found (run scripts/setup.sh)"; exit 1
endif

clean-local: clean-doc
clean-doc:
	rm -rf doc/api doc/doxygen-warnings.log
