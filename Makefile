GO ?= go
BIN := bin/keyraft
IMAGE ?= keyraft:dev

.PHONY: build test proto lint image cluster-up cluster-down fuzz

build:
	$(GO) build -o $(BIN) ./cmd/keyraft

test:
	$(GO) test -count=1 -timeout 20m ./...

proto:
	protoc --proto_path=. --go_out=. --go_opt=paths=source_relative fsm/fsmpb/fsm.proto
	protoc --proto_path=. --go_out=. --go_opt=paths=source_relative \
		--go-grpc_out=. --go-grpc_opt=paths=source_relative transport/clusterpb/cluster.proto

lint:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))"
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@2025.1.1 ./...

image:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o bin/keyraft-linux ./cmd/keyraft
	docker build -t $(IMAGE) -f Dockerfile bin

cluster-up: image
	./scripts/cluster-up.sh

cluster-down:
	docker compose down -v --remove-orphans 2>/dev/null || docker-compose down -v --remove-orphans
