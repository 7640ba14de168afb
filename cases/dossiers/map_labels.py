"""Numbered marker labels that never overlap: each is placed where it collides with nothing.

Greedy placement, as cartographers' label engines start: for each marker, in order, try the
eight positions around it, then the same eight on rings further out (drawn with a leader line
back to the marker), and take the first whose box overlaps no label placed before, no other
marker and stays inside the frame. Deterministic, so the same dossier draws the same map.
"""

from __future__ import annotations

from dataclasses import dataclass

DIRECTIONS = [(1, -1), (1, 1), (-1, -1), (-1, 1), (1, 0), (-1, 0), (0, -1), (0, 1)]
RINGS = 40


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in SVG units."""

    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: Box) -> bool:
        """Whether the two rectangles share any area."""
        return (
            self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1
        )

    def inside(self, width: float, height: float) -> bool:
        """Whether the rectangle lies within the frame."""
        return self.x0 >= 0 and self.y0 >= 0 and self.x1 <= width and self.y1 <= height


@dataclass(frozen=True)
class Label:
    """Where a marker's number is written, and whether it needs a leader line."""

    number: int
    anchor: tuple[float, float]
    box: Box
    leader: bool

    @property
    def centre(self) -> tuple[float, float]:
        """The middle of the label's box."""
        return (self.box.x0 + self.box.x1) / 2, (self.box.y0 + self.box.y1) / 2


def label_size(number: int, font_px: float) -> tuple[float, float]:
    """The box a number takes, with a little air around it."""
    return 0.62 * font_px * len(str(number)) + 6, font_px + 4


def place_labels(
    markers: list[tuple[int, tuple[float, float]]],
    *,
    width: float,
    height: float,
    font_px: float = 16,
    marker_r: float = 6,
    keep_out: list[Box] | None = None,
) -> list[Label]:
    """A label per marker, none overlapping another label, a marker or a keep-out box."""
    dots = [Box(x - marker_r, y - marker_r, x + marker_r, y + marker_r) for _, (x, y) in markers]
    taken: list[Box] = list(keep_out or [])
    labels: list[Label] = []
    for number, (x, y) in markers:
        w, h = label_size(number, font_px)
        chosen: Box | None = None
        ring_used = 0
        for ring in range(RINGS):
            gap = marker_r + 2 + ring * h * 0.9
            for dx, dy in DIRECTIONS:
                cx = x + dx * (gap + w / 2)
                cy = y + dy * (gap + h / 2)
                box = Box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
                if not box.inside(width, height):
                    continue
                if any(box.overlaps(other) for other in taken) or any(
                    box.overlaps(dot) for dot in dots
                ):
                    continue
                chosen, ring_used = box, ring
                break
            if chosen is not None:
                break
        if chosen is None:  # a frame crowded past every ring: stack along the bottom edge
            column = len([lbl for lbl in labels if lbl.leader and lbl.box.y1 >= height - 1])
            chosen = Box(column * w, height - h, column * w + w, height)
            ring_used = RINGS
        taken.append(chosen)
        labels.append(Label(number, (x, y), chosen, leader=ring_used > 0))
    return labels
