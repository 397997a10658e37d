"""Where a result came from: the installed versions, the device and the numerics flags of a run
(:mod:`.environment`), and the lock that reinstalls those versions (:mod:`.lock`, ``make lock``).
"""

from __future__ import annotations

from nst_research.provenance.environment import (
    ENVIRONMENT_FILE,
    device_info,
    distributions,
    environment_record,
    numerics_flags,
    packages_sha256,
    write_environment,
)

__all__ = [
    "ENVIRONMENT_FILE",
    "device_info",
    "distributions",
    "environment_record",
    "numerics_flags",
    "packages_sha256",
    "write_environment",
]
