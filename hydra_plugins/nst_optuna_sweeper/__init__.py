"""A Hydra sweeper on current Optuna (>=4): ``hydra/sweeper=nst_optuna``.

Hydra imports the public modules of every package under ``hydra_plugins`` at start-up: ``config``
registers the configs, ``sweeper`` holds the plugin class. Optuna is only imported by the private
modules (``_space``, ``_study``, ``_results``), which Hydra's scan skips, so single runs do not pay
for it.
"""
