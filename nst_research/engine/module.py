"""The LightningModule: the generated image, or its parametrisation, is its only parameter.

One Lightning step is one optimiser iteration (manual optimisation keeps the L-BFGS closure
explicit). Content and style targets are computed at the start of fitting, and again at the
start of each later stage of a schedule (``schedule=pyramid``), never within a stage.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import pytorch_lightning as pl
import torch
from torch import Tensor, nn

from nst_research.backbones.preprocessing import Preprocessing
from nst_research.configs.names import LOSS_TOTAL
from nst_research.engine.recall import LastEvaluation
from nst_research.engine.status import RunStatus, StepRecord
from nst_research.loss.terms import Objective
from nst_research.methods.averaging import ImageAverage, carry_moments
from nst_research.methods.neighbours import rotations
from nst_research.optimisation.optimizers import OptimizerSpec
from nst_research.optimisation.schedules import StageImages, next_start, stage_at
from nst_research.params.base import Parametrisation
from nst_research.params.pixels import Pixels


class StyleTransfer(pl.LightningModule):
    """Optimises an image so that its backbone's features minimise an :class:`Objective`.

    Args:
        extractor: frozen feature extractor (a backbone's, ``forward(x) -> {name: features}``)
            returning at least the objective's layers.
        preprocess: maps RGB in [0, 1] to the extractor's input space and back.
        content, style, init: (1, 3, H, W) RGB images in [0, 1]; ``init`` has the content's size;
            ``style`` may be a list (several styles: the objective's style term is a StyleSet).
        objective: the loss terms, their layers and weights; its targets are set here, once per stage.
        optimizer: called with ``[image]``, returns an :class:`OptimizerSpec`.
        bf16: the backbone under bf16 autocast (GPUs; CPU runs it in tests); features are cast
            back, so Grams, losses, gradients and the L-BFGS arithmetic stay fp32.
        shown: the optimised RGB image -> the one the run shows (``rgb()``: snapshots, eval,
            final.png), e.g. ``colour=keep_luminance``'s recombination; None: itself.
        later: the later stages' images (``schedule=pyramid``) with their first global steps.
        upsample_mode: how the image goes to the next stage's size.
        param: the image's parametrisation (``param=``; None: :class:`Pixels`). The module's
            one parameter ``self.param`` is ``param.encode(image)``; ``self.image`` decodes it,
            and is what every loss, snapshot and metric sees. ``last_good`` (the divergence
            restore) and the L-BFGS recall are kept in parameter space.
        ema, warm_start, content_decay, last_lr, detail: the schedule's keys
            (:mod:`nst_research.optimisation.schedules`).

    The image lives in the extractor's input space (caffe: BGR 0..255 minus the mean), as in the
    reference code, so learning rates carry over. Each step leaves a :class:`StepRecord` in
    ``self.record``. At a later stage's first step the image is upsampled, the targets are the
    stage's and the optimiser is fresh; steps count on across stages.
    """

    def __init__(
        self,
        extractor: nn.Module,
        preprocess: Preprocessing,
        content: Tensor,
        style: Tensor | list[Tensor],
        init: Tensor,
        objective: Objective,
        optimizer: Callable[[list[nn.Parameter]], OptimizerSpec],
        bf16: bool = False,
        shown: Callable[[Tensor], Tensor] | None = None,
        later: Sequence[StageImages] = (),
        upsample_mode: str = "bilinear",
        param: Parametrisation | None = None,
        ema: float | None = None,
        warm_start: bool = False,
        content_decay: float = 1.0,
        last_lr: float = 1.0,
        detail: bool = False,
    ) -> None:
        super().__init__()
        self.bf16 = bf16
        self.automatic_optimization = False
        self.extractor = extractor
        self.preprocess = preprocess
        self.objective = objective
        self.optimizer_factory = optimizer
        self.parametrisation = param if param is not None else Pixels()
        self.param = nn.Parameter(self.parametrisation.encode(preprocess(init)).contiguous())
        self.register_buffer("content_image", preprocess(content), persistent=False)
        styles = style if isinstance(style, list | tuple) else [style]
        self.style_names = ["style_image"] + [f"style_image_{i}" for i in range(1, len(styles))]
        for name, image in zip(self.style_names, styles, strict=True):
            self.register_buffer(name, preprocess(image), persistent=False)
        self.shown = shown
        self.status = RunStatus.RUNNING
        self.record: StepRecord | None = None
        self.register_buffer("last_good", self.param.detach().clone(), persistent=False)
        self._step_start: float | None = None
        self.spec: OptimizerSpec | None = None
        self._pending_scheduler_state: dict | None = None
        self.stages = [StageImages(0, content, list(styles)), *later]
        self.stage = 0
        self.upsample_mode = upsample_mode
        self.last_evaluation = LastEvaluation()
        # Loss evaluations this process ran (forward + backward) and recalled (metrics.json).
        self.evaluations = {"computed": 0, "recalled": 0}
        self.warm_start, self.content_decay = warm_start, content_decay
        self.last_lr, self.detail = float(last_lr), bool(detail)
        self.content_weight = objective.content_weight  # the first stage's (content_decay)
        self.average = None if ema is None else ImageAverage(ema, self.image.detach())

    @property
    def image(self) -> Tensor:
        """The (1, 3, H, W) image in input space that the parameter decodes to (differentiable;
        with ``param=pixels`` the parameter itself)."""
        return self.parametrisation.decode(self.param, self.content_image.shape)

    # --- stages ---------------------------------------------------------------------------------

    @property
    def last_scale(self) -> int:
        """The index of the last stage that is not a final pass (``schedule.final_pass``)."""
        return max(i for i, s in enumerate(self.stages) if not s.final)

    @property
    def stage_starts(self) -> list[int]:
        """The global steps at which a later stage starts (empty for a single stage)."""
        return [s.start for s in self.stages[1:]]

    def enter_stage(self, index: int, image: Tensor | None = None) -> None:
        """Make stage ``index`` current: its content and style images as buffers and ``image``
        (input space, the stage's size; None: zeros, to be loaded from a checkpoint) as the
        optimised parameter. Targets and the optimiser are the caller's to renew."""
        stage, device = self.stages[index], self.param.device
        self.content_image = self.preprocess(stage.content.to(device))
        for name, style in zip(self.style_names, stage.styles, strict=True):
            setattr(self, name, self.preprocess(style.to(device)))
        if image is None:
            image = torch.zeros_like(self.content_image)
        encoded = self.parametrisation.encode(image.detach().to(device))
        self.param = nn.Parameter(encoded.contiguous())
        self.last_good = self.param.detach().clone()
        self.stage = index
        self.objective.content_weight = self.content_weight * self.content_decay**index
        if self.average is not None:  # the stage's start is its average's first sample
            self.average.reset(self.image.detach())

    def _next_stage(self, index: int) -> None:
        """Go on at stage ``index`` from the current image, upsampled (first step of the stage):
        decoded, upsampled, encoded again at the new size."""
        old_shape, old = self.image.shape, self.spec.optimizer if self.spec else None
        shown = self.shown_image()
        content = self.preprocess(self.stages[index].content.to(shown.device))
        detail = self.detail and index < self.last_scale  # STROTSS: not at the last scale
        self.enter_stage(index, next_start(shown, content, self.upsample_mode, detail))
        self.compute_targets()
        self.spec = self._stage_lr(self.optimizer_factory([self.param]), index)
        if self.warm_start and old is not None:
            new = self.spec.optimizer
            carry_moments(old, new, self.parametrisation, old_shape, self.content_image.shape)
        self.trainer.strategy.optimizers = [self.spec.optimizer]

    # --- targets and losses ---------------------------------------------------------------------

    def _features(self, image: Tensor) -> dict[str, Tensor]:
        if self.bf16:
            with torch.autocast(image.device.type, dtype=torch.bfloat16):
                feats = self.extractor(image)
            return {k: v.float() for k, v in feats.items()}
        return self.extractor(image)

    @torch.no_grad()
    def compute_targets(self) -> None:
        """Content and style targets of the current stage's images (they do not change within a
        stage; a schedule's next stage computes its own)."""
        self.last_evaluation.clear()  # losses of the old targets (a new stage)
        objective = self.objective
        objective.set_stage(self.stage, final=self.stages[self.stage].final)
        if objective.wants_content:
            objective.set_content_targets(self._features(self.content_image), self.content_image)
        for i, name in enumerate(self.style_names):
            if objective.wants_style(i):
                image = getattr(self, name)
                rotated = []
                if i == 0 and objective.style_rotations:  # NNST: the style turned 90, 180, 270
                    rotated = [self._features(r) for r in rotations(image)[1:]]
                objective.set_style_targets(i, self._features(image), image, rotated)

    def on_fit_start(self) -> None:
        self.compute_targets()

    def compute_losses(self, image: Tensor) -> dict[str, Tensor]:
        """All loss terms of a (1, 3, H, W) image in input space; ``loss/total`` is their sum."""
        return self.objective(self._features(image), image)

    def evaluate(self) -> dict[str, Tensor]:
        """The losses of the current image, with their gradient in ``param.grad``.

        An optimiser asking again at exactly the image of the previous evaluation (L-BFGS does:
        :mod:`nst_research.engine.recall`) gets that evaluation's losses and gradient without a
        forward and backward pass; for terms that re-draw, only within the same iteration.
        """
        key = int(self.global_step) if self.objective.redraws else None
        losses = self.last_evaluation.recall(self.param, key)
        if losses is not None:
            self.evaluations["recalled"] += 1
            return losses
        losses = self.compute_losses(self.image)
        self.manual_backward(losses[LOSS_TOTAL])
        self.last_evaluation.keep(self.param, key, losses)
        self.evaluations["computed"] += 1
        return losses

    # --- optimisation ---------------------------------------------------------------------------

    def _stage_lr(self, spec: OptimizerSpec, index: int) -> OptimizerSpec:
        """The spec with its learning rates times ``last_lr`` from the last scale on."""
        if index >= self.last_scale and self.last_lr != 1.0:
            for group in spec.optimizer.param_groups:
                group["lr"] = group["lr"] * self.last_lr
                if "initial_lr" in group:
                    group["initial_lr"] = group["initial_lr"] * self.last_lr
            if spec.scheduler is not None:
                spec.scheduler.base_lrs = [lr * self.last_lr for lr in spec.scheduler.base_lrs]
        return spec

    def configure_optimizers(self):
        # A resumed run's optimiser state (and with it the stage's learning rate) is loaded after.
        self.spec = self._stage_lr(self.optimizer_factory([self.param]), self.stage)
        if self.spec.scheduler is not None and self._pending_scheduler_state is not None:
            self.spec.scheduler.load_state_dict(self._pending_scheduler_state)
        return self.spec.optimizer

    # --- checkpoints: the image, the optimiser state and the step; never the (fixed) VGG weights ---

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        state = checkpoint["state_dict"]
        for key in [k for k in state if k.startswith("extractor.")]:
            del state[key]
        scheduler = self.spec.scheduler if self.spec is not None else None
        checkpoint["nst"] = {
            "last_good": self.last_good.detach().cpu(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "stage": self.stage,
        }

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        own = {f"extractor.{k}": v for k, v in self.extractor.state_dict().items()}
        checkpoint["state_dict"].update(own)
        if "image" in checkpoint["state_dict"]:  # saved before parametrisations: the pixels
            checkpoint["state_dict"]["param"] = checkpoint["state_dict"].pop("image")
        extra = checkpoint.get("nst", {})
        stage = int(extra.get("stage", 0))
        if stage != self.stage:  # the image of that stage's size is loaded into the parameter
            self.enter_stage(stage)
        if extra.get("last_good") is not None:
            self.last_good = extra["last_good"].to(self.last_good)
        self._pending_scheduler_state = extra.get("scheduler")

    def train_dataloader(self):
        n = self.trainer.max_steps if self.trainer and self.trainer.max_steps > 0 else 1
        # a sized dummy dataset: there is no data, one item per optimiser iteration
        return torch.utils.data.DataLoader(range(n), batch_size=None)

    def on_train_batch_start(self, batch, batch_idx: int) -> None:
        # Before the step's optimisation loop starts, so Lightning counts the new optimiser's steps.
        stage = stage_at(self.stages, int(self.global_step))
        if stage != self.stage:
            self._next_stage(stage)

    def training_step(self, batch, batch_idx: int) -> None:
        start = time.perf_counter()
        self.objective.set_step(int(self.global_step))  # random terms re-draw once per iteration
        opt = self.optimizers()
        captured: dict[str, Tensor] = {}

        def closure() -> Tensor:
            opt.zero_grad(set_to_none=True)
            losses = self.evaluate()
            if not captured:  # the losses at the iterate the step starts from
                captured.update({k: v.detach() for k, v in losses.items()})
            return losses[LOSS_TOTAL]

        before = self.param.detach().clone()
        opt.step(closure=closure)
        if self.end_step(int(self.global_step), captured, before, start):
            self.trainer.should_stop = True

    def end_step(
        self, step: int, captured: dict[str, Tensor], before: Tensor, start: float
    ) -> bool:
        """After the optimiser's step: the record of ``step`` from the losses ``captured`` at the
        iterate it started from (``before``); a diverged step goes back to the last good image.
        Returns whether the run must stop (it diverged). ``nst_research.batched`` calls it too."""
        # One host sync per step for all the losses (L-BFGS syncs every step anyway); logging and
        # the progress bar read these floats, so they add no further syncs.
        values = torch.stack([v.float() for v in captured.values()]).tolist()
        losses = dict(zip(captured, values, strict=True))
        if not math.isfinite(losses[LOSS_TOTAL]):
            # The iterate this step started from is already bad: go back to the last good one.
            with torch.no_grad():
                self.param.copy_(self.last_good)
            self.status = RunStatus.DIVERGED
            self.record = StepRecord(step, losses, 0.0, self.status)
            return True
        self.last_good.copy_(before)
        if self.average is not None:
            self.average.update(self.image.detach())
        if self.spec is not None and self.spec.scheduler is not None:
            self.spec.scheduler.step()
        now = time.perf_counter()
        elapsed = now - (self._step_start if self._step_start is not None else start)
        self._step_start = now
        self.record = StepRecord(step, losses, elapsed, self.status)
        return False

    # --- images ---------------------------------------------------------------------------------

    @torch.no_grad()
    def shown_image(self) -> Tensor:  # in input space: what the run shows and carries on
        return self.average.get() if self.average is not None else self.image.detach()

    @torch.no_grad()
    def rgb(self) -> Tensor:
        """The current image as (1, 3, H, W) RGB in [0, 1] (clamped), on the module's device, as
        the run shows it (after ``shown``)."""
        rgb = self.preprocess.inverse(self.shown_image()).clamp(0, 1)
        return rgb if self.shown is None else self.shown(rgb).clamp(0, 1)
