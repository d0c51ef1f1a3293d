"""LayerSkip continual pretraining of a Hugging Face Llama checkpoint on code, resumable.

    python3 training/train.py --config training/configs/smoke-cpu.json [--base DIR] [--max-minutes M]

Stages, each skipped when its output exists (so the same command resumes a cut run):
  1. base:   the checkpoint with the FIM tokens added (embedding resized)        -> WORK/base/
  2. corpus: permissive code on this machine, deduplicated, held-out split        -> WORK/corpus/ (or config corpus_dir)
  3. tokens: token streams with FIM examples                                       -> WORK/tokens/
  4. train:  layer dropout + early-exit loss + curriculum, checkpoint every few minutes -> WORK/ckpt/state.pt
  5. final:  HF folder (model.safetensors, config.json, tokenizer files, layerskip.json) -> WORK/final/
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import shutil
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from layerskip.corpus import build_corpus  # noqa: E402
from layerskip.data import build_token_streams, load_stream, random_batch  # noqa: E402
from layerskip.fim import add_fim_tokens, manifest_fim  # noqa: E402
from layerskip.model import LlamaForCausalLM  # noqa: E402
from layerskip.recipe import active_exits, early_exit_loss, layer_dropout_rates, normalised_scales  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def resolve(path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else REPO / p


def prepare_base(src: Path, dst: Path) -> dict[str, int]:
    """The base checkpoint plus FIM tokens. This is also the 'before' model of the evaluation."""
    if (dst / "model.safetensors").exists():
        return json.loads((dst / "layerskip.json").read_text())["fimIds"]
    if not (src / "config.json").exists():
        sys.exit(f"no Hugging Face checkpoint at {src}: run `npm run setup-model` (or pass --base DIR)")
    ids = add_fim_tokens(src, dst)
    model = LlamaForCausalLM.from_pretrained(src)
    model.resize_vocab(max(ids.values()) + 1)
    model.save_pretrained(dst)
    for name in TOKENIZER_FILES[2:]:
        if (src / name).exists() and not (dst / name).exists():
            shutil.copy(src / name, dst / name)
    (dst / "layerskip.json").write_text(json.dumps({"fim": manifest_fim(), "fimIds": ids, "source": str(src)}, indent=1) + "\n")
    log(f"base: {src} + FIM tokens {ids} -> {dst}")
    return ids


def progress(step: int, train_seconds: float, cfg: dict) -> float:
    """Fraction of training done: by steps, or by time when the config sets a time budget ("train_minutes"), so a
    GPU run of unknown throughput still completes its schedule within the budget."""
    done = step / cfg["steps"]
    if cfg.get("train_minutes"):
        done = max(done, train_seconds / (cfg["train_minutes"] * 60))
    return min(1.0, done)


def lr_at(step: int, frac: float, cfg: dict) -> float:
    """Linear warm-up over warmup_steps, then cosine decay to 10% of the peak over the rest of training."""
    if step < cfg["warmup_steps"]:
        return cfg["lr"] * (step + 1) / cfg["warmup_steps"]
    return cfg["lr"] * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))


def pick_device(cfg: dict) -> torch.device:
    if cfg.get("device", "auto") == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(cfg["device"])


def save_state(path: Path, model, opt, step: int, train_seconds: float, gen: torch.Generator, history: list) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "train_seconds": train_seconds,
                "gen": gen.get_state(),
                "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
                "history": history}, tmp)
    tmp.replace(path)  # atomic: a run killed mid-save keeps the previous checkpoint


def train(cfg: dict, work: Path, max_minutes: float | None, t0: float) -> bool:
    """Returns True when training is complete (final/ written). max_minutes counts from t0, the process start, so
    that the preparation stages eat into the same 10-minute command as the training they precede."""
    device = pick_device(cfg)
    torch.manual_seed(cfg["seed"])
    if device.type == "cpu" and cfg.get("threads"):
        torch.set_num_threads(cfg["threads"])
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
    model = LlamaForCausalLM.from_pretrained(work / "base").to(device)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], betas=(0.9, 0.95), weight_decay=cfg["weight_decay"])
    gen = torch.Generator().manual_seed(cfg["seed"])
    step, train_seconds, history = 0, 0.0, []
    ckpt_dir = work / "ckpt"
    ckpt_dir.mkdir(exist_ok=True)
    state_path = ckpt_dir / "state.pt"
    if state_path.exists():
        state = torch.load(state_path, map_location=device)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step, train_seconds, history = state["step"], state["train_seconds"], state["history"]
        # map_location moved the RNG states onto the GPU too; they must be CPU byte tensors
        gen.set_state(state["gen"].cpu())
        torch.set_rng_state(state["torch_rng"].cpu())
        if state["cuda_rng"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda_rng"]])
        log(f"resumed at step {step}")
    stream = load_stream(work / "tokens", "train")
    L = model.config.num_hidden_layers
    drop = layer_dropout_rates(L, cfg["p_max"])
    amp = device.type == "cuda" and cfg.get("dtype", "bf16") == "bf16"
    last_ckpt, tokens_per_step = time.time(), cfg["batch_size"] * cfg["grad_accum"] * cfg["seq_len"]
    window_t, window_tokens = time.time(), 0
    while progress(step, train_seconds, cfg) < 1.0:
        step_start = time.time()
        frac = progress(step, train_seconds, cfg)
        exits = active_exits(L, step, cfg["curriculum"], cfg["steps"], cfg.get("rotation", 8))
        scales = normalised_scales(L, cfg["e_scale"], exits)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, frac, cfg)
        opt.zero_grad(set_to_none=True)
        total, per_layer = 0.0, {}
        for _ in range(cfg["grad_accum"]):
            batch = random_batch(stream, cfg["batch_size"], cfg["seq_len"], gen).to(device)
            # bf16 autocast on the GPU (fp32 master weights); torch 1.13's CPU build rejects a CUDA autocast context
            with torch.autocast("cuda", dtype=torch.bfloat16) if amp else contextlib.nullcontext():
                loss, ce = early_exit_loss(model, batch[:, :-1], batch[:, 1:], drop, scales)
            (loss / cfg["grad_accum"]).backward()
            total += loss.item() / cfg["grad_accum"]
            for l, v in ce.items():
                per_layer[l] = per_layer.get(l, 0.0) + v / cfg["grad_accum"]
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["grad_clip"])
        opt.step()
        step += 1
        train_seconds += time.time() - step_start
        finished = progress(step, train_seconds, cfg) >= 1.0
        window_tokens += tokens_per_step
        if step % cfg["log_every"] == 0 or finished:
            rate = window_tokens / (time.time() - window_t)
            history.append({"step": step, "loss": total, "exit_ce": {str(k): round(v, 4) for k, v in per_layer.items()},
                            "lr": lr_at(step - 1, frac, cfg), "tokens_per_s": round(rate, 1)})
            log(f"step {step} ({100 * progress(step, train_seconds, cfg):.1f}%) loss {total:.4f} "
                f"last-layer CE {per_layer[L - 1]:.4f} exits {sorted(per_layer)} {rate:,.0f} tok/s")
            window_t, window_tokens = time.time(), 0
        out_of_time = max_minutes is not None and time.time() - t0 > max_minutes * 60
        if time.time() - last_ckpt > cfg["checkpoint_minutes"] * 60 or out_of_time or finished:
            save_state(state_path, model, opt, step, train_seconds, gen, history)
            last_ckpt = time.time()
            log(f"checkpoint at step {step}")
        if out_of_time and not finished:
            log("time limit reached: run the same command again to resume")
            return False
    final = work / "final"
    model.save_pretrained(final, dtype={"fp32": torch.float32, "bf16": torch.bfloat16}[cfg.get("save_dtype", "fp32")])
    for name in TOKENIZER_FILES:
        if (work / "base" / name).exists():
            shutil.copy(work / "base" / name, final / name)
    info = json.loads((work / "base" / "layerskip.json").read_text())
    info["training"] = {k: cfg[k] for k in ("steps", "batch_size", "grad_accum", "seq_len", "lr", "p_max", "e_scale",
                                             "curriculum", "rotation", "fim_rate")}
    info["training"].update(tokens_seen=step * tokens_per_step, steps_done=step, train_seconds=round(train_seconds))
    info["history"] = history
    (final / "layerskip.json").write_text(json.dumps(info, indent=1) + "\n")
    log(f"final checkpoint: {final}")
    return True


def main() -> int:
    t0 = time.time()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--base", help="Hugging Face checkpoint folder (overrides the config's base_model)")
    ap.add_argument("--max-minutes", type=float, help="checkpoint and stop after this long (resume with the same command)")
    ap.add_argument("--prepare-only", action="store_true", help="stop after the base, corpus and token stages")
    args = ap.parse_args()
    cfg = json.loads(Path(args.config).read_text())
    work = resolve(cfg["work_dir"])
    work.mkdir(parents=True, exist_ok=True)
    fim_ids = prepare_base(Path(args.base) if args.base else resolve(cfg["base_model"]), work / "base")
    corpus_dir = resolve(cfg["corpus"].get("dir", str(work / "corpus")))
    if not (corpus_dir / "manifest.json").exists():
        c = cfg["corpus"]
        build_corpus(corpus_dir, [resolve(p) for p in c.get("node_modules", [])],
                     [resolve(p) for p in c.get("extra_site_dirs", [])], c["valid_percent"], c["max_total_bytes"],
                     c["max_package_bytes"], seed=cfg["seed"], python=c.get("python", True),
                     carried=[resolve(p) for p in c.get("carried", []) if (resolve(p) / "manifest.json").exists()], log=log)
    if not (work / "tokens" / "tokens.json").exists():
        build_token_streams(corpus_dir, work / "base", work / "tokens", fim_ids, cfg["fim_rate"], cfg["chunk_chars"],
                            cfg["seed"], log=log)
    if args.prepare_only:
        return 0
    if (work / "final" / "model.safetensors").exists():
        log(f"already trained: {work / 'final'}")
        return 0
    max_minutes = args.max_minutes if args.max_minutes is not None else cfg.get("max_minutes")
    return 0 if train(cfg, work, max_minutes, t0) else 3  # 3: stopped at the time limit, run again to resume


if __name__ == "__main__":
    sys.exit(main())
