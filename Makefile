# Every target bootstraps what it needs on a fresh clone: the Python virtualenv (.venv, with
# python3.12 where one can be found) and, for packaging and deploying, the pinned node modules.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
STAGE  ?= dev
# Extra osls arguments, e.g. SLS_ARGS='--param="webhookUrl=https://example.com/hook" --aws-profile prod'
SLS_ARGS ?=
NODE_MODULES := node_modules/.package-lock.json
# The osls that `npx sls` would run, called directly so that nothing asks npm's registry. Its
# requirements plugin runs pip with SLS_PYTHON; any Python 3 will do, since the wheels are chosen
# for Lambda's Python 3.12 on arm64 (see custom.pythonRequirements in serverless.yml).
SLS := SLS_PYTHON="$(abspath $(PY))" node_modules/.bin/sls
# Bytecode caching on, whatever the environment says (PYTHONDONTWRITEBYTECODE): without its cache
# every pytest process, each xdist worker and each Python subprocess a test starts compiles the
# project's modules again, and pytest rewrites the asserts of every test module again, about 4 s of
# CPU per worker. The caches go to __pycache__ folders, which git ignores.
PYTEST := PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -c tests/pytest.ini
REQUIREMENTS := requirements.txt local/requirements.txt local/rekognition/requirements.txt \
	local/rekognition/requirements-nodeps.txt tests/requirements.txt

# python3.12 from PATH, else from pyenv, else whatever python3 is (3.11 to 3.13 all work).
PYTHON_FOR_VENV := $(shell \
	if python3.12 -c '' 2>/dev/null; then echo python3.12; \
	elif command -v pyenv >/dev/null && ls -d "$$(pyenv root)"/versions/3.12*/bin/python3.12 >/dev/null 2>&1; then \
	  ls -d "$$(pyenv root)"/versions/3.12*/bin/python3.12 | sort -V | tail -n 1; \
	else echo python3; fi)

.PHONY: help
help: ## list the targets
	@# Bold target names on a terminal only: piped or redirected, the output stays plain text.
	@if [ -t 1 ]; then bold=$$'\033[1m' plain=$$'\033[0m'; else bold= plain=; fi; \
	awk -v bold="$$bold" -v plain="$$plain" 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %s%-17s%s %s\n", bold, $$1, plain, $$2}' $(MAKEFILE_LIST)

$(STAMP): $(REQUIREMENTS)
	@test -x $(PY) || { echo "creating $(VENV) with $(PYTHON_FOR_VENV)"; $(PYTHON_FOR_VENV) -m venv $(VENV); }
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	@# --no-deps: this OCR fallback declares opencv-python, which would replace the headless build.
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r local/rekognition/requirements-nodeps.txt
	@touch $@

.PHONY: venv
venv: $(STAMP) ## create .venv and install every Python dependency

# EMULATOR=ministack runs from a virtualenv of its own: it pins an older botocore than .venv's boto3.
MINISTACK_VENV  := .local/ministack-venv
MINISTACK_STAMP := $(MINISTACK_VENV)/.installed
$(MINISTACK_STAMP): local/requirements-ministack.txt $(STAMP)
	@test -x $(MINISTACK_VENV)/bin/python || $(PY) -c 'import sys, venv; venv.create(sys.argv[1], with_pip=True)' $(MINISTACK_VENV)
	$(MINISTACK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r local/requirements-ministack.txt
	@touch $@

.PHONY: ministack
ministack: $(MINISTACK_STAMP) ## install ministack for EMULATOR=ministack (its own virtualenv under .local/)

$(NODE_MODULES): package.json package-lock.json
	npm ci --no-audit --no-fund

.PHONY: package
package: $(STAMP) $(NODE_MODULES) ## build the CloudFormation template and zip for STAGE into .serverless/ (offline)
	$(SLS) package --stage $(STAGE) $(SLS_ARGS)
	@$(PY) -m local artifacts .serverless

.PHONY: deploy
deploy: $(STAMP) $(NODE_MODULES) ## deploy STAGE to the AWS account of your credentials (see README, Deploy to AWS)
	$(SLS) deploy --stage $(STAGE) $(SLS_ARGS)

.PHONY: remove
remove: $(STAMP) $(NODE_MODULES) ## delete STAGE's stack from AWS (data of stage prod is retained)
	$(SLS) remove --stage $(STAGE) $(SLS_ARGS)

.PHONY: deploy-local
deploy-local: $(STAMP) $(NODE_MODULES) $(if $(filter ministack,$(EMULATOR)),$(MINISTACK_STAMP)) ## deploy STAGE with osls to the embedded emulator (EMULATOR=ministack: to ministack) and check what it created
	$(PY) -m local deploy-local --stage $(STAGE)

.PHONY: local
local: $(STAMP) $(if $(filter ministack,$(EMULATOR)),$(MINISTACK_STAMP) $(NODE_MODULES)) ## run the whole stack on this machine until Ctrl-C or make stop, reloading handlers/ and lib/ on save (LOCAL_RELOAD=0 turns it off; FEATURES=labels,faces,text,moderation,properties; DEDUPE=off; WEBHOOK_DISABLE_AFTER_SECONDS=60; REKOGNITION=local|moto|aws, EMULATOR=moto|localstack|ministack)
	LOCAL_RELOAD=$${LOCAL_RELOAD:-1} $(PY) -m local up

# No venv bootstrap: without .venv no stack can be running.
.PHONY: stop
stop: ## stop the stack that make local runs (in the background or another terminal), by the pid in .local/endpoints.json
	@test -x $(PY) || { echo "stop: no $(VENV), so no local stack to stop"; exit 0; }
	@$(PY) -m local stop

.PHONY: local-e2e
local-e2e: $(STAMP) $(if $(filter ministack,$(EMULATOR)),$(MINISTACK_STAMP) $(NODE_MODULES)) ## run one full flow on a fresh local stack and print a one-line summary
	$(PY) -m local e2e

# STAGE has a default (dev) for packaging; smoke targets a stage only when one is named.
.PHONY: smoke
smoke: $(STAMP) ## one upload-to-webhook flow: the local stack, API=https://... or STAGE=name (TOKEN=... if auth is on)
	$(PY) -m local smoke $(if $(API),--api "$(API)") $(if $(filter command line environment,$(origin STAGE)),--stage "$(STAGE)")

.PHONY: chaos
chaos: $(STAMP) ## 500 images through a fresh local stack under faults, then an audit; last line chaos: ... lost=0 duplicates=0
	$(PY) -m local chaos $(if $(IMAGES),--images $(IMAGES)) $(if $(REKOGNITION),--rekognition $(REKOGNITION))

.PHONY: burst
burst: $(STAMP) ## IMAGES (1000) uploads against a Rekognition quota of TPS (8) on a fresh stack, audited, DUPLICATES (0) of them sent twice, ENDPOINTS (0) subscribed per owner; last line burst: ... dlq=0 lost=0 ... calls/image=x [delivery_rate=r/s]
	$(PY) -m local burst $(if $(IMAGES),--images $(IMAGES)) $(if $(DUPLICATES),--duplicates $(DUPLICATES)) $(if $(TPS),--tps $(TPS)) $(if $(ENDPOINTS),--endpoints $(ENDPOINTS)) $(if $(REKOGNITION),--rekognition $(REKOGNITION))

.PHONY: capacity
capacity: $(STAMP) ## the capacity model for AWS: IMAGES_PER_DAY (1000000), BURST (100000), TPS (50), DUPLICATES (0), ENDPOINTS (0) an event goes to
	$(PY) -m local capacity --images-per-day $(or $(IMAGES_PER_DAY),1000000) --burst $(or $(BURST),100000) --tps $(or $(TPS),50) --duplicates $(or $(DUPLICATES),0) --endpoints $(or $(ENDPOINTS),0)

.PHONY: bench
bench: $(STAMP) $(NODE_MODULES) ## startup, latency, throughput, cold start, hot reload and sizes; writes docs/benchmarks.md (about 5 min)
	$(PY) tests/bench/bench.py

.PHONY: bench-reload
bench-reload: $(STAMP) ## hot reload latency: save handlers/upload.py (a copy) to the first answer on the new code; last line reload: median ...
	$(PY) tests/bench/reload_bench.py

# The recorded Rekognition answers live beside the project, never inside it; LABELS_DATA=dir overrides.
LABELS_DATA ?= ../shared/benchmarks/labels
.PHONY: bench-labels
bench-labels: $(STAMP) ## DetectLabels of the local service against recorded Rekognition answers, and the cross-validated figure; last line labels: precision ... f1 ...
	$(PY) tests/bench/labels_bench.py --data "$(LABELS_DATA)"

.PHONY: fit-labels
fit-labels: $(STAMP) ## choose the local Rekognition's label rules and cuts on the recorded answers (cross-validated), and store them
	$(PY) tests/bench/label_fitting.py --data "$(LABELS_DATA)" --write

# The running local stack's dead-letter queue, or a deployed stage's when STAGE is named (AWS_PROFILE as usual).
.PHONY: migrate-owners
migrate-owners: $(STAMP) ## give images written before owners an owner: OWNER=<sub>|public [STAGE=name; the local stack otherwise]
	@test -n "$(OWNER)" || { echo "usage: make migrate-owners OWNER=<sub>|public [STAGE=name]" >&2; exit 2; }
	$(PY) -m local migrate-owners --owner "$(OWNER)" $(if $(filter command line environment,$(origin STAGE)),--stage "$(STAGE)",--local)

.PHONY: redrive
redrive: $(STAMP) ## move a DLQ's messages back to its queue: QUEUE=UploadsDeadLetterQueue|IntegrationDeadLetterQueue [STAGE=name]
	@test -n "$(QUEUE)" || { echo "usage: make redrive QUEUE=UploadsDeadLetterQueue|IntegrationDeadLetterQueue [STAGE=name]" >&2; exit 2; }
	$(PY) -m local redrive "$(QUEUE)" $(if $(filter command line environment,$(origin STAGE)),--stage "$(STAGE)",--local)

# `make test` runs the suite on WORKERS processes (pytest-xdist), then the tests marked `serial`
# alone. Most of the suite waits (stacks starting, deadlines, subprocesses) rather than computes,
# so more workers than cores pay: twice the cores by default. WORKERS=1 runs everything in one
# process, in order, as a debugger wants it.
CORES   := $(shell nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
WORKERS ?= $(shell echo $$(( $(CORES) * 2 )))
TEST_TIERS := tests/unit tests/integration tests/e2e tests/browser
# loadgroup: the tests that share a stack (or another module or session fixture) go to one worker
# together; tests/conftest.py names the groups. WORKERS=1: no xdist at all, one process.
PARALLEL := $(if $(filter 0 1,$(WORKERS)),,-n $(WORKERS) --dist loadgroup)

.PHONY: test
test: $(STAMP) $(NODE_MODULES) $(MINISTACK_STAMP) ## run every test: unit, integration, e2e (moto and ministack) and the console in headless Chromium (WORKERS=1: serially)
	@if [ "$(WORKERS)" -le 1 ]; then \
	  $(PYTEST) --durations=15 $(TEST_TIERS); \
	else \
	  status=0; \
	  $(PYTEST) $(PARALLEL) -m "not serial" --durations=15 $(TEST_TIERS) || status=$$?; \
	  echo "make test: the tests marked serial, alone"; \
	  $(PYTEST) -m serial --durations=5 $(TEST_TIERS) || status=$$?; \
	  exit $$status; \
	fi

# The inner loop: no stack, no browser, no packaging; the same parallel run as `make test`.
.PHONY: test-fast
# The packaged-template tests (tests/integration/deploy) run osls and a ministack deploy, most of a
# minute on their own: they stay in `make test`, out of the edit-test loop. Integration first: xdist
# hands out the shared-fixture groups largest first, then single tests in collection order, so the
# long integration tests start at once and the many short unit tests fill the workers' gaps at the end.
test-fast: $(STAMP) ## unit and integration tests in parallel, without the serial ones and the packaged-template tests (`make test` runs everything; WORKERS=1: one process)
	$(PYTEST) $(PARALLEL) -m "not serial" --durations=10 --ignore=tests/integration/deploy tests/integration tests/unit

.PHONY: test-unit
test-unit: $(STAMP) ## unit tests only (no network)
	$(PYTEST) tests/unit

.PHONY: test-integration
test-integration: $(STAMP) $(NODE_MODULES) ## integration tests (moto per service, and the packaged template)
	$(PYTEST) tests/integration

.PHONY: test-e2e
test-e2e: $(STAMP) $(NODE_MODULES) $(MINISTACK_STAMP) ## end-to-end tests on the local stack (moto and ministack)
	$(PYTEST) tests/e2e

.PHONY: test-browser
test-browser: $(STAMP) ## the web console in headless Chromium (Debian's chromium and chromium-driver)
	$(PYTEST) tests/browser

.PHONY: console
console: $(STAMP) ## serve the web console on http://localhost:8321/console/, pointed at API=https://... (a deployed stage)
	@test -n "$(API)" || { echo "usage: make console API=https://<api-id>.execute-api.<region>.amazonaws.com (locally: make local, then open <api>/console)" >&2; exit 2; }
	$(PY) -m local console --api "$(API)"

.PHONY: lint
lint: $(STAMP) ## ruff lint and format check, and the OpenAPI spec's validity
	$(PY) -m ruff check --config tests/ruff.toml .
	$(PY) -m ruff format --config tests/ruff.toml --check .
	$(PY) -m openapi_spec_validator docs/openapi.yaml

.PHONY: format
format: $(STAMP) ## apply ruff's fixes and formatting
	$(PY) -m ruff check --config tests/ruff.toml --fix .
	$(PY) -m ruff format --config tests/ruff.toml .

.PHONY: clean
clean: ## remove build output and local state (keeps .venv and node_modules)
	rm -rf .serverless .local .pytest_cache .ruff_cache
