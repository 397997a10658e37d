"""The environment of a run: installed versions, device and driver, and the numerics flags.

Every run writes ``environment.txt`` (``name==version`` of every installed distribution, sorted,
one a line) into its run dir and records in ``metrics.json`` under ``environment`` the file's
sha256, the device (CUDA name, capability, driver and CUDA/cuDNN versions; the CPU model
otherwise) and the torch flags that change numerics (deterministic algorithms, TF32, float32
matmul precision, cuDNN benchmark, threads). Two runs with the same ``packages_sha256`` ran with
the same distributions; ``nst-report`` names the packages where a sweep's jobs differ
(:mod:`nst_research.report.environments`).

The package list and the device's static facts are read once per process (a few ms);
the flags are read each time, as a run may change them.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nst_research.io.files import write_text

if TYPE_CHECKING:  # torch is imported where it is used: nst-report reads records without it
    import torch

ENVIRONMENT_FILE = "environment.txt"
# Environment variables that change threads or kernels (and so, possibly, the numbers).
NUMERICS_ENV = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "CUBLAS_WORKSPACE_CONFIG",
    "NVIDIA_TF32_OVERRIDE",
    "CUDA_VISIBLE_DEVICES",
)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@lru_cache(maxsize=1)
def distributions() -> tuple[str, ...]:
    """Every installed distribution as ``name==version``, sorted by normalised name.

    A name found twice on ``sys.path`` keeps its first entry (the one ``import`` would see).
    """
    seen: dict[str, str] = {}
    for dist in metadata.distributions():
        name, version = _name_version(dist)
        if name and _canonical(name) not in seen:
            seen[_canonical(name)] = f"{name}=={version}"
    return tuple(seen[k] for k in sorted(seen))


def _name_version(dist: metadata.Distribution) -> tuple[str | None, str | None]:
    """Name and version from the head of the metadata file (5x faster than ``dist.metadata``,
    which parses the whole file, long descriptions included); ``dist.metadata`` otherwise."""
    folder = getattr(dist, "_path", None)
    for file in ("METADATA", "PKG-INFO"):
        path = Path(folder) / file if folder is not None else None
        if path is None or not path.is_file():
            continue
        name = version = None
        with path.open(encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("Name:"):
                    name = line[5:].strip()
                elif line.startswith("Version:"):
                    version = line[8:].strip()
                if (name and version) or not line.strip():
                    break
        if name and version:
            return name, version
    return dist.metadata["Name"], dist.version


def packages_text(lines: tuple[str, ...] | None = None) -> str:
    """The contents of ``environment.txt``: one ``name==version`` a line."""
    return "".join(f"{line}\n" for line in (distributions() if lines is None else lines))


def packages_sha256(lines: tuple[str, ...] | None = None) -> str:
    """sha256 of ``environment.txt``'s bytes (``sha256sum environment.txt`` gives the same)."""
    return hashlib.sha256(packages_text(lines).encode()).hexdigest()


@lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``, ``sysctl`` on macOS), else ``platform.processor()``."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            cmd = ["sysctl", "-n", "machdep.cpu.brand_string"]
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=5).stdout.strip()
            if out:
                return out
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine() or "unknown"


@lru_cache(maxsize=1)
def nvidia_driver() -> str | None:
    """The NVIDIA driver version from ``nvidia-smi`` (e.g. ``550.54.15``), or None."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    cmd = [smi, "--query-gpu=driver_version", "--format=csv,noheader"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    lines = out.strip().splitlines()
    return lines[0].strip() if lines else None


def _cuda_driver_api() -> str | None:
    """The CUDA version the driver supports (``12.4``), as torch's runtime sees it."""
    import torch

    getter = getattr(torch._C, "_cuda_getDriverVersion", None)
    try:
        v = int(getter()) if getter else 0
    except Exception:  # noqa: BLE001 - no driver, or an old torch
        return None
    return f"{v // 1000}.{v % 1000 // 10}" if v else None


@lru_cache(maxsize=8)
def device_info(device: str = "cpu") -> dict[str, Any]:
    """What the run computed on: ``{"type": "cpu", "cpu": model, ...}`` or, for CUDA, the GPU's
    name, capability, memory, driver, CUDA runtime/driver and cuDNN versions."""
    import torch

    dev = torch.device(device)
    info: dict[str, Any] = {
        "type": dev.type,
        "cpu": cpu_model(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
    }
    if dev.type == "cuda" and torch.cuda.is_available():
        index = dev.index if dev.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(index)
        info.update(
            name=props.name,
            capability=f"{props.major}.{props.minor}",
            memory_gb=round(props.total_memory / 2**30, 1),
            driver=nvidia_driver(),
            cuda_driver=_cuda_driver_api(),
            cuda_runtime=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
        )
    elif dev.type == "mps":
        info["name"] = "Apple MPS"
    return info


def numerics_flags() -> dict[str, Any]:
    """The process-wide torch settings that can change a run's numbers, as they are now."""
    import torch

    matmul = torch.backends.cuda.matmul
    return {
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "deterministic_warn_only": torch.is_deterministic_algorithms_warn_only_enabled(),
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "cudnn_tf32": torch.backends.cudnn.allow_tf32,
        "matmul_tf32": matmul.allow_tf32,
        "matmul_fp16_reduced_precision": matmul.allow_fp16_reduced_precision_reduction,
        "matmul_bf16_reduced_precision": matmul.allow_bf16_reduced_precision_reduction,
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "mkldnn": torch.backends.mkldnn.enabled,
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "env": {k: os.environ[k] for k in NUMERICS_ENV if k in os.environ},
    }


def environment_record(device: torch.device | str = "cpu") -> dict[str, Any]:
    """``metrics.json``'s ``environment``: the package list's sha256 and size, python, platform,
    torch's build, the device and the numerics flags (see the module docstring)."""
    import torch

    lines = distributions()
    return {
        "packages_sha256": packages_sha256(lines),
        "packages": len(lines),
        "packages_file": ENVIRONMENT_FILE,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "torch": torch.__version__,
        "device": dict(device_info(str(device))),
        "numerics": numerics_flags(),
    }


def write_environment(run_dir: str | os.PathLike[str]) -> Path:
    """Write ``environment.txt`` (the sorted package list) into ``run_dir``."""
    return write_text(Path(run_dir) / ENVIRONMENT_FILE, packages_text())
