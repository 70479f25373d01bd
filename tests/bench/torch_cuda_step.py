"""torch_cuda_step.py — PyTorch eager's training step on the GPU, the baseline of cuda-step.

RobertaForSequenceClassification built from a roberta-base config (random weights, dropout on,
train mode), batch B x T with the same padding pattern as cuda-step, AdamW (PyTorch's default
implementation) over all parameters, gradient clipping at 1.0.  Step = zero_grad, forward,
backward, clip_grad_norm_, optimizer.step, timed with CUDA events; median of --steps after 2
warm-up steps.  Precisions: fp32 (TF32 off), tf32 (TF32 matmuls), bf16 (autocast to bf16
with fp32 master weights, the same arithmetic as cuda-step --precision bf16).  Also the
matmul rate of [B*T, 768] x [768, 3072] in that precision.  One JSON line per precision."""
import argparse
import json
import statistics

import torch


def batch(B, T, V, device):
    ids = torch.full((B, T), 1, dtype=torch.long)
    mask = torch.zeros((B, T), dtype=torch.long)
    x = 12345
    for s in range(B):
        n = T - (s % 4) * (T // 8)
        ids[s, 0] = 0
        for t in range(1, n - 1):
            x = (x * 1103515245 + 12345) & 0xFFFFFFFF
            ids[s, t] = 3 + (x >> 8) % (V - 3)
        ids[s, n - 1] = 2
        mask[s, :n] = 1
    labels = torch.tensor([s & 1 for s in range(B)])
    return ids.to(device), mask.to(device), labels.to(device)


def matmul_tflops(M, N, K, prec):
    a = torch.randn(M, K, device="cuda")
    b = torch.randn(K, N, device="cuda")
    if prec == "bf16":
        a, b = a.bfloat16(), b.bfloat16()
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    times = []
    for _ in range(10):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        for _ in range(10):
            a @ b
        e.record()
        torch.cuda.synchronize()
        times.append(s.elapsed_time(e) / 10 / 1e3)
    return 2 * M * N * K / min(times) / 1e12


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--len", type=int, default=128, dest="length")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--precision", default="fp32,tf32,bf16")
    a, _ = p.parse_known_args()  # sizes it does not take (--layers ...) are for cuda-step
    from transformers import RobertaConfig, RobertaForSequenceClassification
    cfg = RobertaConfig(vocab_size=50265, max_position_embeddings=514, type_vocab_size=1,
                        num_labels=2)
    for prec in a.precision.split(","):
        torch.backends.cuda.matmul.allow_tf32 = prec == "tf32"
        torch.backends.cudnn.allow_tf32 = prec == "tf32"
        torch.manual_seed(0)
        model = RobertaForSequenceClassification(cfg).cuda().train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.01)
        ids, mask, labels = batch(a.batch, a.length, cfg.vocab_size, "cuda")
        times = []
        for i in range(a.steps + 2):
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=prec == "bf16"):
                out = model(input_ids=ids, attention_mask=mask, labels=labels)
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            e.record()
            torch.cuda.synchronize()
            if i >= 2:
                times.append(s.elapsed_time(e) / 1e3)
        print(json.dumps({"bench": "pytorch", "precision": prec, "batch": a.batch, "len": a.length,
                          "seconds_per_step": statistics.median(times), "min_seconds": min(times),
                          "steps": a.steps, "torch": torch.__version__,
                          "matmul_tflops": round(matmul_tflops(a.batch * a.length, 3072, 768, prec), 2)}),
              flush=True)
        del model, opt
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
