"""hf_roberta.py — a plain-torch re-implementation of two HuggingFace classes,
RobertaForSequenceClassification and RobertaForMultipleChoice (transformers'
modeling_roberta.py, eval mode), written from HF's parameter names and config fields only:
independent of sparsetune's C engine and of the modeling file its exports ship.  The tests
load an export with it as transformers would (transformers itself cannot be installed here).

    P = {name: float64 tensor}, cfg = config.json as a dict
    logits = sequence_classification(P, cfg, ids)        # [B, T] -> [B, num_labels]
    scores = multiple_choice(P, cfg, ids)                 # [B, NC, T] -> [B, NC]
"""
import math

import torch

LAYER = ["attention.self.query", "attention.self.key", "attention.self.value",
         "attention.output.dense", "intermediate.dense", "output.dense"]
LNS = ["attention.output.LayerNorm", "output.LayerNorm"]


def state_dict_shapes(cfg, cls):
    """The parameters (not buffers) of HF's class: name -> shape."""
    H, I, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    s = {"roberta.embeddings.word_embeddings.weight": (cfg["vocab_size"], H),
         "roberta.embeddings.position_embeddings.weight": (cfg["max_position_embeddings"], H),
         "roberta.embeddings.token_type_embeddings.weight": (cfg["type_vocab_size"], H),
         "roberta.embeddings.LayerNorm.weight": (H,), "roberta.embeddings.LayerNorm.bias": (H,)}
    for l in range(L):
        p = "roberta.encoder.layer.%d." % l
        for n in LAYER:
            out = I if n == "intermediate.dense" else H
            inp = I if n == "output.dense" else H
            s[p + n + ".weight"], s[p + n + ".bias"] = (out, inp), (out,)
        for n in LNS:
            s[p + n + ".weight"], s[p + n + ".bias"] = (H,), (H,)
    if cls == "RobertaForSequenceClassification":  # RobertaModel(add_pooling_layer=False)
        C = len(cfg["id2label"])
        s.update({"classifier.dense.weight": (H, H), "classifier.dense.bias": (H,),
                  "classifier.out_proj.weight": (C, H), "classifier.out_proj.bias": (C,)})
    elif cls == "RobertaForMultipleChoice":
        s.update({"roberta.pooler.dense.weight": (H, H), "roberta.pooler.dense.bias": (H,),
                  "classifier.weight": (1, H), "classifier.bias": (1,)})
    else:
        raise ValueError(cls)
    return s


def _ln(x, P, name, eps):
    return torch.nn.functional.layer_norm(x, x.shape[-1:], P[name + ".weight"], P[name + ".bias"], eps)


def _lin(x, P, name):
    return x @ P[name + ".weight"].T + P[name + ".bias"]


def roberta_model(P, cfg, ids, attention_mask=None):
    """Last hidden states of RobertaModel (eval mode)."""
    pad, eps = cfg["pad_token_id"], cfg["layer_norm_eps"]
    NH = cfg["num_attention_heads"]
    B, T = ids.shape
    if attention_mask is None:
        attention_mask = torch.ones_like(ids)
    # create_position_ids_from_input_ids: cumsum of the non-pad mask, times the mask, + pad
    m = ids.ne(pad).long()
    pos = torch.cumsum(m, dim=1) * m + pad
    e = "roberta.embeddings."
    x = (P[e + "word_embeddings.weight"][ids] + P[e + "position_embeddings.weight"][pos]
         + P[e + "token_type_embeddings.weight"][torch.zeros_like(ids)])
    x = _ln(x, P, e + "LayerNorm", eps)
    ext = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
    HD = x.shape[-1] // NH
    for l in range(cfg["num_hidden_layers"]):
        p = "roberta.encoder.layer.%d." % l
        heads = lambda t: t.view(B, T, NH, HD).permute(0, 2, 1, 3)
        q = heads(_lin(x, P, p + "attention.self.query"))
        k = heads(_lin(x, P, p + "attention.self.key"))
        v = heads(_lin(x, P, p + "attention.self.value"))
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(HD) + ext, dim=-1)
        ctx = (att @ v).permute(0, 2, 1, 3).reshape(B, T, NH * HD)
        x = _ln(_lin(ctx, P, p + "attention.output.dense") + x, P, p + "attention.output.LayerNorm", eps)
        f = _lin(x, P, p + "intermediate.dense")
        f = 0.5 * f * (1.0 + torch.erf(f / math.sqrt(2.0)))  # ACT2FN["gelu"]: erf GELU
        x = _ln(_lin(f, P, p + "output.dense") + x, P, p + "output.LayerNorm", eps)
    return x


def sequence_classification(P, cfg, ids, attention_mask=None):
    """RobertaForSequenceClassification: RobertaClassificationHead on <s> (no pooler)."""
    h = roberta_model(P, cfg, ids, attention_mask)[:, 0, :]
    h = torch.tanh(_lin(h, P, "classifier.dense"))
    return _lin(h, P, "classifier.out_proj")


def multiple_choice(P, cfg, ids, attention_mask=None):
    """RobertaForMultipleChoice: flatten the choices, RobertaPooler (tanh(dense(<s>))),
    classifier Linear(H, 1), logits viewed as [B, NC]."""
    B, NC, T = ids.shape
    flat = ids.reshape(B * NC, T)
    fm = None if attention_mask is None else attention_mask.reshape(B * NC, T)
    h = roberta_model(P, cfg, flat, fm)[:, 0, :]
    pooled = torch.tanh(_lin(h, P, "roberta.pooler.dense"))
    return _lin(pooled, P, "classifier").view(B, NC)
