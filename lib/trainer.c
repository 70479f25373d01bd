#include "trainer.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#include "batching.h"
#include "ops.h"
#include "predict.h"
#include "stream.h"
#include "stream_tensor.h"
#include "util.h"

volatile sig_atomic_t trainer_signal;

static void on_stop_signal(int sig) { trainer_signal = sig; }

void trainer_catch_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static size_t mode_len(const Trainer *t, int i) {
    return t->mode[i] == 1 ? t->o->t[t->slot[i]].k : t->m->info[i].numel;
}

/* Copy the changeable values of parameter i out of (to != 0: into) the model; buf is host
 * memory, the model's parameters are backend memory. */
static void copy_values(Trainer *t, int i, float *buf, int into_model) {
    if (t->mode[i] == 2) {
        if (into_model) model_set_tensor(t->m, i, buf);
        else model_get_tensor(t->m, i, buf);
        return;
    }
    const TrainTensor *tt = &t->o->t[t->slot[i]];
    if (tt->k == 0) return; /* a mask with no entry here (the scratch may not exist yet) */
    if (tt->k > t->dev_tmp_n) {
        ops_free(t->dev_tmp);
        t->dev_tmp = ops_alloc(t->dev_tmp_n = tt->k);
    }
    float *theta = model_param(t->m, i), *tmp = t->dev_tmp;
    if (into_model) {
        ops_upload(tmp, buf, tt->k * sizeof *buf);
        op_scatter(theta, tt->dindex, tt->k, tmp);
    } else {
        op_gather(tmp, theta, tt->dindex, tt->k);
        ops_download(buf, tmp, tt->k * sizeof *buf);
    }
}

/* Adam's state (backend memory) as host vectors for checkpoints. */
static void put_state(StWriter *w, const char *prefix, const char *name, const float *dev, size_t n);

void trainer_init(Trainer *t, Model *m, Optim *o, const TrainConfig *cfg, json_t *prov_entry) {
    memset(t, 0, sizeof *t);
    t->m = m;
    t->o = o;
    t->cfg = cfg;
    t->prov_entry = prov_entry;
    t->mode = xcalloc((size_t)m->n_params, sizeof *t->mode);
    t->slot = xmalloc((size_t)m->n_params * sizeof *t->slot);
    t->best = xcalloc((size_t)m->n_params, sizeof *t->best);
    for (int i = 0; i < m->n_params; i++) t->slot[i] = -1;
    for (int s = 0; s < o->n; s++) {
        t->slot[o->t[s].idx] = s;
        t->mode[o->t[s].idx] = o->t[s].sparse ? 1 : 2;
    }
    /* With the reference's quirk every decayed tensor changes everywhere. */
    if (o->decay_frozen)
        for (int i = 0; i < m->n_params; i++)
            if (optim_decays(m->info[i].name)) t->mode[i] = 2;
    for (int i = 0; i < m->n_params; i++)
        if (t->mode[i]) {
            t->best[i] = xmalloc((mode_len(t, i) ? mode_len(t, i) : 1) * sizeof(float));
            copy_values(t, i, t->best[i], 0);
        }
}

const float *trainer_best(const Trainer *t, int i) { return t->best[i]; }

void trainer_free(Trainer *t) {
    for (int i = 0; i < t->m->n_params; i++) free(t->best[i]);
    free(t->best);
    free(t->mode);
    free(t->slot);
    ops_free(t->dev_tmp);
}

/* ---- checkpoints: a `checkpoint` stream ----
 * header: step, best_step, best_metric, bad_evals, evals, last_loss, provenance entry of the
 * run; records (f32 tensors, 1-D): "cur/NAME" and "best/NAME" (the changeable values),
 * "m/NAME" and "v/NAME" (Adam's state), for every parameter that has them. */
typedef struct LoopState {
    long step, best_step;
    double best_metric, last_loss;
    long bad, evals;
} LoopState;

static void put_vec(StWriter *w, const char *prefix, const char *name, const float *v, size_t n) {
    char full[ST_NAME_MAX];
    snprintf(full, sizeof full, "%s/%s", prefix, name);
    int64_t shape[1] = {(int64_t)n};
    st_put_tensor(w, full, ST_F32, shape, 1, v);
}

static void put_state(StWriter *w, const char *prefix, const char *name, const float *dev, size_t n) {
    float *host = xmalloc((n ? n : 1) * sizeof *host);
    ops_download(host, dev, n * sizeof *host);
    put_vec(w, prefix, name, host, n);
    free(host);
}

static void save_checkpoint(Trainer *t, const LoopState *s) {
    OutFile *out = out_open(t->cfg->checkpoint, 1);
    json_t *meta = json_object();
    json_object_set_new(meta, "step", json_integer(s->step));
    json_object_set_new(meta, "best_step", json_integer(s->best_step));
    json_object_set_new(meta, "best_metric", json_real(s->best_metric));
    json_object_set_new(meta, "last_loss", json_real(s->last_loss));
    json_object_set_new(meta, "bad_evals", json_integer(s->bad));
    json_object_set_new(meta, "evals", json_integer(s->evals));
    json_object_set_new(meta, "optimizer_steps", json_integer(t->o->step));
    json_object_set_new(meta, "run", json_deep_copy(t->prov_entry));
    StWriter *w = st_writer_open(out->fp, "checkpoint", meta, NULL);
    Model *m = t->m;
    float *buf = NULL;
    size_t cap = 0;
    for (int i = 0; i < m->n_params; i++) {
        if (!t->mode[i]) continue;
        size_t n = mode_len(t, i);
        if (n > cap) buf = xrealloc(buf, (cap = n) * sizeof *buf);
        copy_values(t, i, buf, 0);
        put_vec(w, "cur", m->info[i].name, buf, n);
        put_vec(w, "best", m->info[i].name, t->best[i], n);
        if (t->slot[i] >= 0) {
            const TrainTensor *tt = &t->o->t[t->slot[i]];
            put_state(w, "m", m->info[i].name, tt->m, tt->k);
            put_state(w, "v", m->info[i].name, tt->v, tt->k);
        }
    }
    free(buf);
    st_writer_close(w);
    out_commit(out);
    json_decref(meta);
}

static void load_checkpoint(Trainer *t, LoopState *s) {
    StReader *r = st_reader_open(t->cfg->checkpoint, "checkpoint");
    json_t *h = st_reader_header(r);
    s->step = (long)json_integer_value(json_object_get(h, "step"));
    s->best_step = (long)json_integer_value(json_object_get(h, "best_step"));
    s->best_metric = json_number_value(json_object_get(h, "best_metric"));
    s->last_loss = json_number_value(json_object_get(h, "last_loss"));
    s->bad = (long)json_integer_value(json_object_get(h, "bad_evals"));
    s->evals = (long)json_integer_value(json_object_get(h, "evals"));
    t->o->step = (long)json_integer_value(json_object_get(h, "optimizer_steps"));
    json_t *run = json_object_get(h, "run");
    if (json_is_object(run)) json_object_update(t->prov_entry, run);
    Model *m = t->m;
    StRecord rec;
    size_t seen = 0, want = 0;
    for (int i = 0; i < m->n_params; i++)
        if (t->mode[i]) want += t->slot[i] >= 0 ? 4 : 2;
    while (st_reader_next(r, &rec)) {
        StTensor x;
        st_tensor_read(r, &rec, &x);
        const char *slash = strchr(x.name, '/');
        int i = slash ? model_find(m, slash + 1) : -1;
        if (i < 0 || !t->mode[i]) st_reader_die(r, &rec, "'%s' does not belong to this run", x.name);
        size_t kind = (size_t)(slash - x.name);
        int is_opt = !strncmp(x.name, "m", kind) || !strncmp(x.name, "v", kind);
        size_t n = is_opt ? t->o->t[t->slot[i] >= 0 ? t->slot[i] : 0].k : mode_len(t, i);
        if (x.dtype != ST_F32 || (size_t)x.numel != n || (is_opt && t->slot[i] < 0))
            st_reader_die(r, &rec, "'%s' does not fit this run (another mask or model?)", x.name);
        int is_best = !strncmp(x.name, "best", kind);
        float *host = is_best ? t->best[i] : xmalloc(n * sizeof *host + 4);
        st_tensor_to_f32(&x, host);
        if (!strncmp(x.name, "cur", kind)) copy_values(t, i, host, 1);
        else if (is_opt) /* Adam's state lives in backend memory */
            ops_upload(!strncmp(x.name, "m", kind) ? t->o->t[t->slot[i]].m : t->o->t[t->slot[i]].v,
                       host, n * sizeof *host);
        if (!is_best) free(host);
        seen++;
    }
    st_reader_close(r);
    if (seen != want)
        die(t->cfg->checkpoint, "has %zu of the %zu records this run needs (another mask or model?)", seen, want);
}

static void snapshot(Trainer *t) {
    for (int i = 0; i < t->m->n_params; i++)
        if (t->mode[i]) copy_values(t, i, t->best[i], 0);
}

static void restore_best(Trainer *t) {
    for (int i = 0; i < t->m->n_params; i++)
        if (t->mode[i]) copy_values(t, i, t->best[i], 1);
}

static double evaluate_dev(Model *m, const ExampleSet *dev, int batch) {
    Predictions p;
    predict_set(m, dev, batch, &p);
    MetricResult res;
    char err[512];
    if (predictions_score(dev, &p, &res, err, sizeof err) != 0) die("--dev", "%s", err);
    predictions_free(&p);
    return res.value;
}

void trainer_run(Trainer *t, const ExampleSet *train, const ExampleSet *dev, Progress *prog,
                 TrainResult *res) {
    const TrainConfig *c = t->cfg;
    Model *m = t->m;
    LoopState s = {0, -1, -INFINITY, NAN, 0, 0};
    if (c->resume && c->checkpoint && access(c->checkpoint, F_OK) == 0) load_checkpoint(t, &s);
    memset(res, 0, sizeof *res);

    Sampler sampler;
    sampler_init(&sampler, (uint32_t)train->n, c->seed);
    for (long i = 0; i < s.step * (long)c->batch; i++) sampler_next(&sampler); /* resume */
    uint32_t *idx = xmalloc((size_t)c->batch * sizeof *idx);
    model_zero_grad(m);
    int stop = 0;
    while (s.step < c->max_steps && !stop) {
        if (trainer_signal) {
            int sig = trainer_signal;
            if (c->checkpoint) save_checkpoint(t, &s);
            warnx_st(NULL, "stopped by signal %d at step %ld%s", sig, s.step,
                     c->checkpoint ? "; checkpoint saved, continue with --resume" : "");
            exit_after_cleanup(128 + sig);
        }
        for (int i = 0; i < c->batch; i++) idx[i] = sampler_next(&sampler);
        Batch b;
        batch_from_examples(&b, train, idx, c->batch);
        char err[512];
        if (model_check_batch(m, &b, err, sizeof err) != 0) die(NULL, "step %ld: %s", s.step + 1, err);
        float loss = model_forward(m, &b, 1, c->seed, (uint32_t)s.step);
        if (!isfinite(loss)) die(NULL, "step %ld: the loss is %f", s.step + 1, loss);
        model_backward(m, &b);
        batch_free(&b);
        double norm = optim_grad_norm(t->o, m);
        if (!isfinite(norm)) die(NULL, "step %ld: the gradient norm is %f", s.step + 1, norm);
        /* PyTorch's clip_grad_norm_: scale by max/(norm + 1e-6) when that is below 1 */
        double clip = c->max_grad_norm > 0 ? c->max_grad_norm / (norm + 1e-6) : 1.0;
        if (clip > 1.0) clip = 1.0;
        double lr = lr_at(c->lr, s.step, c->warmup, c->schedule_steps, c->constant_lr);
        optim_step(t->o, m, lr, clip);
        s.step++;
        s.last_loss = loss;
        if (prog->log) {
            json_t *o = json_object();
            json_object_set_new(o, "step", json_integer(s.step));
            json_object_set_new(o, "loss", json_real(loss));
            json_object_set_new(o, "lr", json_real(lr));
            json_object_set_new(o, "grad_norm", json_real(norm));
            json_object_set_new(o, "elapsed_s", json_real(now_seconds() - prog->t0));
            progress_log(prog, o);
        }
        progress_draw(prog, s.step, s.step * (long)c->batch, loss);

        if (s.step % c->eval_every == 0 || s.step == c->max_steps) {
            double metric = evaluate_dev(m, dev, c->batch * 2);
            s.evals++;
            int better = metric > s.best_metric;
            if (better) {
                s.best_metric = metric;
                s.best_step = s.step;
                s.bad = 0;
                snapshot(t);
            } else {
                s.bad++;
            }
            progress_note(prog, "dev %.4f  best %.4f@%ld", metric, s.best_metric, s.best_step);
            if (prog->log) {
                json_t *o = json_object();
                json_object_set_new(o, "step", json_integer(s.step));
                json_object_set_new(o, "dev_metric", json_real(metric));
                json_object_set_new(o, "best", json_boolean(better));
                progress_log(prog, o);
            }
            if (s.bad >= c->patience && s.step >= c->min_steps) {
                stop = 1;
                res->stopped_early = 1;
            }
        }
        if (c->checkpoint && c->checkpoint_every > 0 && s.step % c->checkpoint_every == 0 && !stop)
            save_checkpoint(t, &s);
    }
    free(idx);
    sampler_free(&sampler);
    if (c->keep_last) snapshot(t); /* the kept values are what write_delta reads */
    else restore_best(t);
    res->steps = s.step;
    res->best_step = s.best_step;
    res->best_metric = s.best_metric;
    res->evals = (int)s.evals;
    res->last_loss = s.last_loss;
}
