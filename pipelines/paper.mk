# paper.mk — the paper's experiments (PAPER.md) as targets, each a sweep of run.mk through
# GNU parallel (sweep.sh) that ends in stats output and a gnuplot figure under OUT.
#
#   make -f pipelines/paper.mk MODEL=roberta-base DATA=../shared/data/tasks OUT=paper table1
#
#   table1   7 tasks × METHODS × 10 seeds at p = 0.005: OUT/table1.{txt,md,tex,svg},
#            plus Tables 5/6 (t-tests of sam against every method): OUT/ttest.txt
#   table2   data perturbation: 10 training sets, each without a random 10 % (tokenize
#            --drop 0.1, seed = run seed): OUT/table2.{txt,md,svg}
#   fig5     sparsity sweep p ∈ RATIOS_FIG5 with test and train metrics: OUT/fig5.{tsv,svg}
#   fig4     stability vs performance over table1's runs (Spearman ρ of the ranks by std and
#            by mean): OUT/fig4.{txt,tsv,svg}
#   masks    overlaps and locations of the table1 masks: OUT/masks.txt
#   table3   measured training time per method and task from table1's runs (the last
#            elapsed_s of each run's masktrain --log, run.mk's logs/): OUT/table3.txt
#   fig3     DiffPruning on FIG3_TASK (cb) re-projected every FIG3_EVERY (600) steps for
#            FIG3_STEPS (3000): the loss with the re-projection steps marked and the masks'
#            Jaccard overlaps beside them: OUT/fig3.{tsv,svg,masks.txt}
#   table4   tunable parameters per method, % of the base model, counted from table1's deltas
#            (stats --params): OUT/table4.{txt,md,tsv}
# Everything resumes: rerun the same target after an interruption.  Run only a part with
# TASKS=…, METHODS=…, SEEDS=… (e.g. SEEDS="1 2 3" for a first look).
#
# PROTOCOL=clean (default): the tools' defaults — truly sparse training (only selected
#   entries decay, clipping by the norm of what is trained), HF's schedule over --max-steps,
#   the whole dev set for early stopping, the best dev state kept.
# PROTOCOL=paper: what the paper's code did (PAPER.md, "What the paper's code actually
#   does"): jiant's pooled head, lr 1e-4, batch 16, max length 256; burn-in STEPS_TASK - 1 clipped batches
#   (gradacc --clip 1.0); jiant's schedule over 10000 epochs with 10 % warm-up; clipping by
#   the dense norm of every parameter, frozen weights decayed; evaluation every 500 steps on
#   the first 500 dev examples, patience 40, never before 20000 steps.  Use it to reproduce
#   the paper's numbers; the clean one to measure the method itself.  Keep OUT apart per
#   protocol (the file names do not say which one made them).

here    := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))
BIN     ?= $(here)../bin
MODEL   ?= $(error MODEL=dir is required (roberta-base: pipelines/fetch-roberta.sh))
DATA    ?= $(error DATA=dir is required (e.g. ../shared/data/tasks))
OUT     ?= paper
TASKS   ?= cola stsb mrpc rte cb copa wsc
# the ten methods of Table 1: FullTuning, Random, MixOut, BitFit, MagPruning, Adapter, LoRA,
# DiffPruning, ChildPruning, SAM.  MagPruning is the authors' (magnitude of the pre-trained
# weights, sam-select) unless PRESET=paper (the paper code's: after a full fine-tuning burn-in).
METHODS_MAG = $(if $(filter paper,$(PRESET)),magpruning,magnitude)
METHODS ?= full random mixout bitfit $(METHODS_MAG) adapter lora diffpruning childpruning sam
# The structural baselines: PRESET=authors (default) runs them with their authors' settings
# (run.mk's SS_OPTS_lora / MT_OPTS_lora ...), PRESET=paper as the paper's code did (PAPER.md):
# LoRA on all six Linears of every layer, alpha 1, B kaiming-initialised, the head frozen, the
# run's learning rate; r is not recorded, 7 gives Table 4's share (0.93 % vs 0.91 %).
PRESET  ?= authors
ifeq ($(PRESET),paper)
STRUCT_OPTS = SS_OPTS_lora="--targets all --rank 7 --alpha 1 --lora-init-b kaiming --freeze-head" \
              MT_OPTS_lora= MT_OPTS_adapter= \
              MT_OPTS_mixout="$(MIXOUT_PAPER)" MT_OPTS_diffpruning="$(DIFF_PAPER)" \
              MT_OPTS_magpruning="--burnin 499"
endif
# The paper code's moving-mask baselines (PAPER.md "The baselines, exactly"): MixOut only at
# evaluation (p = 1 - ratio), DiffPruning with a ±3 stretch, sigmoid(randn) gates, λ = 1 on the
# mean gate and the mask = top |α| after 500 steps; MagPruning after burnin - 1 = 499 steps.
MIXOUT_PAPER = --mixout-variant eval
DIFF_PAPER   = --gate-stretch 3 --alpha-init randn --l0-weight 1 --l0-mean --project-by alpha --burnin 500
SEEDS   ?= 1 2 3 4 5 6 7 8 9 10
RATIO   ?= 0.005
RATIOS_FIG5 ?= 0.0002 0.0005 0.001 0.002 0.005 0.01 0.02 0.05 0.1 0.2
MT_OPTS ?=
EXTRA   ?=
PROTOCOL ?= clean

ifeq ($(PROTOCOL),paper)
PROTOCOL_MT  = --head jiant --lr 1e-4 --eval-every 500 --dev-limit 500 --patience 40 \
               --min-steps 20000 --warmup 0.1 --clip-scope all --decay-frozen --keep best
PROTOCOL_RUN = BATCH=16 MAXLEN=256 GA_OPTS="--head jiant --clip 1.0" BURNIN_SKIP=1 SCHEDULE_EPOCHS=10000
else ifneq ($(PROTOCOL),clean)
$(error PROTOCOL=$(PROTOCOL): expected clean or paper)
endif

# MT_OPTS after the protocol's: the caller's options win
sweep = $(here)sweep.sh BIN=$(BIN) MODEL=$(MODEL) DATA=$(DATA) TASKS="$(TASKS)" SEEDS="$(SEEDS)" \
        MT_OPTS="$(strip $(PROTOCOL_MT) $(MT_OPTS))" $(PROTOCOL_RUN) $(STRUCT_OPTS) $(EXTRA)
stats = $(BIN)/stats
# The runs of table1, table2, fig4 and masks are those at RATIO: OUT/runs is shared with fig5's
# sweep over RATIOS_FIG5, so every target chooses its files by the ratio in their names
# (which is the grid's, also for the structural methods whose records carry their own share).
at_ratio = $(OUT)/runs/metrics/*-r$(RATIO)-s*.metrics
# masks: table1's (not table2's, whose names end in their tag, -drop0.1)
# fig5: sam's runs at the ratios of RATIOS_FIG5 only (listed by the shell when the recipe runs)
fig5_runs = $$(for r in $(RATIOS_FIG5); do ls $(OUT)/runs/metrics/*-sam-r$$r-s*.metrics; done)
plot  = gnuplot -e "infile='$(1)'; outfile='$(2)'" $(here)$(3)

FIG3_TASK  ?= cb
FIG3_EVERY ?= 600
FIG3_STEPS ?= 3000
FIG3_SEED  ?= 1
FIG3_OPTS  ?=
FIG3_DIFF  ?= $(DIFF_PAPER)

.PHONY: table1 table2 table3 table4 fig3 fig5 fig4 masks all
all: table1 table2 table3 table4 fig3 fig5 fig4 masks

table1:
	@mkdir -p $(OUT)
	$(sweep) OUT=$(OUT)/runs METHODS="$(METHODS)" RATIOS=$(RATIO) > $(OUT)/table1.txt
	$(stats) --format markdown $(at_ratio) -o $(OUT)/table1.md
	$(stats) --format latex $(at_ratio) -o $(OUT)/table1.tex
	$(stats) --format tsv --no-marks $(at_ratio) -o $(OUT)/table1.tsv
	$(stats) --ttest --ref sam $(at_ratio) -o $(OUT)/ttest.txt
	$(call plot,$(OUT)/table1.tsv,$(OUT)/table1.svg,plot-table.gp)
	cat $(OUT)/table1.txt $(OUT)/ttest.txt

table2:
	@mkdir -p $(OUT)
	$(sweep) OUT=$(OUT)/runs METHODS="$(METHODS)" RATIOS=$(RATIO) TAG=drop0.1 > /dev/null
	$(stats) --tag drop0.1 $(at_ratio) -o $(OUT)/table2.txt
	$(stats) --tag drop0.1 --format markdown $(at_ratio) -o $(OUT)/table2.md
	$(stats) --tag drop0.1 --format tsv --no-marks $(at_ratio) -o $(OUT)/table2.tsv
	$(call plot,$(OUT)/table2.tsv,$(OUT)/table2.svg,plot-table.gp)
	cat $(OUT)/table2.txt

fig5:
	@mkdir -p $(OUT)
	$(sweep) OUT=$(OUT)/runs METHODS=sam RATIOS="$(RATIOS_FIG5)" TRAIN_METRICS=1 > /dev/null
	$(stats) --sweep --methods sam --format tsv $(fig5_runs) --split test -o $(OUT)/fig5.test.tsv
	$(stats) --sweep --methods sam --format tsv $(fig5_runs) --split train -o $(OUT)/fig5.train.tsv
	$(call plot,$(OUT)/fig5.test.tsv,$(OUT)/fig5.svg,plot-sweep.gp)
	cat $(OUT)/fig5.test.tsv

fig4: table1
	$(stats) --stability $(at_ratio) -o $(OUT)/fig4.txt
	$(stats) --stability --format tsv $(at_ratio) -o $(OUT)/fig4.tsv
	$(call plot,$(OUT)/fig4.tsv,$(OUT)/fig4.svg,plot-stability.gp)
	cat $(OUT)/fig4.txt

masks: table1
	$(stats) --masks $$(ls $(OUT)/runs/masks/*-r$(RATIO)-s*.mask | grep -E -- '-s[0-9]+\.mask$$') -o $(OUT)/masks.txt

table3: table1
	python3 $(here)table3.py $(OUT)/runs/logs/*-r$(RATIO)-s*[0-9].log > $(OUT)/table3.txt
	grep -v '^tsv' $(OUT)/table3.txt

# Figure 3 with the paper code's DiffPruning (the figure is from its runs), the mask
# re-projected every FIG3_EVERY steps; the last state is kept (no early stopping).
F3 = $(OUT)/fig3
fig3:
	@mkdir -p $(F3)
	$(MAKE) -s -f $(here)run.mk BIN=$(BIN) MODEL=$(MODEL) DATA=$(DATA) OUT=$(OUT)/runs TASKS=$(FIG3_TASK) $(PROTOCOL_RUN) $(EXTRA) data
	$(BIN)/sam-select --method full --model $(MODEL) -o $(F3)/full.mask
	$(BIN)/masktrain --model $(MODEL) --mask $(F3)/full.mask --dev $(OUT)/runs/data/$(FIG3_TASK)/dev.ex \
	  --seed $(FIG3_SEED) -q $(PROTOCOL_MT) --method diffpruning $(FIG3_DIFF) --reproject-every $(FIG3_EVERY) \
	  --max-steps $(FIG3_STEPS) --keep last $(MT_OPTS) $(FIG3_OPTS) --log $(F3)/train.log --mask-log $(F3)/masks.mlog \
	  $(OUT)/runs/data/$(FIG3_TASK)/train.ex -o $(F3)/fig3.delta
	$(stats) --curves --mask-log $(F3)/masks.mlog $(F3)/train.log -o $(OUT)/fig3.tsv
	$(stats) --masks $(F3)/masks.mlog -o $(OUT)/fig3.masks.txt
	$(call plot,$(OUT)/fig3.tsv,$(OUT)/fig3.svg,plot-curves.gp)
	@echo "re-projections: step, loss at the step, Jaccard with the previous and the final mask"
	@awk -F'\t' 'NR > 1 && $$5 == 1 {printf "%8d  loss %.4f  J(prev) %-8s J(final) %s\n", $$2, $$3, ($$6 == "" ? "-" : $$6), $$7}' $(OUT)/fig3.tsv
# table1's deltas (not table2's, whose names end in their tag), listed when the recipe runs
table4_deltas = $$(ls $(OUT)/runs/deltas/*-r$(RATIO)-s*.delta | grep -E -- '-s[0-9]+\.delta$$')
table4: table1
	$(stats) --params $(table4_deltas) -o $(OUT)/table4.txt
	$(stats) --params --format markdown $(table4_deltas) -o $(OUT)/table4.md
	$(stats) --params --format tsv $(table4_deltas) -o $(OUT)/table4.tsv
	cat $(OUT)/table4.txt
