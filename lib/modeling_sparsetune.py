"""modeling_sparsetune.py — load a model directory exported by sparsetune's `evaluate --export`
with PyTorch alone (no transformers, no safetensors package) and compute its logits.

    import modeling_sparsetune as ms
    model = ms.load("rte-finetuned")                   # eval mode, float32, CPU
    logits = model(input_ids)                          # [B, T] -> [B, C]     (classification)
    values = model(input_ids)                          # [B, T] -> [B, 1]     (regression)
    scores = model(choice_ids)                         # [B, NC, T] -> [B, NC] (multiple choice)
    logits = model(input_ids, spans=spans)             # spans [B, 2, 2]: inclusive token ranges
                                                       # of the two spans -> [B, C] (WSC)

input_ids are RoBERTa token ids (`<s> A </s>` or `<s> A </s></s> B </s>`), padded on the right
with pad_token_id; attention_mask defaults to input_ids != pad_token_id.  Position ids are
RoBERTa's: pad_token_id + the running count of non-pad tokens.

The head comes from config.json's "sparsetune" object ("head": classification, regression,
multiple_choice or span; "head_arch": hf or jiant); a plain HuggingFace config
(RobertaForSequenceClassification / RobertaForMultipleChoice) loads too.
  hf,    classification/regression: out_proj(tanh(dense(h<s>)))            (HF's own class)
  hf,    multiple choice:           classifier(tanh(roberta.pooler.dense(h<s>)))  (HF's own class)
  jiant, classification/regression/multiple choice:
                                    out_proj(tanh(dense(tanh(roberta.pooler.dense(h<s>)))))
  span (both):  a_t = span_attention(h_t); per span w = softmax of a over the span's tokens,
                v = sum_t w_t h_t; out_proj([v1, v2])  (jiant's SpanComparisonHead)
Dropout sits where HF / jiant put it and is off in eval mode.

`python3 modeling_sparsetune.py DIR [ID ...]` prints what DIR holds and, given token ids of one
sequence (classification/regression), its logits.
"""
import json
import math
import os
import struct
import sys

import torch
from torch import nn

_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64}


def read_safetensors(path):
    """name -> tensor of a .safetensors file: 8-byte little-endian header length, JSON header
    (dtype, shape, data_offsets per tensor), then the raw little-endian data."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError("%s: not a safetensors file (too short)" % path)
    n = struct.unpack("<Q", raw[:8])[0]
    if 8 + n > len(raw):
        raise ValueError("%s: header length %d beyond the file" % (path, n))
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    base, out = 8 + n, {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError("%s: %s has unsupported dtype %s" % (path, name, info["dtype"]))
        begin, end = info["data_offsets"]
        buf = bytearray(raw[base + begin:base + end])
        numel = math.prod(info["shape"])
        if len(buf) != numel * torch.tensor([], dtype=dtype).element_size():
            raise ValueError("%s: %s: data size does not match its shape" % (path, name))
        t = torch.frombuffer(buf, dtype=dtype) if numel else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(info["shape"]).clone()
    return out


class _Node(nn.Module):
    """A named container, so that parameter names are HuggingFace's."""

    def __init__(this, **children):  # "self" is one of HF's module names
        super().__init__()
        for k, v in children.items():
            setattr(this, k, v)


def head_of(config):
    """(head, head_arch, num_labels) from a config dict."""
    st = config.get("sparsetune") or {}
    arch = (config.get("architectures") or [""])[0]
    head, head_arch = st.get("head"), st.get("head_arch")
    if head is None:
        if arch == "RobertaForMultipleChoice":
            head, head_arch = "multiple_choice", "hf"
        elif arch == "RobertaForSequenceClassification":
            head = "regression" if config.get("problem_type") == "regression" else "classification"
            head_arch = "hf"
        else:
            raise ValueError("config.json: no \"sparsetune\" head and architecture %r is not "
                             "RobertaForSequenceClassification/RobertaForMultipleChoice" % arch)
    if head not in ("classification", "regression", "multiple_choice", "span"):
        raise ValueError("config.json: unknown head %r" % head)
    if head_arch not in ("hf", "jiant"):
        raise ValueError("config.json: unknown head_arch %r" % head_arch)
    n = st.get("num_labels") or config.get("num_labels") or len(config.get("id2label") or {}) or 2
    if head == "regression" or head == "multiple_choice":
        n = 1
    return head, head_arch, int(n)


class SparsetuneRoberta(nn.Module):
    """RoBERTa (HF RobertaModel, post-LN, erf GELU) with one of sparsetune's task heads."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        H, L = config["hidden_size"], config["num_hidden_layers"]
        I, V = config["intermediate_size"], config["vocab_size"]
        self.n_heads = config["num_attention_heads"]
        self.pad_id = config.get("pad_token_id", 1)
        self.eps = config.get("layer_norm_eps", 1e-12)
        self.head, self.head_arch, self.num_labels = head_of(config)
        p = config.get("hidden_dropout_prob", 0.1)
        cd = config.get("classifier_dropout")
        self.drop = nn.Dropout(p)
        # classifier_dropout is HF's RobertaClassificationHead's; jiant's heads (span included)
        # and HF's RobertaForMultipleChoice use hidden_dropout_prob
        hf_cls = self.head_arch == "hf" and self.head in ("classification", "regression")
        self.head_drop = nn.Dropout(p if cd is None or not hf_cls else cd)
        self.attn_drop = nn.Dropout(config.get("attention_probs_dropout_prob", 0.1))

        def ln():
            return nn.LayerNorm(H, eps=self.eps)

        emb = _Node(word_embeddings=nn.Embedding(V, H),
                    position_embeddings=nn.Embedding(config.get("max_position_embeddings", 512), H),
                    token_type_embeddings=nn.Embedding(config.get("type_vocab_size", 2), H),
                    LayerNorm=ln())
        layers = nn.ModuleList(
            _Node(attention=_Node(self=_Node(query=nn.Linear(H, H), key=nn.Linear(H, H),
                                             value=nn.Linear(H, H)),
                                  output=_Node(dense=nn.Linear(H, H), LayerNorm=ln())),
                  intermediate=_Node(dense=nn.Linear(H, I)),
                  output=_Node(dense=nn.Linear(I, H), LayerNorm=ln()))
            for _ in range(L))
        parts = {"embeddings": emb, "encoder": _Node(layer=layers)}
        hf_mc = self.head == "multiple_choice" and self.head_arch == "hf"
        if self.head_arch == "jiant" or hf_mc:
            parts["pooler"] = _Node(dense=nn.Linear(H, H))
        self.roberta = _Node(**parts)
        if self.head == "span":
            self.classifier = _Node(span_attention=nn.Linear(H, 1),
                                    out_proj=nn.Linear(2 * H, self.num_labels))
        elif hf_mc:
            self.classifier = nn.Linear(H, 1)
        else:
            self.classifier = _Node(dense=nn.Linear(H, H), out_proj=nn.Linear(H, self.num_labels))

    # ---- the encoder (HF RobertaModel) ----
    def encode(self, ids, mask):
        r, B, T = self.roberta, ids.shape[0], ids.shape[1]
        nonpad = (ids != self.pad_id).long()
        pos = torch.cumsum(nonpad, dim=1) * nonpad + self.pad_id
        e = r.embeddings
        x = (e.word_embeddings(ids) + e.position_embeddings(pos)
             + e.token_type_embeddings(torch.zeros_like(ids)))
        x = self.drop(e.LayerNorm(x))
        NH = self.n_heads
        HD = x.shape[-1] // NH
        add = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for lay in r.encoder.layer:
            s = lay.attention.self

            def split(t):
                return t.view(B, T, NH, HD).transpose(1, 2)

            q, k, v = split(s.query(x)), split(s.key(x)), split(s.value(x))
            scores = q @ k.transpose(-1, -2) / math.sqrt(HD) + add
            ctx = (self.attn_drop(torch.softmax(scores, dim=-1)) @ v).transpose(1, 2).reshape(B, T, -1)
            a = lay.attention.output
            x = a.LayerNorm(self.drop(a.dense(ctx)) + x)
            f = torch.nn.functional.gelu(lay.intermediate.dense(x))  # erf GELU
            x = lay.output.LayerNorm(self.drop(lay.output.dense(f)) + x)
        return x

    def pooled(self, h):
        return torch.tanh(self.roberta.pooler.dense(h[:, 0]))

    def forward(self, input_ids, attention_mask=None, spans=None):
        ids = torch.as_tensor(input_ids, dtype=torch.long)
        mc = self.head == "multiple_choice"
        if mc:
            if ids.dim() != 3:
                raise ValueError("multiple choice: input_ids must be [batch, choices, tokens]")
            B, NC = ids.shape[0], ids.shape[1]
            ids = ids.reshape(B * NC, -1)
        elif ids.dim() != 2:
            raise ValueError("input_ids must be [batch, tokens]")
        mask = ids != self.pad_id if attention_mask is None else \
            torch.as_tensor(attention_mask).reshape(ids.shape)
        h = self.encode(ids, mask)
        c = self.classifier
        if self.head == "span":
            if spans is None:
                raise ValueError("the span head needs spans [batch, 2, 2]")
            spans = torch.as_tensor(spans, dtype=torch.long)
            a = c.span_attention(h).squeeze(-1)  # [B, T]
            t = torch.arange(h.shape[1])[None, :]
            vecs = []
            for j in range(spans.shape[1]):
                inside = (t >= spans[:, j, :1]) & (t <= spans[:, j, 1:])
                w = torch.softmax(a.masked_fill(~inside, float("-inf")), dim=-1)
                vecs.append((w[:, :, None] * h).sum(1))
            return c.out_proj(self.head_drop(torch.cat(vecs, dim=-1)))
        if mc and self.head_arch == "hf":
            out = c(self.drop(self.pooled(h)))
        else:
            z = self.pooled(h) if self.head_arch == "jiant" else h[:, 0]
            z = torch.tanh(c.dense(self.head_drop(z)))
            out = c.out_proj(self.head_drop(z))
        return out.reshape(B, NC) if mc else out


def load(directory, device="cpu", dtype=None):
    """The model of an exported directory (config.json + model.safetensors), in eval mode.
    Every tensor of the checkpoint must match the head's parameters exactly."""
    with open(os.path.join(directory, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    model = SparsetuneRoberta(config)
    tensors = read_safetensors(os.path.join(directory, "model.safetensors"))
    tensors = {k: v for k, v in tensors.items() if not k.endswith("position_ids")}
    missing = sorted(set(model.state_dict()) - set(tensors))
    unexpected = sorted(set(tensors) - set(model.state_dict()))
    if missing or unexpected:
        raise ValueError("%s: missing tensors %s, unexpected tensors %s"
                         % (directory, missing[:5], unexpected[:5]))
    model.load_state_dict(tensors, strict=True)
    model.to(device=device, dtype=dtype or torch.float32)
    return model.eval()


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print("usage: %s DIR [ID ...]" % argv[0])
        return 0 if len(argv) >= 2 else 2
    model = load(argv[1])
    labels = (model.config.get("sparsetune") or {}).get("labels")
    n = sum(p.numel() for p in model.parameters())
    print("%s: head %s (%s), %d outputs, labels %s, %d parameters"
          % (argv[1], model.head, model.head_arch, model.num_labels, labels, n))
    if len(argv) > 2:
        with torch.no_grad():
            print(model(torch.tensor([[int(x) for x in argv[2:]]]))[0].tolist())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
