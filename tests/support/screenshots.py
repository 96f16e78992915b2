"""Screenshots under docs/screenshots/ that stay current without churning the tree.

The tests render every screenshot on each run. A new rendering replaces the committed
file only when it differs materially: another size, or more than `TOLERANCE` of its
pixels changed. What changes on every run by design — the generation time, the log
position and the head hash in a report's footer, a few lines of text — leaves the
committed file alone, so `git status` stays clean after the suite; a changed layout,
table or chart is written.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageChops

TOLERANCE = 0.02  # of the pixels: a footer's hash and time, a line that wraps


def changed_pixels(old: Image.Image, new: Image.Image) -> float:
    """The fraction of pixels that differ. Of two renderings of one width, the rows one
    has beyond the other all count as changed (a page one line longer); of two widths,
    everything does (1.0)."""
    if old.size[0] != new.size[0]:
        return 1.0
    width, height = new.size[0], min(old.size[1], new.size[1])
    box = (0, 0, width, height)
    difference = ImageChops.difference(old.convert("RGB").crop(box),
                                       new.convert("RGB").crop(box)).convert("L")
    differing = sum(difference.point(lambda value: 255 if value else 0).histogram()[255:])
    extra = width * abs(old.size[1] - new.size[1])
    return (differing + extra) / (width * max(old.size[1], new.size[1]))


def keep_current(path: Path, rendered: Image.Image | bytes) -> bool:
    """Writes `rendered` to `path` unless the file there shows the same within
    TOLERANCE; returns whether it wrote."""
    image = Image.open(io.BytesIO(rendered)) if isinstance(rendered, bytes) else rendered
    if path.exists():
        with Image.open(path) as old:
            if changed_pixels(old, image) <= TOLERANCE:
                return False
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return True
