"""Brings a trained checkpoint back from the GPU machine in as few device calls as possible, in the form the
repository keeps it (training/checkpoints/).

The device tool returns at most 64 MiB per call, and the trained bf16 weights are 270 MB (5 calls). This stores
every matrix as int8 with one fp16 scale per group of 64 input columns (the bundled package quantises to int4
afterwards, and an fp16 GPU package loses 0.4% of a group's largest value at most), everything else as float32,
gzips it (Python and Node both read gzip without extra packages) and cuts it into parts of 16 MB:

    weights.partNN = gzip( u64le n | JSON header (n bytes) | data ), cut every 16,000,000 bytes
    header = {tensor: {"shape": [..], "q": [offset, bytes], "scale": [offset, bytes]} | {"shape": [..], "raw": [...]}}
    weights.sha256 = sha256 of the joined parts

`scripts/unpack-checkpoint.ts` turns it back into a float32 Hugging Face checkpoint (npm run setup-model does);
`unpack` here does the same with PyTorch where there is no Node (the GPU machine, to resume training from a kept
checkpoint).

    python3 training/gpu/ship.py pack --model WORK/final --out DIR
    python3 training/gpu/ship.py unpack --parts DIR --meta training/checkpoints/NAME --out HF_DIR
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from layerskip.checkpoint import load_state_dict, save_safetensors  # noqa: E402

GROUP = 64
PART_BYTES = 16_000_000  # 4 parts + a small file stay under the tool's 64 MiB per call


def quantize(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    groups = w.reshape(-1, GROUP)
    scale = np.abs(groups).max(axis=1, keepdims=True) / 127
    q = np.round(groups / np.where(scale == 0, 1, scale)).astype(np.int8)
    return q.reshape(w.shape), scale.astype(np.float16).reshape(-1)


def pack(model: Path, out: Path) -> None:
    tensors = load_state_dict(model)
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        w = tensors[name].float().numpy()
        if w.ndim == 2 and w.shape[1] % GROUP == 0:
            q, scale = quantize(w)
            parts = {"q": q.tobytes(), "scale": scale.tobytes()}
        else:
            parts = {"raw": w.astype(np.float32).tobytes()}
        header[name] = {"shape": list(w.shape)}
        for kind, blob in parts.items():
            header[name][kind] = [offset, len(blob)]
            offset += len(blob)
            blobs.append(blob)
    head = json.dumps(header).encode()
    out.mkdir(parents=True, exist_ok=True)
    packed = gzip.compress(len(head).to_bytes(8, "little") + head + b"".join(blobs), compresslevel=6, mtime=0)
    (out / "weights.sha256").write_text(hashlib.sha256(packed).hexdigest() + "\n")
    for i in range(0, len(packed), PART_BYTES):
        (out / f"weights.part{i // PART_BYTES:02d}").write_bytes(packed[i : i + PART_BYTES])
    print(f"{len(tensors)} tensors -> {len(packed):,} bytes in {-(-len(packed) // PART_BYTES)} parts")


def unpack(parts_dir: Path, meta: Path, out: Path) -> None:
    packed = b"".join(p.read_bytes() for p in sorted(parts_dir.glob("weights.part*")))
    if hashlib.sha256(packed).hexdigest() != (parts_dir / "weights.sha256").read_text().split()[0]:
        sys.exit(f"{parts_dir}: the joined parts do not match weights.sha256 (a part is missing or damaged)")
    data = gzip.decompress(packed)
    n = int.from_bytes(data[:8], "little")
    header, base = json.loads(data[8 : 8 + n]), 8 + n

    def view(span: list[int], dtype) -> np.ndarray:
        return np.frombuffer(data, dtype=dtype, count=span[1] // np.dtype(dtype).itemsize, offset=base + span[0])

    out.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for name, entry in header.items():
        if "raw" in entry:
            w = view(entry["raw"], np.float32)
        else:
            q = view(entry["q"], np.int8).astype(np.float32).reshape(-1, GROUP)
            w = q * view(entry["scale"], np.float16).astype(np.float32)[:, None]
        tensors[name] = torch.from_numpy(w.reshape(entry["shape"]).copy())
    save_safetensors(tensors, out / "model.safetensors")
    for f in meta.glob("*.json"):
        shutil.copy(f, out / f.name)
    print(f"{len(tensors)} tensors -> {out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack", help="a trained checkpoint folder (WORK/final) -> parts")
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    u = sub.add_parser("unpack", help="parts + the checkpoint's json files -> a float32 Hugging Face checkpoint")
    u.add_argument("--parts", type=Path, required=True)
    u.add_argument("--meta", type=Path, required=True, help="training/checkpoints/NAME (config, tokenizer files)")
    u.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    pack(args.model, args.out) if args.cmd == "pack" else unpack(args.parts, args.meta, args.out)


if __name__ == "__main__":
    main()
