"""Greedy tokens of a prompt from the PyTorch reference model (training/layerskip/model.py, float32), with each
token's lead over the runner-up in logits: the oracle for `npm run setup-model`'s check of the bundled package.

    training/.venv/bin/python training/verify/reference_tokens.py --model DIR --prompt TEXT [--tokens 16]

Quantized packages agree only where the lead is wide, so the check takes a prefix whose leads are all >= 0.7.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from tokenizers import Tokenizer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from layerskip.model import LlamaForCausalLM  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="Hugging Face checkpoint folder")
    ap.add_argument("--prompt", required=True)
    ap.add_argument("--tokens", type=int, default=16)
    args = ap.parse_args()
    model = LlamaForCausalLM.from_pretrained(args.model).eval()
    tok = Tokenizer.from_file(str(Path(args.model) / "tokenizer.json"))
    ids, out = tok.encode(args.prompt, add_special_tokens=False).ids, []
    with torch.no_grad():
        for _ in range(args.tokens):
            top = torch.topk(model(torch.tensor([ids + out]))[0, -1], 2)
            out.append(int(top.indices[0]))
            print(f"{out[-1]:6d} {tok.decode([out[-1]])!r:14} lead {float(top.values[0] - top.values[1]):.3f}")
    print(",".join(map(str, out)))


if __name__ == "__main__":
    main()
