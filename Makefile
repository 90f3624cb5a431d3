# otelpreload - build, test, check, bench, fuzz, demo, install.
# New source files are found by wildcard: a .c in preload/ hooks/ runtime/
# export/ is part of the library; tests/unit/test_*.c is a Criterion suite.

CC ?= gcc
PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build

WARN := -Wall -Wextra -Wshadow -Werror
BASE_CFLAGS := -std=gnu11 -fPIC -D_GNU_SOURCE $(WARN) -g
OPT ?= -O2
CFLAGS ?=
# libpq-fe.h for the libpq hooks' prototypes (the library never links libpq).
PQ_INC := $(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
ALL_CFLAGS = $(BASE_CFLAGS) $(OPT) -fvisibility=hidden -I$(PQ_INC) $(CFLAGS)

LIB_SRCS := $(sort $(wildcard preload/*.c hooks/*.c runtime/*.c export/*.c))
CORE_SRCS := $(sort $(wildcard runtime/*.c export/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
HDRS := $(wildcard preload/*.h hooks/*.h runtime/*.h export/*.h)

LIB := $(BUILD)/libotelpreload.so
MAP := preload/exports.map

.PHONY: all deps test unit integration check bench fuzz demo install clean export-audit clean-san test-san tsan
all: $(LIB)

$(BUILD)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# Only interposed symbols are exported (anonymous version script: a named
# node would silently stop interposition). No DT_NEEDED on libcurl,
# libunwind or cJSON: they are dlopen'ed when first needed. The object is
# loaded into every traced process, so its load cost is kept down: two LOAD
# segments instead of four (noseparate-code) and no RELRO mprotect; each
# saved about 1.5% of /bin/true's start-up here (make bench).
$(LIB): $(LIB_OBJS) $(MAP)
	$(CC) $(CFLAGS) -shared -o $@ $(LIB_OBJS) -Wl,--version-script=$(MAP) \
		-Wl,--exclude-libs,ALL -Wl,-z,noseparate-code -Wl,-z,norelro -Wl,--hash-style=gnu -ldl -lpthread

$(BUILD)/libcore.a: $(CORE_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libcore.a $(HDRS) $(wildcard hooks/*.c tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O1 $(CFLAGS) -Wno-missing-field-initializers $< -o $@ \
		$(BUILD)/libcore.a -lcriterion -ldl -lpthread -lm

# Installs the Debian packages the build, the tests and the demo need.
deps:
	@scripts/deps.sh

unit: $(UNIT_BINS)

test: $(LIB) $(UNIT_BINS)
	@tests/run-tests.sh $(BUILD) $(UNIT_BINS)

integration: $(LIB)
	@tests/run-tests.sh $(BUILD)

# The export audit: nothing but interposed names, no eager heavy deps.
export-audit: $(LIB)
	@tests/export-audit.sh $(LIB) $(MAP)

check: export-audit
	$(MAKE) clean-san
	$(MAKE) BUILD=build/asan OPT="-O1 -fno-omit-frame-pointer" \
		CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined" test-san
	$(MAKE) BUILD=build/tsan OPT="-O1" CFLAGS="-fsanitize=thread -Wno-tsan" tsan

clean-san:
	rm -rf build/asan build/tsan

# The whole suite with the sanitizer build of the library ($(LIB) here is
# linked with CFLAGS, so it needs libasan and libubsan): the unit tests, then
# the integration scripts with the ASan runtime first in every LD_PRELOAD
# (PRELOAD_FIRST; tests/run-tests.sh counts every sanitizer report as a
# failure). SAN_TIMEOUT: seconds per integration script.
SAN_TIMEOUT ?= 480
ASAN_RT = $(shell $(CC) -print-file-name=libasan.so)

$(BUILD)/swift_stub.so: tests/asan/swift_stub.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O1 -shared -o $@ $<

test-san: $(LIB) $(UNIT_BINS) $(BUILD)/swift_stub.so
	@PRELOAD_FIRST=$(ASAN_RT):$(abspath $(BUILD))/swift_stub.so INTEG_TIMEOUT=$(SAN_TIMEOUT) \
		tests/run-tests.sh $(BUILD) $(UNIT_BINS)

# Criterion cannot run under TSan; the concurrency stress tests are plain
# programs that print "N passed, N failed": the span pool and queue, the
# exporter thread (file, and OTLP/HTTP to a receiver thread), and the fd
# table with the HTTP layer on top (the hooks' files it needs are compiled
# in: the library itself cannot be preloaded under TSan). TSan reports all
# it sees, then the program exits 66. -Wno-tsan (check): GCC does not
# model atomic_thread_fence; runtime/stack.c's seqlock has one, and every
# access it orders is atomic, so TSan has no race to miss there.
TSAN_HOOKS := hooks/conn.c hooks/http.c hooks/http_parse.c hooks/http_attrs.c hooks/errname.c

$(BUILD)/tests/queue_stress $(BUILD)/tests/export_stress: $(BUILD)/tests/%: tests/tsan/%.c \
		$(BUILD)/libcore.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O1 $(CFLAGS) $< -o $@ $(BUILD)/libcore.a -ldl -lpthread -lm

$(BUILD)/tests/fdtab_stress: tests/tsan/fdtab_stress.c $(TSAN_HOOKS) $(BUILD)/libcore.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O1 $(CFLAGS) $< $(TSAN_HOOKS) -o $@ $(BUILD)/libcore.a -ldl -lpthread -lm

tsan: $(BUILD)/tests/queue_stress $(BUILD)/tests/export_stress $(BUILD)/tests/fdtab_stress
	@failed=0; \
	for t in queue_stress "export_stress file $(BUILD)/tests/export_stress.jsonl" \
		"export_stress otlp" fdtab_stress; do \
		echo "# tsan/$$t"; \
		TSAN_OPTIONS=halt_on_error=0 $(BUILD)/tests/$$t || { echo "tsan/$$t: FAILED"; failed=1; }; \
	done; \
	exit $$failed

bench: $(LIB) $(BUILD)/libcore.a
	@tests/bench/run.sh $(BUILD)

fuzz:
	@tests/fuzz/run.sh

# Not "demo: $(LIB)": on a fresh machine the compiler is not there yet.
# scripts/demo.sh installs what is missing first, then runs make itself.
demo:
	@scripts/demo.sh

install: $(LIB)
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(LIB) $(DESTDIR)$(PREFIX)/lib/libotelpreload.so
	install -m 0755 scripts/otelpreload $(DESTDIR)$(PREFIX)/bin/otelpreload
	install -d $(DESTDIR)$(PREFIX)/share/otelpreload
	install -m 0755 scripts/waterfall.py $(DESTDIR)$(PREFIX)/share/otelpreload/waterfall.py
	install -m 0755 scripts/runner.py $(DESTDIR)$(PREFIX)/share/otelpreload/runner.py
	install -m 0755 scripts/doctor.sh $(DESTDIR)$(PREFIX)/share/otelpreload/doctor.sh

clean:
	rm -rf build
