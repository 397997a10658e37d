"""Every weight, factor and ratio option of a term, schedule, optimiser or backbone refuses
inf, nan, a bool, a quoted number and a wrong sign in one line naming its key (the probe found
``loss.histogram_weight=inf`` accepted; these are the sites of the same check)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nst_research.backbones.resnet import RandomResNet50
from nst_research.errors import ConfigError
from nst_research.methods.addons import AddOns
from nst_research.methods.hypercolumn_terms import HypercolumnREMD, NeighbourFit
from nst_research.methods.terms import RelaxedEMDLoss
from nst_research.optimisation.optimizers import sgd
from nst_research.optimisation.schedules import Scales, Single

SITES = {
    "loss.histogram_weight": lambda v: AddOns(histogram_weight=v),
    "loss.laplacian_weight": lambda v: AddOns(laplacian_weight=v),
    "style_loss.moment_weight": lambda v: HypercolumnREMD(moment_weight=v),
    "style_loss.moment_weight ": lambda v: RelaxedEMDLoss(moment_weight=v),
    "style_loss.palette_weight": lambda v: HypercolumnREMD(rgb=True, palette_weight=v),
    "style_loss.rgb_scale": lambda v: HypercolumnREMD(rgb=True, rgb_scale=v),
    "style_loss.feature_scale": lambda v: HypercolumnREMD(feature_scale=v),
    "optimizer.momentum": lambda v: sgd([torch.nn.Parameter(torch.zeros(1))], momentum=v),
    "model.temperature": lambda v: RandomResNet50(temperature=v),
    "schedule.content_decay": lambda v: Single(content_decay=v),
    "schedule.last_lr": lambda v: Single(last_lr=v),
    "schedule.ratio": lambda v: Scales(ratio=v),
    "schedule.first": lambda v: Scales(first=v),
    "content_loss.alpha": lambda v: NeighbourFit(alpha=v),
}
BAD = [math.inf, -math.inf, math.nan, True, "1", -1.0, None, [1.0]]


@settings(max_examples=200, deadline=None)
@given(key=st.sampled_from(sorted(SITES)), bad=st.sampled_from(BAD))
def test_bad_numbers_are_one_line_naming_the_key(key, bad):
    with pytest.raises(ConfigError) as e:
        SITES[key](bad)
    assert key.strip() in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("key", sorted(SITES))
def test_a_good_number_is_taken(key):
    SITES[key](0.5 if "alpha" in key else 2.0)  # no error
