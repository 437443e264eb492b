# `make demo` and `make test` do all set-up on a fresh machine (see README).
VENV := .venv
PY := $(CURDIR)/$(VENV)/bin/python
MPIRUN := $(CURDIR)/$(VENV)/bin/mpirun
# The engine build finds the venv's MPI compiler wrapper (mpicxx) through PATH.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

CPP_SOURCES := $(shell find cpp -name '*.cpp' -o -name '*.hpp') CMakeLists.txt pyproject.toml
# The editable install maps each Python module to its file when it is installed, so a
# module added, moved or removed needs a reinstall too (edits to existing ones do not).
PY_MODULES := $(shell find nengo_mpi -name '*.py')

.PHONY: demo test test-containers build sanitize bench docs fuzz clean

$(VENV)/.deps: ci/requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r ci/requirements.txt
	touch $@

# Editable install: Python sources are used in place; the engine is built by CMake in
# build/editable and installed into the venv.
$(VENV)/.engine: $(VENV)/.deps $(CPP_SOURCES) $(PY_MODULES)
	$(PY) -m pip install -q --no-build-isolation --no-deps -e . \
		-Cbuild-dir=build/editable -Ccmake.define.MPI_CXX_COMPILER=$(CURDIR)/$(VENV)/bin/mpicxx
	touch $@

build: $(VENV)/.engine

demo: build
	mkdir -p out
	$(MPIRUN) -np 2 $(PY) -m nengo_mpi examples/sine_squared.py --plot $(CURDIR)/out/sine_squared.png

test: build $(VENV)/.docs
	bash ci/test.sh

# The engine built with AddressSanitizer and UndefinedBehaviorSanitizer, in a venv of its
# own (build/sanitize), running its kernel, file-fuzzing and MPI message tests.
sanitize: build
	bash ci/sanitize.sh

# Both container images, their SIFs and hybrid launches (needs root; see containers/README.md).
# Uses the venv's mpirun as the host MPICH; parts that cannot run here are skipped.
test-containers: $(VENV)/.deps
	bash containers/test.sh

$(VENV)/.docs: $(VENV)/.deps docs/requirements.txt
	$(PY) -m pip install -q -r docs/requirements.txt
	touch $@

# The documentation site (docs/_build/html): warnings are errors, then every doctest
# block of the pages and docstrings runs (docs/build.sh).
docs: build $(VENV)/.docs
	bash docs/build.sh

bench: build
	$(PY) benchmarks/run.py

# The fuzz campaign on model files, checkpoints and probe files (fuzz/README.md):
# 10,000 mutated files in one process and 100 under mpirun, reported to
# fuzz/RESULTS.md; a fast subset runs in `make test` (tests/test_fuzz_files.py).
fuzz: build
	$(PY) fuzz/campaign.py --mutations 10000 --mpi 100 --report fuzz/RESULTS.md

clean:
	rm -rf build out $(VENV)
