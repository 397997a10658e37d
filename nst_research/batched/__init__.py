"""Batched problems: N style-transfer problems of one image size optimised together.

One backbone forward and backward over the stacked (N, 3, H, W) images per evaluation; each
problem keeps its own objective (targets, weights, layer weights), its own optimiser and its own
run directory, records and logger, exactly as a single run (:mod:`nst_research.run`) writes them.
The sum of the problems' losses is differentiated, so every image's gradient is its own problem's.

- :mod:`~nst_research.batched.lockstep`: each problem's optimiser step in its own thread; the
  loss evaluations its closure asks for (L-BFGS line searches too) are answered in batches.
- :mod:`~nst_research.batched.problems`: a problem built by :func:`nst_research.engine.build.build` with
  a shared extractor, and the batched evaluation.
- :mod:`~nst_research.batched.fit`: :func:`run_batch`, jobs in, each job's metrics out.
- :mod:`~nst_research.batched.keys`: which configs can share a batch (the launcher's grouping).
"""
