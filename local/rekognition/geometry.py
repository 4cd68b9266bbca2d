"""Pixel boxes and their conversion to Rekognition's ratio-based BoundingBox and Polygon."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in pixels."""

    left: float
    top: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    @classmethod
    def from_corners(cls, left: float, top: float, right: float, bottom: float) -> Box:
        return cls(left, top, right - left, bottom - top)

    def clipped(self, image_width: int, image_height: int) -> Box:
        left = min(max(self.left, 0.0), image_width)
        top = min(max(self.top, 0.0), image_height)
        right = min(max(self.right, 0.0), image_width)
        bottom = min(max(self.bottom, 0.0), image_height)
        return Box.from_corners(left, top, right, bottom)

    def contains(self, other: Box, tolerance: float = 0.0) -> bool:
        return (
            other.left >= self.left - tolerance
            and other.top >= self.top - tolerance
            and other.right <= self.right + tolerance
            and other.bottom <= self.bottom + tolerance
        )

    def union(self, other: Box) -> Box:
        return Box.from_corners(
            min(self.left, other.left),
            min(self.top, other.top),
            max(self.right, other.right),
            max(self.bottom, other.bottom),
        )

    def scaled(self, factor: float) -> Box:
        return Box(self.left * factor, self.top * factor, self.width * factor, self.height * factor)

    def to_bounding_box(self, image_width: int, image_height: int) -> dict[str, float]:
        """Rekognition's BoundingBox: ratios of the image's width and height."""
        box = self.clipped(image_width, image_height)
        return {
            "Width": box.width / image_width,
            "Height": box.height / image_height,
            "Left": box.left / image_width,
            "Top": box.top / image_height,
        }


def polygon(points: list[tuple[float, float]], image_width: int, image_height: int) -> list[dict[str, float]]:
    """Rekognition's Polygon: points as ratios, clipped to the image."""
    return [{"X": min(max(x / image_width, 0.0), 1.0), "Y": min(max(y / image_height, 0.0), 1.0)} for x, y in points]


def box_corners(box: Box) -> list[tuple[float, float]]:
    """Clockwise from the top left, as Rekognition orders polygon points."""
    return [(box.left, box.top), (box.right, box.top), (box.right, box.bottom), (box.left, box.bottom)]
