# Gatehouse: `make run` and `make test` are all you need. `make help` lists the rest.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help run up down status test tsan bench fuzz lint format clean

help: ## this list
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

run: ## install what is missing, build, start NATS, PostgreSQL and all services; follow logs until Ctrl-C
	@scripts/stack.sh run

up: ## like run, but return once every service is ready
	@scripts/stack.sh up

down: ## stop exactly what `make up` started
	@scripts/stack.sh down

status: ## table of services, ports, health and logs
	@scripts/stack.sh status

test: ## unit + integration tests against a private NATS and PostgreSQL
	@scripts/test.sh

tsan: ## the NATS client and bus tests under ThreadSanitizer (own build folder, slow)
	@scripts/test.sh --tsan

bench: ## benchmarks (release build); appends results to docs/benchmarks.md
	@scripts/bench.sh

fuzz: ## libFuzzer + ASan on the SIP parser, RFC 4475 corpus (FUZZ_SECONDS, default 600)
	@scripts/fuzz.sh

lint: ## swift format lint --strict
	@swift format lint --strict --parallel --recursive Package.swift Shared Services Tests

format: ## swift format in place
	@swift format format --in-place --parallel --recursive Package.swift Shared Services Tests

clean: ## remove build output and local state (stops the stack first)
	@scripts/stack.sh down || true
	@rm -rf .build .gatehouse
