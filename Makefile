# mtls-demo: `make help` lists the targets.
SHELL := /bin/bash
OUT ?= out

# Compose v2 (`docker compose`), else v1 (`docker-compose`): detected once.
ifeq ($(origin COMPOSE),undefined)
COMPOSE := $(shell if docker compose version >/dev/null 2>&1; then echo 'docker compose'; \
  elif command -v docker-compose >/dev/null 2>&1; then echo docker-compose; fi)
endif
# Every profile: what `down`, `logs` and `clean` act on.
COMPOSE_ALL = $(COMPOSE) --profile method1 --profile method2 --profile failures --profile lifecycle

# The rest of a recipe line runs with a Node that satisfies package.json's
# engines first on PATH (Node 24 fetched on Debian when the host's is older)
# and node_modules as package-lock.json lists it: see .ci/prepare.sh.
# Node's compile cache, as the npm scripts set it: the test runner and every process a test starts inherit it
# (an absolute path, so that a process started in another folder, such as a clone, does not write one there).
WITH_NODE = PATH="$$(bash .ci/prepare.sh):$$PATH" && export PATH && export NODE_COMPILE_CACHE=$${NODE_COMPILE_CACHE:-$(CURDIR)/node_modules/.cache/node-compile} &&

# TESTS=all: every test. TESTS=unit: all but those that need Docker (the
# suites under describeWithDocker) or a fresh clone of the repository.
TESTS ?= all
CONTAINER_TESTS = $(shell grep -l describeWithDocker test/*.test.ts)
UNIT_TESTS = $(filter-out $(CONTAINER_TESTS) test/fresh-clone.test.ts,$(wildcard test/*.test.ts))
TEST_FILES_all = "test/**/*.test.ts"
TEST_FILES_unit = $(UNIT_TESTS)
TEST_FILES = $(or $(TEST_FILES_$(TESTS)),$(error TESTS must be all or unit, not '$(TESTS)'))

.PHONY: help test test-containers typecheck pki bench bench-pki \
        build demo demo-lifecycle up-method1 up-method2 up-lifecycle down logs clean compose

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

test: ## prepare Node 24 and node_modules, type-check, run every test (TESTS=unit: no Docker, no fresh clone)
	@$(WITH_NODE) npm run -s typecheck && node --test --test-concurrency=1 $(TEST_FILES)

test-containers: ## only the container tests (builds the images, runs every profile)
	@$(WITH_NODE) node --test --test-concurrency=1 $(CONTAINER_TESTS)

typecheck: ## tsc --noEmit over the whole project
	@$(WITH_NODE) npm run -s typecheck

pki: ## issue method1 into $(OUT)/method1 and method2 into $(OUT)/method2
	@$(WITH_NODE) npm run -s pki -- --method method1 --out $(OUT)/method1 \
	  && npm run -s pki -- --method method2 --out $(OUT)/method2

bench: ## our server's mTLS cost against bare node:https (fixed rate, saturation, resume, key types), then the PKI bench (about 5 min)
	@$(WITH_NODE) npm run -s bench

bench-pki: ## our PKI against the openssl CLI sequence, side by side
	@$(WITH_NODE) npm run -s bench:pki

# method1's services build the three images; method2's use the same ones
# (building both profiles would make each image twice, labelled per service).
BUILD = DOCKER_BUILDKIT=1 COMPOSE_DOCKER_CLI_BUILD=1 $(COMPOSE) --profile method1 build

build: compose ## build the pki, server and client images
	$(BUILD)

demo: compose demo-lifecycle ## build, run the lifecycle profile, method1, method2 and every failure scenario, print a report, tear down
	@echo "Building the images (make build shows the details)..."
	@$(BUILD) --quiet
	@COMPOSE="$(COMPOSE)" demo/run.sh

demo-lifecycle: compose ## the lifecycle profile with 10 s certificates for 40 s: a table of rotations, PASS/FAIL
	@echo "Building the lifecycle images (make build shows the details)..."
	@DOCKER_BUILDKIT=1 COMPOSE_DOCKER_CLI_BUILD=1 $(COMPOSE) --profile lifecycle build --quiet
	@COMPOSE="$(COMPOSE)" demo/lifecycle.sh

up-method1: compose ## start method1 in the background (pki, server, client); shows the client
	$(COMPOSE_ALL) down --remove-orphans
	$(COMPOSE) --profile method1 up -d
	$(COMPOSE) --profile method1 logs --follow client
	@echo "server: https://localhost:9443 (make logs, make down)"

up-method2: compose ## same with method2 (one shared self-signed certificate)
	$(COMPOSE_ALL) down --remove-orphans
	$(COMPOSE) --profile method2 up -d
	$(COMPOSE) --profile method2 logs --follow client-method2
	@echo "server: https://localhost:9443 (make logs, make down)"

up-lifecycle: compose ## CA service + agents + loop client (CERT_TTL=15s make up-lifecycle); shows the rotations
	$(COMPOSE_ALL) down --remove-orphans
	$(COMPOSE) --profile lifecycle up -d
	$(COMPOSE) --profile lifecycle logs --follow server-agent client-agent server-lifecycle client-lifecycle

down: compose ## stop and remove the containers; the volumes (and the CA) stay
	$(COMPOSE_ALL) down --remove-orphans

logs: compose ## the logs of every container of every profile
	$(COMPOSE_ALL) logs

clean: ## remove containers, networks and volumes of every profile, and $(OUT)
	$(if $(COMPOSE),$(COMPOSE_ALL) down --volumes --remove-orphans)
	rm -rf $(OUT)

compose:
	@[ -n "$(COMPOSE)" ] || { echo "make: needs Docker Compose: 'docker compose' (v2) or 'docker-compose' (v1)" >&2; exit 1; }
