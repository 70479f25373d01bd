/* loss.cu — cross-entropy, MSE and self-attentive span pooling (ops.h contracts).
 *
 * The losses are reduced on the device in double (one warp per row, then one block over the
 * rows in a fixed order; scratch slot 0) and the float mean is copied to the host, which waits
 * for it.  Span pooling is small (one head, WSC): it follows ops_cpu.c's sequential sums
 * element by element (__fmul_rn keeps nvcc from fusing what the CPU rounds), so its results
 * are bit-identical with the CPU's wherever expf is. */
#include "cuda_common.h"


#define ROWS_PER_BLOCK (CU_THREADS / 32)

/* The float at device address p, once the stream has computed it. */
static float fetch_scalar(const float *p) {
    float v = 0.0f;
    CU_CHECK(cudaMemcpyAsync(&v, p, sizeof v, cudaMemcpyDeviceToHost, cu_stream));
    CU_CHECK(cudaStreamSynchronize(cu_stream));
    return v;
}

/* out[0] = (float)(sum of v[0..n) in a fixed order / n); one block. */
__global__ void mean_d_kernel(float *out, const double *v, int n) {
    __shared__ double red[32];
    double s = 0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) s += v[i];
    s = cu_block_sum_d(s, red);
    if (threadIdx.x == 0) out[0] = (float)(s / n);
}

/* ---------------------------------------------------------------- cross-entropy */

/* One warp per row: probs = softmax (in double, as ops_cpu.c), rowloss = logsumexp - l[label]. */
__global__ void ce_fwd_kernel(float *probs, double *rowloss, const float *logits, const int32_t *labels, int B, int C) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, wpb = blockDim.x >> 5;
    for (long base = (long)blockIdx.x * wpb; base < B; base += (long)gridDim.x * wpb) {
        long b = base + warp;
        int ok = b < B;
        const float *l = logits + (size_t)(ok ? b : 0) * C;
        float mxf = -INFINITY;
        if (ok)
            for (int c = lane; c < C; c += 32) mxf = l[c] > mxf ? l[c] : mxf;
        mxf = cu_warp_max(mxf);
        double mx = mxf, s = 0;
        if (ok)
            for (int c = lane; c < C; c += 32) s += exp(l[c] - mx);
        s = cu_warp_sum_d(s);
        if (!ok) continue;
        float *pr = probs + (size_t)b * C;
        for (int c = lane; c < C; c += 32) pr[c] = (float)(exp(l[c] - mx) / s);
        if (lane == 0) {
            int y = labels[b];
            rowloss[b] = y >= 0 && y < C ? (mx + log(s)) - l[y] : (double)NAN;
        }
    }
}

__global__ void ce_bwd_kernel(float *dlogits, const float *probs, const int32_t *labels, int B, int C, float f) {
    size_t total = (size_t)B * C;
    for (size_t e = (size_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += (size_t)gridDim.x * blockDim.x) {
        size_t b = e / C, c = e % C;
        dlogits[e] = f * (probs[e] - ((int)c == labels[b] ? 1.0f : 0.0f));
    }
}

float cu_cross_entropy_fwd(float *probs, const float *logits, const int32_t *labels, int B, int C) {
    if (B <= 0) return NAN; /* the CPU's 0 / 0 */
    double *rowloss = (double *)cu_scratch(0, (size_t)B * sizeof(double) + 256);
    float *mean = (float *)(rowloss + B);
    KLAUNCH(ce_fwd_kernel, cu_blocks((size_t)B, ROWS_PER_BLOCK), CU_THREADS, 0, probs, rowloss, logits, labels, B, C);
    KLAUNCH(mean_d_kernel, 1, CU_THREADS, 0, mean, (const double *)rowloss, B);
    return fetch_scalar(mean);
}

void cu_cross_entropy_bwd(float *dlogits, const float *probs, const int32_t *labels, int B, int C, float dloss) {
    if (B <= 0 || C <= 0) return;
    float f = dloss / (float)B;
    KLAUNCH(ce_bwd_kernel, cu_blocks((size_t)B * C, CU_THREADS), CU_THREADS, 0, dlogits, probs, labels, B, C, f);
}

/* ---------------------------------------------------------------- MSE */

__global__ void mse_fwd_kernel(float *out, const float *pred, const float *target, int B) {
    __shared__ double red[32];
    double s = 0;
    for (int b = threadIdx.x; b < B; b += blockDim.x) {
        double d = (double)pred[b] - target[b];
        s += d * d;
    }
    s = cu_block_sum_d(s, red);
    if (threadIdx.x == 0) out[0] = (float)(s / B);
}

__global__ void mse_bwd_kernel(float *dpred, const float *pred, const float *target, int B, float dloss) {
    for (int b = blockIdx.x * blockDim.x + threadIdx.x; b < B; b += gridDim.x * blockDim.x)
        dpred[b] = dloss * 2.0f * (pred[b] - target[b]) / (float)B;
}

float cu_mse_fwd(const float *pred, const float *target, int B) {
    if (B <= 0) return NAN;
    float *out = (float *)cu_scratch(0, sizeof(float));
    KLAUNCH(mse_fwd_kernel, 1, CU_THREADS, 0, out, pred, target, B);
    return fetch_scalar(out);
}

void cu_mse_bwd(float *dpred, const float *pred, const float *target, int B, float dloss) {
    if (B <= 0) return;
    KLAUNCH(mse_bwd_kernel, cu_blocks((size_t)B, CU_THREADS), CU_THREADS, 0, dpred, pred, target, B, dloss);
}

/* ---------------------------------------------------------------- span pooling */

/* A span outside [0, T) or empty counts as empty (w = 0, out = 0) instead of reading outside
 * the sequence; ops.h asks for 0 <= start <= end < T. */
__device__ __forceinline__ int span_of(const int32_t *spans, int sj, int T, int *st, int *en) {
    *st = spans[2 * sj], *en = spans[2 * sj + 1];
    return *st >= 0 && *st <= *en && *en < T;
}

/* Thread per span (s, j): w[sj, :] = softmax of a[s, start..end], 0 elsewhere. */
__global__ void span_w_kernel(float *w, const float *a, const int32_t *spans, int S, int T, int NS) {
    for (long sj = (long)blockIdx.x * blockDim.x + threadIdx.x; sj < (long)S * NS; sj += (long)gridDim.x * blockDim.x) {
        int s = (int)(sj / NS), st, en;
        int ok = span_of(spans, (int)sj, T, &st, &en);
        float *wr = w + (size_t)sj * T;
        const float *ar = a + (size_t)s * T;
        for (int t = 0; t < T; t++) wr[t] = 0.0f;
        if (!ok) continue;
        float mx = -INFINITY, sum = 0.0f;
        for (int t = st; t <= en; t++) mx = ar[t] > mx ? ar[t] : mx;
        for (int t = st; t <= en; t++) sum += wr[t] = expf(ar[t] - mx);
        for (int t = st; t <= en; t++) wr[t] /= sum;
    }
}

/* Thread per output element (sj, h): out = sum_t w_t x[s, t, h], t in order. */
__global__ void span_out_kernel(float *out, const float *w, const float *x, const int32_t *spans, int S, int T, int H, int NS) {
    size_t total = (size_t)S * NS * H;
    for (size_t e = (size_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += (size_t)gridDim.x * blockDim.x) {
        int sj = (int)(e / H), h = (int)(e % H), s = sj / NS, st, en;
        float o = 0.0f;
        if (span_of(spans, sj, T, &st, &en)) {
            const float *wr = w + (size_t)sj * T;
            for (int t = st; t <= en; t++) o = __fadd_rn(o, __fmul_rn(wr[t], x[((size_t)s * T + t) * H + h]));
        }
        out[e] = o;
    }
}

void cu_span_pool_fwd(float *out, float *w, const float *x, const float *a, const int32_t *spans,
                      int S, int T, int H, int NS) {
    if (S <= 0 || NS <= 0 || T <= 0) return;
    KLAUNCH(span_w_kernel, cu_blocks((size_t)S * NS, CU_THREADS), CU_THREADS, 0, w, a, spans, S, T, NS);
    if (H > 0)
        KLAUNCH(span_out_kernel, cu_blocks((size_t)S * NS * H, CU_THREADS), CU_THREADS, 0, out, (const float *)w, x, spans, S, T, H, NS);
}

/* Thread per span: go[sj] = dout[sj] . out[sj], in h order. */
__global__ void span_go_kernel(float *go, const float *dout, const float *out, int SNS, int H) {
    for (long sj = (long)blockIdx.x * blockDim.x + threadIdx.x; sj < SNS; sj += (long)gridDim.x * blockDim.x) {
        const float *g = dout + (size_t)sj * H, *o = out + (size_t)sj * H;
        float v = 0.0f;
        for (int h = 0; h < H; h++) v = __fadd_rn(v, __fmul_rn(g[h], o[h]));
        go[sj] = v;
    }
}

/* Thread per token (s, t): da = sum over the spans j holding t, in j order, of
 * w (dout_j . x_t - go_j); 0 outside every span. */
__global__ void span_da_kernel(float *da, const float *go, const float *dout, const float *w, const float *x,
                               const int32_t *spans, int S, int T, int H, int NS) {
    for (long st_ = (long)blockIdx.x * blockDim.x + threadIdx.x; st_ < (long)S * T; st_ += (long)gridDim.x * blockDim.x) {
        int s = (int)(st_ / T), t = (int)(st_ % T);
        const float *xr = x + (size_t)st_ * H;
        float d = 0.0f;
        for (int j = 0; j < NS; j++) {
            int sj = s * NS + j, st, en;
            if (!span_of(spans, sj, T, &st, &en) || t < st || t > en) continue;
            const float *g = dout + (size_t)sj * H;
            float gx = 0.0f;
            for (int h = 0; h < H; h++) gx = __fadd_rn(gx, __fmul_rn(g[h], xr[h]));
            d = __fadd_rn(d, __fmul_rn(w[(size_t)sj * T + t], gx - go[sj]));
        }
        da[st_] = d;
    }
}

/* Thread per element (s, t, h): dx += w_j(t) dout_j[h] over the spans j holding t, in j order. */
__global__ void span_dx_kernel(float *dx, const float *dout, const float *w, const int32_t *spans, int S, int T, int H, int NS) {
    size_t total = (size_t)S * T * H;
    for (size_t e = (size_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += (size_t)gridDim.x * blockDim.x) {
        size_t tok = e / H;
        int s = (int)(tok / T), t = (int)(tok % T), h = (int)(e % H);
        float v = dx[e];
        for (int j = 0; j < NS; j++) {
            int sj = s * NS + j, st, en;
            if (!span_of(spans, sj, T, &st, &en) || t < st || t > en) continue;
            v = __fadd_rn(v, __fmul_rn(w[(size_t)sj * T + t], dout[(size_t)sj * H + h]));
        }
        dx[e] = v;
    }
}

void cu_span_pool_bwd(float *dx, float *da, const float *dout, const float *out, const float *w,
                      const float *x, const int32_t *spans, int S, int T, int H, int NS) {
    if (S <= 0 || T <= 0) return;
    float *go = (float *)cu_scratch(0, ((size_t)S * NS + 1) * sizeof(float));
    if (NS > 0)
        KLAUNCH(span_go_kernel, cu_blocks((size_t)S * NS, CU_THREADS), CU_THREADS, 0, go, dout, out, S * NS, H);
    KLAUNCH(span_da_kernel, cu_blocks((size_t)S * T, CU_THREADS), CU_THREADS, 0, da, (const float *)go, dout, w, x, spans, S, T, H, NS);
    if (H > 0 && NS > 0)
        KLAUNCH(span_dx_kernel, cu_blocks((size_t)S * T * H, CU_THREADS), CU_THREADS, 0, dx, dout, w, spans, S, T, H, NS);
}
