# `make demo` and `make test` work on a fresh machine: each creates .venv and installs into it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Where a local CPU wheel of torch 2.13.0 sits (this machine kind), install from it and pin to it so
# pip does not pull a multi-GB CUDA build; elsewhere nothing is pinned (pyproject asks torch>=2.2).
# Override with `make test TORCH_CONSTRAINT=`.
LOCAL_TORCH_WHEEL := $(firstword $(wildcard /opt/wheels/torch-2.13.0+cpu-*.whl))
TORCH_CONSTRAINT ?= $(if $(LOCAL_TORCH_WHEEL),--find-links $(dir $(LOCAL_TORCH_WHEEL)) -c constraints/local-torch.txt,)

.PHONY: demo test docs lint format bench peers throughput movielens clean

$(BIN)/.installed: pyproject.toml constraints/local-torch.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_CONSTRAINT) -e ".[dev]"
	# real MRI anatomy for the imaging data: the MNI152 template inside the nilearn wheel, a file
	# read with nibabel (nilearn's own dependencies are not wanted)
	$(BIN)/python -m pip install --quiet --no-deps nilearn==0.14.1
	touch $@

demo: $(BIN)/.installed
	$(BIN)/unrolled demo

test: $(BIN)/.installed
	$(BIN)/python -m pytest -q -n auto

# The documentation site into site/, strictly: any warning (a broken link or reference) fails.
docs: $(BIN)/.installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

format: $(BIN)/.installed
	$(BIN)/ruff format src tests benchmarks examples
	$(BIN)/ruff check --fix src tests benchmarks examples

bench: $(BIN)/.installed peers
	$(PEERS)/bin/python benchmarks/overhead.py

throughput: $(BIN)/.installed
	$(BIN)/python benchmarks/throughput.py

# DeepInverse 0.5.0, the peer benchmarks/overhead.py measures against, in its own environment:
# the torchvision it needs would pull a multi-GB CUDA torch into .venv. torchvision 0.28.0 pins
# torch 2.13.0; installed without dependencies beside the CPU torch, its compiled ops cannot load,
# and the benchmark defines the two operator schemas deepinv needs at import. The same environment
# holds the `implicit` library (the peers extra: ALS and BPR for benchmarks/recsys.py --part
# ranking) and MovieLens-100K.
PEERS ?= .venv-peers
peers: $(PEERS)/.installed

$(PEERS)/.installed: pyproject.toml constraints/local-torch.txt
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install --quiet --upgrade pip
	$(PEERS)/bin/python -m pip install --quiet $(TORCH_CONSTRAINT) -e ".[peers]"
	$(PEERS)/bin/python -m pip install --quiet --no-deps deepinv==0.5.0 torchvision==0.28.0
	$(PEERS)/bin/python -m pip install --quiet $(TORCH_CONSTRAINT) numpy matplotlib tqdm \
		torchmetrics einops requests h5py natsort
	$(PEERS)/bin/python -m pip install --quiet --no-deps recbole==1.2.1
	touch $@

# MovieLens-100K for the recommendation benchmark: the recbole 1.2.1 wheel carries it; without
# its dependencies (we only read the file, never import recbole).
movielens: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet --no-deps recbole==1.2.1

clean:
	rm -rf $(VENV) $(PEERS) build dist site src/*.egg-info
