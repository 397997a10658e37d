"""The classic style-transfer images: download them (``make data``) and find them (figure recipes).

The nine images are the example inputs of jcjohnson/neural-style (``examples/inputs/``), the
images used throughout the style-transfer literature since Gatys et al. (2016). Each download is
checked against a pinned sha256 and moved into place atomically, so a folder never holds a
half-written or altered image under a classic name.

Usage::

    python -m nst_research.data --dest data            # all nine
    python -m nst_research.data --only tubingen.jpg    # just one

Standard library only: this must run before the heavy dependencies are installed.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.request
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

_CHUNK = 1 << 16
_RETRY_HINT = (
    f"retry later, or set {DATA_DIR_ENV} to a folder that already has the images "
    "(e.g. ../shared/images)"
)


class DownloadError(NSTError):
    """An image could not be downloaded, or its bytes do not match the pinned sha256."""


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


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


def _fetch(url: str, dest: Path, name: str, timeout: float) -> tuple[Path, str, int]:
    """Stream ``url`` into a temp file inside ``dest``; return (temp path, sha256, size).

    The temp file is removed on any failure.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=dest)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            request = urllib.request.Request(url, headers={"User-Agent": "nst-research-data"})
            with urllib.request.urlopen(request, timeout=timeout) as response:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
    except urllib.error.HTTPError as e:
        tmp.unlink(missing_ok=True)
        raise DownloadError(
            f"cannot download {url}: HTTP {e.code} {e.reason}; {_RETRY_HINT}"
        ) from None
    except urllib.error.URLError as e:
        tmp.unlink(missing_ok=True)
        raise DownloadError(f"cannot download {url}: {e.reason}; {_RETRY_HINT}") from None
    except (OSError, http.client.HTTPException) as e:
        tmp.unlink(missing_ok=True)
        reason = str(e) or type(e).__name__
        raise DownloadError(f"cannot download {url}: {reason}; {_RETRY_HINT}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, digest.hexdigest(), size


def download_images(
    dest: Path,
    base_url: str = BASE_URL,
    names: Iterable[str] | None = None,
    timeout: float = 30.0,
    log: Callable[[str], object] = print,
) -> list[Path]:
    """Make sure ``dest`` holds the classic images (all nine, or ``names``) with the pinned sha256.

    A file already there with the right hash is kept ("ok (cached)"); a missing file is
    downloaded from ``base_url + name``; a file with the wrong hash is re-downloaded. Each
    download goes to a temp file in ``dest``, is verified, then moved into place with
    ``os.replace`` (atomic). Logs one line per file. Returns the paths, in the order of ``names``.

    Raises:
        DownloadError: on a network error, or when the downloaded bytes do not match the hash
            (the temp file is removed and nothing is written under the image's name).
    """
    names = _check_names(names)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if not base_url.endswith("/"):
        base_url += "/"

    paths: list[Path] = []
    for name in names:
        expected = CLASSIC_IMAGES[name]
        target = dest / name
        stale = False
        if target.is_file():
            if sha256_of(target) == expected:
                log(f"{name}: ok (cached)")
                paths.append(target)
                continue
            stale = True

        url = base_url + name
        tmp, actual, size = _fetch(url, dest, name, timeout)
        if actual != expected:
            tmp.unlink(missing_ok=True)
            raise DownloadError(
                f"{name}: sha256 mismatch for {url} (expected {expected}, got {actual})"
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
        if stale:
            log(f"{name}: had the wrong sha256, re-downloaded ({size} bytes)")
        else:
            log(f"{name}: downloaded ({size} bytes)")
        paths.append(target)
    return paths


def _repo_root() -> Path:
    """The checkout: the parent of the ``nst_research`` package folder."""
    return Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """The folder figure recipes read the classic images from.

    ``$NST_DATA_DIR`` if set; else ``<repo>/data`` (filled by ``make data``) if it exists; else
    ``<repo>/../shared/images`` if it exists; else ``<repo>/data``.
    """
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    repo = _repo_root()
    local = repo / "data"
    if local.is_dir():
        return local
    shared = repo.parent / "shared" / "images"
    if shared.is_dir():
        return shared
    return local


def find_image(name: str) -> Path:
    """``data_dir() / name``; raises InputImageError naming the fix when it is absent."""
    folder = data_dir()
    path = folder / name
    if not path.is_file():
        raise InputImageError(
            f"image {name!r} not found in {folder}: run `make data` to download the classic "
            f"images, or set {DATA_DIR_ENV} to a folder that has them"
        )
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nst_research.data",
        description="Download the classic style-transfer images and check their sha256.",
    )
    parser.add_argument("--dest", type=Path, default=Path("data"), help="folder (default: data)")
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
        download_images(args.dest, base_url=args.base_url, names=args.only, timeout=args.timeout)
    except NSTError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
