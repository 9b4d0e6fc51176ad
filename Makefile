# Two entry points (see README): `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo serve test bench clean-demo browser

# torch==2.13.0 (local CPU build) goes in BEFORE anything that could depend on it; a bare
# 'torch' requirement would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# portableQDA's .qdc reader for tests/test_qda_tools.py: it pins lxml<5 (we need >=5) and nose,
	# neither of which its reader uses, so without its dependencies
	$(BIN)/python -m pip install --quiet --no-deps portableqda==0.4.2
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/narrativ run corpora/demo --study studies/demo

# The web page for the kansli; studies are kept in ~/narrativ-studier.
serve: $(STAMP)
	$(BIN)/narrativ serve

# The browser test (tests/test_web_browser.py) uses Debian's chromium + chromedriver; no tool
# downloads a browser. Installed here when missing and we are root; otherwise a note.
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing chromium + chromium-driver (Debian) for the browser test"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >/dev/null \
	    || echo "Note: could not install chromium; the browser test will skip (and fail under CI=true)"; \
	else echo "Note: chromium/chromedriver missing and not root: the browser test will skip (install: apt-get install chromium chromium-driver)"; fi

test: $(STAMP) browser
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/python -m pytest

bench: $(STAMP)
	@for f in tests/benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean-demo:
	rm -rf studies/demo
