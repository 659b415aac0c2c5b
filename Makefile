# ctr-unit build, test and demo. Everything builds with CGO_ENABLED=0 and
# the tags in buildtags/tags: containers/image without gpgme and
# containers/storage without btrfs, both of which need C otherwise.
# GOFLAGS carries the tags to every go command make runs, and to the builds
# the tests and the bench make; a -tags on a command line replaces GOFLAGS'
# own, so those name them again.
export CGO_ENABLED := 0
TAGS := $(shell cat buildtags/tags)
export GOFLAGS := $(strip $(GOFLAGS) -tags=$(TAGS))
GO ?= go
PREFIX ?= /usr/local
BIN := bin/ctr-unit
# Each `make test` boots its own throwaway systemd boxes; a distinct name
# lets several checkouts test at once.
BOX ?= ctr-unit-$(shell echo $$PPID)

.PHONY: all build test unit-test fuzz fuzz-ci faults net-cycles integration-test previous-modules integration-v2 integration-hybrid integration-reboot bench bench-net bench-pull bench-deps bench-exec bench-scale bench-ps demo deps install deb clean

all: build

# ctr-unit-step, the lean binary of the units' steps, and ctr-unit-image,
# which moves images with containers/image, go beside it.
build:
	$(GO) build -o bin/ ./cmd/ctr-unit ./cmd/ctr-unit-step ./cmd/ctr-unit-image

# Debian packages the tests and the demo need: netavark and aardvark-dns
# (the network backend), iptables (its firewall), iproute2 (the boxes' lo),
# the registry the image tests start, and podman, to check that logins are
# shared with it.
DEPS := systemd dbus runc busybox-static util-linux iproute2 iptables netavark aardvark-dns docker-registry podman catatonit tmux procps
deps:
	@missing=$$(for p in $(DEPS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# The pull benchmark also runs skopeo (and podman) on the same image.
bench-deps:
	@$(MAKE) --no-print-directory deps DEPS="$(DEPS) skopeo"

unit-test:
	$(GO) vet ./...
	$(GO) test -count=1 ./...

# Every native fuzz target for FUZZTIME each (hack/fuzz); make test runs
# each for FUZZTIME_CI. Failing inputs land in the packages'
# testdata/fuzz and run with every go test from then on.
FUZZTIME ?= 60s
FUZZTIME_CI ?= 5s
fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) hack/fuzz

fuzz-ci:
	FUZZTIME=$(FUZZTIME_CI) GO=$(GO) hack/fuzz

# The fault harness (integration/faults_test.go) at full size: make test
# runs it bounded in integration-v2.
faults: deps
	hack/sysbox run v2 --name $(BOX)-ft -- env CTR_UNIT_FAULTS=full $(GO) test -tags integration,$(TAGS) -count=1 -timeout 60m -run 'TestFault' -v ./integration/

# The 50 network start/stop cycles through container units (stop, SIGKILL,
# systemctl kill, Restart=) in both layouts; faults runs them in v2 with
# the rest, make test bounded.
net-cycles: deps
	hack/sysbox run v2 --name $(BOX)-nc2 -- env CTR_UNIT_FAULTS=full $(GO) test -tags integration,$(TAGS) -count=1 -timeout 20m -run 'TestFaultNetworkCycles' -v ./integration/
	hack/sysbox run hybrid --name $(BOX)-nch -- env CTR_UNIT_FAULTS=full $(GO) test -tags integration,$(TAGS) -count=1 -timeout 20m -run 'TestFaultNetworkCycles' -v ./integration/

# The upgrade test builds an earlier ctr-unit in its box, which has no
# network: the modules it builds with are fetched here.
previous-modules:
	GO=$(GO) hack/previous-version --download

integration-v2: deps previous-modules
	hack/sysbox run v2 --name $(BOX)-v2 -- $(GO) test -tags integration,$(TAGS) -count=1 -timeout 20m ./integration/ ./definition/

integration-hybrid: deps previous-modules
	hack/sysbox run hybrid --name $(BOX)-hy -- $(GO) test -tags integration,$(TAGS) -count=1 -timeout 20m ./integration/

# Reboots drive the boxes from the host (integration/reboot_test.go).
integration-reboot: deps
	CTR_UNIT_REBOOT_BOX=$(BOX)-rb $(GO) test -tags reboot,$(TAGS) -count=1 -timeout 20m ./integration/

integration-test: integration-v2 integration-hybrid integration-reboot

test: unit-test fuzz-ci integration-test

bench: deps build
	hack/sysbox run v2 --name $(BOX)-bv2 -- $(GO) run ./bench -layout v2
	hack/sysbox run hybrid --name $(BOX)-bhy -- $(GO) run ./bench -layout hybrid

# bench-net: run -d/stop on a bridge network with a published port,
# ctr-unit beside podman 4.3 (its default network), each beside --network none.
bench-net: deps build
	hack/sysbox run v2 --name $(BOX)-bnet -- $(GO) run ./bench -layout v2 -net

# Time to pull a ~100 MB five-layer image from a local registry, beside
# podman pull and skopeo copy of the same image into stores of the same
# driver (see bench/pull).
bench-pull: bench-deps
	hack/sysbox run v2 --name $(BOX)-bpl -- $(GO) run ./bench/pull
# exec NAME true against runc exec and podman exec (installed if missing).
bench-exec: deps build
	hack/sysbox run v2 --name $(BOX)-bex -- $(GO) run ./bench -layout v2 -exec-only
	hack/sysbox run hybrid --name $(BOX)-bexh -- $(GO) run ./bench -layout hybrid -exec-only
# Hundreds of containers from boot, against podman 4.3 and bare runc units
# (bench/scale); the report goes to bench-scale.md (and .json). It boots
# its own boxes, so it runs on the host. About 14 minutes on two cores.
SCALE_N ?= 10,100,500
bench-scale: deps
	@dpkg -s podman >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman; }
	$(GO) run ./bench/scale -n $(SCALE_N) -box $(BOX)-sc -out bench-scale.md

# ps's own cost with 500 containers defined in files, all running, without
# a box: Refresh and List as ps -a calls them, against a fake systemd
# (supervisor/scale_test.go). bench-scale times the command in a box.
bench-ps:
	$(GO) test -run '^$$' -bench 'List500' -benchtime 30x -count 5 ./supervisor

demo: deps build
	hack/demo

install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/ctr-unit
	install -D -m 0755 bin/ctr-unit-step $(DESTDIR)$(PREFIX)/libexec/ctr-unit/ctr-unit-step
	install -D -m 0755 bin/ctr-unit-image $(DESTDIR)$(PREFIX)/libexec/ctr-unit/ctr-unit-image
	install -D -m 0644 packaging/ctr@.service $(DESTDIR)$(PREFIX)/lib/systemd/system/ctr@.service
	# The unit names the binary where the Debian package puts it.
	sed 's|/usr/bin/ctr-unit|$(PREFIX)/bin/ctr-unit|' packaging/ctr-unit-restart.service >ctr-unit-restart.service.tmp
	install -D -m 0644 ctr-unit-restart.service.tmp $(DESTDIR)$(PREFIX)/lib/systemd/system/ctr-unit-restart.service
	rm -f ctr-unit-restart.service.tmp
	sed 's|/usr/bin/ctr-unit|$(PREFIX)/bin/ctr-unit|' packaging/ctr-unit-auto-update.service >ctr-unit-auto-update.service.tmp
	install -D -m 0644 ctr-unit-auto-update.service.tmp $(DESTDIR)$(PREFIX)/lib/systemd/system/ctr-unit-auto-update.service
	rm -f ctr-unit-auto-update.service.tmp
	install -D -m 0644 packaging/ctr-unit-auto-update.timer $(DESTDIR)$(PREFIX)/lib/systemd/system/ctr-unit-auto-update.timer
	install -D -m 0644 packaging/ctr-unit.tmpfiles $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/ctr-unit.conf
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system-generators
	ln -sf $(PREFIX)/bin/ctr-unit $(DESTDIR)$(PREFIX)/lib/systemd/system-generators/ctr-unit-generator
	# Man pages and shell completions, made from the command definitions.
	$(GO) build -tags $(TAGS),ctrunit_docs -o bin/ctr-unit-docs ./cmd/ctr-unit
	rm -rf bin/docs && bin/ctr-unit-docs generate-docs bin/docs
	install -d $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0644 bin/docs/man1/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -D -m 0644 bin/docs/bash/ctr-unit $(DESTDIR)$(PREFIX)/share/bash-completion/completions/ctr-unit
	install -D -m 0644 bin/docs/zsh/_ctr-unit $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_ctr-unit
	install -D -m 0644 bin/docs/fish/ctr-unit.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/ctr-unit.fish

# The Debian package: dist/ctr-unit_VERSION_ARCH.deb.
deb:
	hack/mkdeb dist

clean:
	rm -rf bin dist
