"""Configs of the ``nst_optuna`` sweeper and its samplers, registered in Hydra's ConfigStore.

Groups: ``hydra/sweeper`` (``nst_optuna``) and ``hydra/sweeper/sampler`` (``tpe``, ``random``).
Optuna is not imported here (Hydra imports this module on every start). No ``from __future__
import annotations`` here: Hydra's plugin scan runs this module before it is in ``sys.modules``,
where ``dataclasses`` would look string annotations up.
"""

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


@dataclass
class TPESamplerConf:
    """``optuna.samplers.TPESampler``; the first ``n_startup_trials`` trials are random."""

    _target_: str = "optuna.samplers.TPESampler"
    seed: int | None = None
    n_startup_trials: int = 10
    multivariate: bool = False
    # A trial still running counts as a bad one, so the trials of one batch (n_jobs > 1) spread out.
    constant_liar: bool = True


@dataclass
class RandomSamplerConf:
    """``optuna.samplers.RandomSampler``: independent uniform draws (log-uniform for log dims)."""

    _target_: str = "optuna.samplers.RandomSampler"
    seed: int | None = None


@dataclass
class NSTOptunaSweeperConf:
    """The sweeper. ``params`` maps a config key to a sweep in Hydra's override grammar:
    ``choice(a,b)`` or ``a,b`` (categorical), ``interval(lo,hi)`` (float),
    ``tag(log,interval(lo,hi))`` (log float), ``range(a,b[,step])`` (int, ``b`` excluded as in
    Python) or a single value (fixed for every trial). Sweeps given on the command line join it.
    """

    _target_: str = "hydra_plugins.nst_optuna_sweeper.sweeper.NSTOptunaSweeper"
    # The sampler arrives as its config: the sweeper builds it once it knows how many trials the
    # study already has (a resumed study must not replay the seed's first draws).
    _recursive_: bool = False
    defaults: list[Any] = field(default_factory=lambda: [{"sampler": "tpe"}])
    sampler: Any = MISSING
    direction: str = "minimize"  # minimize | maximize the value the task function returns
    n_trials: int = 20  # complete trials the study should have; a rerun adds only the missing ones
    n_jobs: int = 1  # trials asked for and launched together (one launcher batch)
    study_name: str | None = None  # null: the sweep directory's name
    # null: in memory (no resume). The default keeps the study next to its jobs.
    storage: str | None = "sqlite:///${hydra.sweep.dir}/optuna.db"
    params: dict[str, Any] | None = None


_cs = ConfigStore.instance()
_cs.store(group="hydra/sweeper", name="nst_optuna", node=NSTOptunaSweeperConf, provider="nst")
_cs.store(group="hydra/sweeper/sampler", name="tpe", node=TPESamplerConf, provider="nst")
_cs.store(group="hydra/sweeper/sampler", name="random", node=RandomSamplerConf, provider="nst")
