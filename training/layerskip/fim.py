"""Fill-in-the-middle, PSM order (prefix, suffix, middle), as the server's prompt builder lays it out:

    <PRE> prefix <SUF> suffix <MID> middle <EOT>

SmolLM2's vocabulary has no FIM tokens, so four special tokens are ADDED after the last id (49152..49155 for
SmolLM2) and the tied embedding is resized. They carry CodeLlama's names because the project's converter
(server/model/convert.ts) recognises FIM tokens by exactly those names among tokenizer.json's added tokens.
The three parts are tokenized separately, as the server tokenizes its prefix and suffix windows separately.
Plain (non-FIM) documents are separated by SmolLM2's own <|endoftext|>.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE, FIM_EOT = "<PRE>", "<SUF>", "<MID>", "<EOT>"
DOC_SEP = "<|endoftext|>"  # SmolLM2's document separator, between plain documents


def fim_split(text: str, rng: random.Random) -> tuple[str, str, str]:
    """Two uniformly random character positions cut the text into (prefix, middle, suffix)."""
    a, b = sorted(rng.randint(0, len(text)) for _ in range(2))
    return text[:a], text[a:b], text[b:]


def psm_tokens(prefix: list[int], middle: list[int], suffix: list[int], ids: dict[str, int]) -> list[int]:
    return [ids["prefix"], *prefix, ids["suffix"], *suffix, ids["middle"], *middle, ids["eot"]]


def parse_psm(tokens: list[int], ids: dict[str, int]) -> tuple[list[int], list[int], list[int]]:
    """Inverse of psm_tokens: (prefix, middle, suffix)."""
    if tokens[0] != ids["prefix"] or tokens[-1] != ids["eot"]:
        raise ValueError("not a PSM example")
    s = tokens.index(ids["suffix"])
    m = tokens.index(ids["middle"], s)
    return tokens[1:s], tokens[m + 1 : -1], tokens[s + 1 : m]


def add_fim_tokens(src_dir: Path, dst_dir: Path) -> dict[str, int]:
    """Copy tokenizer.json (+ tokenizer_config.json) from src_dir to dst_dir with the FIM tokens added as special
    tokens; returns the ids of prefix/suffix/middle/eot and of the document separator ("sep").
    Idempotent: tokens already present keep their ids."""
    from tokenizers import Tokenizer  # only the corpus/eval steps need the tokenizers package

    tok = Tokenizer.from_file(str(src_dir / "tokenizer.json"))
    tok.add_special_tokens([FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE, FIM_EOT])
    dst_dir.mkdir(parents=True, exist_ok=True)
    tok.save(str(dst_dir / "tokenizer.json"))
    ids = {"prefix": tok.token_to_id(FIM_PREFIX), "suffix": tok.token_to_id(FIM_SUFFIX),
           "middle": tok.token_to_id(FIM_MIDDLE), "eot": tok.token_to_id(FIM_EOT), "sep": tok.token_to_id(DOC_SEP)}
    if ids["sep"] is None:
        raise ValueError(f"tokenizer has no {DOC_SEP} token")
    config = src_dir / "tokenizer_config.json"
    if config.exists():
        cfg = json.loads(config.read_text())
        decoder = cfg.setdefault("added_tokens_decoder", {})
        for name in (FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE, FIM_EOT):
            decoder[str(tok.token_to_id(name))] = {"content": name, "lstrip": False, "normalized": False,
                                                   "rstrip": False, "single_word": False, "special": True}
        extra = cfg.get("additional_special_tokens") or []
        cfg["additional_special_tokens"] = extra + [t for t in (FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE, FIM_EOT) if t not in extra]
        (dst_dir / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2, ensure_ascii=False) + "\n")
    return ids


def manifest_fim() -> dict[str, str]:
    """What the model package's manifest.tokenizer.fim must say for a model trained here."""
    return {"prefix": FIM_PREFIX, "suffix": FIM_SUFFIX, "middle": FIM_MIDDLE, "eot": FIM_EOT}
