import torch

from layerskip.model import LlamaConfig, random_model
from layerskip.recipe import active_exits, early_exit_loss, layer_dropout_rates, normalised_scales


def test_one_layerskip_step_reduces_the_loss():
    cfg = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=4,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=8)
    model = random_model(cfg, seed=1)
    torch.manual_seed(0)
    batch = torch.randint(0, 64, (4, 17))
    exits = active_exits(4, 0, "rotational", rotation=2)
    scales = normalised_scales(4, 1.0, exits)
    drop = layer_dropout_rates(4, 0.2)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    no_drop = [0.0] * 4
    with torch.no_grad():
        before, per_layer = early_exit_loss(model, batch[:, :-1], batch[:, 1:], no_drop, scales)
    assert sorted(per_layer) == exits
    loss, _ = early_exit_loss(model, batch[:, :-1], batch[:, 1:], drop, scales)
    loss.backward()
    # the shared head/norm get gradient from every active exit, the embedding too
    assert model.model.norm.weight.grad is not None and model.model.embed_tokens.weight.grad.abs().sum() > 0
    opt.step()
    with torch.no_grad():
        after, _ = early_exit_loss(model, batch[:, :-1], batch[:, 1:], no_drop, scales)
    assert after.item() < before.item() - 0.01
