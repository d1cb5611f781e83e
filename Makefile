# Gatehouse: the two commands of the README, plus the benchmark.
#   make run    build and start both services (and a private PostgreSQL unless DATABASE_URL is set)
#   make test   the whole test suite against real PostgreSQL, real HTTP and the official MCP client
#   make bench  the load benchmark (release build), with OpenSSL's own RSA rate as the baseline
#   make chaos  the fault scenarios (PostgreSQL restart and failover, AuthServer down, gateway faults, key rotation, refresh storms, soak), bounded
#   make fuzz   the libFuzzer harnesses of Fuzz/ (also part of make chaos), a fixed number of inputs each
#   make lint   shellcheck on every shell script in the repository
.PHONY: run test bench chaos fuzz lint build clean-data

run:
	@scripts/run.sh

test:
	@scripts/test.sh

bench:
	@scripts/bench.sh

chaos:
	@scripts/chaos.sh

fuzz:
	@scripts/fuzz.sh

lint:
	@scripts/lint.sh

build:
	swift build

clean-data:
	scripts/postgres.sh stop .data/postgres || true
	scripts/postgres.sh stop .data/test-postgres || true
	scripts/postgres.sh stop .data/chaos-postgres || true
	rm -rf .data
