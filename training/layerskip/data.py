"""Corpus documents -> token streams (uint16/uint32 .bin files) with fill-in-the-middle examples mixed in,
and random fixed-length windows out of them for training and evaluation."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import numpy as np
import torch

from .corpus import read_docs
from .fim import fim_split, psm_tokens


def chunks(text: str, max_chars: int) -> list[str]:
    """Cut a file at line boundaries into pieces of at most ~max_chars, so that a FIM example (prefix, suffix
    and middle of ONE piece) usually fits in a training window."""
    out, cur, size = [], [], 0
    for line in text.splitlines(keepends=True):
        if size + len(line) > max_chars and cur:
            out.append("".join(cur))
            cur, size = [], 0
        cur.append(line)
        size += len(line)
    if cur:
        out.append("".join(cur))
    return out


def tokenize_split(docs_path: Path, out_path: Path, tokenizer, fim_ids: dict[str, int], fim_rate: float,
                   chunk_chars: int, seed: int, batch: int = 256) -> int:
    """Writes the token stream of one split; returns its length. Each piece becomes either its plain tokens or, with
    probability fim_rate, the PSM example `<PRE> prefix <SUF> suffix <MID> middle <EOT>`; `<|endoftext|>` follows
    the last piece of a document only. (The first GPU run put it after every piece, cut at line boundaries, and the
    model learnt to end its output at line starts.) The choice and the cut points are seeded by the piece's content,
    so rebuilding gives the same stream."""
    dtype = np.uint16 if tokenizer.get_vocab_size() <= 65536 else np.uint32
    n = 0
    with open(out_path, "wb") as f:
        pending: list[tuple[tuple[str, ...], bool]] = []  # (piece or its FIM parts, ends its document)

        def flush():
            nonlocal n
            flat = [p for item, _ in pending for p in item]
            encoded = tokenizer.encode_batch(flat, add_special_tokens=False)
            i, stream = 0, []
            for item, ends_document in pending:
                ids = [e.ids for e in encoded[i : i + len(item)]]
                i += len(item)
                stream += psm_tokens(ids[0], ids[1], ids[2], fim_ids) if len(item) == 3 else ids[0]  # 3: (prefix, middle, suffix)
                if ends_document:
                    stream.append(fim_ids["sep"])
            np.asarray(stream, dtype=dtype).tofile(f)
            n += len(stream)
            pending.clear()

        for doc in read_docs(docs_path):
            pieces = chunks(doc["text"], chunk_chars)
            for k, piece in enumerate(pieces):
                rng = random.Random(int(hashlib.sha256(f"{seed}:{piece}".encode()).hexdigest()[:16], 16))
                pending.append((fim_split(piece, rng) if rng.random() < fim_rate else (piece,), k == len(pieces) - 1))
                if len(pending) >= batch:
                    flush()
        if pending:
            flush()
    return n


def build_token_streams(corpus_dir: Path, tokenizer_dir: Path, out_dir: Path, fim_ids: dict[str, int],
                        fim_rate: float, chunk_chars: int, seed: int = 0, log=print) -> dict:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json"))
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {"dtype": "uint16" if tok.get_vocab_size() <= 65536 else "uint32", "fim_rate": fim_rate,
            "chunk_chars": chunk_chars, "fim_ids": fim_ids}
    for split in ("train", "valid"):
        meta[f"{split}_tokens"] = tokenize_split(corpus_dir / f"{split}.jsonl.gz", out_dir / f"{split}.bin", tok,
                                                 fim_ids, fim_rate, chunk_chars, seed)
    (out_dir / "tokens.json").write_text(json.dumps(meta, indent=1) + "\n")
    log(f"tokens: train {meta['train_tokens']:,}, valid {meta['valid_tokens']:,}")
    return meta


def load_stream(tokens_dir: Path, split: str) -> np.ndarray:
    meta = json.loads((tokens_dir / "tokens.json").read_text())
    return np.memmap(tokens_dir / f"{split}.bin", dtype=meta["dtype"], mode="r")


def random_batch(stream: np.ndarray, batch: int, seq_len: int, gen: torch.Generator) -> torch.Tensor:
    """[batch, seq_len + 1] windows at random offsets (inputs = [:, :-1], labels = [:, 1:])."""
    starts = torch.randint(0, len(stream) - seq_len - 1, (batch,), generator=gen).tolist()
    return torch.from_numpy(np.stack([stream[s : s + seq_len + 1].astype(np.int64) for s in starts]))


def eval_windows(stream: np.ndarray, seq_len: int, max_windows: int) -> torch.Tensor:
    """Consecutive non-overlapping windows from the start of the held-out stream: the same tokens every time."""
    n = min(max_windows, (len(stream) - 1) // seq_len)
    return torch.from_numpy(np.stack([stream[i * seq_len : i * seq_len + seq_len + 1].astype(np.int64) for i in range(n)]))
