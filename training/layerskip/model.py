"""Llama decoder in plain PyTorch with Hugging Face parameter names, plus the hooks LayerSkip training needs:
per-sample layer dropout and the hidden state after every layer (for exits through the shared norm + head).

Runs on torch 1.13 (CPU, no scaled_dot_product_attention) and on PyTorch 2.x (GPU, bf16 autocast).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, asdict
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .checkpoint import load_state_dict, save_safetensors


@dataclass
class LlamaConfig:
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    max_position_embeddings: int = 2048
    tie_word_embeddings: bool = True
    bos_token_id: int | None = 1
    eos_token_id: int | list[int] | None = 2

    @classmethod
    def from_hf(cls, cfg: dict) -> "LlamaConfig":
        if cfg.get("rope_scaling") not in (None, {}) and (cfg["rope_scaling"].get("rope_type") or cfg["rope_scaling"].get("type")) != "default":
            raise ValueError("rope_scaling is not supported by the trainer (SmolLM2 has none)")
        heads = cfg["num_attention_heads"]
        return cls(
            vocab_size=cfg["vocab_size"],
            hidden_size=cfg["hidden_size"],
            intermediate_size=cfg["intermediate_size"],
            num_hidden_layers=cfg["num_hidden_layers"],
            num_attention_heads=heads,
            num_key_value_heads=cfg.get("num_key_value_heads", heads),
            head_dim=cfg.get("head_dim") or cfg["hidden_size"] // heads,
            rms_norm_eps=cfg.get("rms_norm_eps", 1e-5),
            rope_theta=cfg.get("rope_theta", 10000.0),
            max_position_embeddings=cfg.get("max_position_embeddings", 2048),
            tie_word_embeddings=cfg.get("tie_word_embeddings", False),
            bos_token_id=cfg.get("bos_token_id"),
            eos_token_id=cfg.get("eos_token_id"),
        )

    def to_hf(self) -> dict:
        return {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
                "attention_bias": False, "mlp_bias": False, "rope_scaling": None, "torch_dtype": "float32", **asdict(self)}


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Normalise in fp32 like HF Llama: bf16 variance is too coarse.
        x32 = x.float()
        x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x32.to(x.dtype)


def rope_tables(cfg: LlamaConfig, seq_len: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin [seq, head_dim] in HF's rotate_half layout (frequencies repeated for both halves)."""
    inv_freq = 1.0 / (cfg.rope_theta ** (torch.arange(0, cfg.head_dim, 2, device=device, dtype=torch.float32) / cfg.head_dim))
    freqs = torch.outer(torch.arange(seq_len, device=device, dtype=torch.float32), inv_freq)
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos(), emb.sin()


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.cfg = cfg
        self.q_proj = nn.Linear(cfg.hidden_size, cfg.num_attention_heads * cfg.head_dim, bias=False)
        self.k_proj = nn.Linear(cfg.hidden_size, cfg.num_key_value_heads * cfg.head_dim, bias=False)
        self.v_proj = nn.Linear(cfg.hidden_size, cfg.num_key_value_heads * cfg.head_dim, bias=False)
        self.o_proj = nn.Linear(cfg.num_attention_heads * cfg.head_dim, cfg.hidden_size, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, cache: list | None = None) -> torch.Tensor:
        """cache: [k, v] of earlier positions, extended in place (evaluation's greedy decoding, one new token at a
        time after the prompt); None in training."""
        b, s, _ = x.shape
        c = self.cfg
        q = self.q_proj(x).view(b, s, c.num_attention_heads, c.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, s, c.num_key_value_heads, c.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, s, c.num_key_value_heads, c.head_dim).transpose(1, 2)
        cos, sin = cos.to(q.dtype), sin.to(q.dtype)
        q = q * cos + _rotate_half(q) * sin
        k = k * cos + _rotate_half(k) * sin
        causal = True
        if cache is not None:
            if cache:
                assert s == 1, "after the prompt, the cache takes one token at a time"
                k, v = torch.cat([cache[0], k], 2), torch.cat([cache[1], v], 2)
                causal = False  # one query that may see every cached key
            cache[:] = [k, v]
        groups = c.num_attention_heads // c.num_key_value_heads
        if groups > 1:  # grouped-query attention: each KV head serves `groups` query heads
            k = k.repeat_interleave(groups, dim=1)
            v = v.repeat_interleave(groups, dim=1)
        if hasattr(F, "scaled_dot_product_attention"):  # PyTorch 2.x: flash/memory-efficient kernels
            out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        else:  # torch 1.13 fallback
            scores = (q @ k.transpose(-1, -2)) / math.sqrt(c.head_dim)
            if causal:
                mask = torch.ones(s, s, dtype=torch.bool, device=x.device).triu(1)
                scores = scores.masked_fill(mask, float("-inf"))
            out = torch.softmax(scores.float(), dim=-1).to(v.dtype) @ v
        return self.o_proj(out.transpose(1, 2).reshape(b, s, -1))


class MLP(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.up_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.self_attn = Attention(cfg)
        self.mlp = MLP(cfg)
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, cache: list | None = None) -> torch.Tensor:
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, cache)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaBody(nn.Module):
    """`model.*` in HF naming."""

    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.num_hidden_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class LlamaForCausalLM(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.config = cfg
        self.model = LlamaBody(cfg)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        if cfg.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    def hidden_states(self, input_ids: torch.Tensor, layer_drop: list[float] | None = None,
                      exits: set[int] | None = None, last: int | None = None) -> dict[int, torch.Tensor]:
        """Residual stream after layers 0..last (default: all), keyed by layer index, for the layers in `exits`
        (default: all). layer_drop[l] is the probability that layer l is skipped for a given sample (training)."""
        b, s = input_ids.shape
        n = self.config.num_hidden_layers if last is None else last + 1
        cos, sin = rope_tables(self.config, s, input_ids.device)
        x = self.model.embed_tokens(input_ids)
        out = {}
        for l in range(n):
            layer = self.model.layers[l]
            p = layer_drop[l] if layer_drop is not None else 0.0
            if p > 0.0:
                # Per-sample layer dropout: dropped samples pass the residual stream through unchanged; the layer
                # runs only on the kept ones (so dropping also saves compute, as in the paper).
                keep = (torch.rand(b, device=x.device) >= p).nonzero().flatten()
                if keep.numel() == b:
                    x = layer(x, cos, sin)
                elif keep.numel() > 0:
                    x = x.index_copy(0, keep, layer(x.index_select(0, keep), cos, sin))
            else:
                x = layer(x, cos, sin)
            if exits is None or l in exits:
                out[l] = x
        return out

    def exit_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """The one shared final norm + LM head, applicable after any layer."""
        return self.lm_head(self.model.norm(hidden))

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        last = self.config.num_hidden_layers - 1
        return self.exit_logits(self.hidden_states(input_ids, exits={last})[last])

    @torch.no_grad()
    def generate_greedy(self, prompt: list[int], max_new: int, stop: set[int]) -> list[int]:
        """Plain greedy decoding with a KV cache (batch 1): the full model's output, which greedy
        self-speculative decoding reproduces exactly."""
        caches = [[] for _ in self.model.layers]
        cos_all, sin_all = rope_tables(self.config, len(prompt) + max_new, next(self.parameters()).device)
        x = torch.tensor([prompt], device=cos_all.device)
        pos, out = 0, []
        for _ in range(max_new):
            s = x.shape[1]
            cos, sin = cos_all[pos : pos + s], sin_all[pos : pos + s]
            h = self.model.embed_tokens(x)
            for layer, cache in zip(self.model.layers, caches):
                h = layer(h, cos, sin, cache)
            token = int(self.exit_logits(h[:, -1]).argmax(-1))
            out.append(token)
            if token in stop:
                break
            pos += s
            x = torch.tensor([[token]], device=x.device)
        return out

    # -- Hugging Face folders ------------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, folder: str | Path, dtype=torch.float32) -> "LlamaForCausalLM":
        folder = Path(folder)
        cfg = LlamaConfig.from_hf(json.loads((folder / "config.json").read_text()))
        model = cls(cfg)
        state = {k: v.to(dtype) for k, v in load_state_dict(folder).items()}
        state = {k: v for k, v in state.items() if not k.endswith("rotary_emb.inv_freq")}
        if cfg.tie_word_embeddings:
            state.pop("lm_head.weight", None)
            state["lm_head.weight"] = state["model.embed_tokens.weight"]
        model.load_state_dict(state, strict=True)
        return model.to(dtype)

    def hf_state_dict(self) -> dict[str, torch.Tensor]:
        state = {k: v for k, v in self.state_dict().items()}
        if self.config.tie_word_embeddings:
            state.pop("lm_head.weight")  # HF convention: a tied head is not stored
        return state

    def save_pretrained(self, folder: str | Path, dtype=torch.float32) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        cfg = self.config.to_hf()
        cfg["torch_dtype"] = {torch.float32: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16"}[dtype]
        save_safetensors({k: v.to(dtype) for k, v in self.hf_state_dict().items()}, folder / "model.safetensors")
        (folder / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")

    def resize_vocab(self, new_size: int) -> None:
        """Add embedding rows (new special tokens). New rows start at the mean embedding so that their logits are
        ordinary rather than huge or tiny, the usual initialisation for added tokens."""
        old = self.model.embed_tokens.weight.data
        if new_size <= old.shape[0]:
            return
        extra = old.mean(0, keepdim=True).repeat(new_size - old.shape[0], 1)
        emb = nn.Embedding(new_size, old.shape[1]).to(old.dtype)
        emb.weight.data = torch.cat([old, extra], 0)
        self.model.embed_tokens = emb
        if self.config.tie_word_embeddings:
            self.lm_head = nn.Linear(old.shape[1], new_size, bias=False)
            self.lm_head.weight = emb.weight
        else:
            head = self.lm_head.weight.data
            self.lm_head = nn.Linear(old.shape[1], new_size, bias=False).to(head.dtype)
            self.lm_head.weight.data = torch.cat([head, head.mean(0, keepdim=True).repeat(new_size - head.shape[0], 1)], 0)
        self.config.vocab_size = new_size


def random_model(cfg: LlamaConfig, seed: int = 0) -> LlamaForCausalLM:
    """Small random model for tests and pipeline checks (std 0.02, like HF's initializer_range)."""
    torch.manual_seed(seed)
    model = LlamaForCausalLM(cfg)
    for name, p in model.named_parameters():
        if name.endswith("layernorm.weight") or name == "model.norm.weight":
            nn.init.ones_(p)
        else:
            nn.init.normal_(p, std=0.02)
    return model
