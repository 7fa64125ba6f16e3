"""Contract tests shared by both networks."""

from __future__ import annotations

import pytest
import torch

from brainmets.networks import AttentionUNet, UNetPlusPlus, build_model, count_parameters

SMALL = (4, 8, 16, 32)


@pytest.mark.parametrize("name", ["unetpp", "attention_unet"])
@pytest.mark.parametrize("size", [(64, 64), (33, 47), (128, 96), (17, 17)])
def test_output_matches_input_size(name: str, size: tuple[int, int]) -> None:
    model = build_model(name, widths=SMALL).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 1, *size))
    assert out.shape == (2, 1, *size)


@pytest.mark.parametrize("name", ["unetpp", "attention_unet"])
def test_gradients_reach_every_parameter(name: str) -> None:
    model = build_model(name, widths=SMALL, deep_supervision=True)
    x = torch.randn(2, 1, 32, 32)
    outputs = model.forward_deep_supervision(x)
    torch.stack([o.mean() for o in outputs]).sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]
    assert missing == []


def test_attention_coefficients_are_in_unit_interval_finest_first() -> None:
    model = AttentionUNet(widths=SMALL).eval()
    with torch.no_grad():
        logits, alphas = model.forward_with_attention(torch.randn(1, 1, 40, 52))
    assert logits.shape == (1, 1, 40, 52)
    assert [a.shape[-2:] for a in alphas] == [(40, 52), (20, 26), (10, 13)]
    for a in alphas:
        assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0


def test_attention_unet_deep_supervision_adds_a_head_per_coarser_level_and_predicts_with_the_finest() -> None:
    torch.manual_seed(0)
    plain = AttentionUNet(widths=SMALL).eval()
    deep = AttentionUNet(widths=SMALL, deep_supervision=True).eval()
    # Weights trained either way load into the other: the prediction head is the same module.
    missing, unexpected = deep.load_state_dict(plain.state_dict(), strict=False)
    assert unexpected == [] and sorted({k.split(".")[1] for k in missing}) == ["0", "1"]
    x = torch.randn(2, 1, 36, 44)
    with torch.no_grad():
        heads = deep.forward_deep_supervision(x)
        assert [h.shape for h in heads] == [(2, 1, 36, 44)] * (len(SMALL) - 1)
        assert torch.allclose(heads[-1], plain(x), atol=1e-6)
        assert torch.allclose(deep(x), plain(x), atol=1e-6)
        # The coarser heads see coarser grids: their logits are smoother than the finest head's.
        roughness = [float((h[..., 1:] - h[..., :-1]).abs().mean() / h.std()) for h in heads]
        assert roughness[0] < roughness[-1]
        assert plain.forward_deep_supervision(x)[0].shape == (2, 1, 36, 44)
        assert len(plain.forward_deep_supervision(x)) == 1


def test_unetpp_heads_and_inference_choice() -> None:
    torch.manual_seed(0)
    last = UNetPlusPlus(widths=SMALL, inference_head="last").eval()
    mean = UNetPlusPlus(widths=SMALL, inference_head="mean").eval()
    mean.load_state_dict(last.state_dict())
    x = torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        heads = last.forward_deep_supervision(x)
        assert len(heads) == len(SMALL) - 1
        assert torch.allclose(last(x), heads[-1], atol=1e-5)
        assert torch.allclose(mean(x), torch.stack(heads).mean(0), atol=1e-5)


def test_unetpp_has_the_nested_grid_of_nodes() -> None:
    model = UNetPlusPlus(widths=(4, 8, 16, 32, 64))
    expected = {f"x_{i}_{j}" for j in range(5) for i in range(5 - j)}
    assert set(model.nodes.keys()) == expected


def test_default_widths_give_comparable_sizes() -> None:
    a, b = count_parameters(UNetPlusPlus()), count_parameters(AttentionUNet())
    assert 0.75 < a / b < 1.33


def test_unknown_model_name_lists_the_choices() -> None:
    with pytest.raises(KeyError, match="unetpp, attention_unet"):
        build_model("segformer")


def test_input_of_wrong_rank_is_refused_with_its_shape() -> None:
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        UNetPlusPlus(widths=SMALL)(torch.randn(1, 32, 32))
