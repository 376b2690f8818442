"""Photo-like test pictures and the variants a picture goes through when people share it.

The pictures are drawn by the system Python's Pillow in a child process (our own environment
has no imaging library, by design): a seeded scene of gradients, shapes and noise, then resized,
recompressed, cropped, framed like a screenshot or mirrored.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

SYSTEM_PYTHON = "/usr/bin/python3"
VARIANTS = ("original", "resized", "recompressed", "cropped", "screenshot", "mirrored")

_SCRIPT = r"""
import io, json, random, sys
from PIL import Image, ImageDraw, ImageFilter, ImageOps

def scene(seed, width=960, height=720):
    rng = random.Random(seed)
    def colour():
        return tuple(rng.randrange(256) for _ in range(3))
    top, bottom = colour(), colour()
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / height
        fill = tuple(int(a + (b - a) * t) for a, b in zip(top, bottom))
        draw.line([(0, y), (width, y)], fill=fill)
    for _ in range(rng.randrange(12, 40)):
        x, y = rng.randrange(-100, width), rng.randrange(-100, height)
        w, h = rng.randrange(20, width // 2), rng.randrange(20, height // 2)
        shape = rng.choice(("ellipse", "rectangle", "polygon", "line"))
        if shape == "ellipse":
            draw.ellipse([x, y, x + w, y + h], fill=colour())
        elif shape == "rectangle":
            draw.rectangle([x, y, x + w, y + h], fill=colour())
        elif shape == "polygon":
            draw.polygon([(rng.randrange(width), rng.randrange(height)) for _ in range(5)],
                         fill=colour())
        else:
            draw.line([x, y, x + w, y + h], fill=colour(), width=rng.randrange(3, 30))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 2.5)))
    noise = Image.effect_noise((width, height), rng.uniform(10, 40)).convert("RGB")
    return Image.blend(image, noise, 0.12)

def jpeg(image, quality):
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()

def variant(image, name):
    width, height = image.size
    if name == "original":
        return jpeg(image, 92)
    if name == "resized":
        return jpeg(image.resize((width // 2, height // 2), Image.LANCZOS), 85)
    if name == "recompressed":
        return jpeg(image, 30)
    if name == "cropped":
        box = (width // 20, height // 20, width - width // 20, height - height // 20)
        return jpeg(image.crop(box), 90)
    if name == "screenshot":
        bar = height // 10
        frame = Image.new("RGB", (width, height + 2 * bar), (18, 18, 18))
        frame.paste(image, (0, bar))
        draw = ImageDraw.Draw(frame)
        draw.rectangle([20, bar // 3, 200, bar // 2], fill=(230, 230, 230))
        draw.rectangle([width - 120, bar // 3, width - 20, bar // 2], fill=(230, 230, 230))
        draw.ellipse([width // 2 - 30, height + bar + 10, width // 2 + 30, height + bar + 70],
                     outline=(200, 200, 200), width=4)
        out = io.BytesIO()
        frame.save(out, format="PNG")
        return out.getvalue()
    if name == "mirrored":
        return jpeg(ImageOps.mirror(image), 90)
    raise SystemExit(f"unknown variant {name}")

def pixels(data, side):
    image = Image.open(io.BytesIO(data))
    image = ImageOps.exif_transpose(image).convert("RGB").resize((side, side), Image.BILINEAR)
    return image.tobytes()

request = json.loads(sys.argv[1])
scenes = {}
for seed, name, target in request["files"]:
    if seed not in scenes:
        scenes = {seed: scene(seed)}
    data = variant(scenes[seed], name)
    with open(target, "wb") as out:
        out.write(pixels(data, request["side"]) if request["side"] else data)
"""


def draw_pictures(requests: list[tuple[int, str, Path]], side: int = 0) -> None:
    """Write each (scene seed, variant, path): the encoded file, or with `side`, its pixels
    decoded and resized to side × side RGB exactly as the sandbox's decoder does."""
    payload = json.dumps({"side": side,
                          "files": [[seed, name, str(path)] for seed, name, path in requests]})
    subprocess.run([SYSTEM_PYTHON, "-I", "-c", _SCRIPT, payload], check=True)


def picture(seed: int, variant: str, directory: Path) -> bytes:
    """One encoded picture (JPEG, or PNG for the screenshot variant)."""
    path = directory / f"scene-{seed}-{variant}"
    draw_pictures([(seed, variant, path)])
    return path.read_bytes()


_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
# Black text on a white A4 page at 150 dpi, saved as a PDF of that image only: what a scanner
# without OCR makes, so only OCR can find its words.
_SCAN_SCRIPT = """
import sys
from PIL import Image, ImageDraw, ImageFont
page = Image.new("L", (1240, 1754), 255)
draw = ImageDraw.Draw(page)
font = ImageFont.truetype(sys.argv[1], 48)
for n, line in enumerate(sys.argv[3].split("|")):
    draw.text((100, 150 + 90 * n), line, font=font, fill=0)
page.save(sys.argv[2], "PDF", resolution=150)
"""


def scanned_pdf(directory: Path, lines: list[str]) -> bytes:
    """A scanned page of `lines` (Cyrillic is fine) as a PDF with no text layer."""
    target = directory / "scan.pdf"
    subprocess.run([SYSTEM_PYTHON, "-I", "-c", _SCAN_SCRIPT, _FONT, str(target),
                    "|".join(lines)], check=True)
    return target.read_bytes()
