"""Write a float32 copy of a GGUF (same metadata, same tensor names and llama.cpp row order, dequantized values).

    python dequantize_gguf.py <in.gguf> <out-f32.gguf>

Why: llama.cpp multiplies quantized weights with activations that it rounds to 8 bits, so the original Q4_1 file
is a slightly noisy oracle. On an all-F32 file llama.cpp computes in float32, which isolates import mistakes
(rotary permutation, norms, attention layout, tokenizer) from quantization noise: the imported checkpoint and this
file hold the same numbers, so their logits must agree to float32 rounding.
"""

from __future__ import annotations

import sys

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter, LlamaFileType
from gguf.quants import dequantize


def main(src: str, dst: str) -> None:
    reader = GGUFReader(src)
    writer = GGUFWriter(dst, arch=reader.fields["general.architecture"].contents())
    for f in reader.fields.values():
        if f.name.startswith("GGUF.") or f.name in ("general.architecture", "general.file_type"):
            continue  # written by GGUFWriter itself / replaced below
        sub_type = f.types[-1] if f.types[0] == GGUFValueType.ARRAY else None
        writer.add_key_value(f.name, f.contents(), f.types[0], sub_type=sub_type)
    writer.add_file_type(LlamaFileType.ALL_F32)
    for t in reader.tensors:
        w = dequantize(t.data, GGMLQuantizationType(t.tensor_type)).astype(np.float32)
        writer.add_tensor(t.name, w.reshape([int(n) for n in reversed(t.shape)]))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python dequantize_gguf.py <in.gguf> <out-f32.gguf>")
    main(sys.argv[1], sys.argv[2])
