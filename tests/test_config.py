"""Every config group composes; bad keys fail at compose time; bad values fail in validate()."""

from __future__ import annotations

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ValidationError

from nst_research.config import layer_weights, validate
from nst_research.errors import ConfigError
from tests.conftest import CONF_DIR

GROUPS = sorted(p.name for p in CONF_DIR.iterdir() if p.is_dir())


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def test_defaults_compose_and_validate(compose):
    cfg = compose()
    content, style = validate(cfg)
    assert content == {"relu4_2": 1.0}
    assert set(style) == {f"relu{i}_1" for i in range(1, 6)}
    assert cfg.model.weights == "caffe" and cfg.logger.mode == "offline"
    assert cfg.optimizer._target_ == "nst_research.optim.lbfgs"


@pytest.mark.parametrize(
    ("group", "option"), [(g, o) for g in GROUPS for o in options(g)], ids=lambda v: str(v)
)
def test_every_group_option_composes(compose, group, option):
    overrides = [f"{group}={option}"]
    if (group, option) == ("init", "image"):
        overrides.append("init.path=somewhere.png")
    if (group, option) == ("model", "vgg16"):
        overrides.append("layers=custom")
    cfg = compose(overrides)
    assert cfg[group] is not None
    validate(cfg)
    if group == "optimizer":
        import torch
        from hydra.utils import instantiate

        spec = instantiate(cfg.optimizer)([torch.nn.Parameter(torch.zeros(1))])
        assert spec.optimizer.param_groups[0]["lr"] == cfg.optimizer.lr


def test_groups_present():
    assert set(GROUPS) >= {"model", "layers", "loss", "optimizer", "init", "logger", "trainer"}
    assert {"gatys2016", "keras"} <= set(options("layers"))
    assert {"lbfgs", "adam", "sgd"} <= set(options("optimizer"))


def test_bad_type_fails_at_compose(compose):
    with pytest.raises((ValidationError, ConfigCompositionException), match="size"):
        compose(["size=abc"])


def test_unknown_key_fails_at_compose(compose):
    with pytest.raises(ConfigCompositionException, match="colour"):
        compose(["colour=red"])
    with pytest.raises(ConfigCompositionException, match="optimizer"):
        compose(["optimizer=rmsprop"])


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        (["layers.style=[relu1_1,relu9_1]"], "unknown layer name.*relu9_1.*valid names"),
        (["layers.style=[]"], "layers.style is empty"),
        (["loss.style_weight=-1"], "must be a finite number >= 0"),
        (["loss.content_weight=inf"], "must be a finite number >= 0"),
        (["model.pooling=median"], "unknown model.pooling"),
        (["iterations=0"], "iterations=0 must be a positive"),
        (["size=-5"], "size=-5 must be a positive"),
        (["loss.gram_norm=bogus"], "unknown loss.gram_norm"),
        (["layers.style_weights=[1,abc,1,1,1]"], "not a number"),
        (["layers.style_weights=[1,2]"], "2 values for 5 layers"),
        (["layers.style_weights={relu1_1:1}"], "no weight for relu2_1"),
    ],
)
def test_validate_rejects_bad_values(compose, overrides, match):
    with pytest.raises(ConfigError, match=match) as e:
        validate(compose(overrides))
    assert "\n" not in str(e.value)


def test_layer_weight_forms():
    assert layer_weights(["a", "b"], None, "k") == {"a": 0.5, "b": 0.5}
    assert layer_weights(["a", "b"], [2, 0], "k") == {"a": 2.0, "b": 0.0}
    assert layer_weights(["a", "b"], {"b": 3, "a": 1}, "k") == {"a": 1.0, "b": 3.0}
    assert layer_weights("a", None, "k") == {"a": 1.0}
    assert layer_weights(None, None, "k") == {}


def test_layer_lists_override_and_weights(compose):
    cfg = compose(["layers.style=[relu1_1,relu3_1]", "layers.style_weights=[1,3]"])
    assert validate(cfg)[1] == {"relu1_1": 1.0, "relu3_1": 3.0}
