"""Per-layer early-exit quality of a checkpoint on real source code (teacher forcing, no generation).

    python early_exit.py --hf <hf-dir> --tokenizer-dir <dir> [--tokens 2048] [--chunk 512] [--out report.json]

For each exit layer E: how often the exit's top-1 (final norm + LM head after layer E) equals the last layer's
top-1 (the greedy acceptance of a 1-token draft) and how often it equals the actual next token. Text: Python
standard-library modules and the project's own TypeScript (the same kind of code the extension completes).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sysconfig
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # see verify_import.py

import numpy as np  # noqa: E402

from numpy_llama import Llama  # noqa: E402

HERE = Path(__file__).resolve().parent
STDLIB_FILES = ["json/decoder.py", "asyncio/locks.py", "collections/__init__.py"]
REPO_FILES = ["server/engine/decode.ts", "server/model/convert.ts"]


def corpus(repo: Path) -> dict[str, str]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    texts = {f"stdlib:{f}": (stdlib / f).read_text() for f in STDLIB_FILES}
    texts.update({f"repo:{f}": (repo / f).read_text() for f in REPO_FILES if (repo / f).exists()})
    return texts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hf", type=Path, required=True)
    parser.add_argument("--tokenizer-dir", type=Path, help="default: --hf")
    parser.add_argument("--tokens", type=int, default=2048, help="tokens per file (from its start)")
    parser.add_argument("--chunk", type=int, default=512, help="context length of each forward")
    parser.add_argument("--out", type=Path, default=Path("early-exit.json"))
    args = parser.parse_args()
    texts = corpus(HERE.parent.parent)
    texts_file, ids_file = args.out.with_suffix(".texts.json"), args.out.with_suffix(".ids.json")
    texts_file.write_text(json.dumps(texts))
    subprocess.run(["node", str(HERE / "hf_tokenize.mjs"), str(args.tokenizer_dir or args.hf), str(texts_file),
                    str(ids_file)], check=True)
    ids = json.loads(ids_file.read_text())

    model = Llama.load(args.hf, np.float32)
    n = model.cfg["num_hidden_layers"]
    exits = list(range(1, n + 1))
    same_as_last = np.zeros(n + 1)
    correct = np.zeros(n + 1)
    count = 0
    for name, tokens in ids.items():
        tokens = tokens[: args.tokens]
        for start in range(0, len(tokens) - 1, args.chunk):
            chunk = tokens[start:start + args.chunk + 1]
            model.reset()
            # top-1 after every layer, one layer at a time (all exits' logits at once would be gigabytes)
            h = model.w["model.embed_tokens.weight"][chunk[:-1]]
            positions = np.arange(len(chunk) - 1, dtype=np.float64)
            top1 = {}
            for e in exits:
                h = model.layer(e - 1, h, positions)
                top1[e] = model.head(h).argmax(-1)
            target = np.array(chunk[1:])
            for e in exits:
                same_as_last[e] += (top1[e] == top1[n]).sum()
                correct[e] += (top1[e] == target).sum()
            count += len(target)
        print(f"{name}: {min(len(tokens), args.tokens)} tokens", flush=True)
    report = {"positions": count, "files": list(ids),
              "agreementWithLastLayer": {e: same_as_last[e] / count for e in exits},
              "nextTokenAccuracy": {e: correct[e] / count for e in exits}}
    args.out.write_text(json.dumps(report, indent=1))
    print(f"{count} positions; E: top-1 == last layer's / == next token")
    for e in exits:
        print(f"  {e:2d}: {report['agreementWithLastLayer'][e]:.3f} / {report['nextTokenAccuracy'][e]:.3f}")


if __name__ == "__main__":
    main()
