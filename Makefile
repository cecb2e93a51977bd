GO ?= go
export PATH := /usr/local/go/bin:$(PATH)

.PHONY: build run test gotest test-ha postman vet fuzz bench bench-volume bench-audit bench-read image image-push image-patroni image-patroni-push

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/hce ./cmd/hce

# Serves with authentication on; the server's own key (in ./.hce) signs tokens.
run: build
	@echo 'Get a token:  TOKEN=$$(./bin/hce token --scope "system/*.cruds")'
	@echo 'Then:         curl -H "Authorization: Bearer $$TOKEN" http://127.0.0.1:8080/fhir/Patient'
	./bin/hce serve --auth=on

vet:
	$(GO) vet ./...

# Every Go test (integration tests start their own PostgreSQL), then the
# Postman collection against a live server.
test: gotest postman

gotest: vet
	$(GO) test -count=1 -timeout 45m ./...

# The failover test alone: a Patroni-managed Citus cluster on loopback whose
# primaries are killed under load (docs/ha.md); skipped without patroni,
# etcd or the citus extension.
test-ha:
	$(GO) test -count=1 -timeout 15m -run Patroni -v ./cmd/hce

postman: build
	bash postman/run.sh

# Short fuzzing of every parser that takes user input.
FUZZTIME ?= 20s
fuzz:
	$(GO) test ./fhir -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./validate -run '^$$' -fuzz '^FuzzCheck$$' -fuzztime $(FUZZTIME)
	$(GO) test ./validate -run '^$$' -fuzz '^FuzzNarrative$$' -fuzztime $(FUZZTIME)
	$(GO) test ./search -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./search/fhirpath -run '^$$' -fuzz '^FuzzCompile$$' -fuzztime $(FUZZTIME)
	$(GO) test ./load -run '^$$' -fuzz '^FuzzSniff$$' -fuzztime $(FUZZTIME)
	$(GO) test ./load -run '^$$' -fuzz '^FuzzChunker$$' -fuzztime $(FUZZTIME)
	$(GO) test ./load -run '^$$' -fuzz '^FuzzSplitBatch$$' -fuzztime $(FUZZTIME)
	$(GO) test ./rest -run '^$$' -fuzz '^FuzzHeaders$$' -fuzztime $(FUZZTIME)
	$(GO) test ./rest -run '^$$' -fuzz '^FuzzOperationBody$$' -fuzztime $(FUZZTIME)
	$(GO) test ./rest -run '^$$' -fuzz '^FuzzExportParams$$' -fuzztime $(FUZZTIME)
	$(GO) test ./rest -run '^$$' -fuzz '^FuzzValidateInput$$' -fuzztime $(FUZZTIME)
	$(GO) test ./rest -run '^$$' -fuzz '^FuzzPreconditionHeaders$$' -fuzztime $(FUZZTIME)
	$(GO) test ./store -run '^$$' -fuzz '^FuzzDecodeCursor$$' -fuzztime $(FUZZTIME)
	$(GO) test ./auth -run '^$$' -fuzz '^FuzzParseScope$$' -fuzztime $(FUZZTIME)
	$(GO) test ./auth -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME)
	$(GO) test ./bench -run '^$$' -fuzz '^FuzzCheckURL$$' -fuzztime $(FUZZTIME)
	$(GO) test ./bench -run '^$$' -fuzz '^FuzzParseClients$$' -fuzztime $(FUZZTIME)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# The volume benchmark: a fresh `hce serve` (embedded PostgreSQL, or
# HCE_DATABASE_URL when set) on a free loopback port, loaded with a data set
# of BENCH_RESOURCES resources made from the Synthea sample, then the query
# mix at 1 and 16 clients; the Markdown report goes to standard output. More
# `hce bench` flags in BENCH_FLAGS, e.g. BENCH_FLAGS="--json bench.json".
BENCH_RESOURCES ?= 1000000
BENCH_FLAGS ?=
# Read throughput with the audit trail off and on, side by side (needs wrk).
bench-audit: build
	bash bench/audit.sh

# Read by id against pgbench -S on the same PostgreSQL, side by side, with
# the ratio (needs wrk, pgbench, psql, jq; ROUNDS, DURATION, CLIENTS, FILES).
bench-read: build
	bash bench/read.sh

bench-volume: build
	bash bench/volume.sh --resources $(BENCH_RESOURCES) $(BENCH_FLAGS)

# The image the chart (image.repository, appVersion) and compose (HCE_IMAGE)
# run. `make image-push` pushes it; log in to the registry first, and set
# IMAGE to push elsewhere, e.g. make image-push IMAGE=registry.example.org/hce.
IMAGE ?= ghcr.io/hce-fhir/hce
IMAGE_TAG ?= $(shell sed -n 's/^appVersion: *"*\([^"]*\)"*/\1/p' helm/Chart.yaml)
image:
	docker build -t $(IMAGE):$(IMAGE_TAG) --build-arg VERSION=$(IMAGE_TAG) .

image-push: image
	docker push $(IMAGE):$(IMAGE_TAG)

# The database image of the chart's ha.enabled and of compose's ha profile:
# Citus with Patroni (deploy/patroni/Dockerfile), named like ha.image.
image-patroni:
	docker build -t $(IMAGE)-patroni:$(IMAGE_TAG) deploy/patroni

image-patroni-push: image-patroni
	docker push $(IMAGE)-patroni:$(IMAGE_TAG)
