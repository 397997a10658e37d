"""``glob(*)`` sweeps of a config group: the jobs are the group's options, discovered.

``+ablation=style_loss`` sweeps ``style_loss: glob(*)``. Listing its jobs needs Hydra's config
loader (the pre-flight check of every job, and the report's list of planned jobs that never ran).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from nst_research.report.planned import not_run
from nst_research.validation.jobs import composer, job_overrides
from tests.conftest import REPO

OPTIONS = sorted(p.stem for p in (REPO / "conf" / "style_loss").glob("*.yaml"))


def test_the_preflight_lists_one_job_per_option_of_a_glob_sweep():
    with composer() as comp:
        jobs = job_overrides(comp, ["+ablation=style_loss", "size=32"], multirun=False)
        method_terms = {"remd_hypercolumn", "neighbour"}  # on their methods' scales: excluded
        assert sorted(o for job in jobs for o in job if o.startswith("style_loss=")) == [
            f"style_loss={name}" for name in OPTIONS if name not in method_terms
        ]
        assert len(jobs) == len(OPTIONS) - 2
        jobs = job_overrides(comp, ["model=glob(vgg*)"], multirun=True)
        assert sorted(job[0] for job in jobs) == ["model=vgg16", "model=vgg19"]


def test_a_glob_sweep_stopped_early_lists_its_jobs_not_run(tmp_path: Path):
    saved = {
        "hydra": {
            "sweeper": {
                "_target_": "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
                "params": {"style_loss": "glob(*)"},
            },
            "overrides": {"task": ["seed=1,2"]},
            "runtime": {
                "config_sources": [
                    {"path": "hydra.conf", "schema": "pkg", "provider": "hydra"},
                    {"path": str(REPO / "conf"), "schema": "file", "provider": "main"},
                ]
            },
        }
    }
    (tmp_path / "multirun.yaml").write_text(yaml.safe_dump(saved))
    for num in range(3):
        (tmp_path / str(num)).mkdir()
    missing, total = not_run(tmp_path)
    assert total == 2 * len(OPTIONS)
    assert [job.num for job in missing] == list(range(3, total))
    assert missing[-1].overrides == [f"style_loss={OPTIONS[-1]}", "seed=2"]
