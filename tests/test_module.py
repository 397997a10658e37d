"""The LightningModule: the image is the only trainable parameter; targets are buffers."""

from __future__ import annotations

import functools

import pytorch_lightning as pl
import torch

from nst_research.backbones.preprocessing import PREPROCESSING
from nst_research.backbones.vgg import VGGFeatures
from nst_research.engine.module import StyleTransfer
from nst_research.loss.terms import ContentLoss, GramLoss, Objective, TVLoss
from nst_research.optimisation.optimizers import adam, lbfgs, sgd


def objective(
    content_layers,
    style_layers,
    gram_norm="chw",
    content_norm="mse",
    style_reduction="mean",
    tv="l2",
    **weights,
) -> Objective:
    """The loss as the default config builds it (terms with these options)."""
    return Objective(
        content_layers,
        style_layers,
        content_term=ContentLoss(content_norm),
        style_term=GramLoss(gram_norm, style_reduction),
        tv_term=TVLoss(tv),
        **weights,
    )


def toy_module(optimizer=lbfgs, **loss) -> StyleTransfer:
    torch.manual_seed(0)
    extractor = VGGFeatures(["relu1_1", "relu2_1"])  # random weights: a toy encoder
    for p in extractor.parameters():  # random init is fine, but keep it frozen
        assert not p.requires_grad
    g = torch.Generator().manual_seed(1)
    content = torch.rand(1, 3, 16, 16, generator=g)
    style = torch.rand(1, 3, 16, 16, generator=g)
    return StyleTransfer(
        extractor=extractor,
        preprocess=PREPROCESSING["caffe"],
        content=content,
        style=style,
        init=content,
        objective=objective(
            {"relu2_1": 1.0},
            {"relu1_1": 0.5, "relu2_1": 0.5},
            **{"content_weight": 1.0, "style_weight": 100.0, "tv_weight": 0.0, **loss},
        ),
        optimizer=optimizer,
    )


def test_only_trainable_parameter_is_the_image():
    module = toy_module()
    trainable = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    assert [n for n, _ in trainable] == ["param"]  # param=pixels (default): the image itself
    assert trainable[0][1] is module.image and module.image is module.param
    assert module.image.shape == (1, 3, 16, 16)
    opt = module.configure_optimizers()
    params = [p for group in opt.param_groups for p in group["params"]]
    assert len(params) == 1 and params[0] is module.image


def test_targets_are_non_persistent_buffers():
    module = toy_module()
    module.compute_targets()
    buffers = dict(module.named_buffers())
    assert buffers["objective.style.target_relu1_1"].shape == (1, 64, 64)
    assert buffers["objective.content.target_relu2_1"].shape == (1, 128, 8, 8)
    state = module.state_dict()
    assert not any("target" in k for k in state)


def test_losses_at_content_init_and_zero_weights():
    module = toy_module()
    module.compute_targets()
    losses = module.compute_losses(module.image)
    assert losses["loss/content"].item() == 0.0  # init = content
    assert losses["loss/style"].item() > 0
    assert set(losses) >= {"loss/total", "loss/tv", "loss/style/relu1_1", "loss/style/relu2_1"}
    torch.testing.assert_close(
        losses["loss/style"], losses["loss/style/relu1_1"] + losses["loss/style/relu2_1"]
    )
    no_style = toy_module(style_weight=0.0)
    assert no_style.objective.style_layers == {}


def fit(module: StyleTransfer, steps: int) -> pl.Trainer:
    trainer = pl.Trainer(
        max_steps=steps,
        max_epochs=-1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    trainer.fit(module)
    return trainer


def test_one_lightning_step_is_one_lbfgs_iteration_and_loss_falls():
    module = toy_module()
    module.compute_targets()
    start = module.compute_losses(module.image)["loss/total"].item()
    trainer = fit(module, 15)
    assert trainer.global_step == 15
    state = next(iter(module.optimizers().optimizer.state.values()))
    assert state["n_iter"] == 15  # L-BFGS history carried across steps, one iteration each
    end = module.compute_losses(module.image)["loss/total"].item()
    assert end < 0.5 * start
    assert module.status == "running"


def test_adam_and_sgd_decay_step():
    for factory in (functools.partial(adam, lr=1.0), functools.partial(sgd, lr=1e-3)):
        module = toy_module(optimizer=factory)
        module.compute_targets()
        start = module.compute_losses(module.image)["loss/total"].item()
        fit(module, 5)
        assert module.compute_losses(module.image)["loss/total"].item() < start
    module = toy_module(optimizer=functools.partial(sgd, lr=1.0, decay_every=2, decay_rate=0.5))
    fit(module, 4)
    assert module.spec.optimizer.param_groups[0]["lr"] == 0.25  # decayed twice


def test_divergence_keeps_last_finite_image():
    module = toy_module(optimizer=functools.partial(sgd, lr=1e-3))
    calls = {"n": 0}
    original = module.compute_losses

    def poisoned(image):
        calls["n"] += 1
        losses = original(image)
        if calls["n"] >= 4:
            losses["loss/total"] = losses["loss/total"] * float("nan")
        return losses

    module.compute_losses = poisoned
    fit(module, 10)
    assert module.status == "diverged"
    assert torch.isfinite(module.image).all()
    assert torch.isfinite(module.rgb()).all()


def test_bf16_autocast_runs_the_vgg_in_bf16_and_keeps_the_rest_fp32():
    """The GPU option trainer.bf16, checked on CPU (autocast works on both)."""
    module = toy_module()
    module.compute_targets()
    reference = module._features(module.image)
    module.bf16 = True
    module.compute_targets()
    feats = module._features(module.image)
    assert all(v.dtype == torch.float32 for v in feats.values())  # cast back before the Grams
    rel = max(
        ((feats[k] - reference[k]).abs().max() / reference[k].abs().max()).item() for k in feats
    )
    assert 0 < rel < 0.05  # the convolutions really ran in bf16 (8-bit mantissa), and close
    assert all(
        module.objective.style.target(k).dtype == torch.float32
        for k in module.objective.style_layers
    )
    start = module.compute_losses(module.image)
    assert all(v.dtype == torch.float32 for v in start.values())
    fit(module, 10)  # L-BFGS on bf16 features: the loss still falls
    assert module.image.dtype == torch.float32
    end = module.compute_losses(module.image)["loss/total"].item()
    assert end < 0.5 * start["loss/total"].item()
