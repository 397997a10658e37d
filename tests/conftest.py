"""Shared fixtures: the classic images (skipped cleanly when absent), tiny synthetic images, compose."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
CONF_DIR = REPO / "conf"
SHARED_IMAGES = Path(os.environ.get("NST_SHARED_IMAGES", REPO.parent / "shared" / "images"))


@pytest.fixture(autouse=True)
def _offline_wandb(monkeypatch, tmp_path):
    """No test talks to the network: W&B offline, torchvision downloads refused."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    # W&B's files go into each run's dir (every wandb.init here is given one): WANDB_DIR, when
    # set, would be honoured and take them all (tests of it set it themselves)
    monkeypatch.delenv("WANDB_DIR", raising=False)
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "wandb-cache"))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path / "wandb-data"))  # artifact staging
    monkeypatch.setenv("NST_OFFLINE", "1")


def shared_image(name: str) -> Path:
    path = SHARED_IMAGES / name
    if not path.is_file():
        pytest.skip(
            f"classic image {name} not found in {SHARED_IMAGES} (run make data or set NST_SHARED_IMAGES)"
        )
    return path


@pytest.fixture
def tiny_images(tmp_path) -> tuple[Path, Path]:
    """A 64x48 'content' photo-like gradient and a 64x64 striped 'style' image, as PNG files."""
    g = torch.Generator().manual_seed(0)
    y = torch.linspace(0, 1, 48).view(48, 1).expand(48, 64)
    x = torch.linspace(0, 1, 64).view(1, 64).expand(48, 64)
    content = torch.stack([x, y, (x + y) / 2]) * 0.8 + 0.1 * torch.rand(3, 48, 64, generator=g)
    stripes = ((torch.arange(64).view(1, 64) // 4) % 2).float().expand(64, 64)
    style = torch.stack([stripes, 1 - stripes, 0.5 * torch.ones(64, 64)])
    paths = []
    for name, t in (("content.png", content), ("style.png", style)):
        arr = (t.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
        Image.fromarray(arr).save(tmp_path / name)
        paths.append(tmp_path / name)
    return paths[0], paths[1]


@pytest.fixture
def compose():
    """compose(overrides) -> a composed DictConfig (the same configs as the CLI).

    :func:`nst_research.configs.compose.compose`: Hydra's compose-time errors arrive as one-line
    ConfigErrors, with Hydra's exception as their ``__cause__``.
    """
    from nst_research.configs.compose import compose as compose_config

    def _compose(overrides: list[str] | None = None):
        return compose_config(overrides or [])

    return _compose
