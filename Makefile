# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export MUJOCO_GL ?= egl
export PYOPENGL_PLATFORM ?= egl

.PHONY: setup demo test lint bench clean

setup: $(STAMP)

$(STAMP): requirements.txt setup.py pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade "pip>=24" "setuptools>=68" wheel
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

# One task, headless, with the embedded defaults (rule planner, scripted skills, camera perception).
demo: $(STAMP)
	mkdir -p out/demo
	$(BIN)/robomatrix run "put the red can in the box" --video out/demo/run.mp4 --log out/demo/run.mcap

lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/robomatrix bench comm --json
	$(BIN)/robomatrix bench sim --json

clean:
	rm -rf $(VENV) build *.egg-info out
