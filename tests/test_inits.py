"""``init.perturb``: a seeded perturbation of a deterministic start, for real seed replicates."""

from __future__ import annotations

import pytest
import torch
from hydra.utils import instantiate

from nst_research.configs.compose import compose
from nst_research.errors import ConfigError
from nst_research.optimisation.inits import from_content, from_style, perturbed


def test_perturb_zero_is_the_start_itself() -> None:
    content = torch.rand(1, 3, 8, 6)
    assert from_content(content, content, 0) is content  # the default: today's pixels
    assert perturbed(content, 0.0, 7) is content


def test_perturb_is_bounded_and_seeded() -> None:
    content = torch.full((1, 3, 16, 12), 0.5)
    a, a_again, b = (from_content(content, content, s, perturb=0.1) for s in (1, 1, 2))
    assert torch.equal(a, a_again)  # the same seed, the same start
    assert not torch.equal(a, b)  # another seed, another start
    assert (a - content).abs().max() <= 0.1 + 1e-7
    assert (a - content).abs().max() > 0.09  # uniform in [-0.1, 0.1]: reaches near the bound
    assert abs(float((a - content).mean())) < 0.01  # zero mean
    style = torch.rand(1, 3, 32, 24)
    s = from_style(content, style, 3, perturb=0.2)
    assert s.shape == content.shape and not torch.equal(s, from_style(content, style, 3))


def test_perturb_out_of_range_is_one_line() -> None:
    with pytest.raises(ConfigError, match=r"init.perturb=1.5 must be in \[0, 1\]"):
        perturbed(torch.zeros(1, 3, 2, 2), 1.5, 0)


def test_perturb_is_a_key_of_init() -> None:
    assert compose([]).init.perturb == 0.0  # off by default
    cfg = compose(["init.perturb=0.05", "init=style"])
    init = instantiate(cfg.init)
    image = torch.full((1, 3, 8, 8), 0.5)
    assert not torch.equal(init(image, image, 0), image)
