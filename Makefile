# Designer BFF generation pipeline. `make` lists the targets.
SHELL := /bin/bash
GO ?= go
# Every folder with a main.go under functions/ is a Lambda function.
FUNCTIONS := $(patsubst functions/%/main.go,%,$(wildcard functions/*/main.go))
LAMBDA_BUILD := CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags=-s
LOCAL := $(GO) run ./infra/local
BENCH := $(GO) run ./infra/bench

.DEFAULT_GOAL := help
.PHONY: help demo test serve migrate bench bench-quality lint build deploy check-asl fuzz clean chromium dashboard-screenshot

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

demo: ## run the whole pipeline locally on the embedded defaults and write an HTML report (data kept in .local/demo for `monitor`)
	rm -rf .local/demo
	$(LOCAL) demo --data .local/demo

test: ## vet, run every test over a throwaway Postgres and a headless Chromium, check the state machine, fuzz the validator briefly
	@$(MAKE) --no-print-directory chromium
	@# README's curl examples are run by a test (infra/local/readme_test.go): curl and jq from Debian.
	@command -v curl >/dev/null && command -v jq >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends curl jq; }
	$(GO) vet ./...
	$(LOCAL) with-postgres -- $(GO) test -count=1 -timeout 5m ./...
	$(MAKE) --no-print-directory check-asl
	$(MAKE) --no-print-directory fuzz

# A count, not a duration: with a duration Go 1.26's fuzz coordinator can
# report a spurious "context deadline exceeded" when the time runs out while a
# worker is mid-call (go.dev/issue/75804, fixed in Go 1.27).
fuzz: ## a few seconds of fuzzing on the validator's entry point
	$(GO) test -run '^$$' -fuzz '^FuzzValidate$$' -fuzztime 20000x -fuzzminimizetime 0s ./shared/quality

check-asl: ## validate the rendered state machine definition with asl-validator (npm)
	@mkdir -p .local
	$(LOCAL) render-asl > .local/generation.rendered.asl.json
	npx --yes asl-validator@4 --json-path .local/generation.rendered.asl.json

# The dashboard's browser test (infra/local TestDashboardInABrowser) drives
# Debian's chromium; installed once, like bench-quality's packages.
chromium: ## install Debian's chromium for the dashboard's browser test when it is missing
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends chromium; }

dashboard-screenshot: chromium ## run the dashboard's browser test over seeded generations and write docs/dashboard.png
	$(LOCAL) with-postgres -- env DASHBOARD_SCREENSHOT=$(CURDIR)/docs/dashboard.png $(GO) test -count=1 -run '^TestDashboardInABrowser$$' ./infra/local

serve: ## serve the API on 127.0.0.1:$$PORT (default 3000) over the local stack
	$(LOCAL) serve

migrate: ## apply the migrations to $$DATABASE_URL
	$(LOCAL) migrate

bench: ## run the Go benchmarks
	$(GO) test -run '^$$' -bench . -benchmem ./shared/...

BENCH_QUALITY := .local/bench-quality
bench-quality: ## calibrate the validator (procedural images + Debian pictures, degraded per family; OpenCV BRISQUE alongside), time it on one core, write docs/quality-benchmark.md (~10 min)
	@# Pictures (GPL-2+) and the OpenCV reference, from Debian only; installed once.
	@dpkg -s mate-backgrounds gnome-backgrounds ukui-wallpapers python3-opencv opencv-data >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends mate-backgrounds gnome-backgrounds ukui-wallpapers python3-opencv opencv-data; }
	@mkdir -p $(BENCH_QUALITY)
	$(BENCH) quality prepare --dir $(BENCH_QUALITY)
	set -o pipefail; QUALITY_BENCH_DIR=$(CURDIR)/$(BENCH_QUALITY) $(GO) test -run '^$$' -bench '1024' -benchmem -cpu 1 -count 5 ./shared/quality | tee $(BENCH_QUALITY)/bench.txt
	$(BENCH) quality report --dir $(BENCH_QUALITY) --bench $(BENCH_QUALITY)/bench.txt

.PHONY: bench-learning
bench-learning: ## learning on vs off vs an oracle vs no modifiers over 8 quirk seeds (5–30 min, longer on a busy machine); writes docs/learning-benchmark.md and .svg, checks issue 15's criteria
	$(BENCH) learning --seeds 1,2,3,4,5,6,7,8 --requests 20 --count 20

.PHONY: bench-buffer
bench-buffer: ## buffer strategies over N × p × history × c (20,000 requests a cell) + Recalibrate on 1M verdicts (~3 min); writes docs/buffer-benchmark.md and .svg
	$(BENCH) buffer --requests 20000 --recalibrate-rows 1000000

# Linters run at pinned versions through the module proxy; nothing to install.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
DEADCODE := golang.org/x/tools/cmd/deadcode@v0.52.0
# Test helpers are reachable only from tests, which deadcode does not follow.
TEST_HELPERS := infra/local/pgtest/|infra/local/stack/stacktest/|shared/provider/providertest/

lint: ## gofmt, vet, staticcheck, no dead code outside test helpers, go.mod tidiness
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	@out="$$($(GO) run $(DEADCODE) ./...)" || exit 1; \
	  dead="$$(grep -Ev '^($(TEST_HELPERS))' <<<"$$out")"; \
	  test -z "$$dead" || { echo "dead code:"; echo "$$dead"; exit 1; }
	$(GO) mod tidy -diff

build: $(addprefix bin/,$(FUNCTIONS)) ## build every function's bootstrap for arm64 into bin/

bin/%: FORCE
	$(LAMBDA_BUILD) -o bin/$*/bootstrap ./functions/$*
FORCE:

# SAM (BuildMethod: makefile) calls build-<LogicalId> with ARTIFACTS_DIR set.
build-ApiFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/api
build-PlanFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/plan
build-GenerateFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/generate
build-ValidateFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/validate
build-SelectFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/select
build-DeliverFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/deliver
build-MarkFailedFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/markfailed
build-LearnerFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/learner
build-RecalibrateFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/recalibrate
build-ExecutionStatusFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/executionstatus

deploy: ## sam build && sam deploy with infra/sam/samconfig.toml
	sam build --template-file template.yaml
	sam deploy --config-file $(CURDIR)/infra/sam/samconfig.toml

clean: ## remove build output and local scratch files
	rm -rf bin .aws-sam .local demo-output
