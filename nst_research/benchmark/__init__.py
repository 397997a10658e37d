"""A benchmark: methods x (content, style) pairs, each pair stylised by each method, scored by the
``eval/`` metrics, and summarised per method with confidence intervals and paired tests.

- :mod:`~nst_research.benchmark.plan`: the images, pairs, methods and settings of a benchmark
  (``benchmark.json`` in its directory).
- :mod:`~nst_research.benchmark.runner`: runs the pending jobs as ``nst -m`` sweeps (any Hydra
  launcher) and finds the completed ones on disk, so that a re-run resumes.
- :mod:`~nst_research.benchmark.stats`: t intervals, paired tests, wins/ties/losses (scipy).
- :mod:`~nst_research.benchmark.table`: the method table (markdown, CSV, W&B Table).
- :mod:`~nst_research.benchmark.pictures`: the methods' plane and the contact sheet.
- :mod:`~nst_research.benchmark.cli`: ``nst-bench`` and ``nst-bench report DIR``.
"""
