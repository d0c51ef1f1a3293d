"""The whole pipeline on a tiny random checkpoint: base + FIM tokens, corpus, tokens, training cut by the time
limit and resumed, final HF folder, evaluation, report."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from layerskip.checkpoint import load_state_dict
from layerskip.model import LlamaConfig, random_model

TRAINING = Path(__file__).resolve().parent.parent


def _run(*args):
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, cwd=TRAINING.parent)


def test_pipeline_end_to_end_with_resume(tmp_path):
    tokenizers = pytest.importorskip("tokenizers")
    code = "".join(f"def f{i}(x, y):\n    if x > y:\n        return x - {i}\n    return y + {i}\n\n\n" for i in range(40))
    # a byte-level BPE tokenizer and a random 4-layer model standing in for SmolLM2
    tok = tokenizers.Tokenizer(tokenizers.models.BPE())
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = tokenizers.decoders.ByteLevel()
    tok.train_from_iterator([code] * 5, tokenizers.trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<|endoftext|>"], initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet()))
    base = tmp_path / "hf"
    cfg = LlamaConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, intermediate_size=64, num_hidden_layers=4,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=8, eos_token_id=0)
    random_model(cfg).save_pretrained(base)
    tok.save(str(base / "tokenizer.json"))
    # a site-packages folder with one MIT distribution of 40 files
    site = tmp_path / "site"
    info = site / "demo-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nLicense-Expression: MIT\n")
    record = []
    for i in range(40):
        (site / "demo").mkdir(exist_ok=True)
        (site / "demo" / f"m{i}.py").write_text(code.replace("f", f"g{i}_"))
        record.append(f"demo/m{i}.py,,")
    (info / "RECORD").write_text("\n".join(record) + "\n")
    work = tmp_path / "work"
    config = {"base_model": str(base), "work_dir": str(work),
              "corpus": {"python": False, "extra_site_dirs": [str(site)], "valid_percent": 20.0,
                         "max_total_bytes": 10_000_000, "max_package_bytes": 10_000_000},
              "fim_rate": 0.5, "chunk_chars": 300, "seq_len": 32, "batch_size": 4, "grad_accum": 2, "steps": 6,
              "warmup_steps": 1, "lr": 3e-3, "weight_decay": 0.0, "grad_clip": 1.0, "p_max": 0.2, "e_scale": 1.0,
              "curriculum": "rotational", "rotation": 2, "seed": 0, "threads": 1, "log_every": 1,
              "checkpoint_minutes": 10, "device": "cpu", "dtype": "fp32"}
    (tmp_path / "cfg.json").write_text(json.dumps(config))

    cut = _run(TRAINING / "train.py", "--config", tmp_path / "cfg.json", "--max-minutes", "0")
    assert cut.returncode == 3, cut.stdout + cut.stderr  # stopped after one step, checkpointed
    assert (work / "ckpt" / "state.pt").exists() and not (work / "final").exists()
    done = _run(TRAINING / "train.py", "--config", tmp_path / "cfg.json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "resumed at step 1" in done.stdout

    final = work / "final"
    info = json.loads((final / "layerskip.json").read_text())
    assert info["fim"] == {"prefix": "<PRE>", "suffix": "<SUF>", "middle": "<MID>", "eot": "<EOT>"}
    assert [h["step"] for h in info["history"]] == [1, 2, 3, 4, 5, 6] and info["training"]["steps_done"] == 6
    hf = json.loads((final / "config.json").read_text())
    assert hf["vocab_size"] == cfg.vocab_size + 4 == info["fimIds"]["eot"] + 1
    assert load_state_dict(final)["model.embed_tokens.weight"].shape == (cfg.vocab_size + 4, 32)
    manifest = json.loads((work / "corpus" / "manifest.json").read_text())
    assert manifest["packages"][0]["license"] == "MIT" and manifest["files"] == 40

    out = tmp_path / "eval.json"
    ev = _run(TRAINING / "eval.py", "--model", final, "--tokens", work / "tokens", "--out", out, "--windows", "2",
              "--seq-len", "16", "--heldout-prompts", "1", "--max-new", "8", "--device", "cpu")
    assert ev.returncode == 0, ev.stdout + ev.stderr
    result = json.loads(out.read_text())
    assert len(result["heldout"]["loss"]) == 4 and result["heldout"]["top1_agreement_with_last"][-1] == 1.0
    assert result["greedy_replay_mismatches"] == 0
    assert {(g["E"], g["d"]) for g in result["speculation"]} >= {(2, 1), (2, 8)}
    rep = _run(TRAINING / "report.py", "--before", out, "--after", out, "--work", work, "--config", tmp_path / "cfg.json",
               "--label", "test", "--out", tmp_path / "r.md")
    assert rep.returncode == 0, rep.stdout + rep.stderr
    assert "Held-out loss" in (tmp_path / "r.md").read_text()
    assert json.loads((final / "layerskip.json").read_text())["recommendedExitLayer"] == result["best"]["E"]
