"""Check the imported checkpoint and converted packages against llama.cpp running the original GGUF.

    python verify_import.py --gguf <file.gguf> --hf <hf-dir> [--package <dir>]... --work <scratch-dir>

Oracles: llama.cpp (training/verify/llamacpp.mjs) on the original GGUF and on its float32 copy
(dequantize_gguf.py). Candidates: the Hugging Face checkpoint through numpy_llama.py (float64), and each package
through the project's CLI (`layerskip logits`, `layerskip generate`; needs `npm run build`).
1. Tokenizer: ids from our tokenizer.json through @huggingface/tokenizers vs llama.cpp's tokenizer, on real source
   files (the project's tracked files and Python standard-library packages) and hand-picked edge cases.
2. Logits at every position of 5 prompts, 3. 48 greedy tokens from each prompt: every candidate vs each oracle.
Prints a table and writes <work>/import-report.json. Exit status 1 when a check fails (criterion in summarize()).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

# One BLAS thread: the forward is many small matmuls, and on a shared 2-core machine OpenBLAS's thread pool makes
# them ~50x slower, not faster.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from numpy_llama import Llama  # noqa: E402

HERE = Path(__file__).resolve().parent

# Bound on |logit difference| vs llama.cpp's float32 run of the same weights. Measured (docs/default-model.md):
# 7.8e-5 for the checkpoint, 0.041 for the fp16 package (its weights rounded to fp16). A wrong import (rotary
# permutation, norm, attention layout) moves logits by whole units and changes most top-1 tokens. Against the
# original Q4_1 file no tight bound holds: llama.cpp rounds activations to 8 bits per block of 32 for its quantized
# matmuls (mean |difference| 0.22 there, reported, not enforced).
MAX_ABS_LOGIT_DIFF = 0.5

EDGE_CASES = {
    "digits": "x = 1234567890 + 3.14159e-10; y = 0x1F2E; arr[42]",
    "unicode-numbers": "² ³ ½ ٣٤٥ ⅷ ① 𝟙𝟚",
    "letters": "naïve café Zürich Ελληνικά кириллица 日本語のテキスト 한국어",
    "emoji": "fix 🐛 and ship 🚀👍🏽 ✔︎",
    "whitespace": "a  b   c\t\td\r\n\r\n  \n    e \u00a0f\u2003g\ufeffh   ",
    "trailing-space": "return x   ",
    "contractions": "don't can't it's we're I'll they've I'd 'S 'T",
    "special-inline": "end<|endoftext|>start<|im_start|>user\nhi<|im_end|>\n",
    "chat": "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
            "<|im_start|>user\nWrite a Python function that reverses a string.<|im_end|>\n<|im_start|>assistant\n",
    "empty": "",
    "punctuation": "a!!b??c...d---e___f===g!=h<=i>=j->k=>l::m",
}

PROMPTS = {
    "py-fib": "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n",
    "ts-class": "export class LruCache<K, V> {\n  private readonly map = new Map<K, V>();\n\n  get(key: K): V | undefined {\n",
    "c-loop": "#include <stdio.h>\n\nint main(void) {\n    for (int i = 0; i < 10; i++) {\n",
    "chat": EDGE_CASES["chat"],
    "prose": "The capital of France is",
}
GREEDY_STEPS = 48


def source_texts(repo: Path) -> dict[str, str]:
    """Real source files: the project's tracked text files and a few whole Python standard-library packages."""
    texts: dict[str, str] = {}
    tracked = subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, text=True, check=True).stdout
    for rel in tracked.split("\n"):
        path = repo / rel
        if rel and path.suffix in {".ts", ".mjs", ".js", ".py", ".md", ".sh", ".json"} and path.stat().st_size < 200_000:
            texts[f"repo:{rel}"] = path.read_text(encoding="utf-8", errors="replace")
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for package in ("json", "asyncio", "email", "http", "collections", "unittest", "importlib"):
        for path in sorted((stdlib / package).rglob("*.py")):
            texts[f"stdlib:{path.relative_to(stdlib)}"] = path.read_text(encoding="utf-8", errors="replace")
    return texts


def run_node(script: str, *args: str) -> None:
    subprocess.run(["node", str(HERE / script), *args], check=True)


def compare_tokens(ours: dict, theirs: dict) -> dict:
    mismatched = {}
    total = 0
    for name, ids in theirs.items():
        total += len(ids)
        if ours[name] != ids:
            first = next((i for i, (a, b) in enumerate(zip(ours[name], ids)) if a != b), min(len(ours[name]), len(ids)))
            mismatched[name] = {"firstDiff": first, "ours": ours[name][first:first + 8], "llamacpp": ids[first:first + 8]}
    return {"texts": len(theirs), "tokens": total, "identical": len(theirs) - len(mismatched), "mismatched": mismatched}


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def compare_logits(ours: np.ndarray, theirs: np.ndarray) -> dict:
    """ours, theirs: [positions, vocab]."""
    diff = np.abs(ours - theirs)
    p = np.exp(log_softmax(theirs))
    kl = (p * (log_softmax(theirs) - log_softmax(ours))).sum(-1)
    top1 = ours.argmax(-1) == theirs.argmax(-1)
    return {
        "positions": int(ours.shape[0]),
        "maxAbsDiff": float(diff.max()),
        "meanAbsDiff": float(diff.mean()),
        "logitRange": float(theirs.max() - theirs.min()),
        "top1Agreement": float(top1.mean()),
        "maxKL": float(kl.max()),
    }


def package_logits(cli: Path, package: Path, ids: list[int], vocab: int) -> np.ndarray:
    """Every logit at every position from `layerskip logits` (top-k = the whole vocabulary)."""
    out = subprocess.run(["node", str(cli), "logits", "--model", str(package), "--tokens", ",".join(map(str, ids)),
                          "--top-k", str(vocab)], capture_output=True, text=True, check=True).stdout
    rows = np.zeros((len(ids), vocab))
    for p, position in enumerate(json.loads(out)["positions"]):
        for entry in position["top"]:
            rows[p, entry["id"]] = entry["logit"]
    return rows


def package_greedy(cli: Path, package: Path, prompt_file: Path, steps: int) -> list[int]:
    """Greedy tokens from `layerskip generate --mode full` (the engine stops early at an end token)."""
    out = subprocess.run(["node", str(cli), "generate", "--model", str(package), "--prompt-file", str(prompt_file),
                          "--mode", "full", "--temperature", "0", "--max-tokens", str(steps), "--threads", "1", "--json"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["tokens"]


def compare_greedy(ours: list[int], oracle: dict, eos: list[int]) -> dict:
    """Identical = same tokens; a run of ours that ended at an end token must match the oracle up to that token."""
    theirs = oracle["tokens"]
    n = len(ours)
    same = ours == theirs[:n] and (n == len(theirs) or theirs[n] in eos)
    first = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), None)
    return {"identical": same, "tokens": n, "firstDiff": first,
            "oracleMarginAtDiff": None if first is None else oracle["margins"][first],
            "ours": ours, "oracle": theirs}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gguf", type=Path, required=True, help="the original GGUF")
    parser.add_argument("--hf", type=Path, required=True, help="the imported Hugging Face checkpoint")
    parser.add_argument("--package", type=Path, action="append", default=[], help="converted model package(s)")
    parser.add_argument("--work", type=Path, required=True, help="scratch folder (oracle outputs, the F32 GGUF)")
    parser.add_argument("--repo", type=Path, default=HERE.parent.parent)
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    cli = args.repo / "dist" / "cli.js"

    # Inputs: texts for the tokenizer check; prompt token ids from OUR tokenizer (checked identical first).
    texts = {**{f"edge:{k}": v for k, v in EDGE_CASES.items()}, **source_texts(args.repo),
             **{f"prompt:{k}": v for k, v in PROMPTS.items()}}
    run_node("hf_tokenize.mjs", str(args.hf), _write(args.work / "texts.json", texts), str(args.work / "hf-ids.json"))
    ours_ids = json.loads((args.work / "hf-ids.json").read_text())
    prompt_ids = {k: ours_ids[f"prompt:{k}"] for k in PROMPTS}
    for k, text in PROMPTS.items():
        (args.work / f"prompt-{k}.txt").write_text(text)

    # Oracles: llama.cpp on the original file and on its float32 copy.
    f32 = args.work / "dequantized-f32.gguf"
    if not f32.exists():
        subprocess.run([sys.executable, str(HERE / "dequantize_gguf.py"), str(args.gguf), str(f32)], check=True)
    request = {
        "logits": [{"name": k, "tokens": ids, "positions": list(range(len(ids)))} for k, ids in prompt_ids.items()],
        "greedy": [{"name": k, "tokens": ids, "steps": GREEDY_STEPS} for k, ids in prompt_ids.items()],
    }
    oracles = {}
    for label, gguf in (("llama.cpp f32", f32), ("llama.cpp q4_1", args.gguf)):
        out = args.work / label.replace(" ", "-")
        req = {**request, "tokenize": texts} if label.endswith("q4_1") else request
        run_node("llamacpp.mjs", str(gguf), _write(args.work / "request.json", req), str(out))
        oracles[label] = (out, json.loads((out / "result.json").read_text()))

    report: dict = {"tokenizer": compare_tokens(ours_ids, oracles["llama.cpp q4_1"][1]["tokenize"]), "candidates": {}}

    # Candidates: the checkpoint through the numpy forward, then each converted package through the CLI.
    model = Llama.load(args.hf)
    n, vocab = model.cfg["num_hidden_layers"], model.cfg["vocab_size"]
    eos = model.cfg["eos_token_id"]
    candidates: dict[str, dict] = {"checkpoint (numpy f64)": {"logits": {}, "greedy": {}}}
    for k, ids in prompt_ids.items():
        model.reset()
        candidates["checkpoint (numpy f64)"]["logits"][k] = model.forward(ids)[n]
        candidates["checkpoint (numpy f64)"]["greedy"][k] = model.greedy(ids, GREEDY_STEPS)
    del model
    for package in args.package:
        dtype = json.loads((package / "manifest.json").read_text())["dtype"]
        candidates[f"package {dtype} ({package.name})"] = {
            "logits": {k: package_logits(cli, package, ids, vocab) for k, ids in prompt_ids.items()},
            "greedy": {k: package_greedy(cli, package, args.work / f"prompt-{k}.txt", GREEDY_STEPS) for k in PROMPTS},
        }

    for cname, cand in candidates.items():
        report["candidates"][cname] = {}
        for oname, (out, oracle) in oracles.items():
            per_prompt = {}
            for k in PROMPTS:
                meta = oracle["logits"][k]
                theirs = np.fromfile(out / meta["file"], dtype="<f4").reshape(len(meta["positions"]), -1)
                per_prompt[k] = {**compare_logits(cand["logits"][k], theirs),
                                 "greedy": compare_greedy(cand["greedy"][k], oracle["greedy"][k], eos)}
            report["candidates"][cname][oname] = per_prompt
    _write(args.work / "import-report.json", report)
    return summarize(report)


def summarize(report: dict) -> int:
    tok = report["tokenizer"]
    print(f"tokenizer: {tok['identical']}/{tok['texts']} texts identical ({tok['tokens']} llama.cpp tokens)")
    for name, m in tok["mismatched"].items():
        print(f"  MISMATCH {name}: at {m['firstDiff']} ours {m['ours']} llama.cpp {m['llamacpp']}")
    ok = not tok["mismatched"]
    print(f"{'candidate':34} {'oracle':15} {'max|d|':>8} {'mean|d|':>8} {'top-1':>6} {'maxKL':>8}  greedy identical "
          f"(first diff @ step: oracle's top-1 lead)")
    for cname, by_oracle in report["candidates"].items():
        for oname, per_prompt in by_oracle.items():
            m = list(per_prompt.values())
            diffs = [f"{k}@{v['greedy']['firstDiff']}:{v['greedy']['oracleMarginAtDiff']:.3f}"
                     for k, v in per_prompt.items() if not v["greedy"]["identical"]]
            same = sum(v["greedy"]["identical"] for v in m)
            print(f"{cname:34} {oname:15} {max(x['maxAbsDiff'] for x in m):8.4f} "
                  f"{np.mean([x['meanAbsDiff'] for x in m]):8.5f} {np.mean([x['top1Agreement'] for x in m]):6.3f} "
                  f"{max(x['maxKL'] for x in m):8.1e}  {same}/{len(m)} {' '.join(diffs)}")
    # The pass criterion, for the checkpoint and for every package: it equals llama.cpp's float32 run of the same
    # numbers within the stated bound, with the same top-1 at every position and the same greedy tokens.
    for cname, by_oracle in report["candidates"].items():
        exact = by_oracle["llama.cpp f32"].values()
        worst = max(x["maxAbsDiff"] for x in exact)
        passed = worst <= MAX_ABS_LOGIT_DIFF and all(x["greedy"]["identical"] for x in exact) \
            and min(x["top1Agreement"] for x in exact) == 1.0
        ok = ok and passed
        print(f"{'PASS' if passed else 'FAIL'}: {cname} vs llama.cpp f32: max|logit diff| {worst:.2e} "
              f"(bound {MAX_ABS_LOGIT_DIFF}), top-1 and greedy identical: {passed}")
    print(f"{'PASS' if ok else 'FAIL'}: all of the above, and identical token ids")
    return 0 if ok else 1


def _write(path: Path, obj) -> str:
    path.write_text(json.dumps(obj))
    return str(path)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
