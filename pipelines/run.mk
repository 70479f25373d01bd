# run.mk — one experiment as Make rules: task × method × ratio × seed, from data files to a
# metrics file.  Every artefact is a file written atomically by its tool, so an interrupted
# sweep resumes where it stopped and nothing finished is recomputed.
#
#   make -f pipelines/run.mk MODEL=dir DATA=dir OUT=results TASKS="cb stsb" \
#        METHODS="sam random" SEEDS="1 2" RATIOS=0.005 [BIN=bin] all
#
# Files (under OUT):
#   data/TASK/{train,dev,test}.ex                 tokenize (train.jsonl, val.jsonl, test.jsonl)
#   data/TASK/train-dropF-sSEED.ex                tokenize --drop F (data perturbation, TAG=dropF)
#   grads/TASK-sSEED.{sum,sumsq,abs}              gradacc, burn-in steps STEPS_TASK; kept only
#                                                 with KEEP_GRADS=1 (else gradacc is piped
#                                                 into sam-select and no gradient is stored)
#   masks/TASK-METHOD-rRATIO-sSEED.mask           sam-select
#   deltas/TASK-METHOD-rRATIO-sSEED.delta         masktrain
#   metrics/TASK-METHOD-rRATIO-sSEED.metrics      evaluate on test (…-train.metrics on train)
# With TAG=dropF the names carry "-dropF" after the seed and training uses the perturbed set.
#
# Targets: all (every metrics file), data, grads, masks, deltas, table (stats on the metrics),
# list-jobs (one "TASK METHOD RATIO SEED" line per run, for GNU parallel: pipelines/sweep.sh).

MODEL   ?= $(error MODEL=dir is required (a HuggingFace model directory or archive))
DATA    ?= $(error DATA=dir is required (TASK/train.jsonl, val.jsonl, test.jsonl))
OUT     ?= results
TASKS   ?= cb stsb
METHODS ?= sam
SEEDS   ?= 1
RATIOS  ?= 0.005
TAG     ?=
# Gradients are model-sized (500 MB for roberta-base, 35 GB for table1's 7 tasks x 10 seeds):
# by default each mask's rule runs its burn-in and pipes it into sam-select.  KEEP_GRADS=1
# writes them under grads/ instead (to inspect them, or to share one burn-in among several
# ratios, as fig5 does), GRADS_DTYPE=bf16|f16 at half the size.
KEEP_GRADS ?=
GRADS_DTYPE ?= f32
BIN     ?= $(dir $(abspath $(lastword $(MAKEFILE_LIST))))../bin
THREADS ?= 1
MAXLEN  ?= 256
BATCH   ?= 16
# masktrain options shared by every run (early stopping, learning rate, ...).
MT_OPTS ?=
# gradacc options shared by every run (e.g. --clip 1.0).
GA_OPTS ?=
# The burn-in accumulates STEPS_TASK - BURNIN_SKIP batches: the reference code's burn-in of
# 600 sums batches 1..599 and trains from batch 600 on (BURNIN_SKIP=1; PAPER.md).
BURNIN_SKIP ?= 0
# jiant's schedule: with SCHEDULE_EPOCHS=E masktrain gets --schedule-steps and --max-steps
# E × ⌈training examples / BATCH⌉, the examples counted at run time (the stream's end marker);
# --max-steps at most 2^24 (masktrain's bound: dropout keys), never reached by early stopping.
SCHEDULE_EPOCHS ?=
# Per method: sam-select options (SS_OPTS_m) and masktrain options (MT_OPTS_m, after MT_OPTS).
# The structural methods default to their authors' settings: LoRA as Hu et al.'s roberta-base
# GLUE runs (query,value, r 8, alpha 16, lr 5e-4), the Pfeiffer adapter as AdapterHub's
# (reduction factor 16, init bert, lr 1e-4); paper.mk's PRESET=paper sets the paper code's.
SS_OPTS_lora ?= --targets query,value --rank 8 --alpha 16
MT_OPTS_lora ?= --lr 5e-4
SS_OPTS_adapter ?= --reduction-factor 16 --adapter-init bert
MT_OPTS_adapter ?= --lr 1e-4
# evaluate also the training split (the sparsity sweep's train metric): TRAIN_METRICS=1
TRAIN_METRICS ?=

# Burn-in steps per task (PAPER.md), overridable: STEPS_rte=100.
STEPS_cola ?= 600
STEPS_mrpc ?= 600
STEPS_stsb ?= 1000
STEPS_rte  ?= 700
STEPS_cb   ?= 700
STEPS_copa ?= 700
STEPS_wsc  ?= 2000
STEPS_DEFAULT ?= 700
# How each task is tokenized: the paper's tasks by name, other data sets by TOKENIZE_ARGS_task.
TOKENIZE_ARGS ?= --task $(1)
steps_of = $(if $(STEPS_$(1)),$(STEPS_$(1)),$(STEPS_DEFAULT))
burnin_of = $(shell echo $$(($(call steps_of,$(1)) - $(BURNIN_SKIP))))
# shell prefix setting n (the schedule length) for the training set $(1); 4 dollars: one
# pair goes to $(call) of RUN_RULES, one to the recipe
sched_n = $(if $(SCHEDULE_EPOCHS),n=$$$$(( $(SCHEDULE_EPOCHS) * (($$$$($(BIN)/inspect --json $(1) | tail -n 1 | tr -dc 0-9) + $(BATCH) - 1) / $(BATCH)) )) && )
sched_opts = $(if $(SCHEDULE_EPOCHS),--schedule-steps $$$$n --max-steps $$$$(( $$$$n < 16777216 ? $$$$n : 16777216 )))
tok_args = $(if $(TOKENIZE_ARGS_$(1)),$(TOKENIZE_ARGS_$(1)),$(call TOKENIZE_ARGS,$(1)))

# Which gradient reduction a method reads; methods without gradients read the model.
reduce_of = $(if $(filter sam,$(1)),sum,$(if $(filter fisher,$(1)),sumsq,$(if $(filter abs,$(1)),abs,)))

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all data grads masks deltas table list-jobs

sfx = $(if $(TAG),-$(TAG),)
run_name = $(1)-$(2)-r$(3)-s$(4)$(sfx)
METRICS = $(foreach t,$(TASKS),$(foreach m,$(METHODS),$(foreach r,$(RATIOS),$(foreach s,$(SEEDS),$(OUT)/metrics/$(call run_name,$(t),$(m),$(r),$(s)).metrics))))
TRAIN_METRICS_FILES = $(if $(TRAIN_METRICS),$(METRICS:.metrics=-train.metrics))

all: $(METRICS) $(TRAIN_METRICS_FILES)
data: $(foreach t,$(TASKS),$(foreach p,train dev test,$(OUT)/data/$(t)/$(p).ex))
masks: $(foreach t,$(TASKS),$(foreach m,$(METHODS),$(foreach r,$(RATIOS),$(foreach s,$(SEEDS),$(OUT)/masks/$(call run_name,$(t),$(m),$(r),$(s)).mask))))
deltas: $(patsubst $(OUT)/metrics/%.metrics,$(OUT)/deltas/%.delta,$(METRICS))
grads: $(if $(KEEP_GRADS),$(sort $(foreach t,$(TASKS),$(foreach m,$(METHODS),$(foreach s,$(SEEDS),$(if $(call reduce_of,$(m)),$(OUT)/grads/$(t)-s$(s)$(sfx).$(call reduce_of,$(m))))))))

list-jobs:
	@$(foreach t,$(TASKS),$(foreach m,$(METHODS),$(foreach r,$(RATIOS),$(foreach s,$(SEEDS),echo "$(t) $(m) $(r) $(s)";))))

table: $(METRICS)
	$(BIN)/stats $(if $(TAG),--tag $(TAG)) $(METRICS)

# ---- data ----
$(OUT)/data/%/train.ex: $(DATA)/%/train.jsonl
	@mkdir -p $(@D)
	$(BIN)/tokenize $(call tok_args,$*) --vocab $(MODEL) --max-len $(MAXLEN) $< -o $@
$(OUT)/data/%/dev.ex: $(DATA)/%/val.jsonl
	@mkdir -p $(@D)
	$(BIN)/tokenize $(call tok_args,$*) --vocab $(MODEL) --max-len $(MAXLEN) $< -o $@
$(OUT)/data/%/test.ex: $(DATA)/%/test.jsonl
	@mkdir -p $(@D)
	$(BIN)/tokenize $(call tok_args,$*) --vocab $(MODEL) --max-len $(MAXLEN) $< -o $@

# ---- one run: rules generated per (task, method, ratio, seed) ----
# $(1) task $(2) method $(3) ratio $(4) seed
define RUN_RULES
$(OUT)/metrics/$(call run_name,$(1),$(2),$(3),$(4)).metrics: $(OUT)/deltas/$(call run_name,$(1),$(2),$(3),$(4)).delta $(OUT)/data/$(1)/test.ex
	@mkdir -p $$(@D)
	$(BIN)/evaluate --model $(MODEL) --delta $$< --threads $(THREADS) $(if $(TAG),--tag $(TAG)) $(OUT)/data/$(1)/test.ex -o $$@

$(OUT)/metrics/$(call run_name,$(1),$(2),$(3),$(4))-train.metrics: $(OUT)/deltas/$(call run_name,$(1),$(2),$(3),$(4)).delta $(call train_set,$(1),$(4))
	@mkdir -p $$(@D)
	$(BIN)/evaluate --model $(MODEL) --delta $$< --threads $(THREADS) $(if $(TAG),--tag $(TAG)) --split train $(call train_set,$(1),$(4)) -o $$@

$(OUT)/deltas/$(call run_name,$(1),$(2),$(3),$(4)).delta: $(OUT)/masks/$(call run_name,$(1),$(2),$(3),$(4)).mask $(call train_set,$(1),$(4)) $(OUT)/data/$(1)/dev.ex
	@mkdir -p $$(@D)
	$(call sched_n,$(call train_set,$(1),$(4)))$(BIN)/masktrain --model $(MODEL) --mask $$< --dev $(OUT)/data/$(1)/dev.ex --seed $(4) --batch $(BATCH) --threads $(THREADS) -q $(sched_opts) $(MT_OPTS) $(MT_OPTS_$(2)) $(call train_set,$(1),$(4)) -o $$@

ifneq ($(and $(call reduce_of,$(2)),$(if $(KEEP_GRADS),,1)),)
# the burn-in piped into the selection: a failed gradacc leaves sam-select a stream without
# its end marker, which it refuses, so no mask is written
$(OUT)/masks/$(call run_name,$(1),$(2),$(3),$(4)).mask: $(call train_set,$(1),$(4))
	@mkdir -p $$(@D)
	$(call gradacc_cmd,$(1),$(4),$(call reduce_of,$(2))) $$< | $(BIN)/sam-select --method $(2) --ratio $(3) --seed $(4) $(SS_OPTS_$(2)) - -o $$@
else
$(OUT)/masks/$(call run_name,$(1),$(2),$(3),$(4)).mask: $(if $(call reduce_of,$(2)),$(OUT)/grads/$(1)-s$(4)$(sfx).$(call reduce_of,$(2)))
	@mkdir -p $$(@D)
	$(BIN)/sam-select --method $(2) --ratio $(3) --seed $(4) $(if $(call reduce_of,$(2)),$$<,--model $(MODEL)) $(SS_OPTS_$(2)) -o $$@
endif
endef

# The training set of a run: the task's train split, or its perturbed copy under TAG=dropF.
train_set = $(if $(TAG),$(OUT)/data/$(1)/train-$(TAG)-s$(2).ex,$(OUT)/data/$(1)/train.ex)

# $(1) task $(2) seed $(3) reduction
gradacc_cmd = $(BIN)/gradacc --model $(MODEL) --steps $(call burnin_of,$(1)) --batch $(BATCH) --seed $(2) --reduce $(3) --dtype $(GRADS_DTYPE) --threads $(THREADS) -q $(GA_OPTS)

define GRAD_RULES
$(OUT)/grads/$(1)-s$(2)$(sfx).$(3): $(call train_set,$(1),$(2))
	@mkdir -p $$(@D)
	$(call gradacc_cmd,$(1),$(2),$(3)) $$< -o $$@
endef

define DROP_RULES
$(OUT)/data/$(1)/train-$(TAG)-s$(2).ex: $(DATA)/$(1)/train.jsonl
	@mkdir -p $$(@D)
	$(BIN)/tokenize $(call tok_args,$(1)) --vocab $(MODEL) --max-len $(MAXLEN) --drop $(patsubst drop%,%,$(TAG)) --seed $(2) $$< -o $$@
endef

$(foreach t,$(TASKS),$(foreach m,$(METHODS),$(foreach r,$(RATIOS),$(foreach s,$(SEEDS),$(eval $(call RUN_RULES,$(t),$(m),$(r),$(s)))))))
$(foreach t,$(TASKS),$(foreach s,$(SEEDS),$(foreach g,sum sumsq abs,$(eval $(call GRAD_RULES,$(t),$(s),$(g))))))
$(if $(TAG),$(foreach t,$(TASKS),$(foreach s,$(SEEDS),$(eval $(call DROP_RULES,$(t),$(s))))))
