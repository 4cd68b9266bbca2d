"""Naming colors: the nearest CSS color (in CIELAB, where distance follows perception) and a
coarse simplified color from hue, saturation and value."""

from __future__ import annotations

import colorsys
from functools import lru_cache

import numpy as np


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (..., 3) in 0-255 to CIELAB (D65)."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = linear @ np.array([[0.4124, 0.2126, 0.0193], [0.3576, 0.7152, 0.1192], [0.1805, 0.0722, 0.9505]])
    xyz /= np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


@lru_cache(maxsize=1)
def _css_palette() -> tuple[tuple[str, ...], np.ndarray]:
    from PIL import ImageColor

    # Pillow's colormap is the CSS3 named-color table; keep one spelling of each grey.
    names = sorted(name for name in ImageColor.colormap if "gray" not in name)
    rgb = np.array([ImageColor.getrgb(name)[:3] for name in names], dtype=np.float64)
    return tuple(names), rgb_to_lab(rgb)


def css_color_name(rgb: tuple[int, int, int]) -> str:
    names, lab = _css_palette()
    distances = np.sum((lab - rgb_to_lab(np.array(rgb, dtype=np.float64))) ** 2, axis=1)
    return names[int(np.argmin(distances))]


def simplified_color(rgb: tuple[int, int, int]) -> str:
    """One of black, white, grey, red, orange, yellow, green, blue, purple, pink, brown."""
    hue, saturation, value = colorsys.rgb_to_hsv(*(channel / 255.0 for channel in rgb))
    hue *= 360.0
    if value < 0.2:
        return "black"
    if saturation < 0.15:
        return "white" if value > 0.85 else "grey"
    if 10 <= hue < 45 and value < 0.6:
        return "brown"
    if hue < 15 or hue >= 345:
        return "pink" if saturation < 0.45 and value > 0.7 else "red"
    if hue < 40:
        return "orange"
    if hue < 70:
        return "yellow"
    if hue < 165:
        return "green"
    if hue < 255:
        return "blue"
    if hue < 320:
        return "purple"
    return "pink"


def hex_code(rgb: tuple[int, int, int]) -> str:
    return "#{:02X}{:02X}{:02X}".format(*rgb)
