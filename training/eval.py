"""Evaluate a LayerSkip checkpoint: held-out loss and top-1 agreement with the last layer at every exit, acceptance
and modelled speedup of greedy self-speculative decoding at candidate (E, d), and greedy completions of idioms.

    python3 training/eval.py --model WORK/final --tokens WORK/tokens --out result.json [--windows 8] [--seq-len 128]

Acceptance is exact for greedy decoding without running the speculative loop: greedy self-speculation emits the
full model's greedy output, and a draft token is accepted iff the E-layer exit, fed the (so far identical) greedy
prefix, predicts the same token as the full model. So one teacher-forced pass over the full model's greedy
continuation gives every exit's draft at every position, and each (E, d) is a replay over those arrays.
Speedup is MODELLED, not timed: decoding one token is taken to cost the bytes of weights it reads (memory-bound,
batch 1): a layer pass costs its parameters whatever the number of tokens (verification of d+1 tokens at once
costs one pass), the head costs vocab x hidden. The engine's benchmark measures the real thing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from layerskip.data import eval_windows, load_stream  # noqa: E402
from layerskip.model import LlamaForCausalLM  # noqa: E402

# Chosen before any completion was looked at (see docs/training-report.md). (name, prefix, suffix or None for
# plain left-to-right completion.)
IDIOMS = [
    ("py-fibonacci", "def fibonacci(n):\n    ", None),
    ("py-os-walk", "import os\n\nfor root, dirs, files in os.walk(path):\n    for name in files:\n        ", None),
    ("py-read-lines", "with open(path) as f:\n    for line in f:\n        ", None),
    ("py-main-guard", "import sys\n\n\ndef main():\n    print(sys.argv)\n\n\nif __name__ == ", None),
    ("py-class-init", "class Point:\n    def __init__(self, x, y):\n        ", None),
    ("py-fim-is-even", "def is_even(n):\n    return ", "\n\n\nprint(is_even(4))\n"),
    ("js-express", "const express = require('express');\nconst app = express();\n\napp.get('/', (req, res) => {\n  ", None),
    ("js-debounce", "function debounce(fn, wait) {\n  let timer;\n  return function (...args) {\n    ", None),
    ("ts-fetch-json", "export async function fetchJson(url: string): Promise<unknown> {\n  const response = await fetch(url);\n  ", None),
    ("js-fim-loop", "for (let i = 0; i < items.length; i++) {\n  ", "\n}\n"),
]
EXITS = [2, 4, 6, 8, 10, 12, 15]
DRAFTS = [1, 2, 3, 4, 6, 8]


@torch.no_grad()
def exit_pass(model, ids: torch.Tensor, start: int = 0):
    """Yields (layer, logits at positions start.. of `ids` [B, S]) for every layer: the one shared head after each."""
    hidden = model.hidden_states(ids)
    for l, h in hidden.items():
        yield l, model.exit_logits(h[:, start:]).float()


@torch.no_grad()
def heldout_stats(model, windows: torch.Tensor, batch: int) -> dict:
    L = model.config.num_hidden_layers
    nll, agree, correct = [0.0] * L, [0] * L, [0] * L
    count = 0
    for i in range(0, len(windows), batch):
        w = windows[i : i + batch]
        inputs, labels = w[:, :-1], w[:, 1:]
        preds = {}
        for l, logits in exit_pass(model, inputs):
            nll[l] += F.cross_entropy(logits.flatten(0, 1), labels.flatten(), reduction="sum").item()
            preds[l] = logits.argmax(-1)
            correct[l] += (preds[l] == labels).sum().item()
        for l in range(L):
            agree[l] += (preds[l] == preds[L - 1]).sum().item()
        count += labels.numel()
    return {"tokens": count, "loss": [x / count for x in nll], "top1_agreement_with_last": [a / count for a in agree],
            "top1_accuracy": [c / count for c in correct]}


def simulate(draft: list[int], target: list[int], E: int, d: int, L: int, layer_cost: float, head_cost: float) -> dict:
    """Replay greedy self-speculative decoding over one continuation. target[i]: the full model's token i;
    draft[i]: exit E's prediction for token i given target[:i]. Token 0 comes from the prompt's full pass."""
    n = len(target)
    i, drafted, accepted, cost = 1, 0, 0, 0.0
    while i < n:
        d_eff = min(d, n - i)
        k = 0
        while k < d_eff and draft[i + k] == target[i + k]:
            k += 1
        drafted += d_eff
        accepted += k
        cost += d_eff * (E * layer_cost + head_cost) + (L * layer_cost + head_cost)
        i += min(k + 1, n - i)
    emitted = n - 1
    return {"drafted": drafted, "accepted": accepted, "cost": cost, "autoregressive_cost": emitted * (L * layer_cost + head_cost)}


@torch.no_grad()
def continuations(model, tok, prompts: list[tuple[str, list[int]]], max_new: int, stop: set[int]) -> list[dict]:
    """Greedy continuation of each prompt plus, for every layer, the exit's argmax at each continuation position."""
    out = []
    for name, prompt in prompts:
        gen = model.generate_greedy(prompt, max_new, stop)
        seq = torch.tensor([prompt + gen], device=next(model.parameters()).device)
        # only the continuation's positions need the 30 heads (the head is the costliest part here)
        preds = {l: logits[0].argmax(-1).tolist() for l, logits in exit_pass(model, seq[:, :-1], len(prompt) - 1)}
        out.append({"name": name, "prompt_tokens": len(prompt), "tokens": gen, "text": tok.decode(gen, skip_special_tokens=False),
                    "exit_preds": preds})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--tokens", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--windows", type=int, default=8, help="held-out windows for loss/agreement")
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--heldout-prompts", type=int, default=4, help="held-out windows whose start prompts a continuation")
    ap.add_argument("--max-new", type=int, default=32)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    from tokenizers import Tokenizer

    t0 = time.time()
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else "cpu" if args.device == "auto" else args.device)
    model_dir = Path(args.model)
    model = LlamaForCausalLM.from_pretrained(model_dir).to(device).eval()
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    info = json.loads((model_dir / "layerskip.json").read_text())
    fim_ids = info["fimIds"]
    cfg = model.config
    L = cfg.num_hidden_layers
    stream = load_stream(Path(args.tokens), "valid")
    windows = eval_windows(stream, args.seq_len, args.windows + args.heldout_prompts).to(device)
    result = {"model": str(model_dir), "heldout": heldout_stats(model, windows[: args.windows], args.batch)}

    def enc(text: str) -> list[int]:
        return tok.encode(text, add_special_tokens=False).ids

    prompts = []
    for name, prefix, suffix in IDIOMS:
        if suffix is None:
            prompts.append((name, enc(prefix)))
        else:  # the server's PSM prompt: <PRE> prefix <SUF> suffix <MID>
            prompts.append((name, [fim_ids["prefix"], *enc(prefix), fim_ids["suffix"], *enc(suffix), fim_ids["middle"]]))
    for j, w in enumerate(windows[args.windows :]):
        prompts.append((f"heldout-{j}", w[: args.seq_len // 2].tolist()))
    eos = cfg.eos_token_id if isinstance(cfg.eos_token_id, list) else [cfg.eos_token_id]
    conts = continuations(model, tok, prompts, args.max_new, {fim_ids["eot"], *[e for e in eos if e is not None]})
    result["completions"] = [{k: c[k] for k in ("name", "text", "prompt_tokens")} for c in conts]

    layer_cost = 2 * cfg.hidden_size * (cfg.num_attention_heads + cfg.num_key_value_heads) * cfg.head_dim \
        + 3 * cfg.hidden_size * cfg.intermediate_size
    head_cost = cfg.vocab_size * cfg.hidden_size
    grid = []
    for E in [e for e in EXITS if e < L]:
        for d in DRAFTS:
            tot = {"drafted": 0, "accepted": 0, "cost": 0.0, "autoregressive_cost": 0.0}
            for c in conts:
                target = c["exit_preds"][L - 1]
                r = simulate(c["exit_preds"][E - 1], target, E, d, L, layer_cost, head_cost)
                for k in tot:
                    tot[k] += r[k]
            grid.append({"E": E, "d": d, "acceptance": tot["accepted"] / max(1, tot["drafted"]),
                         "modelled_speedup": tot["autoregressive_cost"] / tot["cost"]})
    result["speculation"] = grid
    best = max(grid, key=lambda g: g["modelled_speedup"])
    result["best"] = best
    # Sanity: the cached greedy decode and the teacher-forced last layer must agree (else the replay is off).
    result["greedy_replay_mismatches"] = sum(
        sum(a != b for a, b in zip(c["tokens"], c["exit_preds"][L - 1])) for c in conts)
    result["cost_model"] = {"layer_params": layer_cost, "head_params": head_cost, "layers": L}
    result["seconds"] = round(time.time() - t0, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"{model_dir}: last-layer held-out loss {result['heldout']['loss'][-1]:.4f}; best E={best['E']} d={best['d']} "
          f"acceptance {best['acceptance']:.3f} modelled speedup {best['modelled_speedup']:.3f} ({result['seconds']}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
