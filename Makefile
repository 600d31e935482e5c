# wirecheck: `make demo` and `make test` each set themselves up on a fresh
# Debian machine (Debian packages through .ci/deps, Go modules through go).

GO ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
BIN := bin/wirecheck
# Packages the tests use: libpcap for live capture and filters, tshark (and
# capinfos, which comes with it) to check our counts, argus (argus-server,
# racluster from argus-client) as a second flow meter to check our TCP and
# UDP states against, suricata (7, from bookworm-backports where the release
# lacks it: .ci/deps) as a third, with its own TCP session tracking,
# tcpdump/tcpreplay/nftables/iproute2 for live tests.
# clang-19/llvm-19/libbpf-dev only to check that the committed eBPF objects
# regenerate byte for byte; building needs no clang. chromium renders the
# HTML report in a test (classify/report). systemd (systemd-analyze) and
# prometheus (promtool) check the unit and alert rules in dist/.
TEST_DEPS := libpcap-dev tshark argus-server argus-client suricata@backports tcpdump tcpreplay nftables iproute2 ncat clang-19 llvm-19 libbpf-dev chromium systemd prometheus
DEMO_DEPS :=

.PHONY: all build static demo test vet deps-test generate clean fuzz fuzz-ci fuzz-targets-check bench pgo

all: build

# The full binary: libpcap (cgo) for live capture with --engine pcap and -f.
build:
	./.ci/deps libpcap-dev
	$(GO) build -o $(BIN) ./cmd/wirecheck

# Offline analysis needs no libpcap: this is the binary for any laptop.
static:
	CGO_ENABLED=0 $(GO) build -o $(BIN)-static ./cmd/wirecheck

demo: static
	@echo '== a file gateway that conforms =='
	./$(BIN)-static analyse -p storage-gateway/file-nfs --host 10.0.0.5 testdata/captures/filegw-conformant.pcapng
	@echo
	@echo '== the same gateway with four faults (exit status 1 = not conformant) =='
	./$(BIN)-static analyse -p storage-gateway/file-nfs --host 10.0.0.5 testdata/captures/filegw-faulty.pcap; test $$? -eq 1

deps-test:
	./.ci/deps $(TEST_DEPS)
	$(GO) mod download

test: deps-test fuzz-targets-check
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/wirecheck
	$(GO) test -count=1 ./...

# Native Go fuzz targets (package:Target). Their seed corpora, and every
# input a past run found, already run as ordinary tests in `make test`.
# `make fuzz` fuzzes each for FUZZTIME, one after another with one worker;
# a finding is saved under the package's testdata/fuzz: fix it, and commit
# the file as the regression test. CI runs `make fuzz-ci`: a count of
# executions, not a time, because Go 1.26's fuzz coordinator can fail a
# clean run with "context deadline exceeded" when a time budget ends on a
# busy machine (golang/go#75804, fixed in Go 1.27).
# FUZZ_PRIVILEGED need root and are not fuzzed here; their seeds run in
# `make test`. `make test` fails when a fuzz target is in neither list.
FUZZ_PRIVILEGED := bpf:FuzzKernelMatchesUserSpace
FUZZ_TARGETS := capture:FuzzRead capture:FuzzReadFrames classify:FuzzClassify \
	classify/packet:FuzzDecode classify/packet:FuzzDecodeLinks classify/related:FuzzLearn \
	classify/service:FuzzDetect classify/service:FuzzClientHello classify/service:FuzzClientHelloForwardSecrecy \
	classify/service:FuzzServerHello classify/service:FuzzDNSAnswers classify/profile:FuzzParse \
	internal/textout:FuzzWire cmd/wirecheck:FuzzWireText classify/report:FuzzJSONString classify/report:FuzzStamp
FUZZTIME ?= 60s
FUZZPARALLEL ?= 1

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "== $$t for $(FUZZTIME)"; \
		$(GO) test ./$${t%%:*}/ -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) -parallel $(FUZZPARALLEL); \
	done

fuzz-ci:
	$(MAKE) fuzz FUZZTIME=2000x

# Every func Fuzz... in a test file is listed, as package:Target.
fuzz-targets-check:
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' .); do \
		d=$$(dirname $$f); d=$${d#./}; \
		for n in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
			case " $(FUZZ_TARGETS) $(FUZZ_PRIVILEGED) " in \
			*" $$d:$$n "*) ;; \
			*) echo "$$d:$$n is in neither FUZZ_TARGETS nor FUZZ_PRIVILEGED (Makefile)"; exit 1;; \
			esac; \
		done; \
	done

# Regenerate what is generated and committed: the eBPF objects and bindings
# (pinned clang-19; see bpf/doc.go) and the IANA port-name tables
# (classify/service/zz_ports.go from the committed copy in iana/). Tests in
# `make test` fail when either differs from a fresh generation.
generate:
	./.ci/deps clang-19 llvm-19 libbpf-dev
	$(GO) generate ./bpf/... ./classify/service

# Performance (issue 5): Go benchmarks of the hot path (decode, flow table,
# classifier, match, the text report's flows table), then whole-process runs
# against capinfos, tcpdump and tshark on the synthetic captures bench/run
# writes to bench/out (medians, ratios, peak memory, targets), then the live
# figures (bench/live.sh: eBPF and libpcap engines under tcpreplay, iperf3
# overhead; needs root).
BENCH_DEPS := tshark wireshark-common tcpdump tcpreplay iperf3 iproute2 bpftool jq libpcap-dev
bench:
	./.ci/deps $(BENCH_DEPS)
	$(GO) test -run '^$$' -bench . -benchmem ./classify/packet ./classify/flow ./classify ./classify/match ./classify/report
	$(GO) run ./bench/run
	./bench/live.sh

# cmd/wirecheck/default.pgo is the CPU profile that go build optimises
# wirecheck with (profile-guided optimisation, which go build applies to a
# main package with a default.pgo): analyse runs on the bench capture,
# profiled with the hidden --cpuprofile flag (bench/run -pgo). Refresh it
# after changing the per-packet path, and commit it.
pgo:
	$(GO) run ./bench/run -pgo cmd/wirecheck/default.pgo

clean:
	rm -rf bin
