# `make demo` and `make test` set everything up from nothing but Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# torch and torchvision are pinned here (not in pyproject) to the build this machine caches;
# override with `make TORCH_SPEC="torch torchvision" ...` elsewhere.
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
STAMP := $(VENV)/.installed
export NO_ALBUMENTATIONS_UPDATE := 1

.PHONY: install demo test lint bench bench-mtl bench-inference clean

install: $(STAMP)

$(STAMP): pyproject.toml plugins/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet -e ".[dev]" -e ./plugins
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/perception demo --config configs/demo.yaml

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check perception plugins tools tests
	$(BIN)/ruff format --check perception plugins tools tests

bench: $(STAMP)
	$(BIN)/python tools/bench_synth.py

bench-mtl: $(STAMP)
	$(BIN)/python tools/bench_mtl.py

bench-inference: $(STAMP)
	$(BIN)/python tools/bench_inference.py

clean:
	rm -rf $(VENV) runs
