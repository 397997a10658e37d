"""The run's input images as W&B artifacts the run *uses*: lineage from inputs to results."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def use_inputs(logger, paths: Mapping[str, str], hashes: Mapping[str, str]) -> list[str]:
    """``run.use_artifact`` of each input image (content, style, ...) of a W&B logger's run.

    Each artifact is named ``<role>-<first 12 hex of its sha256>`` (type ``input-image``), so the
    same file is one artifact across runs; the file keeps its name. W&B refuses ``use_artifact``
    offline (wandb 0.31: "Cannot use artifact when in offline mode"): an offline run records the
    same names and hashes in its config under ``inputs`` instead. Returns the names; none for
    another logger. A failure is one warning: the run goes on.
    """
    from pytorch_lightning.loggers import WandbLogger

    if not isinstance(logger, WandbLogger):
        return []
    import wandb

    from nst_research.errors import warn

    used, offline = [], {}
    run = logger.experiment
    try:
        for role, path in paths.items():
            digest = hashes.get(role, "")
            name = f"{role}-{digest[:12]}" if digest else role
            meta = {"role": role, "sha256": digest, "file": Path(path).name}
            if run.settings._offline:
                offline[role] = {"name": name, **meta}
            else:
                artifact = wandb.Artifact(name, type="input-image", metadata=meta)
                artifact.add_file(str(path), name=Path(path).name)
                run.use_artifact(artifact)
            used.append(name)
        if offline:
            run.config.update({"inputs": offline}, allow_val_change=True)
    except Exception as e:
        warn(f"could not log the input images to W&B ({type(e).__name__}: {e})")
    return used
