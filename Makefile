GO ?= go
export PATH := /usr/local/go/bin:$(PATH)

.PHONY: build run test vet fuzz bench

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/hce ./cmd/hce

run: build
	./bin/hce serve

vet:
	$(GO) vet ./...

test: vet
	$(GO) test -count=1 -timeout 30m ./...

# Short fuzzing of every parser that takes user input.
fuzz:
	$(GO) test ./fhir -run '^$$' -fuzz FuzzParse -fuzztime 30s

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
