/* trainer.h — masktrain's training loop: sparse AdamW steps, the learning-rate schedule,
 * clipping, dev evaluation with early stopping, the best snapshot, checkpoints and resume.
 *
 * Determinism: batch t is drawn from the per-epoch shuffles of the seed (batching.h) and
 * dropout is keyed by (seed, t), so a run resumed from a checkpoint at step s continues
 * exactly as the uninterrupted run would have: the same delta, byte for byte. */
#ifndef SPARSETUNE_TRAINER_H
#define SPARSETUNE_TRAINER_H

#include <jansson.h>
#include <signal.h>

#include "examples.h"
#include "model.h"
#include "optim.h"
#include "progress.h"

typedef struct TrainConfig {
    double lr, max_grad_norm;
    long max_steps, min_steps, warmup, eval_every, patience, checkpoint_every;
    long schedule_steps; /* length of the learning-rate schedule (lr_at's total) */
    int batch, constant_lr;
    int keep_last;       /* the model ends holding the last state, not the best snapshot */
    uint64_t seed;
    const char *checkpoint; /* NULL: none */
    int resume;
} TrainConfig;

typedef struct TrainResult {
    long steps;       /* optimizer steps taken */
    long best_step;   /* step of the best dev evaluation */
    double best_metric;
    int evals;
    int stopped_early;
    double last_loss;
} TrainResult;

/* What the trainer keeps per parameter: its values that can change (record mode 1: the k
 * sparse entries; 2: the whole tensor) for the best snapshot and checkpoints. */
typedef struct Trainer {
    Model *m;
    Optim *o;
    const TrainConfig *cfg;
    int *mode;          /* [n_params]: 0 unchanged, 1 sparse entries of o->t[slot[i]], 2 whole */
    int *slot;          /* [n_params]: TrainTensor index or -1 */
    float **best;       /* [n_params]: best snapshot (modes 1 and 2) */
    float *dev_tmp;     /* backend scratch for gathering sparse values (grown, never shrunk:
                         * a device allocation per tensor and snapshot would synchronise) */
    size_t dev_tmp_n;
    json_t *prov_entry; /* this run's provenance entry (restored on resume) */
    struct Dyn *dyn;    /* masktrain --method's dynamics (methods/dynamics.h), NULL: none */
} Trainer;

/* Set when SIGINT/SIGTERM arrive: the loop saves a checkpoint and stops. */
extern volatile sig_atomic_t trainer_signal;
void trainer_catch_signals(void);

void trainer_init(Trainer *t, Model *m, Optim *o, const TrainConfig *cfg, json_t *prov_entry);
/* Keep tensor i whole in the snapshots (a tensor the dynamics train themselves). */
void trainer_track(Trainer *t, int i);
/* Train on train, evaluate on dev; the model ends holding the kept state (the best snapshot,
 * or with keep_last the last one; max_steps 0: the initial state, no evaluation). */
void trainer_run(Trainer *t, const ExampleSet *train, const ExampleSet *dev, Progress *prog,
                 TrainResult *res);
/* Values of the kept state at parameter i after trainer_run (mode 1: k entries, mode 2:
 * numel); during the run, of the best snapshot. */
const float *trainer_best(const Trainer *t, int i);
void trainer_free(Trainer *t);

#endif
