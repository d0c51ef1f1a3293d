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
