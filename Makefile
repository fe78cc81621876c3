# One target per workflow. Each creates .venv on first use, so a fresh clone needs only make.
PYTHON ?= python3
# Inside make test-newest's chroot VENV=/opt/venv, so that the tests that run make (make proto) find it.
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROTOS := $(shell find proto -name '*.proto' | sort)
GENERATED ?= generated
SOURCES ?= .

.PHONY: venv run test test-newest browser proto lint fuzz bench screenshots clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# make run ARGS="--http-listen 127.0.0.1:9000 --grpc-listen 127.0.0.1:9001" (any flag of configserver --help)
run: venv
	$(BIN)/configserver $(ARGS)

test: venv browser
	$(BIN)/python -m pytest

# The newest Python: Debian trixie's 3.13 in a chroot (.trixie/, made with debootstrap on first use, its
# venv at /opt/venv inside it; needs root). .ci/run runs `make test` (3.11, every test) and then this.
# On 3.13 run the suites that touch what changes between Pythons -- the transports, the pipeline, the
# runtime (store worker, batcher, signals, child processes), the agent protocols and the stores -- not the
# whole suite: both in full would not fit CI's 30 minutes on 2 cores. Left to 3.11 alone: the browser
# tests (tests/test_console.py: Chromium is not in the chroot), lint and types (test_lint: ruff and mypy
# are set to Python 3.11 whatever runs them), and the User API's contract, input and fuzz tests. Another
# selection: make test-newest NEWEST_TESTS="tests --ignore=tests/test_console.py" (all but the browser).
NEWEST_TESTS ?= $(addprefix tests/test_,$(addsuffix .py,\
	http transports_agree grpc_tooling tls starvation status \
	auth overload metrics nodelay eager \
	fleet durability failures store_failure agent_registry cli packaging \
	agents agent_protocols_input encoded versions catalog rules \
	no_lost_updates read_your_writes scale_out disk_faults))

test-newest:
	bash .ci/test-newest $(NEWEST_TESTS)

# The console's browser tests drive Debian's chromium (Playwright pointed at it; no browser download):
# installed here when missing and possible. Without it they skip, except under CI=true, where they fail.
browser:
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq chromium >/dev/null) || echo "chromium is missing: the console tests will skip"

# Regenerates generated/ from proto/: messages, gRPC stubs and mypy stubs; then what the service
# descriptors decide beyond them (proto/generate_contracts.py): the façades' contracts, and the HTTP method
# of each write for the console and configserverctl. Deterministic, so that running it on a clean tree
# changes nothing (tests/test_generated.py checks it). GENERATED=DIR SOURCES=DIR write elsewhere.
CONTRACTS := $(SOURCES)/facades/contracts.py $(SOURCES)/configserverctl/routes.py
proto: venv
	mkdir -p $(GENERATED)
	find $(GENERATED) -name '*_pb2*.py*' -delete
	$(BIN)/python -m grpc_tools.protoc -Iproto \
		--plugin=protoc-gen-mypy=$(BIN)/protoc-gen-mypy \
		--python_out=$(GENERATED) --mypy_out=$(GENERATED) $(PROTOS)
	$(BIN)/python -m grpc_tools.protoc -Iproto \
		--plugin=protoc-gen-mypy_grpc=$(BIN)/protoc-gen-mypy_grpc \
		--grpc_python_out=$(GENERATED) --mypy_grpc_out=$(GENERATED) proto/configserver/proto/service.proto
	find $(GENERATED)/configserver -type d -exec touch {}/__init__.py \;
	$(BIN)/python proto/generate_contracts.py $(GENERATED) $(SOURCES)
	$(BIN)/ruff format --quiet --config pyproject.toml $(CONTRACTS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# A long fuzz run: thousands of hostile bodies per endpoint, format and transport, random each run.
fuzz: venv
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -p no:cacheprovider tests/test_fuzz.py

# Figures for docs/benchmarks.md: the load generators come from Debian (installed here if missing).
bench: venv
	command -v wrk >/dev/null && command -v h2load >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nghttp2-client)
	$(BIN)/python -m bench

# Pictures of the console's pages for the README, from a demo fleet: docs/console/*.png.
screenshots: venv browser
	$(BIN)/python -m tests.screenshots

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
