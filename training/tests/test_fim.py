import json
import random

import pytest

from layerskip.data import chunks
from layerskip.fim import fim_split, parse_psm, psm_tokens

IDS = {"prefix": 100, "suffix": 101, "middle": 102, "eot": 0}


def test_fim_split_round_trips_text():
    rng = random.Random(1)
    text = "def add(a, b):\n    return a + b\n"
    for _ in range(200):
        prefix, middle, suffix = fim_split(text, rng)
        assert prefix + middle + suffix == text


def test_psm_layout_matches_the_server_prompt_and_parses_back():
    prefix, middle, suffix = [5, 6], [7], [8, 9, 10]
    tokens = psm_tokens(prefix, middle, suffix, IDS)
    # the server's prompt is exactly the part up to and including <fim_middle>; the model continues with middle+eot
    assert tokens == [100, 5, 6, 101, 8, 9, 10, 102, 7, 0]
    assert parse_psm(tokens, IDS) == (prefix, middle, suffix)


def test_psm_with_empty_parts():
    assert parse_psm(psm_tokens([], [], [], IDS), IDS) == ([], [], [])
    with pytest.raises(ValueError):
        parse_psm([1, 2, 3], IDS)


def test_chunks_cut_at_line_boundaries_and_keep_everything():
    text = "".join(f"line {i}\n" for i in range(100))
    pieces = chunks(text, 50)
    assert "".join(pieces) == text
    assert all(p.endswith("\n") for p in pieces)
    assert all(len(p) <= 50 for p in pieces)


def test_add_fim_tokens_appends_special_tokens(tmp_path):
    tokenizers = pytest.importorskip("tokenizers")
    from layerskip.fim import add_fim_tokens

    tok = tokenizers.Tokenizer(tokenizers.models.BPE())
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel()
    tok.train_from_iterator(["def f(x):\n    return x\n"] * 10,
                            tokenizers.trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"]))
    src = tmp_path / "src"
    src.mkdir()
    tok.save(str(src / "tokenizer.json"))
    n = tok.get_vocab_size()
    ids = add_fim_tokens(src, tmp_path / "dst")
    assert ids == {"prefix": n, "suffix": n + 1, "middle": n + 2, "eot": n + 3, "sep": 0}
    again = tokenizers.Tokenizer.from_file(str(tmp_path / "dst" / "tokenizer.json"))
    # a special token in running text becomes one id, as the server's tokenizer must see it
    assert again.encode("<PRE>def", add_special_tokens=False).ids[0] == n
    # the names the project's converter looks for among the added tokens
    added = {t["content"] for t in json.loads((tmp_path / "dst" / "tokenizer.json").read_text())["added_tokens"]}
    assert {"<PRE>", "<SUF>", "<MID>", "<EOT>"} <= added


def test_token_stream_ends_documents_not_pieces(tmp_path):
    """<|endoftext|> after each document's last piece only: after every piece (cut at line boundaries) the first GPU
    run's model learnt to end its output at line starts."""
    import gzip

    import numpy as np
    tokenizers = pytest.importorskip("tokenizers")
    from layerskip.data import tokenize_split

    docs = ["".join(f"value_{d}_{i} = {i}\n" for i in range(40)) for d in range(2)]
    path = tmp_path / "train.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for text in docs:
            f.write(json.dumps({"text": text}) + "\n")
    tok = tokenizers.Tokenizer(tokenizers.models.BPE())
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = tokenizers.decoders.ByteLevel()
    tok.train_from_iterator(docs, tokenizers.trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<|endoftext|>"], initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet()))
    n = tok.get_vocab_size()
    ids = {"prefix": n, "suffix": n + 1, "middle": n + 2, "eot": n + 3, "sep": 0}
    for fim_rate in (0.0, 1.0):
        out = tmp_path / f"stream-{fim_rate}.bin"
        tokenize_split(path, out, tok, ids, fim_rate, chunk_chars=100, seed=0, batch=3)
        stream = np.fromfile(out, dtype=np.uint16).tolist()
        assert len(docs[0]) > 5 * 100  # several pieces per document
        assert stream.count(ids["sep"]) == len(docs), fim_rate
        if fim_rate == 0.0:
            assert tok.decode(stream, skip_special_tokens=False) == docs[0] + "<|endoftext|>" + docs[1] + "<|endoftext|>"
