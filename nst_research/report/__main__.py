"""``python -m nst_research.report``: the ``nst-report`` command (:mod:`nst_research.report.cli`)."""

from nst_research.report.cli import main

raise SystemExit(main())
