"""Image I/O: files to RGB PIL images, PIL images to (1, 3, H, W) tensors in [0, 1], and back.

Every problem with an input file becomes one `InputImageError` line that names the file, the
problem and the fix. Outputs are written atomically (temp file + `os.replace`), so an
interrupted save never leaves a half-written PNG behind.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFile, ImageOps

from nst_research.errors import ConfigError, InputImageError
from nst_research.io.files import write_bytes

_CHUNK_BYTES = 1 << 20
_RESAMPLE = Image.Resampling.LANCZOS  # antialiased when downsampling


def _one_line(text: object) -> str:
    """Collapse any whitespace (newlines included) so a message stays on one line."""
    return " ".join(str(text).split())


def load_image(path: str | os.PathLike[str], *, role: str = "image") -> Image.Image:
    """Read an image file as an 8-bit RGB PIL image.

    The EXIF orientation is applied first. Transparency (RGBA, LA, PA, palette or tRNS) is
    composited on white; grayscale and 1-bit images are replicated to three channels; CMYK is
    converted to RGB. High bit depths are scaled, not clipped: 16-bit modes (``I;16*``, and
    ``I``, taken to hold 16-bit values as 16-bit PNGs do) are divided by 257; float ``F`` is
    taken as 0..1 if its maximum is <= 1, else as 0..255.

    Args:
        path: the image file.
        role: what the image is for, used in error messages ("content image", "style image").

    Raises:
        InputImageError: the path is missing, a directory, empty, not an image, truncated or
            corrupt, too large to decode safely (decompression bomb), or in an unusable mode.
    """
    p = Path(path)
    name = _one_line(p)
    _check_file(p, name, role)
    img = _decode(p, name, role)
    try:
        return _to_rgb(img)
    except (ValueError, OSError, TypeError) as exc:
        raise InputImageError(
            f"{role} has an unsupported colour mode {img.mode!r}: {name} (convert it to RGB PNG or JPEG)"
        ) from exc


def _check_file(p: Path, name: str, role: str) -> None:
    """Missing, unreadable, a directory or empty: one line each."""
    try:
        info = p.stat()
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise InputImageError(
            f"{role} not found: {name} (check the path; it resolves to {_one_line(p.absolute())})"
        ) from exc
    except OSError as exc:
        raise InputImageError(
            f"{role} cannot be read: {name} ({_one_line(exc.strerror)}; check its permissions)"
        ) from exc
    if stat.S_ISDIR(info.st_mode):
        raise InputImageError(
            f"{role} is a directory, not an image file: {name} (pass the path of an image file)"
        )
    if info.st_size == 0:
        raise InputImageError(
            f"{role} is an empty file (0 bytes): {name} (re-export or re-download it)"
        )


def _decode(p: Path, name: str, role: str) -> Image.Image:
    """Decode the whole file now (EXIF orientation applied); every PIL failure is one line."""
    truncated_ok = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file must fail, never load half grey
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(p) as img:
                img.load()  # force the full decode now, inside the try
                img = ImageOps.exif_transpose(img)
    except PermissionError as exc:
        raise InputImageError(
            f"{role} cannot be read (permission denied): {name} (fix the file's permissions)"
        ) from exc
    except Image.UnidentifiedImageError as exc:
        raise InputImageError(
            f"{role} is not a recognised image file: {name} (use a PNG or JPEG image)"
        ) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputImageError(
            f"{role} is too large to decode safely: {name} ({_one_line(exc)}; downscale the file first)"
        ) from exc
    except Exception as exc:  # PIL's decoders raise OSError, SyntaxError, ValueError, EOFError, ...
        raise InputImageError(
            f"{role} is truncated or corrupt: {name} ({type(exc).__name__}: {_one_line(exc)}; "
            "re-export or re-download it)"
        ) from exc
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = truncated_ok
    return img


def _to_rgb(img: Image.Image) -> Image.Image:
    """Convert a decoded image of any mode to 8-bit RGB (see `load_image` for the rules)."""
    if img.mode.startswith("I;16") or img.mode == "I":
        values = np.clip(np.asarray(img, dtype=np.float64), 0, 65535)
        return _gray8(values / 257.0)
    if img.mode == "F":
        values = np.nan_to_num(np.asarray(img, dtype=np.float64))
        scale = 255.0 if values.max() <= 1.0 else 1.0
        return _gray8(values * scale)
    if "A" in img.getbands() or "transparency" in img.info:
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, img.convert("RGBA")).convert("RGB")
    return img.convert("RGB")  # RGB (copy), L, 1, P, CMYK, YCbCr, ...


def _gray8(values: np.ndarray) -> Image.Image:
    """(H, W) floats on a 0..255 scale -> rounded, clipped 8-bit RGB image."""
    gray = np.clip(np.round(values), 0, 255).astype(np.uint8)
    return Image.fromarray(gray).convert("RGB")


def long_side_size(h: int, w: int, size: int) -> tuple[int, int]:
    """(h, w) scaled so that max(h, w) == size, keeping the aspect ratio (at least 1 px a side)."""
    if size < 1:
        raise ConfigError(f"image size must be a positive number of pixels, got {size}")
    if h < 1 or w < 1:
        raise ValueError(f"image dimensions must be positive, got h={h}, w={w}")
    scale = size / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def resize_to(img: Image.Image, hw: tuple[int, int]) -> Image.Image:
    """Resize to exactly (h, w) with antialiased Lanczos resampling (PIL itself takes (w, h))."""
    h, w = hw
    if h < 1 or w < 1:
        raise ValueError(f"target size must be positive, got (h, w) = {hw}")
    if img.size == (w, h):
        return img.copy()
    return img.resize((w, h), _RESAMPLE)


def image_to_tensor(img: Image.Image, size: int | None = None) -> torch.Tensor:
    """PIL image -> float32 tensor of shape (1, 3, H, W) with values in [0, 1].

    Args:
        img: any PIL image; non-RGB modes go through PIL's plain ``convert("RGB")``
            (use `load_image` for files: it handles alpha and high bit depths properly).
        size: if given, resize so the long side is ``size`` pixels (aspect ratio kept);
            ``None`` keeps the image's own size.
    """
    if img.mode != "RGB":
        img = img.convert("RGB")
    if size is not None:
        img = resize_to(img, long_side_size(img.height, img.width, size))
    pixels = torch.from_numpy(np.array(img, dtype=np.uint8))  # (H, W, 3), a writable copy
    return pixels.permute(2, 0, 1).unsqueeze(0).to(torch.float32).div(255.0)


def tensor_to_image(t: torch.Tensor) -> Image.Image:
    """Tensor of shape (1, 3, H, W) or (3, H, W) in [0, 1] -> 8-bit RGB PIL image.

    Values are clamped to [0, 1] (NaN -> 0) and rounded: ``(t * 255).round()``. The tensor is
    detached and copied to the CPU; the input is not modified.
    """
    if t.dim() == 4 and t.shape[0] == 1:
        t = t[0]
    if t.dim() != 3 or t.shape[0] != 3:
        raise ValueError(
            f"expected a tensor of shape (1, 3, H, W) or (3, H, W), got {tuple(t.shape)}"
        )
    x = t.detach().to("cpu", torch.float32).nan_to_num(0.0).clamp(0.0, 1.0)
    pixels = (x * 255.0).round().to(torch.uint8).permute(1, 2, 0).contiguous()
    return Image.fromarray(pixels.numpy())


def save_image(t: torch.Tensor, path: str | os.PathLike[str]) -> Path:
    """Write a (1, 3, H, W) or (3, H, W) tensor in [0, 1] as a PNG file; return its path.

    Parent directories are created. The PNG is written atomically
    (:func:`nst_research.io.files.write_bytes`), so readers only ever see a complete file (an
    interrupted save leaves the destination as it was and removes the temp file).
    """
    dest = Path(path)
    if dest.suffix.lower() != ".png":
        raise ValueError(f"save_image writes PNG files; give a path ending in .png, got {dest}")
    buffer = io.BytesIO()
    tensor_to_image(t).save(buffer, format="PNG")
    write_bytes(dest, buffer.getvalue())
    return dest


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 digest of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _grace_hopper() -> Path:
    import matplotlib.cbook

    return Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


BUILTIN_IMAGES = {  # builtin:<name> -> its file (offline: shipped with matplotlib or this package)
    "grace_hopper": _grace_hopper,
    "swirls": lambda: Path(__file__).parents[1] / "assets" / "swirls.jpg",
    # the sky / rest label map of tubingen.jpg (experiments/make_tubingen_sky.py; assets/SHA256SUMS)
    "tubingen_sky": lambda: Path(__file__).parents[1] / "assets" / "tubingen_sky.png",
}


def resolve_image(spec: str | os.PathLike[str], role: str) -> Path:
    """A path, or ``builtin:grace_hopper`` (matplotlib's sample photo) / ``builtin:swirls``."""
    spec = str(spec)
    if not spec.startswith("builtin:"):
        return Path(spec).expanduser()
    name = spec.split(":", 1)[1]
    if name not in BUILTIN_IMAGES:
        raise InputImageError(
            f"unknown built-in {role} {spec!r}; use "
            + ", ".join(f"builtin:{n}" for n in BUILTIN_IMAGES)
            + " or a path"
        )
    return BUILTIN_IMAGES[name]()
