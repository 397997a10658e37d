"""nst-research: a research harness for optimisation-based neural style transfer.

Gatys, Ecker & Bethge, "A Neural Algorithm of Artistic Style" (2015) and
"Image Style Transfer Using Convolutional Neural Networks" (CVPR 2016).

``from nst_research import compose, stylize``: the Python API (:mod:`nst_research.api`). Both are
light to import (OmegaConf only); torch, Lightning and W&B load when a run starts. Note that the
name ``nst_research.configs.compose`` is then the function: ``from nst_research.configs.compose import ...`` still
reads the module.
"""

from nst_research.api import Result, stylize
from nst_research.configs.compose import compose

__version__ = "0.1.0"
__all__ = ["Result", "compose", "stylize"]
