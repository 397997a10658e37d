"""Compatibility names for the VGG extractor, now in :mod:`nst_research.backbones`.

The backbone classes (configured by ``conf/model/<name>.yaml``) live in
:mod:`nst_research.backbones.vgg`, :mod:`~nst_research.backbones.resnet` and friends; this module
keeps the old import paths working.
"""

from __future__ import annotations

from nst_research.backbones.layers import vgg_layer_names as layer_names
from nst_research.backbones.preprocessing import PREPROCESSING, Preprocessing
from nst_research.backbones.vgg import VGGFeatures, build_extractor, load_weights
from nst_research.backbones.weights import (
    CAFFE_FILE,
    TORCHVISION_URLS,
    WEIGHT_SOURCES,
    default_preprocessing,
    load_state_dict,
    state_dict_hash,
)

__all__ = [
    "CAFFE_FILE",
    "PREPROCESSING",
    "TORCHVISION_URLS",
    "WEIGHT_SOURCES",
    "Preprocessing",
    "VGGFeatures",
    "build_extractor",
    "default_preprocessing",
    "layer_names",
    "load_state_dict",
    "load_weights",
    "state_dict_hash",
]
