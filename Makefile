# Set-up is idempotent: system packages, the virtualenv and the project are installed only when missing.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SYS_STAMP := .venv-system-packages
APT_PACKAGES := tesseract-ocr tesseract-ocr-vie tesseract-ocr-osd poppler-utils fonts-liberation2 fonts-dejavu-core qpdf
# Only the browser tests of the audit report need these.
TEST_APT_PACKAGES := chromium chromium-driver

.PHONY: run test test-fast lint system venv clean bench

run: venv
	$(VENV)/bin/de06 run corpus/ --out outputs/

test: venv
	@$(MAKE) --no-print-directory system APT_PACKAGES="$(TEST_APT_PACKAGES)"
	$(VENV)/bin/ruff check pipeline extractors rules tests bench
	bash scripts/pytest.sh

# Unit, rule and reader tests: no Prefect flow, no live OCR, no browser (about a minute).
test-fast: venv
	$(VENV)/bin/ruff check pipeline extractors rules tests bench
	bash scripts/pytest.sh -m "not slow and not ocr and not browser"

lint: venv
	$(VENV)/bin/ruff check pipeline extractors rules tests bench

system:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml | system
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: system $(STAMP)

bench: venv
	$(PY) bench/run_bench.py

clean:
	rm -rf $(VENV) outputs/*.csv outputs/*.json outputs/report.html outputs/report_files outputs/.de06-cache
