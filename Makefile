# mtls-demo: `make help` lists the targets.
SHELL := /bin/bash
OUT ?= out

.PHONY: help test typecheck pki clean bench-pki

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

test: ## type-check, then every test (unit, loopback TLS, containers)
	npm test

typecheck: ## tsc --noEmit over the whole project
	npm run -s typecheck

pki: ## issue method1 into $(OUT)/method1 and method2 into $(OUT)/method2
	npm run -s pki -- --method method1 --out $(OUT)/method1
	npm run -s pki -- --method method2 --out $(OUT)/method2

bench-pki: ## our PKI against the openssl CLI sequence, side by side
	npm run -s bench:pki

clean: ## remove locally issued material
	rm -rf $(OUT)
