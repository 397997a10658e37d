"""Tests of nst_research.io.images: loading every awkward input, tensors, atomic saves, hashes."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from nst_research.errors import ConfigError, InputImageError, NSTError
from nst_research.io.images import (
    file_sha256,
    image_to_tensor,
    load_image,
    long_side_size,
    resize_to,
    save_image,
    tensor_to_image,
)


def _encode(img: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def _noise(w: int, h: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _pixels(img: Image.Image) -> np.ndarray:
    assert img.mode == "RGB"
    return np.asarray(img).astype(int)


def _assert_input_error(path: Path, match: str, role: str = "image") -> InputImageError:
    with pytest.raises(InputImageError, match=match) as info:
        load_image(path, role=role)
    message = str(info.value)
    assert path.name in message
    assert "\n" not in message and "\r" not in message
    assert message.startswith(role)
    return info.value


# --- bad inputs -------------------------------------------------------------------------------


def test_missing_file_names_role_path_and_fix(tmp_path: Path) -> None:
    err = _assert_input_error(tmp_path / "nope.jpg", "not found", role="content image")
    assert "check the path" in str(err)
    assert isinstance(err, NSTError)


def test_path_through_a_file_and_dangling_link_are_not_found(tmp_path: Path) -> None:
    parent = _write(tmp_path / "plain.txt", b"x")
    _assert_input_error(parent / "child.png", "not found")
    link = tmp_path / "gone.png"
    link.symlink_to(tmp_path / "missing-target.png")
    _assert_input_error(link, "not found")


def test_directory(tmp_path: Path) -> None:
    folder = tmp_path / "style.png"
    folder.mkdir()
    _assert_input_error(folder, "directory", role="style image")


def test_empty_file(tmp_path: Path) -> None:
    _assert_input_error(_write(tmp_path / "blank.png", b""), "empty file")


def test_non_image_file(tmp_path: Path) -> None:
    _assert_input_error(_write(tmp_path / "notes.jpg", b"just some text\n" * 20), "not a recogn")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_file(tmp_path: Path, fmt: str) -> None:
    data = _encode(_noise(64, 64), fmt)
    path = _write(tmp_path / f"cut.{fmt.lower()}", data[: len(data) // 2])
    _assert_input_error(path, "truncated or corrupt")


def test_truncated_file_fails_even_if_pil_is_told_to_accept_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    data = _encode(_noise(64, 64), "JPEG")
    path = _write(tmp_path / "cut.jpg", data[: len(data) // 2])
    _assert_input_error(path, "truncated or corrupt")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # the caller's setting is restored


def test_corrupt_png_data(tmp_path: Path) -> None:
    data = bytearray(_encode(_noise(64, 64), "PNG"))
    idat = data.index(b"IDAT")
    data[idat + 20 : idat + 60] = bytes(40)  # zero out part of the compressed stream
    _assert_input_error(_write(tmp_path / "bad.png", bytes(data)), "truncated or corrupt")


@pytest.mark.parametrize("side", [12, 40])  # 144 px: PIL's warning; 1600 px > 2 x limit: its error
def test_decompression_bomb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, side: int) -> None:
    path = _write(tmp_path / "bomb.png", _encode(Image.new("RGB", (side, side)), "PNG"))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    _assert_input_error(path, "too large to decode safely")


# --- modes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["L", "LA"])
def test_grayscale_becomes_equal_channels(tmp_path: Path, mode: str) -> None:
    gray = Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8) * 4)
    img = gray if mode == "L" else Image.merge("LA", (gray, Image.new("L", (8, 8), 255)))
    px = _pixels(load_image(_write(tmp_path / "g.png", _encode(img, "PNG"))))
    assert (px[..., 0] == px[..., 1]).all() and (px[..., 1] == px[..., 2]).all()
    np.testing.assert_array_equal(px[..., 0], np.asarray(gray))


def test_one_bit_image(tmp_path: Path) -> None:
    img = Image.new("1", (4, 2), 0)
    img.putpixel((1, 0), 1)
    px = _pixels(load_image(_write(tmp_path / "b.png", _encode(img, "PNG"))))
    assert px[0, 1].tolist() == [255, 255, 255]
    assert px[0, 0].tolist() == [0, 0, 0]


def test_rgba_is_composited_on_white(tmp_path: Path) -> None:
    img = Image.new("RGBA", (3, 1))
    img.putpixel((0, 0), (0, 0, 0, 0))  # fully transparent black
    img.putpixel((1, 0), (255, 0, 0, 255))  # opaque red
    img.putpixel((2, 0), (0, 0, 0, 128))  # half-transparent black
    px = _pixels(load_image(_write(tmp_path / "a.png", _encode(img, "PNG"))))
    assert px[0, 0].tolist() == [255, 255, 255]
    assert px[0, 1].tolist() == [255, 0, 0]
    assert np.abs(px[0, 2] - 127).max() <= 1


def test_palette_with_and_without_transparency(tmp_path: Path) -> None:
    img = Image.new("P", (2, 1))
    img.putpalette([0, 0, 255, 255, 0, 0] + [0] * 762)  # index 0 blue, index 1 red
    img.putpixel((1, 0), 1)
    plain = _pixels(load_image(_write(tmp_path / "p.png", _encode(img, "PNG"))))
    assert plain[0].tolist() == [[0, 0, 255], [255, 0, 0]]
    see_through = _encode(img, "PNG", transparency=0)
    px = _pixels(load_image(_write(tmp_path / "pt.png", see_through)))
    assert px[0].tolist() == [[255, 255, 255], [255, 0, 0]]


def test_gif_palette_transparency(tmp_path: Path) -> None:
    img = Image.new("P", (2, 1))
    img.putpalette([0, 0, 255, 0, 255, 0] + [0] * 762)
    img.putpixel((1, 0), 1)
    px = _pixels(load_image(_write(tmp_path / "t.gif", _encode(img, "GIF", transparency=0))))
    assert px[0].tolist() == [[255, 255, 255], [0, 255, 0]]


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
def test_cmyk_cyan_becomes_rgb_cyan(tmp_path: Path, fmt: str) -> None:
    img = Image.new("CMYK", (16, 16), (255, 0, 0, 0))
    px = _pixels(load_image(_write(tmp_path / f"c.{fmt.lower()}", _encode(img, fmt))))
    assert np.abs(px - np.array([0, 255, 255])).max() <= 3


@pytest.mark.parametrize("mode", ["I;16", "I;16B", "I"])
def test_high_bit_depth_is_scaled_not_clipped(tmp_path: Path, mode: str) -> None:
    img = Image.new(mode, (3, 1))
    for x, value in enumerate([65535, 32768, 0]):
        img.putpixel((x, 0), value)
    fmt = "PNG" if mode == "I;16" else "TIFF"
    px = _pixels(load_image(_write(tmp_path / f"deep.{fmt.lower()}", _encode(img, fmt))))
    assert px[0, :, 0].tolist()[0] == 255
    assert px[0, 1, 0] in (127, 128)  # 32768 / 257 = 127.5, not 255
    assert px[0, 2, 0] == 0


@pytest.mark.parametrize(
    ("values", "expected"), [([1.0, 0.5, 0.0], [255, 128, 0]), ([255.0, 100.0, 0.0], [255, 100, 0])]
)
def test_float_mode(tmp_path: Path, values: list[float], expected: list[int]) -> None:
    img = Image.new("F", (3, 1))
    for x, value in enumerate(values):
        img.putpixel((x, 0), value)
    px = _pixels(load_image(_write(tmp_path / "f.tiff", _encode(img, "TIFF"))))
    assert px[0, :, 0].tolist() == expected


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    # Stored 40 wide x 20 high, blue with a red top-left quadrant; orientation 6 means
    # "rotate 90 degrees clockwise to display", so the red block must end up top-right.
    img = Image.new("RGB", (40, 20), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 20, 10))
    exif = Image.Exif()
    exif[0x0112] = 6
    data = _encode(img, "JPEG", exif=exif.tobytes(), quality=95, subsampling=0)
    loaded = load_image(_write(tmp_path / "rotated.jpg", data))
    assert loaded.size == (20, 40)
    px = _pixels(loaded)
    assert np.abs(px[5, 15] - [255, 0, 0]).max() < 40  # top-right: the marker
    for y, x in [(5, 5), (30, 5), (30, 15)]:  # the other three quadrants stay blue
        assert np.abs(px[y, x] - [0, 0, 255]).max() < 40


def test_loaded_image_is_independent_of_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.png", _encode(_noise(5, 4), "PNG"))
    img = load_image(path)
    path.unlink()
    assert img.mode == "RGB" and img.size == (5, 4)
    np.testing.assert_array_equal(np.asarray(img), np.asarray(_noise(5, 4)))


# --- sizes and tensors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("h", "w", "size", "expected"),
    [(48, 64, 32, (24, 32)), (64, 48, 32, (32, 24)), (10, 10, 7, (7, 7)), (1, 1000, 10, (1, 10))],
)
def test_long_side_size(h: int, w: int, size: int, expected: tuple[int, int]) -> None:
    assert long_side_size(h, w, size) == expected


def test_long_side_size_rejects_bad_size() -> None:
    with pytest.raises(ConfigError, match="positive"):
        long_side_size(10, 10, 0)


def test_resize_to_is_exact() -> None:
    assert resize_to(_noise(64, 48), (7, 13)).size == (13, 7)


def test_image_to_tensor_resizes_long_side() -> None:
    t = image_to_tensor(_noise(64, 48), size=32)
    assert t.shape == (1, 3, 24, 32)
    assert t.dtype == torch.float32
    assert 0.0 <= t.min().item() and t.max().item() <= 1.0


def test_image_to_tensor_values_and_no_resize() -> None:
    t = image_to_tensor(Image.new("RGB", (5, 3), (255, 0, 51)))
    assert t.shape == (1, 3, 3, 5)
    expected = torch.tensor([1.0, 0.0, 0.2]).view(1, 3, 1, 1).expand(1, 3, 3, 5)
    torch.testing.assert_close(t, expected)


def test_tensor_to_image_clamps_and_accepts_3d() -> None:
    t = torch.tensor([-1.0, 0.5, 2.0]).view(3, 1, 1).requires_grad_(True)
    img = tensor_to_image(t)
    assert img.mode == "RGB" and img.getpixel((0, 0)) == (0, 128, 255)
    with pytest.raises(ValueError, match="shape"):
        tensor_to_image(torch.zeros(2, 3, 4, 4))


def test_save_load_round_trip_is_exact(tmp_path: Path) -> None:
    levels = torch.randint(0, 256, (1, 3, 9, 11), generator=torch.Generator().manual_seed(0))
    t = levels.float() / 255.0
    path = save_image(t, tmp_path / "deep" / "dir" / "out.png")
    assert path == tmp_path / "deep" / "dir" / "out.png" and path.is_file()
    back = image_to_tensor(load_image(path))
    assert torch.equal((back * 255).round().long(), levels)
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.png"]  # no temp files left


def test_interrupted_save_keeps_old_file_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = save_image(torch.zeros(1, 3, 4, 4), tmp_path / "final.png")
    before = path.read_bytes()

    def half_write(
        self: Image.Image, fp: io.BufferedWriter, *args: object, **kwargs: object
    ) -> None:
        fp.write(b"\x89PNG half")
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, "save", half_write)
    with pytest.raises(KeyboardInterrupt):
        save_image(torch.ones(1, 3, 4, 4), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["final.png"]


def test_save_image_wants_png(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.png"):
        save_image(torch.zeros(3, 2, 2), tmp_path / "x.jpg")


def test_file_sha256_matches_hashlib(tmp_path: Path) -> None:
    data = np.random.default_rng(1).bytes(2_500_000)  # spans several read chunks
    path = _write(tmp_path / "blob.bin", data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()


# --- fuzzing ----------------------------------------------------------------------------------

_VALID = [
    _encode(_noise(6, 5), "PNG"),
    _encode(_noise(16, 16), "JPEG"),
    _encode(Image.new("P", (4, 4)), "GIF"),
    _encode(Image.new("RGBA", (3, 3)), "PNG"),
    _encode(Image.new("I;16", (3, 3), 300), "PNG"),
    _encode(_noise(4, 4), "PPM"),  # text header: corrupt digits raise ValueError inside PIL
    _encode(_noise(4, 4), "TIFF"),
    _encode(_noise(4, 4), "BMP"),
]


@st.composite
def _file_bytes(draw: st.DrawFn) -> bytes:
    """Random bytes, or a real image file cut short, byte-flipped and given a random tail."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=512))
    data = bytearray(draw(st.sampled_from(_VALID)))
    del data[draw(st.integers(1, len(data))) :]
    for _ in range(draw(st.integers(0, 4))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data) + draw(st.binary(max_size=64))


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.mark.filterwarnings("ignore::UserWarning")  # PIL warns about corrupt EXIF/TIFF tags
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_file_bytes())
@example(data=b"P6\n1x 2\n255\n" + bytes(6))  # PIL raises ValueError, not OSError
@example(data=_VALID[0][:16] + b"\xff" * 40)  # corrupt PNG header
def test_random_bytes_give_rgb_or_input_image_error(fuzz_dir: Path, data: bytes) -> None:
    path = _write(fuzz_dir / "fuzz.img", data)
    try:
        img = load_image(path)
    except InputImageError as err:
        assert "fuzz.img" in str(err) and "\n" not in str(err)
    else:
        assert img.mode == "RGB" and img.width >= 1 and img.height >= 1
