"""Write a random Llama GGUF of a given shape, quantized the way the bundled model is (Q4_1 linears, Q8_0 embedding).

    python random_gguf.py --template SmolLM2-135M-Instruct.Q4_1.gguf --out random.gguf \
        --layers 16 --hidden 2048 --intermediate 8192 --heads 32 --kv-heads 8 --vocab 128256

For benchmarks only (server/bench/peer.ts through scripts/bench-peer-shape.sh): llama.cpp reads this file and this
project's converter reads the same weights through gguf_to_hf.py, so both sides run identical weights of a shape we
have no real checkpoint of. The blocks are random (4-bit codes uniform, scales near Llama's 0.02 initialisation by default), the
embedding is tied (no output.weight), and the tokenizer is the template's byte-level BPE with the vocabulary padded to
--vocab by unused tokens (no merge reaches them). No rope scaling: gguf_to_hf.py imports none, and it does not change
what a token costs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader, GGUFWriter

TOKEN_TYPE_UNUSED = 5
Q4_1_LEVELS = 16
BLOCK = 32


def q4_1_blocks(rng: np.random.Generator, rows: int, cols: int, std: float) -> np.ndarray:
    """[rows, cols / 32 * 20] bytes (the writer reads the element shape from the byte shape) of Q4_1 blocks (fp16 d, fp16 m, 16 bytes of 4-bit codes) centred on zero."""
    blocks = rows * cols // BLOCK
    # codes uniform on 0..15 have a standard deviation of ~4.6 steps
    d = (std / 4.6 * rng.uniform(0.8, 1.2, blocks)).astype(np.float16)
    m = (-(Q4_1_LEVELS - 1) / 2 * d.astype(np.float32)).astype(np.float16)
    out = np.empty((blocks, 20), dtype=np.uint8)
    out[:, 0:2] = d.view(np.uint8).reshape(blocks, 2)
    out[:, 2:4] = m.view(np.uint8).reshape(blocks, 2)
    out[:, 4:] = rng.integers(0, 256, (blocks, 16), dtype=np.uint8)
    # as llama.cpp's quantizer leaves them: each block's minimum on code 0 and maximum on code 15 (elements 0 and 1,
    # the low nibbles of the first two bytes), so that a min/max requantization finds the same grid
    out[:, 4] &= 0xF0
    out[:, 5] |= 0x0F
    return out.reshape(rows, -1)


def q8_0_blocks(rng: np.random.Generator, rows: int, cols: int, std: float) -> np.ndarray:
    """[rows, cols / 32 * 34] bytes of Q8_0 blocks (fp16 d, 32 int8 codes)."""
    blocks = rows * cols // BLOCK
    # int8 codes uniform on -127..127 have a standard deviation of ~73 steps
    d = (std / 73 * rng.uniform(0.8, 1.2, blocks)).astype(np.float16)
    out = np.empty((blocks, 34), dtype=np.uint8)
    out[:, 0:2] = d.view(np.uint8).reshape(blocks, 2)
    codes = rng.integers(-127, 128, (blocks, 32), dtype=np.int8)
    # as llama.cpp's quantizer leaves them: each block's largest magnitude on code +-127
    codes[:, 0] = np.where(rng.integers(0, 2, blocks) == 1, 127, -127)
    out[:, 2:] = codes.view(np.uint8)
    return out.reshape(rows, -1)


def copy_tokenizer(template: GGUFReader, writer: GGUFWriter, vocab: int) -> None:
    tokens = list(template.fields["tokenizer.ggml.tokens"].contents())
    types = list(template.fields["tokenizer.ggml.token_type"].contents())
    if vocab < len(tokens):
        raise SystemExit(f"--vocab {vocab} is smaller than the template's {len(tokens)} tokens")
    padding = vocab - len(tokens)
    writer.add_tokenizer_model(template.fields["tokenizer.ggml.model"].contents())
    writer.add_tokenizer_pre(template.fields["tokenizer.ggml.pre"].contents())
    writer.add_token_list(tokens + [f"<|unused_{i}|>" for i in range(padding)])
    writer.add_token_types(types + [TOKEN_TYPE_UNUSED] * padding)
    writer.add_token_merges(list(template.fields["tokenizer.ggml.merges"].contents()))
    for key, add in (("bos_token_id", writer.add_bos_token_id), ("eos_token_id", writer.add_eos_token_id),
                     ("unknown_token_id", writer.add_unk_token_id), ("padding_token_id", writer.add_pad_token_id)):
        field = template.fields.get(f"tokenizer.ggml.{key}")
        if field is not None:
            add(int(field.contents()))
    writer.add_add_bos_token(False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--template", type=Path, required=True, help="a GGUF whose byte-level BPE tokenizer is copied")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--layers", type=int, required=True)
    parser.add_argument("--hidden", type=int, required=True)
    parser.add_argument("--intermediate", type=int, required=True)
    parser.add_argument("--heads", type=int, required=True)
    parser.add_argument("--kv-heads", type=int, required=True)
    parser.add_argument("--vocab", type=int, required=True)
    parser.add_argument("--rope-theta", type=float, default=500000.0)
    parser.add_argument("--context", type=int, default=8192)
    parser.add_argument("--weight-std", type=float, default=0.02,
                        help="standard deviation of the weights (Llama's initialisation: 0.02; larger values make "
                             "attention sharper and the logits more sensitive to every weight, for tests)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    for name, value in (("hidden", args.hidden), ("intermediate", args.intermediate)):
        if value % BLOCK:
            raise SystemExit(f"--{name} {value} must be a multiple of {BLOCK} (one quantization block)")
    head_dim = args.hidden // args.heads
    rng = np.random.default_rng(args.seed)
    template = GGUFReader(args.template)

    writer = GGUFWriter(args.out, "llama")
    writer.add_name(f"random llama {args.layers}x{args.hidden} (benchmark only)")
    writer.add_block_count(args.layers)
    writer.add_context_length(args.context)
    writer.add_embedding_length(args.hidden)
    writer.add_feed_forward_length(args.intermediate)
    writer.add_head_count(args.heads)
    writer.add_head_count_kv(args.kv_heads)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(args.rope_theta)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(args.vocab)
    writer.add_file_type(3)  # mostly Q4_1
    copy_tokenizer(template, writer, args.vocab)

    def linear(name: str, rows: int, cols: int) -> None:
        writer.add_tensor(name, q4_1_blocks(rng, rows, cols, args.weight_std), raw_dtype=GGMLQuantizationType.Q4_1)

    ones = lambda n: np.ones(n, dtype=np.float32)  # noqa: E731
    writer.add_tensor("token_embd.weight", q8_0_blocks(rng, args.vocab, args.hidden, args.weight_std), raw_dtype=GGMLQuantizationType.Q8_0)
    writer.add_tensor("output_norm.weight", ones(args.hidden))
    for i in range(args.layers):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", ones(args.hidden))
        linear(f"blk.{i}.attn_q.weight", args.heads * head_dim, args.hidden)
        linear(f"blk.{i}.attn_k.weight", args.kv_heads * head_dim, args.hidden)
        linear(f"blk.{i}.attn_v.weight", args.kv_heads * head_dim, args.hidden)
        linear(f"blk.{i}.attn_output.weight", args.hidden, args.heads * head_dim)
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", ones(args.hidden))
        linear(f"blk.{i}.ffn_gate.weight", args.intermediate, args.hidden)
        linear(f"blk.{i}.ffn_up.weight", args.intermediate, args.hidden)
        linear(f"blk.{i}.ffn_down.weight", args.hidden, args.intermediate)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    main()
