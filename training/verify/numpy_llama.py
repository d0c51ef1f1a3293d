"""A plain numpy Llama forward over a Hugging Face checkpoint (config.json + model.safetensors).

Written from the Hugging Face LlamaForCausalLM definition (rotate_half rotary, GQA, SwiGLU, RMSNorm), shares no
code with the project's TypeScript forward or with llama.cpp: it checks the imported checkpoint against llama.cpp
before (and independently of) the ONNX package. float64 by default, so its own rounding is negligible.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file


@dataclass
class Llama:
    cfg: dict
    w: dict[str, np.ndarray]
    # per layer: keys/values of the positions seen so far, [P, kv_heads, head_dim]
    cache_k: list[np.ndarray] = field(default_factory=list)
    cache_v: list[np.ndarray] = field(default_factory=list)

    @staticmethod
    def load(hf_dir: Path, dtype=np.float64) -> "Llama":
        cfg = json.loads((hf_dir / "config.json").read_text())
        w = {k: v.astype(dtype) for k, v in load_file(str(hf_dir / "model.safetensors")).items()}
        if "lm_head.weight" not in w:
            w["lm_head.weight"] = w["model.embed_tokens.weight"]
        model = Llama(cfg, w)
        model.reset()
        return model

    def reset(self) -> None:
        n, kv, hd = self.cfg["num_hidden_layers"], self.cfg["num_key_value_heads"], self.cfg["head_dim"]
        dtype = self.w["model.norm.weight"].dtype
        self.cache_k = [np.zeros((0, kv, hd), dtype) for _ in range(n)]
        self.cache_v = [np.zeros((0, kv, hd), dtype) for _ in range(n)]

    def rms_norm(self, x: np.ndarray, weight: np.ndarray) -> np.ndarray:
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self.cfg["rms_norm_eps"]) * weight

    def rotary(self, x: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """x: [S, heads, head_dim]; HF rotate_half convention (pairs i and i + head_dim/2)."""
        hd = x.shape[-1]
        inv_freq = 1.0 / self.cfg["rope_theta"] ** (np.arange(0, hd, 2) / hd)  # [hd/2]
        angles = positions[:, None] * inv_freq[None, :]  # [S, hd/2]
        cos = np.concatenate([np.cos(angles)] * 2, axis=-1)[:, None, :].astype(x.dtype)
        sin = np.concatenate([np.sin(angles)] * 2, axis=-1)[:, None, :].astype(x.dtype)
        rotated = np.concatenate([-x[..., hd // 2:], x[..., : hd // 2]], axis=-1)
        return x * cos + rotated * sin

    def layer(self, i: int, h: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """h: [S, hidden] -> [S, hidden]; appends the S new keys/values to layer i's cache."""
        c, p = self.cfg, f"model.layers.{i}."
        heads, kv, hd = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
        s = h.shape[0]
        x = self.rms_norm(h, self.w[p + "input_layernorm.weight"])
        q = self.rotary((x @ self.w[p + "self_attn.q_proj.weight"].T).reshape(s, heads, hd), positions)
        k = self.rotary((x @ self.w[p + "self_attn.k_proj.weight"].T).reshape(s, kv, hd), positions)
        v = (x @ self.w[p + "self_attn.v_proj.weight"].T).reshape(s, kv, hd)
        self.cache_k[i] = np.concatenate([self.cache_k[i], k])
        self.cache_v[i] = np.concatenate([self.cache_v[i], v])
        keys = np.repeat(self.cache_k[i], heads // kv, axis=1)  # [T, heads, hd]
        values = np.repeat(self.cache_v[i], heads // kv, axis=1)
        t = keys.shape[0]
        scores = np.einsum("shd,thd->hst", q, keys) / np.sqrt(hd)  # [heads, S, T]
        causal = np.arange(t)[None, :] <= (t - s + np.arange(s))[:, None]  # query j sees keys <= its position
        scores = np.where(causal[None], scores, -np.inf)
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        attn = np.einsum("hst,thd->shd", probs, values).reshape(s, heads * hd)
        h = h + attn @ self.w[p + "self_attn.o_proj.weight"].T
        x = self.rms_norm(h, self.w[p + "post_attention_layernorm.weight"])
        gate = x @ self.w[p + "mlp.gate_proj.weight"].T
        up = x @ self.w[p + "mlp.up_proj.weight"].T
        return h + (gate / (1 + np.exp(-gate)) * up) @ self.w[p + "mlp.down_proj.weight"].T

    def head(self, h: np.ndarray) -> np.ndarray:
        return self.rms_norm(h, self.w["model.norm.weight"]) @ self.w["lm_head.weight"].T

    def forward(self, tokens: list[int], exits: list[int] | None = None) -> dict[int, np.ndarray]:
        """Feed `tokens` after what is cached; logits [S, vocab] after each layer count in `exits` (default: all)."""
        n = self.cfg["num_hidden_layers"]
        exits = exits or [n]
        start = self.cache_k[0].shape[0]
        positions = np.arange(start, start + len(tokens), dtype=np.float64)
        h = self.w["model.embed_tokens.weight"][tokens]
        out = {}
        for i in range(max(exits)):
            h = self.layer(i, h, positions)
            if i + 1 in exits:
                out[i + 1] = self.head(h)
        return out

    def greedy(self, tokens: list[int], steps: int) -> list[int]:
        self.reset()
        n = self.cfg["num_hidden_layers"]
        generated, feed = [], tokens
        for _ in range(steps):
            nxt = int(np.argmax(self.forward(feed, [n])[n][-1]))
            generated.append(nxt)
            feed = [nxt]
        return generated
