"""Whether a sweep's jobs ran in the same environment: one line of ``report.md`` if not.

Each run records ``metrics.json``'s ``environment`` (packages sha256, device, numerics flags) and
``environment.txt`` (the package list; :mod:`nst_research.provenance.environment`). Jobs whose
records differ are flagged with what differs: the packages (by name, with each version seen),
the device, python, or the numerics flags.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nst_research.provenance.environment import ENVIRONMENT_FILE
from nst_research.report.records import RunRecord

ABSENT = "absent"
SHOWN = 6  # packages named in the line before "and N more"


def _env(record: RunRecord) -> dict[str, Any] | None:
    env = (record.metrics or {}).get("environment")
    return env if isinstance(env, dict) else None


def read_packages(record: RunRecord) -> dict[str, str] | None:
    """A job's ``environment.txt`` as name -> version; None if missing or unreadable."""
    try:
        lines = (record.job_dir / ENVIRONMENT_FILE).read_text().splitlines()
    except OSError:
        return None
    return dict(line.split("==", 1) for line in lines if "==" in line)


def package_differences(lists: Sequence[dict[str, str]]) -> dict[str, list[str]]:
    """Packages whose version is not the same in every list: name -> the versions seen, in
    order (``absent`` where a list lacks it)."""
    names = sorted({n for packages in lists for n in packages}, key=str.lower)
    out = {}
    for name in names:
        seen = list(dict.fromkeys(p.get(name, ABSENT) for p in lists))
        if len(seen) > 1:
            out[name] = seen
    return out


def _field_differences(envs: Sequence[dict[str, Any]], key: str) -> list[str]:
    """``key.sub`` entries (device, numerics) whose values differ, as ``sub a / b``."""
    subs = sorted({s for e in envs for s in (e.get(key) or {})})
    out = []
    for sub in subs:
        seen = list(dict.fromkeys(repr((e.get(key) or {}).get(sub)) for e in envs))
        if len(seen) > 1:
            out.append(f"{sub} {' / '.join(v.strip(chr(39)) for v in seen)}")
    return out


def environment_line(records: Sequence[RunRecord]) -> str | None:
    """``- environments: ...`` when the jobs' recorded environments differ, else None."""
    recorded = [r for r in records if _env(r) is not None]
    unrecorded = sum(1 for r in records if r.metrics is not None and _env(r) is None)
    if not recorded:
        return None
    envs = [_env(r) or {} for r in recorded]
    parts = []
    if len({e.get("packages_sha256") for e in envs}) > 1:
        lists = [read_packages(r) for r in recorded]
        if any(p is None for p in lists):
            parts.append(f"packages differ ({ENVIRONMENT_FILE} missing in some jobs)")
        else:
            diff = package_differences([p for p in lists if p is not None])
            named = [f"`{n}` {' / '.join(v)}" for n, v in list(diff.items())[:SHOWN]]
            more = f" and {len(diff) - SHOWN} more" if len(diff) > SHOWN else ""
            parts.append("packages: " + ", ".join(named) + more)
    if len({e.get("python") for e in envs}) > 1:
        parts.append("python: " + " / ".join(dict.fromkeys(str(e.get("python")) for e in envs)))
    for key in ("device", "numerics"):
        diff_fields = _field_differences(envs, key)
        if diff_fields:
            parts.append(f"{key}: " + ", ".join(diff_fields))
    if unrecorded:
        parts.append(f"{unrecorded} completed job(s) record no environment (older runs)")
    if not parts:
        return None
    kinds = len({_key(e) for e in envs})
    return (
        f"- **environments differ** ({kinds} among {len(recorded)} jobs; results may not be "
        f"comparable): " + "; ".join(parts)
    )


def _key(env: dict[str, Any]) -> str:
    return repr(
        (env.get("packages_sha256"), env.get("python"), env.get("device"), env.get("numerics"))
    )
