"""Pictures that are not garments, from what installed packages ship and what Pillow draws: `non_garments(seed)`.

Photos (scikit-image's sample pictures and crops of them, faces from its LFW subset, scikit-learn's and
matplotlib's sample photos), digits (scikit-learn's handwritten ones and printed ones), text, shapes, flat
colours and gradients, noise and textures: what users upload instead of a garment. Each picture is encoded as a
file (PNG or JPEG) so it is read back as predict.py reads a user's; each has a group (a source photo and its
crops are one group), and `split` puts every group wholly on one side: the part that chooses a method never
shares a source with the part that reports.
"""

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

CROPS = 3  # random crops per source photo, beside the whole photo
FACES = 60  # of LFW's 200 faces
PER_KIND = 12  # generated pictures of each kind


@dataclass(frozen=True)
class Picture:
    family: str  # photo, face, digit, text, shape, flat, noise, texture
    group: str  # pictures of one group are never split between the two parts
    data: bytes  # an encoded file


def encoded(image: Image.Image, rng: np.random.Generator) -> bytes:
    buffer = io.BytesIO()
    if rng.random() < 0.5:
        image.convert("RGB").save(buffer, "JPEG", quality=int(rng.integers(75, 95)))
    else:
        image.save(buffer, "PNG")
    return buffer.getvalue()


def sample_photos() -> dict[str, Image.Image]:
    """The photos and scans that scikit-image, scikit-learn and matplotlib ship, by name."""
    import matplotlib
    import skimage
    import sklearn

    found = {}
    skimage_data = Path(skimage.__file__).parent / "data"
    for path in sorted(skimage_data.glob("*")):
        if path.suffix in (".png", ".jpg") and min(Image.open(path).size) >= 64:
            found[path.stem] = Image.open(path)
    for path in sorted((Path(sklearn.__file__).parent / "datasets" / "images").glob("*.jpg")):
        found[path.stem] = Image.open(path)
    found["grace_hopper"] = Image.open(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg")
    return found


def photo_pictures(rng) -> list[Picture]:
    pictures = []
    for name, photo in sample_photos().items():
        photo.load()
        pictures.append(Picture("photo", name, encoded(photo, rng)))
        for _ in range(CROPS):
            side = int(rng.uniform(0.25, 0.6) * min(photo.size))
            left, top = (int(rng.integers(0, photo.size[i] - side + 1)) for i in (0, 1))
            pictures.append(Picture("photo", name, encoded(photo.crop((left, top, left + side, top + side)), rng)))
    return pictures


def face_pictures(rng) -> list[Picture]:
    import skimage

    faces = np.load(Path(skimage.__file__).parent / "data" / "lfw_subset.npy")  # 200 faces, 25x25, 0-1 floats
    chosen = rng.choice(len(faces), FACES, replace=False)
    return [Picture("face", f"face{i}", encoded(Image.fromarray((faces[i] * 255).astype(np.uint8)).resize(
        (100, 100), Image.Resampling.BICUBIC), rng)) for i in chosen]


def font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def digit_pictures(rng) -> list[Picture]:
    """Handwritten digits (scikit-learn's, 8x8) drawn dark on paper, and printed ones."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    pictures = []
    for i in rng.choice(len(digits.images), PER_KIND * 3, replace=False):
        ink = (digits.images[i] / 16 * 255).astype(np.uint8)
        image = Image.fromarray(255 - ink).resize((96, 96), Image.Resampling.BICUBIC)
        pictures.append(Picture("digit", f"handwritten{i}", encoded(image, rng)))
    for i in range(PER_KIND):
        image = Image.new("L", (160, 160), int(rng.integers(200, 256)))
        ImageDraw.Draw(image).text((80, 80), str(rng.integers(0, 100)), fill=int(rng.integers(0, 60)),
                                   font=font(int(rng.integers(60, 120))), anchor="mm")
        pictures.append(Picture("digit", f"printed{i}", encoded(image, rng)))
    return pictures


WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "seven", "small", "birds",
         "sing", "by", "an", "old", "stone", "bridge", "near", "the", "market", "where", "people", "sell", "bread"]


def text_pictures(rng) -> list[Picture]:
    """Pages and lines of printed text, dark on light or light on dark."""
    pictures = []
    for i in range(PER_KIND * 2):
        width, height = int(rng.integers(200, 640)), int(rng.integers(120, 480))
        paper, ink = (235, 20) if rng.random() < 0.7 else (20, 235)
        image = Image.new("L", (width, height), paper)
        draw, size = ImageDraw.Draw(image), int(rng.integers(12, 40))
        for row in range(int(rng.integers(1, max(2, height // (size + 4))))):
            line = " ".join(rng.choice(WORDS, int(rng.integers(2, 10))))
            draw.text((8, 8 + row * (size + 4)), line, fill=ink, font=font(size))
        pictures.append(Picture("text", f"text{i}", encoded(image, rng)))
    return pictures


def shape_pictures(rng) -> list[Picture]:
    """Circles, triangles, stars, polygons and lines, filled or outlined, on a plain backdrop."""
    pictures = []
    for i in range(PER_KIND * 3):
        side = int(rng.integers(96, 320))
        back = int(rng.integers(0, 256))
        ink = (back + int(rng.integers(80, 176))) % 256
        image = Image.new("L", (side, side), back)
        draw, kind = ImageDraw.Draw(image), ("circle", "triangle", "star", "polygon", "lines")[i % 5]
        centre, radius = side / 2 + rng.uniform(-0.1, 0.1, 2) * side, rng.uniform(0.2, 0.45) * side
        fill = ink if rng.random() < 0.5 else None
        if kind == "circle":
            draw.ellipse([*(centre - radius), *(centre + radius)], fill=fill, outline=ink, width=4)
        elif kind == "lines":
            for _ in range(int(rng.integers(2, 8))):
                draw.line(list(rng.uniform(0, side, 4)), fill=ink, width=int(rng.integers(2, 10)))
        else:
            corners = {"triangle": 3, "star": 10, "polygon": int(rng.integers(5, 9))}[kind]
            angles = np.sort(rng.uniform(0, 2 * np.pi, corners)) if kind == "polygon" else \
                np.linspace(0, 2 * np.pi, corners, endpoint=False) + rng.uniform(0, np.pi)
            radii = radius * (np.where(np.arange(corners) % 2, 0.45, 1.0) if kind == "star" else 1.0)
            points = np.stack([centre[0] + radii * np.cos(angles), centre[1] + radii * np.sin(angles)], 1)
            draw.polygon([tuple(p) for p in points], fill=fill, outline=ink, width=4)
        pictures.append(Picture("shape", f"{kind}{i}", encoded(image, rng)))
    return pictures


def flat_pictures(rng) -> list[Picture]:
    """Flat colours and smooth gradients."""
    pictures = []
    for i in range(PER_KIND * 2):
        height, width = (int(v) for v in rng.integers(64, 400, 2))
        colour = rng.uniform(0, 255, 3)
        if i % 2:
            rows, cols = np.mgrid[0:height, 0:width]
            ramp = (rows * rng.normal() + cols * rng.normal()) / max(height, width)
            values = colour + 60 * ramp[..., None] * rng.uniform(-1, 1, 3)
        else:
            values = np.broadcast_to(colour, (height, width, 3))
        image = Image.fromarray(np.clip(values, 0, 255).astype(np.uint8))
        pictures.append(Picture("flat", f"flat{i}", encoded(image, rng)))
    return pictures


def noise_pictures(rng) -> list[Picture]:
    """Uniform, Gaussian, salt-and-pepper and smoothed (cloud-like) noise, grey or colour."""
    pictures = []
    for i in range(PER_KIND * 2):
        height, width = (int(v) for v in rng.integers(64, 300, 2))
        shape = (height, width, 3 if rng.random() < 0.5 else 1)
        kind = i % 4
        if kind == 0:
            values = rng.uniform(0, 255, shape)
        elif kind == 1:
            values = rng.normal(128, rng.uniform(20, 80), shape)
        elif kind == 2:
            values = np.where(rng.random(shape) < rng.uniform(0.05, 0.5), 255.0, 0.0)
        else:
            values = np.stack([Image.fromarray(rng.uniform(0, 255, (height, width)).astype(np.uint8)).filter(
                ImageFilter.GaussianBlur(rng.uniform(3, 12))) for _ in range(shape[2])], -1).astype(float)
            values = (values - values.mean()) * 6 + 128
        image = Image.fromarray(np.clip(values, 0, 255).astype(np.uint8).squeeze(-1) if shape[2] == 1 else
                                np.clip(values, 0, 255).astype(np.uint8))
        pictures.append(Picture("noise", f"noise{i}", encoded(image, rng)))
    return pictures


def texture_pictures(rng) -> list[Picture]:
    """Checkerboards, stripes and grids that fill the picture."""
    pictures = []
    for i in range(PER_KIND):
        side = int(rng.integers(96, 320))
        period = int(rng.integers(6, 40))
        rows, cols = np.mgrid[0:side, 0:side]
        pattern = (((rows // period) + (cols // period)) % 2, (rows // period) % 2,
                   ((rows % period) < 2) | ((cols % period) < 2))[i % 3]
        image = Image.fromarray((pattern * 255).astype(np.uint8)).rotate(float(rng.uniform(0, 90)))
        pictures.append(Picture("texture", f"texture{i}", encoded(image, rng)))
    return pictures


def non_garments(seed: int = 0) -> list[Picture]:
    """The whole set, in a fixed order for a seed (each family draws from its own stream)."""
    makers = (photo_pictures, face_pictures, digit_pictures, text_pictures, shape_pictures, flat_pictures,
              noise_pictures, texture_pictures)
    streams = np.random.SeedSequence(seed).spawn(len(makers))
    return [picture for make, stream in zip(makers, streams, strict=True)
            for picture in make(np.random.default_rng(stream))]


def split(pictures: list[Picture]) -> tuple[list[Picture], list[Picture]]:
    """(choose, report): the groups of each family dealt alternately in order of name, so both parts hold every
    family and no group is on both sides."""
    choose, report = [], []
    for family in dict.fromkeys(p.family for p in pictures):
        groups = sorted({p.group for p in pictures if p.family == family})
        side = {group: i % 2 for i, group in enumerate(groups)}
        for p in pictures:
            if p.family == family:
                (report if side[p.group] else choose).append(p)
    return choose, report
