"""The classic style-transfer images: download them (``python -m nst_research.io.data``, or ``make
data`` in a checkout) and find them (figure recipes).

The nine images are the example inputs of jcjohnson/neural-style (``examples/inputs/``), the
images used throughout the style-transfer literature since Gatys et al. (2016). The downloads are
pooch's: each is checked against a pinned sha256 and moved into place atomically, so a folder
never holds a half-written or altered image under a classic name.

Usage::

    python -m nst_research.io.data                        # all nine, into default_dest()
    python -m nst_research.io.data --only tubingen.jpg    # just one
    python -m nst_research.io.data --dest data            # into ./data

Installed from a wheel, the images live in a per-user cache (pooch's ``os_cache("nst-research")``,
e.g. ``~/.cache/nst-research``); in a checkout, in ``<repo>/data``; ``$NST_DATA_DIR`` overrides both.

The module imports the standard library only (figure recipes call :func:`find_image`); pooch
and requests load when a download starts.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from nst_research.errors import InputImageError, NSTError

BASE_URL = "https://raw.githubusercontent.com/jcjohnson/neural-style/master/examples/inputs/"

# name -> sha256, from ../shared/images/SOURCES.md (neural-style commit 07c4b82).
CLASSIC_IMAGES: dict[str, str] = {
    "tubingen.jpg": "e67d1869f01fd805385c681a80d9ebcf0f70ea4a5fe6127f0606bb1c7f4bf506",
    "starry_night.jpg": "0592ab0f7b51b3ce72608a95e53880bd93971e5b48f93a0ce8dfd3cbccf3d098",
    "shipwreck.jpg": "4f7cf34e3cd4a5daaf3f421f059ca9a01aaa2a3afd7243d6670c9c8bc001a213",
    "the_scream.jpg": "f3075cddeb974a9ee1d6418f7f33fd05185a7ac7dcb4288bd2805d499a9dcaee",
    "seated-nude.jpg": "f398757cfb5346842c3bc309ca65d03381b38b1f5f8d7c60abe68a804a405cf1",
    "woman-with-hat-matisse.jpg": "6a8b2383d9c110354a97a42c74bdcc5341be879cbb842ddb7ab5843dbdf56d53",
    "golden_gate.jpg": "f8476ac216e0d409af2e52bf82ad2cdc3433e23d7895e6f9b2048fc014ed57ba",
    "hoovertowernight.jpg": "8852910ed1594af535c3dee012b020b9ee4045798645885d20a9445d12e98093",
    "starry_night_crop.png": "776279d5e9daf676fb7e36c9eab953497445d4b3422bdd660b96ce984ac39721",
}

DATA_DIR_ENV = "NST_DATA_DIR"
DATA_URL_ENV = "NST_DATA_URL"

_RETRY_HINT = (
    f"retry later, or set {DATA_DIR_ENV} to a folder that already has the images "
    "(e.g. ../shared/images)"
)


class DownloadError(NSTError):
    """An image could not be downloaded, or its bytes do not match the pinned sha256."""


def _check_names(names: Iterable[str] | None) -> list[str]:
    if names is None:
        return list(CLASSIC_IMAGES)
    names = list(names)
    unknown = [n for n in names if n not in CLASSIC_IMAGES]
    if unknown:
        raise DownloadError(
            f"unknown image name(s) {', '.join(unknown)}; valid: {', '.join(CLASSIC_IMAGES)}"
        )
    return names


def _retrieve(url: str, dest: Path, name: str, timeout: float) -> str:
    """pooch's hash-checked download of ``url`` to ``dest/name``; returns what pooch did
    (``fetch``: the file was there with the right hash, ``download``, ``update``: it had the
    wrong hash). pooch streams into a temp file beside the target, checks the sha256 and only
    then moves it into place; its errors become one line here."""
    import pooch
    import requests

    pooch.get_logger().setLevel("WARNING")  # our own line per file instead
    actions: list[str] = []
    try:
        pooch.retrieve(
            url,
            known_hash=f"sha256:{CLASSIC_IMAGES[name]}",
            fname=name,
            path=dest,
            downloader=pooch.HTTPDownloader(
                timeout=timeout, headers={"User-Agent": "nst-research"}
            ),
            processor=lambda path, action, _: actions.append(action),
        )
    except requests.HTTPError as e:
        status = f"HTTP {e.response.status_code} {e.response.reason}"
        raise DownloadError(f"cannot download {url}: {status}; {_RETRY_HINT}") from None
    except requests.RequestException as e:
        reason = type(e).__name__
        raise DownloadError(f"cannot download {url}: {reason}; {_RETRY_HINT}") from None
    except ValueError as e:  # pooch: the downloaded bytes do not have the known hash
        raise DownloadError(
            f"{name}: sha256 mismatch for {url} ({' '.join(str(e).split())})"
        ) from None
    os.chmod(dest / name, 0o644)  # pooch's temp file was private
    return actions[0]


def download_images(
    dest: Path,
    base_url: str = BASE_URL,
    names: Iterable[str] | None = None,
    timeout: float = 30.0,
    log: Callable[[str], object] = print,
) -> list[Path]:
    """Make sure ``dest`` holds the classic images (all nine, or ``names``) with the pinned sha256.

    A file already there with the right hash is kept ("ok (cached)"); a missing file is
    downloaded from ``base_url + name``; a file with the wrong hash is re-downloaded. A download
    is verified before it takes the image's name (pooch). Logs one line per file. Returns the
    paths, in the order of ``names``.

    Raises:
        DownloadError: on a network error, or when the downloaded bytes do not match the hash
            (nothing is written under the image's name, no temp file is left).
    """
    names = _check_names(names)
    dest = Path(dest).resolve()
    dest.mkdir(parents=True, exist_ok=True)
    if not base_url.endswith("/"):
        base_url += "/"
    messages = {
        "fetch": "ok (cached)",
        "download": "downloaded ({} bytes)",
        "update": "had the wrong sha256, re-downloaded ({} bytes)",
    }
    for name in names:
        action = _retrieve(base_url + name, dest, name, timeout)
        log(f"{name}: {messages[action].format((dest / name).stat().st_size)}")
    return [dest / name for name in names]


def _repo_root() -> Path:
    """The checkout: the parent of the ``nst_research`` package folder."""
    return Path(__file__).resolve().parents[2]


CACHE_NAME = "nst-research"  # pooch.os_cache(CACHE_NAME): the per-user cache of installed users
FETCH_COMMAND = "python -m nst_research.io.data"  # works wherever the package is installed


def in_checkout() -> bool:
    """Whether the package runs from a source checkout (``pyproject.toml`` beside it), not a wheel."""
    return (_repo_root() / "pyproject.toml").is_file()


def default_dest() -> Path:
    """Where ``python -m nst_research.io.data`` puts the images: ``$NST_DATA_DIR`` if set, else
    ``<repo>/data`` in a checkout, else the per-user cache (``pooch.os_cache("nst-research")``)."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    if in_checkout():
        return _repo_root() / "data"
    import pooch

    return Path(pooch.os_cache(CACHE_NAME))


def data_dir() -> Path:
    """The folder figure recipes read the classic images from.

    ``$NST_DATA_DIR`` if set; else, in a checkout, ``<repo>/data`` (filled by ``make data``) if it
    exists, else ``<repo>/../shared/images`` if it exists; else :func:`default_dest` (the per-user
    cache for an installed package, never ``site-packages``).
    """
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    if in_checkout():
        repo = _repo_root()
        for folder in (repo / "data", repo.parent / "shared" / "images"):
            if folder.is_dir():
                return folder
    return default_dest()


def find_image(name: str) -> Path:
    """``data_dir() / name``; raises InputImageError naming the fix when it is absent."""
    folder = data_dir()
    path = folder / name
    if not path.is_file():
        raise InputImageError(
            f"image {name!r} not found in {folder}: run `{FETCH_COMMAND}` to download the "
            f"classic images into {default_dest()}, or set {DATA_DIR_ENV} to a folder that has them"
        )
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nst_research.io.data",
        description="Download the classic style-transfer images and check their sha256.",
    )
    parser.add_argument(
        "--dest",
        type=Path,
        default=None,
        help=f"folder (default: ${DATA_DIR_ENV}, else data/ in a checkout, else the per-user "
        f"cache, {CACHE_NAME} in pooch's os_cache)",
    )
    parser.add_argument(
        "--base-url",
        default=os.environ.get(DATA_URL_ENV) or BASE_URL,
        help=f"where to fetch <name> from (default: ${DATA_URL_ENV} or {BASE_URL})",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help=f"fetch only this image (repeatable); one of: {', '.join(CLASSIC_IMAGES)}",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    args = parser.parse_args(argv)
    try:
        dest = args.dest if args.dest is not None else default_dest()
        download_images(dest, base_url=args.base_url, names=args.only, timeout=args.timeout)
    except NSTError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
