"""Evaluation metrics beyond :mod:`nst_research.evaluation.metrics`, chosen so that no method is flattered.

The metrics of :mod:`nst_research.evaluation.metrics` use Gram statistics of the Caffe VGG19, the network and
statistic the default method optimises. These add measures of another kind or on another network:

- :mod:`~nst_research.evaluation.cfsd`: CFSD (StyleID, Chung et al. CVPR 2024), patch-similarity
  structure of the content kept in the output.
- :mod:`~nst_research.evaluation.histogram`: RGB-uv histogram distance (HistoGAN, Afifi et al.
  2021), the output's colours against the style's.
- :mod:`~nst_research.evaluation.random_net`: style and content distances on a seeded
  random-weight VGG19, a network no run optimised.
- :mod:`~nst_research.evaluation.learned`: LPIPS when its weight files are present (else skipped).

Each is one class with a ``conf/eval/<name>.yaml``, called like the metrics of
:mod:`nst_research.evaluation.metrics` with ``(output, scorer)``.
"""
