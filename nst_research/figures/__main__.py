"""``python -m nst_research.figures``: see :mod:`nst_research.figures.cli`."""

from nst_research.figures.cli import main

raise SystemExit(main())
