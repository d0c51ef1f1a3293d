"""The LayerSkip training recipe: layer-dropout schedule, early-exit loss scales, exit curricula, the loss itself.
Formulas follow Elhoushi et al. 2024, section 4 (see shared/notes/layerskip.md)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def layer_dropout_rates(num_layers: int, p_max: float, step: int = 0, total_steps: int = 1,
                        from_scratch: bool = False) -> list[float]:
    """p_l = S(t) * D(l) * p_max with D(l) = exp(l ln2 / (L-1)) - 1: 0 for the first layer, p_max for the last.
    S(t) = 1 for continual pretraining; exp(t ln2 / (T-1)) - 1 (0 -> 1 over training) from scratch."""
    if num_layers == 1:
        return [0.0]
    s = math.exp(step * math.log(2) / max(1, total_steps - 1)) - 1 if from_scratch else 1.0
    return [s * p_max * (math.exp(l * math.log(2) / (num_layers - 1)) - 1) for l in range(num_layers)]


def early_exit_scales(num_layers: int, e_scale: float) -> list[float]:
    """Unnormalised e(l): e_scale * sum_{i<=l} i for l < L-1; the last layer gets L-1 + e_scale * sum_{i<=L-2} i,
    so it always outweighs every early exit (and e(0) = 0: the first layer alone is not asked to predict)."""
    last = num_layers - 1
    e = [e_scale * l * (l + 1) / 2 for l in range(last)]
    return e + [last + e_scale * (last - 1) * last / 2]


def normalised_scales(num_layers: int, e_scale: float, active: list[int]) -> dict[int, float]:
    """e~(t, l): the scales of the layers whose exit loss is on in this step, summing to 1."""
    e = early_exit_scales(num_layers, e_scale)
    total = sum(e[l] for l in active)
    return {l: e[l] / total for l in active}


def active_exits(num_layers: int, step: int, curriculum: str, total_steps: int = 1, rotation: int = 8) -> list[int]:
    """Layers whose exit loss is computed at `step`. The last layer (the model's own output) is always on.
    rotational: every `rotation`-th layer, the set shifting by one layer each step (each layer on once per R steps).
    gradual: exits switch on from the last layer downwards during the first half of training, then all stay on.
    none: all layers every step."""
    last = num_layers - 1
    if curriculum == "none":
        layers = list(range(last))
    elif curriculum == "rotational":
        layers = [l for l in range(last) if (l - step) % rotation == 0]
    elif curriculum == "gradual":
        half = max(1, total_steps // 2)
        enabled = math.ceil(last * min(1.0, (step + 1) / half))
        layers = list(range(last - enabled, last))
    else:
        raise ValueError(f"unknown curriculum {curriculum!r}")
    return layers + [last]


def early_exit_loss(model, input_ids: torch.Tensor, labels: torch.Tensor, layer_drop: list[float],
                    scales: dict[int, float], ignore_index: int = -100) -> tuple[torch.Tensor, dict[int, float]]:
    """J = sum_l e~(l) * CE(head(norm(h_l)), y) over the active exits, every exit through the SAME final norm and
    LM head. Returns the loss and each active exit's CE (for logging)."""
    hidden = model.hidden_states(input_ids, layer_drop=layer_drop, exits=set(scales))
    total, per_layer = 0.0, {}
    for l, h in hidden.items():
        logits = model.exit_logits(h)
        ce = F.cross_entropy(logits.float().flatten(0, 1), labels.flatten(), ignore_index=ignore_index)
        per_layer[l] = ce.item()
        total = total + scales[l] * ce
    return total, per_layer
