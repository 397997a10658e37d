"""Where a run's records go: directory locks and claims (one directory, one run), sweep resume,
and Hydra's own ``.hydra/`` files written atomically. The byte writer is ``nst_research.io.files``."""
