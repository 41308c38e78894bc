"""The real models' table (lowerbound.models) and Corollary C2 on it."""

from __future__ import annotations

from fractions import Fraction

import pytest

from lowerbound.bound import fp16_cache_bits, model_bound_bits
from lowerbound.models import MODELS, PATCH_NUMS, model_spec
from reduction.schedule import PRESETS, Schedule

# Published fp16 cache per image, one guidance branch, MiB (one decimal).
SPEC_MIB = {("var-d16", 256): "42.5", ("var-d20", 256): "66.4", ("var-d24", 256): "95.6",
            ("var-d30", 256): "149.4", ("var-d36", 512): "708.8"}


def test_patch_nums_agree_with_reduction_presets() -> None:
    """One source of truth: models' patch_nums equal reduction.schedule.PRESETS."""
    for name, sides in PATCH_NUMS.items():
        assert PRESETS[name] == sides


@pytest.mark.parametrize("key", sorted(MODELS))
def test_model_sizes_follow_the_var_recipe(key: tuple[str, int]) -> None:
    """width = heads * head_dim; VAR: heads = depth, head dim 64; tokens from the schedule."""
    m = MODELS[key]
    assert m.width == m.heads * m.head_dim
    if m.name.startswith("var-"):
        assert (m.heads, m.head_dim, m.width) == (m.depth, 64, 64 * m.depth)
        assert m.logit_cap == 100
    s = Schedule.preset(m.schedule)
    assert (m.cached_tokens, m.last_scale_tokens, m.total_tokens) == (
        s.cached_tokens, s.last_scale_tokens, s.total_tokens)


def test_fp16_cache_matches_compressors_md() -> None:
    """C2: 2 D L_K H d_head 16 bits reproduces the published MiB for every released VAR."""
    for key, text in SPEC_MIB.items():
        m = MODELS[key]
        assert m.released
        mib = Fraction(fp16_cache_bits(m.depth, m.heads, m.head_dim, m.total_tokens), 8 * 2**20)
        assert abs(mib - Fraction(text)) <= Fraction(1, 20), (key, float(mib))


def test_model_bound_adds_heads_and_layers() -> None:
    """C2: model bound = D * H * (per-head bound), hand-checked for VAR-d16 (16*16*64*424)."""
    m = model_spec("var-d16")
    assert model_bound_bits(m.depth, m.heads, m.head_dim, m.cached_tokens, 0.75) == (
        16 * 16 * 64 * 424)


def test_released_resolutions_and_unknown_names() -> None:
    """Defaults are the released checkpoints; unknown names/resolutions are named."""
    assert model_spec("var-d30").resolution == 256
    assert model_spec("var-d36").resolution == 512
    assert model_spec("infinity-2b").total_tokens == 10521
    with pytest.raises(ValueError, match="var-d99"):
        model_spec("var-d99")
    with pytest.raises(ValueError, match="resolution=1024"):
        model_spec("var-d16", 1024)
