# ctr-unit build, test and demo. Everything builds with CGO_ENABLED=0:
# containers/storage's btrfs driver needs C headers otherwise.
export CGO_ENABLED := 0
GO ?= go
PREFIX ?= /usr/local
BIN := bin/ctr-unit
# Each `make test` boots its own throwaway systemd boxes; a distinct name
# lets several checkouts test at once.
BOX ?= ctr-unit-$(shell echo $$PPID)

.PHONY: all build test unit-test integration-test integration-v2 integration-hybrid integration-reboot bench bench-scale demo deps install deb clean

all: build

# ctr-unit-step, the lean binary of the units' steps, goes beside it.
build:
	$(GO) build -o bin/ ./cmd/ctr-unit ./cmd/ctr-unit-step

# Debian packages the tests and the demo need.
deps:
	@missing=$$(for p in systemd dbus runc busybox-static util-linux; do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

unit-test:
	$(GO) vet ./...
	$(GO) test -count=1 ./...

integration-v2: deps
	hack/sysbox run v2 --name $(BOX)-v2 -- $(GO) test -tags integration -count=1 -timeout 20m ./integration/

integration-hybrid: deps
	hack/sysbox run hybrid --name $(BOX)-hy -- $(GO) test -tags integration -count=1 -timeout 20m ./integration/

# Reboots drive the boxes from the host (integration/reboot_test.go).
integration-reboot: deps
	CTR_UNIT_REBOOT_BOX=$(BOX)-rb $(GO) test -tags reboot -count=1 -timeout 20m ./integration/

integration-test: integration-v2 integration-hybrid integration-reboot

test: unit-test integration-test

bench: deps build
	hack/sysbox run v2 --name $(BOX)-bv2 -- $(GO) run ./bench -layout v2
	hack/sysbox run hybrid --name $(BOX)-bhy -- $(GO) run ./bench -layout hybrid

# Hundreds of containers from boot, against podman 4.3 and bare runc units
# (bench/scale); the report goes to bench-scale.md (and .json). It boots
# its own boxes, so it runs on the host. About 15 minutes on two cores.
SCALE_N ?= 10,100,500
bench-scale: deps
	@dpkg -s podman >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman; }
	$(GO) run ./bench/scale -n $(SCALE_N) -box $(BOX)-sc -out bench-scale.md

demo: deps build
	hack/demo

install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/ctr-unit
	install -D -m 0755 bin/ctr-unit-step $(DESTDIR)$(PREFIX)/libexec/ctr-unit/ctr-unit-step
	install -D -m 0644 packaging/ctr@.service $(DESTDIR)$(PREFIX)/lib/systemd/system/ctr@.service
	# The unit names the binary where the Debian package puts it.
	sed 's|/usr/bin/ctr-unit|$(PREFIX)/bin/ctr-unit|' packaging/ctr-unit-restart.service >ctr-unit-restart.service.tmp
	install -D -m 0644 ctr-unit-restart.service.tmp $(DESTDIR)$(PREFIX)/lib/systemd/system/ctr-unit-restart.service
	rm -f ctr-unit-restart.service.tmp
	install -D -m 0644 packaging/ctr-unit.tmpfiles $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/ctr-unit.conf
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system-generators
	ln -sf $(PREFIX)/bin/ctr-unit $(DESTDIR)$(PREFIX)/lib/systemd/system-generators/ctr-unit-generator

# The Debian package: dist/ctr-unit_VERSION_ARCH.deb.
deb:
	hack/mkdeb dist

clean:
	rm -rf bin dist
