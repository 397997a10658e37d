"""nst-research: a research harness for optimisation-based neural style transfer.

Gatys, Ecker & Bethge, "A Neural Algorithm of Artistic Style" (2015) and
"Image Style Transfer Using Convolutional Neural Networks" (CVPR 2016).
"""

__version__ = "0.1.0"
