"""Import a llama.cpp GGUF Llama (SmolLM2-135M-Instruct) as a Hugging Face LlamaForCausalLM checkpoint.

    python gguf_to_hf.py --gguf SmolLM2-135M-Instruct.Q4_1.gguf --out <dir>

Writes <dir>/config.json, generation_config.json, model.safetensors (float32, the dequantized GGUF values),
tokenizer.json (rebuilt from the GGUF's BPE vocabulary, merges and pre-tokenizer), tokenizer_config.json and
special_tokens_map.json. Only what this file format actually holds is supported: architecture "llama", a "gpt2"
(byte-level BPE) tokenizer, no rope scaling; anything else stops with an error naming the field.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from gguf import GGUFReader, GGMLQuantizationType
from gguf.quants import dequantize
from safetensors.numpy import save_file


class ImportError_(Exception):
    """The GGUF holds something this importer does not know how to translate faithfully."""


# ---------------------------------------------------------------------------------------------------------------
# GGUF metadata

def field(reader: GGUFReader, key: str, default=None):
    f = reader.fields.get(key)
    if f is None:
        if default is None:
            raise ImportError_(f"GGUF has no metadata field {key!r}")
        return default
    return f.contents()


def read_config(reader: GGUFReader) -> dict:
    arch = field(reader, "general.architecture")
    if arch != "llama":
        raise ImportError_(f"general.architecture is {arch!r}; only 'llama' is supported")
    for key in ("llama.rope.scaling.type", "llama.rope.scaling.factor"):
        if key in reader.fields and field(reader, key) not in ("none", 1.0):
            raise ImportError_(f"{key} = {field(reader, key)!r}: rope scaling is not supported by this importer")
    hidden = int(field(reader, "llama.embedding_length"))
    heads = int(field(reader, "llama.attention.head_count"))
    head_dim = hidden // heads
    if int(field(reader, "llama.rope.dimension_count", head_dim)) != head_dim:
        raise ImportError_("llama.rope.dimension_count != head_dim: partial rotary is not supported")
    return {
        "num_hidden_layers": int(field(reader, "llama.block_count")),
        "hidden_size": hidden,
        "intermediate_size": int(field(reader, "llama.feed_forward_length")),
        "num_attention_heads": heads,
        "num_key_value_heads": int(field(reader, "llama.attention.head_count_kv", heads)),
        "head_dim": head_dim,
        "max_position_embeddings": int(field(reader, "llama.context_length")),
        # Stored as float32 (9.99999974e-06): write the decimal it was meant to be.
        "rms_norm_eps": float(np.format_float_positional(
            np.float32(field(reader, "llama.attention.layer_norm_rms_epsilon")), precision=7, unique=False)),
        "rope_theta": float(field(reader, "llama.rope.freq_base", 10000.0)),
    }


# ---------------------------------------------------------------------------------------------------------------
# Weights

# GGUF tensor name (after "blk.{i}.") -> Hugging Face name (after "model.layers.{i}.")
LAYER_TENSORS = {
    "attn_norm.weight": "input_layernorm.weight",
    "attn_q.weight": "self_attn.q_proj.weight",
    "attn_k.weight": "self_attn.k_proj.weight",
    "attn_v.weight": "self_attn.v_proj.weight",
    "attn_output.weight": "self_attn.o_proj.weight",
    "ffn_norm.weight": "post_attention_layernorm.weight",
    "ffn_gate.weight": "mlp.gate_proj.weight",
    "ffn_up.weight": "mlp.up_proj.weight",
    "ffn_down.weight": "mlp.down_proj.weight",
}
GLOBAL_TENSORS = {
    "token_embd.weight": "model.embed_tokens.weight",
    "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
}


def unpermute_rotary(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Undo llama.cpp's convert_hf_to_gguf permute() of q_proj/k_proj rows.

    HF rotates pairs (i, i + head_dim/2) of each head ("rotate_half"); GGML's rope rotates adjacent pairs
    (2i, 2i+1), so the converter reordered each head's rows [half0 | half1] -> interleaved. Inverse:
    rows of a head viewed as [head_dim/2, 2] -> transpose to [2, head_dim/2].
    w: [n_heads * head_dim, in]
    """
    out_dim, in_dim = w.shape
    half = out_dim // n_heads // 2
    return w.reshape(n_heads, half, 2, in_dim).swapaxes(1, 2).reshape(out_dim, in_dim)


def hf_name(gguf_name: str) -> str:
    if gguf_name in GLOBAL_TENSORS:
        return GLOBAL_TENSORS[gguf_name]
    parts = gguf_name.split(".", 2)
    if parts[0] == "blk" and len(parts) == 3 and parts[2] in LAYER_TENSORS:
        return f"model.layers.{int(parts[1])}.{LAYER_TENSORS[parts[2]]}"
    raise ImportError_(f"unexpected GGUF tensor {gguf_name!r} (not part of a plain Llama)")


def read_weights(reader: GGUFReader, cfg: dict) -> dict[str, np.ndarray]:
    tensors: dict[str, np.ndarray] = {}
    for t in reader.tensors:
        # dequantize() returns numpy order: ggml shape [ne0=in, ne1=out] -> [out, in], i.e. HF's layout.
        w = dequantize(t.data, GGMLQuantizationType(t.tensor_type)).astype(np.float32, copy=False)
        expected = tuple(int(n) for n in reversed(t.shape))
        if w.shape != expected:
            w = w.reshape(expected)
        if t.name.endswith("attn_q.weight"):
            w = unpermute_rotary(w, cfg["num_attention_heads"])
        elif t.name.endswith("attn_k.weight"):
            w = unpermute_rotary(w, cfg["num_key_value_heads"])
        tensors[hf_name(t.name)] = np.ascontiguousarray(w)
    expected_count = 2 + 9 * cfg["num_hidden_layers"]
    have_head = "lm_head.weight" in tensors
    if len(tensors) != expected_count + have_head:
        raise ImportError_(f"expected {expected_count} (+ optional output.weight) tensors, found {len(tensors)}")
    return tensors


# ---------------------------------------------------------------------------------------------------------------
# Tokenizer

TOKEN_TYPE_CONTROL = 3
TOKEN_TYPE_USER_DEFINED = 4

# llama.cpp's pre-tokenizer regexes per tokenizer.ggml.pre (llama-vocab.cpp), applied in sequence.
# Each entry becomes a Hugging Face pre-tokenizer; the GPT-2 regex is exactly ByteLevel's use_regex pattern
# (its trailing "|\s+" alternative is how llama.cpp treats text no alternative matched).
GPT2_REGEX = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"
PRE_TOKENIZERS = {
    # STARCODER / REFACT / COMMAND_R / SMOLLM / CODESHELL / EXAONE / MINERVA: each number character alone, then GPT-2.
    "smollm": [r"\p{N}", GPT2_REGEX],
    "starcoder": [r"\p{N}", GPT2_REGEX],
    "gpt2": [GPT2_REGEX],
}


def byte_level_pre_tokenizer(pre: str) -> dict:
    if pre not in PRE_TOKENIZERS:
        raise ImportError_(f"tokenizer.ggml.pre = {pre!r}: no known translation to a Hugging Face pre-tokenizer")
    steps = []
    for regex in PRE_TOKENIZERS[pre]:
        if regex == GPT2_REGEX:
            steps.append({"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True})
        else:
            # A Split on \p{N} (not "Digits": tokenizers.js implements that with ASCII-only \d).
            steps.append({"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": False})
    return {"type": "Sequence", "pretokenizers": steps}


def build_tokenizer(reader: GGUFReader) -> tuple[dict, list[dict]]:
    model = field(reader, "tokenizer.ggml.model")
    if model != "gpt2":
        raise ImportError_(f"tokenizer.ggml.model = {model!r}; only byte-level BPE ('gpt2') is supported")
    if field(reader, "tokenizer.ggml.add_space_prefix", False):
        raise ImportError_("tokenizer.ggml.add_space_prefix = true is not supported")
    tokens = list(field(reader, "tokenizer.ggml.tokens"))
    types = list(field(reader, "tokenizer.ggml.token_type"))
    merges = list(field(reader, "tokenizer.ggml.merges"))
    vocab = {tok: i for i, tok in enumerate(tokens)}
    if len(vocab) != len(tokens):
        raise ImportError_("tokenizer.ggml.tokens has duplicates")
    added = [
        {"id": i, "content": tokens[i], "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": types[i] == TOKEN_TYPE_CONTROL}
        for i in range(len(tokens)) if types[i] in (TOKEN_TYPE_CONTROL, TOKEN_TYPE_USER_DEFINED)
    ]
    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": byte_level_pre_tokenizer(field(reader, "tokenizer.ggml.pre", "gpt2")),
        "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
            "vocab": vocab,
            "merges": [m.split(" ") for m in merges],
        },
    }
    return tokenizer, added


def special_ids(reader: GGUFReader, tokens: list[str]) -> dict:
    """bos/eos/pad/unk from the GGUF, plus every end-of-text token as an extra stop: a completion ends at
    <|endoftext|> (document end) as well as at the chat EOS <|im_end|>."""
    def opt(key):
        return int(field(reader, key)) if key in reader.fields else None
    eos = [opt("tokenizer.ggml.eos_token_id")]
    for text in ("<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<|end_of_text|>"):
        if text in tokens:
            eos.append(tokens.index(text))
    eos = list(dict.fromkeys(i for i in eos if i is not None))
    return {"bos": opt("tokenizer.ggml.bos_token_id"), "eos": eos, "pad": opt("tokenizer.ggml.padding_token_id"),
            "unk": opt("tokenizer.ggml.unknown_token_id"),
            "add_bos": bool(field(reader, "tokenizer.ggml.add_bos_token", False))}


# ---------------------------------------------------------------------------------------------------------------
# Output

def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def import_gguf(gguf_path: Path, out: Path, source_name: str | None = None) -> None:
    reader = GGUFReader(gguf_path)
    cfg = read_config(reader)
    tokenizer, added = build_tokenizer(reader)
    tokens = list(field(reader, "tokenizer.ggml.tokens"))
    ids = special_ids(reader, tokens)
    weights = read_weights(reader, cfg)
    tied = "lm_head.weight" not in weights
    vocab_size = weights["model.embed_tokens.weight"].shape[0]
    if vocab_size != len(tokens):
        raise ImportError_(f"embedding has {vocab_size} rows but the vocabulary has {len(tokens)} tokens")

    out.mkdir(parents=True, exist_ok=True)
    config = {
        "_name_or_path": source_name or gguf_path.name,
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        **cfg,
        "vocab_size": vocab_size,
        "hidden_act": "silu",
        "attention_bias": False,
        "mlp_bias": False,
        "rope_scaling": None,
        "tie_word_embeddings": tied,
        # This project prepends config's bos_token_id to every prompt; the GGUF says whether to (SmolLM2: no).
        "bos_token_id": ids["bos"] if ids["add_bos"] else None,
        "eos_token_id": ids["eos"],
        "pad_token_id": ids["pad"],
        "torch_dtype": "float32",
        "initializer_range": 0.02,
        "pretraining_tp": 1,
        "use_cache": True,
    }
    write_json(out / "config.json", config)
    write_json(out / "generation_config.json",
               {"bos_token_id": ids["bos"], "eos_token_id": ids["eos"], "pad_token_id": ids["pad"]})
    name = lambda i: tokens[i] if i is not None else None  # noqa: E731
    special = [a["content"] for a in added if a["special"]]
    write_json(out / "tokenizer.json", tokenizer)
    write_json(out / "tokenizer_config.json", {
        "add_bos_token": ids["add_bos"],
        "add_eos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": {str(a["id"]): {k: v for k, v in a.items() if k != "id"} for a in added},
        "additional_special_tokens": special,
        "bos_token": name(ids["bos"]),
        "eos_token": name(ids["eos"][0]),
        "pad_token": name(ids["pad"]),
        "unk_token": name(ids["unk"]),
        "clean_up_tokenization_spaces": False,
        "model_max_length": cfg["max_position_embeddings"],
        "tokenizer_class": "GPT2Tokenizer",
        "vocab_size": len(tokens),
        "chat_template": field(reader, "tokenizer.chat_template", ""),
    })
    write_json(out / "special_tokens_map.json", {
        "bos_token": name(ids["bos"]), "eos_token": name(ids["eos"][0]), "pad_token": name(ids["pad"]),
        "unk_token": name(ids["unk"]), "additional_special_tokens": special,
    })
    save_file(weights, str(out / "model.safetensors"), metadata={"format": "pt", "source": gguf_path.name})


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gguf", type=Path, required=True, help="llama.cpp GGUF file (architecture llama)")
    parser.add_argument("--out", type=Path, required=True, help="output folder for the Hugging Face checkpoint")
    parser.add_argument("--source-name", help="provenance written as config.json _name_or_path (default: file name)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        import_gguf(args.gguf, args.out, args.source_name)
    except ImportError_ as e:
        print(f"gguf_to_hf: {e}", file=sys.stderr)
        return 1
    print(f"gguf_to_hf: wrote {args.out} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
