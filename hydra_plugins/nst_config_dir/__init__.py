"""``$NST_CONFIG_DIR``: your own config dir, first on Hydra's search path (CLI and Python API).

Options and groups there add to ``conf/`` and, where the names are the same, override it
(``style_loss/gram.yaml`` there replaces the packaged one). Hydra's ``--config-dir`` only adds:
Hydra 1.3 puts it after the primary config, so it cannot override an existing option. A
search-path plugin because Hydra calls it for ``@hydra.main`` and ``compose`` alike, before the
config repository is built; a plain ``hydra.searchpath`` entry is appended after the primary
config and could only add.
"""

from __future__ import annotations

import os
from pathlib import Path

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin


class NSTConfigDir(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        user = os.environ.get("NST_CONFIG_DIR")
        if user:
            path = f"file://{Path(user).expanduser().resolve()}"
            search_path.prepend(provider="nst-config-dir", path=path, anchor="main")
