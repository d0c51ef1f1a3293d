import torch

from layerskip.checkpoint import load_safetensors, save_safetensors
from layerskip.model import LlamaConfig, LlamaForCausalLM, random_model

CFG = dict(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=4, num_attention_heads=4,
           num_key_value_heads=2, head_dim=8, rope_theta=100000.0, tie_word_embeddings=True)


def test_hf_parameter_names():
    names = set(random_model(LlamaConfig(**CFG)).hf_state_dict())
    assert "model.embed_tokens.weight" in names and "model.norm.weight" in names
    assert "lm_head.weight" not in names  # tied: not stored, as in HF checkpoints
    for part in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj",
                 "mlp.up_proj", "mlp.down_proj", "input_layernorm", "post_attention_layernorm"):
        assert f"model.layers.3.{part}.weight" in names
    assert random_model(LlamaConfig(**CFG)).hf_state_dict()["model.layers.0.self_attn.k_proj.weight"].shape == (16, 32)


def test_safetensors_round_trip(tmp_path):
    tensors = {"a": torch.randn(3, 5), "b": torch.arange(7, dtype=torch.int64), "c": torch.randn(2, 2).to(torch.bfloat16)}
    save_safetensors(tensors, tmp_path / "x.safetensors")
    raw = (tmp_path / "x.safetensors").read_bytes()
    assert (8 + int.from_bytes(raw[:8], "little")) % 8 == 0
    back = load_safetensors(tmp_path / "x.safetensors")
    assert all(torch.equal(tensors[k], back[k]) for k in tensors)


def test_save_and_load_pretrained_gives_identical_logits(tmp_path):
    model = random_model(LlamaConfig(**CFG))
    model.save_pretrained(tmp_path)
    again = LlamaForCausalLM.from_pretrained(tmp_path)
    ids = torch.randint(0, 64, (2, 9))
    assert torch.equal(model(ids), again(ids))
    assert again.lm_head.weight.data_ptr() == again.model.embed_tokens.weight.data_ptr()


def test_attention_is_causal():
    model = random_model(LlamaConfig(**CFG)).eval()
    a = torch.randint(0, 64, (1, 10))
    b = a.clone()
    b[0, 6:] = (b[0, 6:] + 1) % 64
    with torch.no_grad():
        la, lb = model(a), model(b)
    assert torch.allclose(la[0, :6], lb[0, :6], atol=1e-6)
    assert not torch.allclose(la[0, 6:], lb[0, 6:])


def test_layer_dropout_skips_whole_layers_per_sample():
    model = random_model(LlamaConfig(**CFG)).eval()
    ids = torch.randint(0, 64, (3, 5))
    with torch.no_grad():
        full = model.hidden_states(ids)
        dropped = model.hidden_states(ids, layer_drop=[0.0, 1.0, 0.0, 0.0])  # layer 1 always skipped
        emb = model.model.embed_tokens(ids)
    assert torch.equal(dropped[1], dropped[0])  # the residual stream passes layer 1 unchanged
    assert not torch.allclose(dropped[1], full[1])
    torch.manual_seed(0)
    with torch.no_grad():
        half = model.hidden_states(ids, layer_drop=[0.5] * 4, exits={0})[0]
    # each sample either ran layer 0 or kept its embedding, with no mixing inside a sample
    for i in range(3):
        assert torch.allclose(half[i], full[0][i], atol=1e-6) or torch.equal(half[i], emb[i])


def test_resize_vocab_keeps_old_logits():
    model = random_model(LlamaConfig(**CFG)).eval()
    ids = torch.randint(0, 64, (1, 6))
    with torch.no_grad():
        before = model(ids)
        model.resize_vocab(67)
        after = model(ids)
    assert after.shape[-1] == 67 and model.config.vocab_size == 67
    assert torch.allclose(before, after[..., :64], atol=1e-6)
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()


def test_cached_greedy_decoding_matches_full_recompute():
    model = random_model(LlamaConfig(**CFG)).eval()
    prompt = [3, 14, 15, 9, 26]
    out = model.generate_greedy(prompt, 8, stop=set())
    seq = list(prompt)
    with torch.no_grad():
        for _ in range(8):
            seq.append(int(model(torch.tensor([seq]))[0, -1].argmax()))
    assert out == seq[len(prompt):]
