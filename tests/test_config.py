"""Every config group composes; bad keys fail at compose time; bad values fail in validate()."""

from __future__ import annotations

import pytest
import torch
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ValidationError

from nst_research.configs.checks import layer_weights, validate
from nst_research.configs.schema import GROUPS as CONFIG_GROUPS
from nst_research.engine.parts import check
from nst_research.errors import ConfigError
from tests.conftest import CONF_DIR

GROUPS = sorted(p.name for p in CONF_DIR.iterdir() if p.is_dir() and not p.name.startswith("_"))


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def test_defaults_compose_and_validate(compose):
    cfg = compose()
    content, style = validate(cfg)
    assert content == {"relu4_2": 1.0}
    assert set(style) == {f"relu{i}_1" for i in range(1, 6)}
    assert cfg.model.weights == "caffe" and cfg.logger.mode == "offline"
    assert cfg.optimizer._target_ == "nst_research.optimisation.optimizers.lbfgs"


@pytest.mark.parametrize(
    ("group", "option"), [(g, o) for g in GROUPS for o in options(g)], ids=lambda v: str(v)
)
def test_every_group_option_composes(compose, group, option):
    overrides = [f"{group}={option}"]
    if (group, option) == ("init", "image"):
        overrides.append("init.path=somewhere.png")
    if (group, option) == ("model", "vgg16"):
        overrides.append("layers=custom")
    if (group, option) in (("model", "random_resnet50"), ("layers", "resnet")):
        overrides += ["model=random_resnet50", "layers=resnet"]  # ResNet names, not VGG's
    cfg = compose(overrides)
    assert cfg[group] is not None
    if (group, option) == ("trainer", "gpu") and not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="needs a usable CUDA GPU"):  # refused up front
            check(cfg)
        return
    check(cfg)
    if group == "optimizer":
        from hydra.utils import instantiate

        spec = instantiate(cfg.optimizer)([torch.nn.Parameter(torch.zeros(1))])
        assert spec.optimizer.param_groups[0]["lr"] == cfg.optimizer.lr


def test_groups_present():
    assert set(GROUPS) >= {"model", "layers", "loss", "optimizer", "init", "logger", "trainer"}
    assert {"gatys2016", "keras"} <= set(options("layers"))
    assert {"lbfgs", "adam", "sgd"} <= set(options("optimizer"))


def test_bad_type_fails_at_compose(compose):
    with pytest.raises(ConfigError, match="size") as e:
        compose(["size=abc"])
    assert isinstance(e.value.__cause__, (ValidationError, ConfigCompositionException))


def test_unknown_key_fails_at_compose(compose):
    with pytest.raises(ConfigError, match="colour") as e:
        compose(["colour=red"])
    assert isinstance(e.value.__cause__, ConfigCompositionException)
    with pytest.raises(ConfigError, match="optimizer") as e:
        compose(["optimizer=adagrad"])
    assert isinstance(e.value.__cause__, ConfigCompositionException)


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
        (["layers.style=[relu1_1,relu2_1,relu1_1]"], "names relu1_1 more than once"),
        (["layers.content=[relu4_2,relu4_2]"], "layers.content names relu4_2 more than once"),
        (["optimizer.lr=0"], r"optimizer.lr=0 must be a number > 0"),
        (["optimizer.lr=-1"], r"optimizer.lr=-1 must be a number > 0"),
        (["optimizer.history_size=0"], "optimizer.history_size=0 must be an integer > 0"),
        (["optimizer=adam", "optimizer.lr=-5"], "optimizer.lr=-5 must be"),
        (["seed=-1"], r"seed=-1 must be in 0..2\*\*32-1"),
        (["seed=4294967296"], "seed=4294967296 must be in"),
        (["trainer.threads=-2"], "trainer.threads=-2 must be an integer >= 0"),
    ],
)
def test_validate_rejects_bad_values(compose, overrides, match):
    with pytest.raises(ConfigError, match=match) as e:
        check(compose(overrides))  # validate + instantiate the choices (loss terms check theirs)
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


# --- fuzzing: any override value ends in a clear error or a valid config ---------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FUZZ_KEYS = [
    "size", "iterations", "seed", "style_scale", "snapshot_every", "loss.content_weight",
    "loss.style_weight", "loss.tv_weight", "loss.gram_norm", "loss.tv", "model.pooling",
    "model.weights", "layers.style", "layers.content", "layers.style_weights", "init.path",
    "optimizer.lr", "optimizer", "model", "init", "logger.mode", "style_loss.norm",
    "loss.style_reduction", "loss.content_norm", "style_loss",
]  # fmt: skip
FUZZ_VALUES = st.one_of(
    st.integers(-(10**9), 10**9),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["relu1_1", "relu9_9", "[relu1_1,relu2_1]", "[]", "[conv5_2]", "null",
                     "avg", "max", "caffe", "nan", "-inf", "1e400", "[1,2]", "{a:1}", "true"]),
    st.text(alphabet="abcxyz_019.,-[]{}: ", max_size=12),
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(FUZZ_KEYS), value=FUZZ_VALUES)
def test_fuzzed_overrides_give_clear_errors_only(key, value):
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from nst_research.configs.compose import compose

    try:
        cfg = compose([f"{key}={value}"])
    except ConfigError as e:
        # Hydra's compose-time message, made one line: the CLI prints it and exits with code 2
        # (`nst optimizer=0` gives "Config group override must be a string or a list. Got int").
        # Any other exception under it is a bug.
        if isinstance(e.__cause__, (HydraException, OmegaConfBaseException, ValueError)):
            return
        # Hydra raises a bare TypeError on some values (`optimizer=[1,2]`): the message must
        # still be one line that names the override.
        assert isinstance(e.__cause__, TypeError), e
        assert "\n" not in str(e) and f"{key}=" in str(e)
        return
    try:
        check(cfg)
    except ConfigError as e:
        assert "\n" not in str(e) and str(e)


def test_unknown_group_option_is_one_line():
    from nst_research.cli import check_group_choices

    assert check_group_choices(["optimizer=adam", "size=3"]) is None
    assert check_group_choices(["optimizer=lbfgs,adam", "layers=keras"]) is None
    msg = check_group_choices(["optimizer=adagrad"])
    assert msg == (
        "unknown optimizer 'adagrad'; choose one of: adam, adam_ck, adam_nnst, lbfgs, rmsprop, sgd"
    )
    assert "choose one of" in check_group_choices(["model=[]"])
    assert "choose one of" in check_group_choices(["optimizer=[1,2]"])


def test_top_level_values_are_checked_in_one_line():
    from nst_research.cli import check_group_choices, check_top_level_values

    ok = ["size=64", "iterations=5,10", "seed=null", "style_scale=0.5", "size=range(32,64,16)",
          "+colour=red", "hydra.run.dir=x", "model.pooling=avg", "loss=paper", "-m", "name=a"]  # fmt: skip
    assert check_top_level_values(ok) is None
    assert check_top_level_values(["size=abc"]) == "size='abc' must be an integer (e.g. size=256)"
    assert check_top_level_values(["seed=1,x"]) == "seed='x' must be an integer (e.g. seed=0)"
    assert "must be a number" in check_top_level_values(["style_scale=big"])
    msg = check_top_level_values(["palette=red"])  # colour= is a config group since issue 13
    assert msg.startswith("unknown key 'palette'; top-level keys are: content, style, size")
    # issue 22: the close match, never the + form (nothing reads a new top-level key)
    assert "+palette" not in msg and msg.endswith(
        "(config groups: " + ", ".join(CONFIG_GROUPS) + ")"
    )
    assert "(did you mean size?)" in check_top_level_values(["sizee=64"])
    assert check_top_level_values(["colour=red"]) is None  # a group: its choices are checked by
    colours = ", ".join(sorted(p.stem for p in (CONF_DIR / "colour").glob("*.yaml")))
    assert check_group_choices(["colour=red"]) == (  # check_group_choices: the options on disk
        f"unknown colour 'red'; choose one of: {colours}"
    )
    assert "keep_luminance, match_histogram" in colours


def test_group_keys_are_checked_against_the_chosen_option():
    from nst_research.cli import check_group_keys

    ok = ["optimizer.lr=2", "optimizer=adam", "optimizer.beta1=0.5", "logger.tags=[a]",
          "layers.style=[relu1_1]", "loss.style_weight=3", "+model.extra=1", "hydra.job.chdir=false",
          "task=reconstruct_style", "init.path=x.png"]  # fmt: skip
    assert check_group_keys(ok) is None
    assert check_group_keys(["model.colour=red"]) == (
        "unknown key 'colour' in model=vgg19; its keys: arch, weights, pooling, preprocessing, "
        "allow_download"
    )  # issue 22: no advice to add the typo with +; the close match instead:
    assert "(did you mean model.pooling?);" in check_group_keys(["model.poling=avg"])
    # the option chosen on the command line decides, in any order
    assert "in optimizer=adam" in check_group_keys(["optimizer.history_size=3", "optimizer=adam"])
    assert check_group_keys(["optimizer.history_size=3"]) is None  # lbfgs has it
    # an appended preset may change options: left to Hydra
    assert check_group_keys(["+ablation=optimizer", "optimizer.history_size=3"]) is None


@pytest.mark.parametrize(
    "override", ["optimizer=0", "size=abc", "colour=red", "model.weights=x", "model.colour=red"]
)
def test_cli_config_errors_exit_2_without_traceback(override, tmp_path):
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "nst_research.cli", override, f"hydra.run.dir={tmp_path}"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.strip()
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_group_options_are_the_yaml_files_and_the_user_dirs_first(tmp_path, monkeypatch):
    """One function lists a group's options (the bench, nst --help, the CLI's pre-check)."""
    from nst_research.configs.compose import group_files, group_options

    monkeypatch.delenv("NST_CONFIG_DIR", raising=False)
    assert group_options("style_loss") == options("style_loss")
    assert {"gram", "mrf", "remd", "histogram", "wasserstein"} <= set(group_options("style_loss"))
    assert group_options("no_such_group") == []
    (tmp_path / "style_loss").mkdir()
    for name in ("mine", "gram"):
        (tmp_path / "style_loss" / f"{name}.yaml").write_text("_target_: x\n")
    monkeypatch.setenv("NST_CONFIG_DIR", str(tmp_path))
    assert group_options("style_loss") == sorted({*options("style_loss"), "mine"})
    files = group_files("style_loss")
    assert files["gram"] == tmp_path / "style_loss" / "gram.yaml"  # the user's dir wins
    assert files["mrf"] == CONF_DIR / "style_loss" / "mrf.yaml"
    assert group_options("style_loss", [CONF_DIR]) == options("style_loss")
