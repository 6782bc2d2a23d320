# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format bench table screenshots checkpoints checkpoints-mlp checkpoints-gxnor clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -e '.[clients]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/smtjlab demo --force

# pytest exits 5 when it collects nothing: a broken suite, so it fails here too.
test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; fi; exit $$rc

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/smtjlab bench

table: $(STAMP)
	$(BIN)/smtjlab table --encoding both --repeats 3 --force

# Every view of the lab window at a laptop's and a desktop's screen size, each on an Xvfb screen
# of that size (docs/gui.md). --force replaces the committed pictures.
SCREENSHOT_SIZES := 1366x768 1920x1080
screenshots: $(STAMP)
	for size in $(SCREENSHOT_SIZES); do \
	  xvfb-run -a -s "-screen 0 $${size}x24" $(BIN)/smtjlab gui --mock --size $$size \
	    --screenshot docs/screenshots/gui-$$size.png --tab all --run-seconds 30 --force || exit 1; \
	done

# The shipped models (docs/accuracy.md): mlp{1,3}-s{5,11}-{sc,plain} in sign-magnitude and
# mlp{1,3}-s{5,11}-{sc,plain}-bipolar in bipolar, one recipe, seed 0, 2 CPU threads.
# Every shipped model: the sixteen paper MLPs, then the two GXNOR networks.
checkpoints: checkpoints-mlp checkpoints-gxnor

checkpoints-mlp: $(STAMP)
	for encoding in sign-magnitude bipolar; do \
	  suffix=$$([ $$encoding = bipolar ] && echo -bipolar); \
	  for depth in 1 3; do for states in 5 11; do for mode in sc plain; do \
	    hidden=$$(for i in $$(seq $$depth); do printf -- '--hidden 256 '; done); \
	    sc=$$([ $$mode = sc ] && echo --sc-length 100); \
	    $(BIN)/smtjlab train $$hidden --states $$states --encoding $$encoding $$sc \
	      --epochs 20 --seed 0 --lr 0.003 --batch-size 200 \
	      --force -o inference/checkpoints/mlp$$depth-s$$states-$$mode$$suffix.npz || exit 1; \
	  done; done; done; \
	done

# The GXNOR models (docs/gxnor.md): decisions from the mock bench's s-MTJ bits, seed 0. One torch
# thread: on this shared 2-core machine a second one mostly waits (docs/gxnor.md).
checkpoints-gxnor: $(STAMP)
	$(BIN)/smtjlab -v train --method gxnor --arch cnn --bits mock --epochs 4 --batch-size 500 \
	  --lr 0.3 --lr-final 0.002 --seed 0 --threads 1 -o inference/checkpoints/tnn-cnn-gxnor.npz --force
	$(BIN)/smtjlab -v train --method gxnor --arch mlp --hidden 1024 --hidden 1024 --sc-length 100 \
	  --bits mock --epochs 4 --batch-size 500 --lr 0.3 --lr-final 0.002 --seed 0 --threads 1 \
	  -o inference/checkpoints/tnn-mlp-gxnor.npz --force

clean:
	rm -rf $(VENV) build *.egg-info
