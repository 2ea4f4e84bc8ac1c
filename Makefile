GO ?= go
# go.mod names go 1.27.3; the installed go runs that toolchain (fetched once
# from the module proxy) only when GOTOOLCHAIN says so. A shell that already
# exports it keeps its own value.
export GOTOOLCHAIN ?= go1.27.3
BIN := bin/keyraft
IMAGE ?= keyraft:dev
# VERSION=0.3.0 make build stamps a release's version into the binary
# (internal/version.Base); without it the binary is 0.x.y-dev plus its commit.
VERSION ?=
VERSION_LDFLAGS := $(if $(VERSION),-X github.com/keyraft/keyraft/internal/version.Base=$(VERSION))
# protoc finds protoc-gen-go and protoc-gen-go-grpc in GOPATH/bin.
export PATH := $(PATH):$(shell $(GO) env GOPATH)/bin

.PHONY: build test proto lint image cluster-up cluster-down fuzz

build:
	$(GO) build -ldflags='$(VERSION_LDFLAGS)' -o $(BIN) ./cmd/keyraft

# The jepsen module's own tests (its checkers against doctored histories)
# run here too; its fault-injection runs are the jepsen targets below.
# e2e (multi-process, on 2 cores) takes 11-14 minutes of the package timeout.
test:
	$(GO) test -count=1 -timeout 25m ./...
	cd jepsen && $(GO) test -count=1 -timeout 5m ./...

proto: # needs protoc (apt-get install protobuf-compiler) and the two plugins:
	# go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.11
	# go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1
	protoc --proto_path=. --go_out=. --go_opt=paths=source_relative fsm/fsmpb/fsm.proto
	protoc --proto_path=. --go_out=. --go_opt=paths=source_relative \
		--go-grpc_out=. --go-grpc_opt=paths=source_relative transport/clusterpb/cluster.proto

lint:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))"
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
	cd jepsen && $(GO) vet ./... && $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# `docker compose` (plugin) when the engine has it, else docker-compose (v1);
# the cluster's compose project is always "keyraft" (not the checkout's name).
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
COMPOSE_PROJECT ?= keyraft

# keyraft:dev is FROM scratch: the static linux binary and nothing else (no
# registry here, nothing to pull). The build context is bin/image/, which holds
# only the binary and two empty directories, so it is sent in a moment.
image:
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -ldflags='-s -w $(VERSION_LDFLAGS)' -o bin/keyraft-linux ./cmd/keyraft
	rm -rf bin/image && mkdir -p bin/image/data bin/image/tmp
	cp bin/keyraft-linux bin/image/keyraft-linux
	docker build -t $(IMAGE) -f Dockerfile bin/image

cluster-up: image build
	COMPOSE="$(COMPOSE)" COMPOSE_PROJECT_NAME=$(COMPOSE_PROJECT) KEYRAFT_BIN=$(BIN) ./scripts/cluster-up.sh

cluster-down:
	$(COMPOSE) -p $(COMPOSE_PROJECT) down -v --remove-orphans
	rm -f bin/cluster-credentials.json bin/cluster-env.sh bin/cluster-ca.pem

# Fault-injection runs (jepsen/, its own module): docker-compose when
# `docker info` works, else local processes. JEPSEN_FLAGS adds flags, e.g.
# JEPSEN_FLAGS='-nodes 5 -seed 42'; see jepsen/README.md.
JEPSEN_BACKEND ?= $(shell docker info >/dev/null 2>&1 && echo docker || echo local)
.PHONY: jepsen jepsen-short
jepsen:
	cd jepsen && $(GO) run ./cmd/jepsen -backend $(JEPSEN_BACKEND) -duration 5m $(JEPSEN_FLAGS)
jepsen-short:
	cd jepsen && $(GO) run ./cmd/jepsen -backend $(JEPSEN_BACKEND) -duration 60s $(JEPSEN_FLAGS)
