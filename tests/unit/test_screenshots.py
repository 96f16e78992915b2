"""docs/screenshots are rewritten only when a rendering differs materially."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

from tests.support.screenshots import changed_pixels, keep_current


def page(footer: str, *, table_rows: int = 3) -> Image.Image:
    image = Image.new("RGB", (400, 300), "white")
    draw = ImageDraw.Draw(image)
    for n in range(table_rows):
        draw.rectangle((20, 20 + 40 * n, 380, 50 + 40 * n), outline="black", fill="#dde")
    draw.text((10, 285), footer, fill="black")
    return image


def test_a_new_footer_keeps_the_committed_file_and_a_new_table_replaces_it(
        tmp_path: Path) -> None:
    path = tmp_path / "shot.png"
    assert keep_current(path, page("position 10 · hash ab12"))
    written = path.read_bytes()

    assert not keep_current(path, page("position 11 · hash ff90"))  # only the footer moved
    assert path.read_bytes() == written
    assert keep_current(path, page("position 11 · hash ff90", table_rows=5))  # the content
    assert path.read_bytes() != written


def test_changed_pixels_counts_each_differing_pixel_and_every_added_row() -> None:
    white = Image.new("RGB", (10, 10), "white")
    dotted = white.copy()
    dotted.putpixel((3, 3), (0, 0, 0))
    dotted.putpixel((4, 4), (250, 250, 250))
    assert changed_pixels(white, white.copy()) == 0.0
    assert changed_pixels(white, dotted) == 0.02
    assert changed_pixels(white, Image.new("RGB", (11, 10), "white")) == 1.0
    assert changed_pixels(white, Image.new("RGB", (10, 20), "white")) == 0.5  # 10 new rows
