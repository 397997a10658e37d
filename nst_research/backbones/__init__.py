"""Backbones: frozen feature extractors with named layers, as configured modules.

A backbone is a config group option (``conf/model/<name>.yaml`` with a ``_target_``) whose class
(:class:`nst_research.backbones.base.Backbone`) declares, before any weight is loaded, its layer
names, channel counts and strides (:mod:`nst_research.backbones.layers`), its preprocessing and its
weight source, and builds the frozen extractor for the layers a run asks for
(``forward(x) -> {name: (B, C, H', W')}``).

- :mod:`~nst_research.backbones.vgg`: VGG19/VGG16 (Caffe, torchvision or file weights) and the
  seeded random VGG19;
- :mod:`~nst_research.backbones.resnet`: the seeded random ResNet-50, with optional softmax
  smoothing (SWAG, Wang et al. 2021);
- :mod:`~nst_research.backbones.hypercolumns`: several layers resampled to one grid;
- :mod:`~nst_research.backbones.weights` and :mod:`~nst_research.backbones.preprocessing`.

This ``__init__`` imports nothing, so the torch-free :mod:`~nst_research.backbones.layers` stays
cheap to import (``nst --help``, config checks).
"""
