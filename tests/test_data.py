"""The image downloader, against a local HTTP server (no internet)."""

from __future__ import annotations

import functools
import http.server
import socket
import threading
from pathlib import Path

import pytest

from nst_research.errors import InputImageError, NSTError
from nst_research.io import data
from nst_research.io.data import CLASSIC_IMAGES, DownloadError, download_images

SHARED_IMAGES = Path(__file__).resolve().parents[2] / "shared" / "images"
# The three smallest of the nine (~100 kB each).
SERVED = ["golden_gate.jpg", "seated-nude.jpg", "woman-with-hat-matisse.jpg"]


class Server:
    """A ThreadingHTTPServer on 127.0.0.1 serving ``root``; counts GET requests per path."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[str] = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.requests.append(self.path.lstrip("/"))
                super().do_GET()

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

        self.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=str(root))
        )
        host, port = self.httpd.server_address[:2]
        self.url = f"http://{host}:{port}/"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def shared_images() -> Path:
    if not SHARED_IMAGES.is_dir() or not all((SHARED_IMAGES / n).is_file() for n in SERVED):
        pytest.skip(f"classic images not found in {SHARED_IMAGES} (needed as the served files)")
    return SHARED_IMAGES


@pytest.fixture
def server(tmp_path: Path, shared_images: Path):
    root = tmp_path / "served"
    root.mkdir()
    for name in SERVED:
        (root / name).write_bytes((shared_images / name).read_bytes())
    srv = Server(root)
    try:
        yield srv
    finally:
        srv.close()


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "dest"


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_classic_images_table() -> None:
    assert len(CLASSIC_IMAGES) == 9
    assert "tubingen.jpg" in CLASSIC_IMAGES and "starry_night_crop.png" in CLASSIC_IMAGES
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in CLASSIC_IMAGES.values())
    assert data.BASE_URL.startswith("https://raw.githubusercontent.com/jcjohnson/neural-style/")


@pytest.mark.images
def test_download_then_cached(server: Server, dest: Path, shared_images: Path) -> None:
    lines: list[str] = []
    paths = download_images(dest, base_url=server.url, names=SERVED, log=lines.append)

    assert paths == [dest / n for n in SERVED]
    for name in SERVED:
        assert (dest / name).read_bytes() == (shared_images / name).read_bytes()
    assert _leftovers(dest) == sorted(SERVED)  # no temp files left
    assert len(lines) == len(SERVED)
    assert all("downloaded" in line for line in lines)
    assert sorted(server.requests) == sorted(SERVED)

    lines.clear()
    again = download_images(dest, base_url=server.url, names=SERVED, log=lines.append)
    assert again == paths
    assert lines == [f"{n}: ok (cached)" for n in SERVED]
    assert len(server.requests) == len(SERVED)  # nothing fetched the second time


@pytest.mark.images
def test_base_url_without_trailing_slash(server: Server, dest: Path) -> None:
    download_images(dest, base_url=server.url.rstrip("/"), names=SERVED[:1], log=lambda s: None)
    assert (dest / SERVED[0]).is_file()


@pytest.mark.images
def test_corrupted_download_raises_and_leaves_nothing(server: Server, dest: Path) -> None:
    name = SERVED[0]
    good = (server.root / name).read_bytes()
    (server.root / name).write_bytes(good[:-10] + b"corrupted!")

    with pytest.raises(DownloadError) as info:
        download_images(dest, base_url=server.url, names=[name], log=lambda s: None)
    msg = str(info.value)
    assert name in msg and CLASSIC_IMAGES[name] in msg and "\n" not in msg
    assert isinstance(info.value, NSTError)
    assert _leftovers(dest) == []  # neither the file nor its temp file


@pytest.mark.images
def test_missing_on_server_raises(server: Server, dest: Path) -> None:
    name = "tubingen.jpg"  # a classic name the test server does not serve
    with pytest.raises(DownloadError) as info:
        download_images(dest, base_url=server.url, names=[name], log=lambda s: None)
    msg = str(info.value)
    assert "404" in msg and server.url + name in msg and "NST_DATA_DIR" in msg
    assert "\n" not in msg
    assert _leftovers(dest) == []


def test_connection_refused_raises(dest: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    with pytest.raises(DownloadError) as info:
        download_images(dest, base_url=url, names=["tubingen.jpg"], timeout=5, log=lambda s: None)
    msg = str(info.value)
    assert url + "tubingen.jpg" in msg and "retry" in msg and "NST_DATA_DIR" in msg
    assert _leftovers(dest) == []


def test_unknown_name_raises(dest: Path) -> None:
    with pytest.raises(DownloadError, match="unknown image name.*nope.jpg.*tubingen.jpg"):
        download_images(dest, base_url="http://127.0.0.1:9/", names=["nope.jpg"])


@pytest.mark.images
def test_wrong_existing_file_is_replaced(server: Server, dest: Path, shared_images: Path) -> None:
    name = SERVED[1]
    dest.mkdir()
    (dest / name).write_bytes(b"not an image")
    lines: list[str] = []

    download_images(dest, base_url=server.url, names=[name], log=lines.append)

    assert (dest / name).read_bytes() == (shared_images / name).read_bytes()
    assert server.requests == [name]
    assert len(lines) == 1 and "wrong sha256" in lines[0] and "re-downloaded" in lines[0]
    assert _leftovers(dest) == [name]


@pytest.mark.images
def test_main_ok_and_cached(server: Server, dest: Path, capsys: pytest.CaptureFixture) -> None:
    argv = ["--dest", str(dest), "--base-url", server.url]
    for name in SERVED[:2]:
        argv += ["--only", name]
    assert data.main(argv) == 0
    assert _leftovers(dest) == sorted(SERVED[:2])
    assert data.main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("ok (cached)") == 2
    assert len(server.requests) == 2


@pytest.mark.images
def test_main_uses_env_url(
    server: Server, dest: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("NST_DATA_URL", server.url)
    assert data.main(["--dest", str(dest), "--only", SERVED[0]]) == 0
    assert server.requests == [SERVED[0]]


@pytest.mark.images
def test_main_errors_return_2(server: Server, dest: Path, capsys: pytest.CaptureFixture) -> None:
    assert data.main(["--dest", str(dest), "--base-url", server.url, "--only", "tubingen.jpg"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "404" in err and err.count("\n") == 1

    (server.root / SERVED[0]).write_bytes(b"garbage")
    assert data.main(["--dest", str(dest), "--base-url", server.url, "--only", SERVED[0]]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "sha256 mismatch" in err

    assert data.main(["--dest", str(dest), "--only", "nope.jpg"]) == 2
    assert "unknown image name" in capsys.readouterr().err
    assert _leftovers(dest) == []


def test_data_dir_honours_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NST_DATA_DIR", str(tmp_path))
    assert data.data_dir() == tmp_path

    with pytest.raises(InputImageError, match="`python -m nst_research.io.data`.*NST_DATA_DIR"):
        data.find_image("tubingen.jpg")
    (tmp_path / "tubingen.jpg").write_bytes(b"x")
    assert data.find_image("tubingen.jpg") == tmp_path / "tubingen.jpg"


def test_data_dir_fallbacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NST_DATA_DIR", raising=False)
    repo = tmp_path / "main"
    repo.mkdir()
    (repo / "pyproject.toml").write_text("")  # a checkout
    monkeypatch.setattr(data, "_repo_root", lambda: repo)

    assert data.data_dir() == repo / "data"  # nothing exists: where `make data` will put them
    shared = tmp_path / "shared" / "images"
    shared.mkdir(parents=True)
    assert data.data_dir() == shared
    (repo / "data").mkdir()
    assert data.data_dir() == repo / "data"


def test_installed_package_uses_the_user_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From a wheel (no pyproject.toml beside the package): pooch's per-user cache, never
    site-packages/data, and messages that name a command that exists outside a checkout."""
    import pooch

    monkeypatch.delenv("NST_DATA_DIR", raising=False)
    site = tmp_path / "site-packages"
    (site / "data").mkdir(parents=True)  # even if such a folder exists
    (tmp_path / "shared" / "images").mkdir(parents=True)
    monkeypatch.setattr(data, "_repo_root", lambda: site)
    cache = Path(pooch.os_cache("nst-research"))
    assert not data.in_checkout()
    assert data.data_dir() == cache == data.default_dest()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # pooch follows the platform dirs
    assert data.data_dir() == Path(pooch.os_cache("nst-research"))
    with pytest.raises(InputImageError) as info:
        data.find_image("nope.jpg")
    message = str(info.value)
    assert "`python -m nst_research.io.data`" in message and "make data" not in message
    assert str(data.data_dir()) in message
    monkeypatch.setenv("NST_DATA_DIR", str(tmp_path / "mine"))  # the override
    assert data.data_dir() == data.default_dest() == tmp_path / "mine"


def test_module_imports_only_stdlib() -> None:
    import ast

    tree = ast.parse(Path(data.__file__).read_text())
    top = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in tree.body
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    stdlib = {"__future__", "argparse", "collections", "hashlib", "http", "os", "pathlib"}
    stdlib |= {"sys", "tempfile", "urllib"}
    assert top <= stdlib | {"nst_research"}
