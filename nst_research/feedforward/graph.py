"""Rewrite the int8 ONNX graphs of the arbitrary-style network into float NCHW graphs.

The graphs (Magenta's TF Lite models, converted by tf2onnx) hold int8 weights behind
``DequantizeLinear`` and quantise every activation with ``QuantizeLinear``/``DequantizeLinear``
pairs; ``onnx2torch`` converts neither op. :func:`float_graph` folds each weight's dequantisation
into a float32 initialiser and removes the activation quantisation (so activations stay float:
closer to the original float network than the int8 model), and makes the transformer take and
return NCHW images (its first reflection pad ran on NHWC, which torch's reflect padding cannot).
Every ``Reshape`` to ``[1, C, 1, 1]`` becomes ``[-1, C, 1, 1]``, so the torch module runs batched.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

_QUANT_OPS = ("QuantizeLinear", "DequantizeLinear")


def _dequantized(node: onnx.NodeProto, init: dict[str, np.ndarray]) -> np.ndarray:
    """``(x - zero_point) * scale`` of a constant int8 tensor, per tensor or per channel."""
    x = init[node.input[0]].astype(np.float32)
    scale = init[node.input[1]].astype(np.float32)
    zero = init[node.input[2]].astype(np.float32) if len(node.input) > 2 else np.float32(0)
    axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
    if scale.ndim == 1 and x.ndim > 1:
        shape = [1] * x.ndim
        shape[axis] = -1
        scale = scale.reshape(shape)
        zero = np.reshape(zero, shape) if np.ndim(zero) else zero
    return (x - zero) * scale


def _resolve(name: str, alias: dict[str, str]) -> str:
    while name in alias:
        name = alias[name]
    return name


def dequantize(model: onnx.ModelProto) -> onnx.ModelProto:
    """Constant weights folded to float32; activation quantise/dequantise pairs removed."""
    graph = model.graph
    init = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    alias: dict[str, str] = {}  # a removed node's output -> the float tensor it stands for
    folded: dict[str, np.ndarray] = {}
    kept = []
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and node.input[0] in init:
            folded[node.output[0]] = _dequantized(node, init)
        elif node.op_type in _QUANT_OPS:
            alias[node.output[0]] = node.input[0]
        else:
            kept.append(node)
    for node in kept:
        for i, name in enumerate(node.input):
            node.input[i] = _resolve(name, alias)
    for out in graph.output:  # an output that was a removed node's: an Identity keeps its name
        if out.name in alias:
            kept.append(helper.make_node("Identity", [_resolve(out.name, alias)], [out.name]))
    used = {name for node in kept for name in node.input}
    initialisers = [t for t in graph.initializer if t.name in used]
    initialisers += [numpy_helper.from_array(v, k) for k, v in folded.items() if k in used]
    del graph.node[:]
    graph.node.extend(kept)
    del graph.initializer[:]
    graph.initializer.extend(initialisers)
    return model


def _batched_reshapes(model: onnx.ModelProto) -> None:
    """``Reshape`` targets ``[1, C, 1, 1]`` -> ``[-1, C, 1, 1]`` (batch-free)."""
    graph = model.graph
    targets = {n.input[1] for n in graph.node if n.op_type == "Reshape"}
    for i, t in enumerate(graph.initializer):
        if t.name in targets:
            shape = numpy_helper.to_array(t).copy()
            if shape.ndim == 1 and shape.size == 4 and shape[0] == 1:
                shape[0] = -1
                graph.initializer[i].CopyFrom(numpy_helper.from_array(shape, t.name))


def _nchw_transformer(model: onnx.ModelProto, image_input: str) -> None:
    """The transformer's image input and output as NCHW: its NHWC pad becomes an NCHW pad and
    the two layout transposes (NHWC->NCHW after the pad, NCHW->NHWC at the end) go."""
    graph = model.graph
    init = {t.name: t for t in graph.initializer}
    pad = next(n for n in graph.node if n.op_type == "Pad" and n.input[0] == image_input)
    pads = numpy_helper.to_array(init[pad.input[1]])  # NHWC begins/ends: [0, t, l, 0, 0, b, r, 0]
    nchw = np.array([0, 0, pads[1], pads[2], 0, 0, pads[5], pads[6]], dtype=pads.dtype)
    name = pad.input[1] + "_nchw"
    graph.initializer.append(numpy_helper.from_array(nchw, name))
    pad.input[1] = name
    alias = {}
    for node in list(graph.node):
        if node.op_type != "Transpose":
            continue
        perm = list(next(a.ints for a in node.attribute if a.name == "perm"))
        if perm in ([0, 3, 1, 2], [0, 2, 3, 1]):
            alias[node.output[0]] = node.input[0]
            graph.node.remove(node)
    for node in graph.node:
        for i, n in enumerate(node.input):
            node.input[i] = _resolve(n, alias)
    for out in graph.output:
        if out.name in alias:
            graph.node.append(helper.make_node("Identity", [_resolve(out.name, alias)], [out.name]))
    _set_nchw(graph.input, image_input)
    _set_nchw(graph.output, graph.output[0].name)


def _set_nchw(values, name: str) -> None:
    for v in values:
        if v.name == name:
            dims = v.type.tensor_type.shape.dim
            n, h, w, c = (d.dim_value for d in dims)
            for d, value in zip(dims, (n, c, h, w), strict=True):
                d.dim_value = value


def float_graph(model: onnx.ModelProto, image_input: str | None = None) -> onnx.ModelProto:
    """The float, batch-free graph; with ``image_input``, the transformer in NCHW."""
    model = dequantize(model)
    _batched_reshapes(model)
    if image_input is not None:
        _nchw_transformer(model, image_input)
    return model
