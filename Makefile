# wirecheck: `make demo` and `make test` each set themselves up on a fresh
# Debian machine (Debian packages through .ci/deps, Go modules through go).

GO ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
BIN := bin/wirecheck
# Packages the tests use: libpcap for live capture and filters, tshark to
# check our counts, tcpdump/tcpreplay/nftables/iproute2 for live tests.
# clang-19/llvm-19/libbpf-dev only to check that the committed eBPF objects
# regenerate byte for byte; building needs no clang.
TEST_DEPS := libpcap-dev tshark tcpdump tcpreplay nftables iproute2 ncat clang-19 llvm-19 libbpf-dev
DEMO_DEPS :=

.PHONY: all build static demo test vet deps-test generate clean

all: build

build:
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

test: deps-test
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/wirecheck
	$(GO) test -count=1 ./...

# Regenerate the eBPF objects and bindings (pinned clang-19; see bpf/doc.go).
generate:
	./.ci/deps clang-19 llvm-19 libbpf-dev
	$(GO) generate ./bpf/...

clean:
	rm -rf bin
