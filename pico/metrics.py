"""Full-reference quality metrics of a reconstruction: PSNR (RGB and Y), MS-SSIM, SSIMULACRA2.

All take two HxWx3 uint8 sRGB arrays of the same size and are plain NumPy/SciPy, so the
ladder's worker processes need no torch. MS-SSIM follows Wang et al. 2003 as
``pytorch_msssim`` implements it (RGB channels averaged, valid 11-tap Gaussian windows);
SSIMULACRA2 follows libjxl's tools/ssimulacra2.cc (XYB, 6 scales, SSIM and edge maps,
learned weights), computed on arrays in float32 for speed.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

BT709_LUMA = np.array([0.2126, 0.7152, 0.0722])
MS_SSIM_WEIGHTS = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])
MS_SSIM_MIN_SIDE = 161  # 5 scales of a valid 11-tap window: (11 - 1) * 2**4 + 1 pixels


def _check(reference: np.ndarray, distorted: np.ndarray) -> None:
    if reference.shape != distorted.shape or reference.ndim != 3 or reference.shape[2] != 3:
        raise ValueError(f"metrics compare two HxWx3 images of one size, got {reference.shape} and {distorted.shape}")


def _psnr(mse: float) -> float:
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def psnr(reference: np.ndarray, distorted: np.ndarray) -> float:
    """PSNR in dB over all RGB samples (peak 255); ``inf`` for identical images."""
    _check(reference, distorted)
    return _psnr(float(np.mean((reference.astype(np.float64) - distorted.astype(np.float64)) ** 2)))


def psnr_y(reference: np.ndarray, distorted: np.ndarray) -> float:
    """PSNR in dB of BT.709 luma (Y' from gamma-encoded RGB, 0..255, not rounded)."""
    _check(reference, distorted)
    y_ref = reference.astype(np.float64) @ BT709_LUMA
    y_dist = distorted.astype(np.float64) @ BT709_LUMA
    return _psnr(float(np.mean((y_ref - y_dist) ** 2)))


def _gauss_valid(plane: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Separable Gaussian filter keeping only the 'valid' region, as conv2d without padding does."""
    half = len(window) // 2
    out = ndimage.correlate1d(plane, window, axis=0, mode="constant")
    out = ndimage.correlate1d(out, window, axis=1, mode="constant")
    return out[half : plane.shape[0] - half, half : plane.shape[1] - half]


def _ssim_cs(x: np.ndarray, y: np.ndarray, window: np.ndarray) -> tuple[float, float]:
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_x, mu_y = _gauss_valid(x, window), _gauss_valid(y, window)
    sxx = _gauss_valid(x * x, window) - mu_x * mu_x
    syy = _gauss_valid(y * y, window) - mu_y * mu_y
    sxy = _gauss_valid(x * y, window) - mu_x * mu_y
    cs_map = (2 * sxy + c2) / (sxx + syy + c2)
    ssim_map = (2 * mu_x * mu_y + c1) / (mu_x * mu_x + mu_y * mu_y + c1) * cs_map
    return float(ssim_map.mean(dtype=np.float64)), float(cs_map.mean(dtype=np.float64))


def _pool2(plane: np.ndarray) -> np.ndarray:
    """2x2 average pooling with zero padding of odd sides, as ``avg_pool2d(padding=side % 2)``."""
    pad_r, pad_c = plane.shape[0] % 2, plane.shape[1] % 2
    if pad_r or pad_c:
        plane = np.pad(plane, ((pad_r, pad_r), (pad_c, pad_c)))
    rows, cols = plane.shape[0] // 2 * 2, plane.shape[1] // 2 * 2
    plane = plane[:rows, :cols]
    return plane.reshape(rows // 2, 2, cols // 2, 2).mean(axis=(1, 3))


def ms_ssim(reference: np.ndarray, distorted: np.ndarray) -> float:
    """MS-SSIM (5 scales, data range 255) averaged over R, G, B; NaN below 161 px on a side."""
    _check(reference, distorted)
    if min(reference.shape[:2]) < MS_SSIM_MIN_SIDE:
        return math.nan
    taps = np.arange(11) - 5.0
    window = np.exp(-(taps**2) / (2 * 1.5**2))
    window = (window / window.sum()).astype(np.float32)
    values = []
    for channel in range(3):
        x = reference[..., channel].astype(np.float32)
        y = distorted[..., channel].astype(np.float32)
        factors = []
        for level in range(len(MS_SSIM_WEIGHTS)):
            ssim, cs = _ssim_cs(x, y, window)
            if level < len(MS_SSIM_WEIGHTS) - 1:
                factors.append(max(cs, 0.0))
                x, y = _pool2(x), _pool2(y)
        factors.append(max(ssim, 0.0))
        values.append(float(np.prod(np.array(factors) ** MS_SSIM_WEIGHTS)))
    return float(np.mean(values))


# SSIMULACRA2 constants from libjxl (lib/jxl/opsin_params.h, tools/ssimulacra2.cc).
_OPSIN = np.array(
    [[0.30, 0.622, 0.078], [0.23, 0.692, 0.078], [0.24342268924547819, 0.20476744424496821, 0.55180986651]],
    dtype=np.float64,
)
_OPSIN[2, 2] = 1.0 - _OPSIN[2, 0] - _OPSIN[2, 1]
_OPSIN_BIAS = 0.0037930732552754493
_SSIMULACRA2_WEIGHTS = np.array(
    [
        0.0,
        0.0007376606707406586,
        0.0,
        0.0,
        0.0007793481682867309,
        0.0,
        0.0,
        0.0004371155730107379,
        0.0,
        1.1041726426657346,
        0.00066284834129271,
        0.00015231632783718752,
        0.0,
        0.0016406437456599754,
        0.0,
        1.8422455520539298,
        11.441172603757666,
        0.0,
        0.0007989109436015163,
        0.000176816438078653,
        0.0,
        1.8787594979546387,
        10.94906990605142,
        0.0,
        0.0007289346991508072,
        0.9677937080626833,
        0.0,
        0.00014003424285435884,
        0.9981766977854967,
        0.00031949755934435053,
        0.0004550992113792063,
        0.0,
        0.0,
        0.0013648766163243398,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        7.466890328078848,
        0.0,
        17.445833984131262,
        0.0006235601634041466,
        0.0,
        0.0,
        6.683678146179332,
        0.00037724407979611296,
        1.027889937768264,
        225.20515300849274,
        0.0,
        0.0,
        19.213238186143016,
        0.0011401524586618361,
        0.001237755635509985,
        176.39317598450694,
        0.0,
        0.0,
        24.43300999870476,
        0.28520802612117757,
        0.0004485436923833408,
        0.0,
        0.0,
        0.0,
        34.77906344483772,
        44.835625328877896,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0008680556573291698,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0005313191874358747,
        0.0,
        0.00016533814161379112,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0004179171803251336,
        0.0017290828234722833,
        0.0,
        0.0020827005846636437,
        0.0,
        0.0,
        8.826982764996862,
        23.19243343998926,
        0.0,
        95.1080498811086,
        0.9863978034400682,
        0.9834382792465353,
        0.0012286405048278493,
        171.2667255897307,
        0.9807858872435379,
        0.0,
        0.0,
        0.0,
        0.0005130064588990679,
        0.0,
        0.00010854057858411537,
    ]
)


def _srgb_to_linear(pixels: np.ndarray) -> np.ndarray:
    rgb = pixels.astype(np.float32) / 255.0
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4).astype(np.float32)


def _positive_xyb(linear: np.ndarray) -> np.ndarray:
    """Linear RGB -> XYB, shifted and scaled to be positive as SSIMULACRA2's MakePositiveXYB does."""
    mixed = np.maximum(linear @ _OPSIN.T.astype(np.float32) + np.float32(_OPSIN_BIAS), 0.0)
    mixed = np.cbrt(mixed) - np.float32(np.cbrt(_OPSIN_BIAS))
    x = 0.5 * (mixed[..., 0] - mixed[..., 1])
    y = 0.5 * (mixed[..., 0] + mixed[..., 1])
    b = mixed[..., 2]
    return np.stack([x * 14.0 + 0.42, y + 0.01, (b - y) + 0.55], axis=-1).astype(np.float32)


def _downsample2(linear: np.ndarray) -> np.ndarray:
    """2x2 box downsampling; odd edges repeat the last row/column, as libjxl clamps coordinates."""
    rows, cols = linear.shape[:2]
    if rows % 2 or cols % 2:
        linear = np.pad(linear, ((0, rows % 2), (0, cols % 2), (0, 0)), mode="edge")
    return linear.reshape(linear.shape[0] // 2, 2, linear.shape[1] // 2, 2, 3).mean(axis=(1, 3), dtype=np.float32)


def _blur(plane: np.ndarray) -> np.ndarray:
    """Gaussian sigma 1.5, as the ``ssimulacra2`` PyPI port approximates libjxl's recursive Gaussian."""
    radius = round(3.2795 * 1.5 + 0.2546)
    padded = np.pad(plane, ((radius, radius), (0, 0), (0, 0)))
    out = ndimage.gaussian_filter(padded, sigma=1.5, truncate=3.33, mode="reflect", axes=(0, 1))
    return out[radius:-radius]


def ssimulacra2(reference: np.ndarray, distorted: np.ndarray) -> float:
    """SSIMULACRA2 score: 100 = identical, about 90 visually lossless, 70 high, 50 medium quality."""
    _check(reference, distorted)
    lin_ref, lin_dist = _srgb_to_linear(reference), _srgb_to_linear(distorted)
    scores: list[np.ndarray] = []
    for scale in range(6):
        if lin_ref.shape[0] < 8 or lin_ref.shape[1] < 8:
            break
        if scale:
            lin_ref, lin_dist = _downsample2(lin_ref), _downsample2(lin_dist)
        img1, img2 = _positive_xyb(lin_ref), _positive_xyb(lin_dist)
        mu1, mu2 = _blur(img1), _blur(img2)
        s11, s22, s12 = _blur(img1 * img1), _blur(img2 * img2), _blur(img1 * img2)
        num_m = 1.0 - (mu1 - mu2) ** 2
        num_s = 2.0 * (s12 - mu1 * mu2) + 0.0009
        denom_s = (s11 - mu1 * mu1) + (s22 - mu2 * mu2) + 0.0009
        ssim = np.maximum(1.0 - num_m * num_s / denom_s, 0.0)
        ratio = (1.0 + np.abs(img2 - mu2)) / (1.0 + np.abs(img1 - mu1)) - 1.0
        artifact, detail_lost = np.maximum(ratio, 0.0), np.maximum(-ratio, 0.0)
        # Per channel: [ssim mean, ssim 4-norm, artifact mean, artifact 4-norm, detail mean, detail 4-norm].
        per_channel = [
            [m.mean(axis=(0, 1), dtype=np.float64), np.square(np.square(m)).mean(axis=(0, 1), dtype=np.float64) ** 0.25]
            for m in (ssim, artifact, detail_lost)
        ]
        scores.append(np.array(per_channel))  # shape (3 maps, 2 norms, 3 channels)
    total, index = 0.0, 0
    for channel in range(3):
        for scale_scores in scores:
            for norm in range(2):
                for kind in range(3):
                    total += _SSIMULACRA2_WEIGHTS[index] * abs(scale_scores[kind, norm, channel])
                    index += 1
    total *= 0.9562382616834844
    total = 2.326765642916932 * total - 0.020884521182843837 * total**2 + 6.248496625763138e-05 * total**3
    return 100.0 - 10.0 * total**0.6276336467831387 if total > 0 else 100.0


def all_metrics(reference: np.ndarray, distorted: np.ndarray) -> dict[str, float]:
    """Every metric pico records, keyed by its manifest column."""
    return {
        "psnr": psnr(reference, distorted),
        "psnr_y": psnr_y(reference, distorted),
        "ms_ssim": ms_ssim(reference, distorted),
        "ssimulacra2": ssimulacra2(reference, distorted),
    }
