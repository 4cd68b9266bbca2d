"""Image properties for DetectLabels' IMAGE_PROPERTIES feature: quality scores, dominant colors,
and a foreground/background split. Plain Pillow, numpy and OpenCV; the split reuses what the
classifier and face detector found.

Scores are on Rekognition's 0-100 scale and ordered sensibly (darker is less bright, blurrier is
less sharp), but they are not calibrated against Rekognition's own numbers.
"""

from __future__ import annotations

import math

import numpy as np

from .colors import css_color_name, hex_code, simplified_color
from .geometry import Box

# Sharpness is measured at a fixed working size so it does not depend on the upload's resolution.
_SHARPNESS_SIDE = 512
# Sharpness is log10 of the Laplacian's variance over this many decades: a flat image reads 0,
# a crisp photo at 512 px (variance 300-3000) reads 60-85, a blurred copy (variance 1-20) 10-30.
_SHARPNESS_DECADES = 4.0
_SUBJECT_HEAT_THRESHOLD = 0.5
_COLOR_SAMPLE_SIDE = 128
# Whole-image statistics are computed at this size: the scores barely move, the cost does.
_PROPERTIES_SIDE = 640
DEFAULT_MAX_DOMINANT_COLORS = 10


def luma(pixels: np.ndarray) -> np.ndarray:
    """Rec. 601 luma of an H x W x 3 RGB image, float 0-255."""
    return pixels[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def brightness(grey: np.ndarray, mask: np.ndarray | None = None) -> float:
    values = grey if mask is None else grey[mask]
    return float(values.mean() / 255.0 * 100.0) if values.size else 0.0


def contrast(grey: np.ndarray, mask: np.ndarray | None = None) -> float:
    """RMS contrast: the standard deviation of luma, where 127.5 (half black, half white) is 100."""
    values = grey if mask is None else grey[mask]
    return float(min(values.std() / 127.5, 1.0) * 100.0) if values.size else 0.0


def sharpness(grey: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Variance of the Laplacian (edge energy) at a fixed working size, mapped to 0-100."""
    import cv2

    height, width = grey.shape
    scale = min(1.0, _SHARPNESS_SIDE / max(height, width))
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
        if mask is not None:
            mask = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    laplacian = cv2.Laplacian(grey.astype(np.float32), cv2.CV_32F)
    values = laplacian if mask is None else laplacian[mask]
    if values.size == 0:
        return 0.0
    score = math.log10(1.0 + float(values.var())) / _SHARPNESS_DECADES
    return 100.0 * min(max(score, 0.0), 1.0)


def quality(pixels: np.ndarray, mask: np.ndarray | None = None, with_contrast: bool = True) -> dict[str, float]:
    grey = luma(pixels)
    result = {"Brightness": brightness(grey, mask), "Sharpness": sharpness(grey, mask)}
    if with_contrast:
        result["Contrast"] = contrast(grey, mask)
    return result


def dominant_colors(pixels: np.ndarray, max_colors: int, mask: np.ndarray | None = None) -> list[dict]:
    """Up to `max_colors` colors by median-cut quantization, most frequent first."""
    from PIL import Image

    if max_colors <= 0:
        return []
    sample, sample_mask = _sample(pixels, mask)
    chosen = sample.reshape(-1, 3) if sample_mask is None else sample[sample_mask]
    if chosen.size == 0:
        return []
    strip = Image.fromarray(np.ascontiguousarray(chosen.reshape(1, -1, 3)), mode="RGB")
    quantized = strip.quantize(colors=max_colors, method=Image.Quantize.MEDIANCUT)
    palette = quantized.getpalette() or []
    total = chosen.shape[0]
    colors = []
    for count, index in sorted(quantized.getcolors(maxcolors=256) or [], reverse=True):
        rgb = tuple(int(v) for v in palette[index * 3 : index * 3 + 3])
        colors.append(
            {
                "Red": rgb[0],
                "Blue": rgb[2],
                "Green": rgb[1],
                "HexCode": hex_code(rgb),
                "CSSColor": css_color_name(rgb),
                "SimplifiedColor": simplified_color(rgb),
                "PixelPercent": 100.0 * count / total,
            }
        )
    return colors[:max_colors]


def _sample(pixels: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Every n-th pixel, so color statistics cost the same for any image size."""
    height, width = pixels.shape[:2]
    step = max(1, math.ceil(max(height, width) / _COLOR_SAMPLE_SIDE))
    sample = np.ascontiguousarray(pixels[::step, ::step, :3])
    return sample, None if mask is None else mask[::step, ::step]


def subject_mask(heatmap: np.ndarray | None, subject_boxes: list[Box], width: int, height: int) -> np.ndarray | None:
    """A boolean H x W foreground mask: where the classifier found the evidence for what it
    recognized (its class activation map, coarse: a 7 x 7 grid), plus the boxes of detected
    people. None when there is no subject, or when it would cover nearly the whole image."""
    import cv2

    mask = np.zeros((height, width), dtype=bool)
    if heatmap is not None:
        heat = cv2.resize(heatmap.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
        mask |= heat >= _SUBJECT_HEAT_THRESHOLD
    for box in subject_boxes:
        clipped = box.clipped(width, height)
        mask[round(clipped.top) : round(clipped.bottom), round(clipped.left) : round(clipped.right)] = True
    share = float(mask.mean())
    return mask if 0.01 <= share <= 0.95 else None


def image_properties(
    pixels: np.ndarray, max_colors: int = DEFAULT_MAX_DOMINANT_COLORS, foreground: np.ndarray | None = None
) -> dict:
    """The ImageProperties member of a DetectLabels response; Foreground and Background only
    when a foreground mask is given."""
    pixels, mask = _working_copy(pixels, foreground)
    result = {"Quality": quality(pixels), "DominantColors": dominant_colors(pixels, max_colors)}
    if mask is not None:
        for part, part_mask in (("Foreground", mask), ("Background", ~mask)):
            result[part] = {
                "Quality": quality(pixels, part_mask, with_contrast=False),
                "DominantColors": dominant_colors(pixels, max_colors, part_mask),
            }
    return result


def _working_copy(pixels: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    import cv2

    height, width = pixels.shape[:2]
    scale = _PROPERTIES_SIDE / max(height, width)
    if scale >= 1.0:
        return pixels, mask
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(np.ascontiguousarray(pixels), size, interpolation=cv2.INTER_AREA)
    if mask is not None:
        mask = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    return small, mask
