"""The feed-forward approach: Ghiasi et al. (2017)'s pre-trained arbitrary-style network.

``models`` finds and runs the model files (onnxruntime or torch), ``graph`` rewrites the int8
ONNX graphs for torch, ``tiling`` runs a fixed-size network at any size, ``network`` holds the
style-vector maths, and ``init`` is ``init=feedforward`` (``method=ghiasi2017`` uses it with no
optimisation steps).
"""
