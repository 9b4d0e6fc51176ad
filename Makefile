# Two entry points (see README): `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo serve test bench clean-demo browser bundle bundle-offline wheelhouse

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

# The kansli's downloads (packaging/bundle.py, see README "For the kansli: installing on Windows
# and macOS"): a zip per platform with narrativ's wheel, uv and the double-click scripts, in dist/.
# -offline adds every wheel for Windows / Python 3.11 (about a gigabyte). Not part of `make test`.
PLATFORM ?= win_amd64
bundle: $(STAMP)
	$(BIN)/python packaging/bundle.py --platform win_amd64
	$(BIN)/python packaging/bundle.py --platform macos_arm64

bundle-offline: $(STAMP)
	$(BIN)/python packaging/bundle.py --platform $(PLATFORM) --offline

# only the offline folder, resolved for $(PLATFORM) and checked from the folder alone; prints figures
wheelhouse: $(STAMP)
	$(BIN)/python packaging/bundle.py --platform $(PLATFORM) --wheelhouse-only
