# `make demo` and `make test` each set up everything they need on a fresh machine first.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.model_zoo-installed

.PHONY: setup demo test test-large bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml setup.cfg setup.py scripts/setup.sh scripts/apt-packages.txt \
		scripts/build_dnnl_rnn.sh model_zoo/layers/kernels/dnnl_rnn.cc
	VENV=$(VENV) bash scripts/setup.sh
	touch $(STAMP)

# The main job: load a published model by name, predict, fine-tune on bundled data.
demo: setup
	$(PY) examples/quickstart.py

# The test suite CI runs (.ci/run calls exactly this). TEST_WORKERS pytest-xdist processes
# share the tests (work stealing: the slow ones don't queue behind each other); 2 took 0.61x
# the serial time on this 2-core machine. TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= 2
test: setup
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist worksteal

# Slow tests that train real models (not in CI).
test-large: setup
	$(PY) -m pytest -q -m large

bench: setup
	$(PY) -m pip install -q "torch==2.13.0" || $(PY) -m pip install -q torch
	$(PY) benchmarks/rnn_throughput.py

clean:
	rm -rf $(VENV) build dist *.egg-info
