"""Colour control (Gatys, Ecker, Bethge, Hertzmann & Shechtman, CVPR 2017, section 5).

Pure maths on (1, 3, H, W) RGB tensors in [0, 1], and the ``colour=`` options built on it:

- ``colour=keep_luminance``: transfer on luminance only. Content and style become luminance
  images (Y in all three channels, so the VGG input stays RGB); the style's Y is matched to the
  content's mean and variance; the result's Y is recombined with the content's I and Q (YIQ).
- ``colour=match_histogram``: before the run, the style's colours are matched to the content's
  by a linear map x -> A (x - mu_s) + mu_c with A cov_s A^T = cov_c, from the Cholesky factors
  (``method=cholesky``) or the eigen decompositions (``method=eigen``: A = C_c^1/2 C_s^-1/2) of
  the two colour covariances.
"""

from __future__ import annotations

import torch
from torch import Tensor

from nst_research.errors import choose

# NTSC 1953 RGB -> YIQ. The Y row sums to 1 and the I, Q rows to 0, so the inverse's first column
# is all ones: RGB = Y + d(I, Q) with d independent of Y.
RGB_TO_YIQ = torch.tensor(
    [
        [0.299, 0.587, 0.114],
        [0.595716, -0.274453, -0.321263],
        [0.211456, -0.522591, 0.311135],
    ],
    dtype=torch.float64,
)
YIQ_TO_RGB = torch.linalg.inv(RGB_TO_YIQ)


def _mix(matrix: Tensor, image: Tensor) -> Tensor:
    """Apply a 3x3 channel matrix to (B, 3, H, W) images."""
    return torch.einsum("ij,bjhw->bihw", matrix.to(image), image)


def rgb_to_yiq(rgb: Tensor) -> Tensor:
    """(B, 3, H, W) RGB -> YIQ (Y in [0, 1] for RGB in [0, 1])."""
    return _mix(RGB_TO_YIQ, rgb)


def yiq_to_rgb(yiq: Tensor) -> Tensor:
    """(B, 3, H, W) YIQ -> RGB (unclamped; the exact inverse of :func:`rgb_to_yiq`)."""
    return _mix(YIQ_TO_RGB, yiq)


def luminance(rgb: Tensor) -> Tensor:
    """(B, 3, H, W) RGB -> (B, 1, H, W) Y."""
    return rgb_to_yiq(rgb)[:, :1]


def grey(y: Tensor) -> Tensor:
    """(B, 1, H, W) luminance -> (B, 3, H, W): Y in all three channels."""
    return y.expand(-1, 3, -1, -1).contiguous()


def match_luminance(y: Tensor, target: Tensor, eps: float = 1e-8) -> Tensor:
    """``y`` shifted and scaled to the mean and standard deviation of ``target`` (unclamped)."""
    mu, sigma = y.mean(), y.std(correction=0)
    mu_t, sigma_t = target.mean(), target.std(correction=0)
    return (y - mu) / (sigma + eps) * sigma_t + mu_t


def recombine(result: Tensor, content: Tensor) -> Tensor:
    """The result's luminance with the content's chroma (I, Q), in [0, 1].

    Chroma is kept exactly: instead of clamping RGB (which would shift I and Q), Y is clamped to
    the range where Y + d(I, Q) stays in [0, 1] for every channel (never empty: the content's
    own Y lies in it).
    """
    content_yiq = rgb_to_yiq(content)
    chroma = content_yiq.clone()
    chroma[:, :1] = 0
    offset = yiq_to_rgb(chroma)  # d(I, Q): RGB = Y + d
    low = (-offset).amax(dim=1, keepdim=True)
    high = (1 - offset).amin(dim=1, keepdim=True)
    y = torch.maximum(torch.minimum(luminance(result), high), low)
    return (y + offset).clamp(0, 1)  # the clamp only removes rounding (~1e-7)


def luminance_inputs(content: Tensor, styles: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
    """Content and styles as luminance images; each style's Y matched to the content's."""
    y_content = luminance(content)
    matched = [match_luminance(luminance(s), y_content).clamp(0, 1) for s in styles]
    return grey(y_content), [grey(y) for y in matched]


def _pixels(image: Tensor) -> Tensor:
    """(1, 3, H, W) -> (H * W, 3) in float64."""
    return image.detach().double().flatten(2)[0].T


def colour_stats(image: Tensor) -> tuple[Tensor, Tensor]:
    """Mean (3,) and population covariance (3, 3) of an image's pixel colours, in float64."""
    x = _pixels(image)
    mu = x.mean(0)
    d = x - mu
    return mu, d.T @ d / x.shape[0]


def _cholesky_map(cov_s: Tensor, cov_c: Tensor) -> Tensor:
    """A = L_c L_s^-1 (L L^T = cov): A cov_s A^T = cov_c."""
    l_s, l_c = torch.linalg.cholesky(cov_s), torch.linalg.cholesky(cov_c)
    return l_c @ torch.linalg.inv(l_s)


def _sqrt_sym(cov: Tensor, power: float) -> Tensor:
    values, vectors = torch.linalg.eigh(cov)
    return vectors @ torch.diag(values.clamp_min(1e-12).pow(power)) @ vectors.T


def _eigen_map(cov_s: Tensor, cov_c: Tensor) -> Tensor:
    """A = C_c^1/2 C_s^-1/2 (symmetric square roots from eigen decompositions; the PCA map)."""
    return _sqrt_sym(cov_c, 0.5) @ _sqrt_sym(cov_s, -0.5)


HISTOGRAM_METHODS = {"cholesky": _cholesky_map, "eigen": _eigen_map}


def linear_colour_transfer(
    source: Tensor, target: Tensor, method: str = "cholesky", eps: float = 1e-5
) -> Tensor:
    """``source``'s colours mapped to ``target``'s mean and covariance (unclamped).

    ``eps`` is added to the diagonal of both covariances (a flat image has a singular one); with
    ``eps=0`` the output's mean and covariance equal the target's exactly (up to float64).
    """
    colour_map = choose(HISTOGRAM_METHODS, method, "colour.method")
    mu_s, cov_s = colour_stats(source)
    mu_c, cov_c = colour_stats(target)
    eye = torch.eye(3, dtype=torch.float64) * eps
    a = colour_map(cov_s + eye, cov_c + eye)
    x = (_pixels(source) - mu_s) @ a.T + mu_c
    return x.T.reshape(source.shape).to(source.dtype)


def match_histogram(source: Tensor, target: Tensor, method: str = "cholesky") -> Tensor:
    """:func:`linear_colour_transfer` clamped to [0, 1]."""
    return linear_colour_transfer(source, target, method).clamp(0, 1)


# --- the colour= options: what the run optimises on, and what it shows -------------------------


class KeepColour:
    """``colour=none``: the inputs as given, the optimised image as it is."""

    def inputs(self, content: Tensor, styles: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        return content, styles

    def output(self, image: Tensor, content: Tensor) -> Tensor:
        return image


class KeepLuminance(KeepColour):
    """``colour=keep_luminance``: optimise luminance images; show Y_result + IQ_content."""

    def inputs(self, content: Tensor, styles: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        return luminance_inputs(content, styles)

    def output(self, image: Tensor, content: Tensor) -> Tensor:
        return recombine(image, content.to(image))


class MatchHistogram(KeepColour):
    """``colour=match_histogram``: every style's colours matched to the content's first."""

    def __init__(self, method: str = "cholesky") -> None:
        choose(HISTOGRAM_METHODS, method, "colour.method")
        self.method = method

    def inputs(self, content: Tensor, styles: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        return content, [match_histogram(s, content, self.method) for s in styles]
