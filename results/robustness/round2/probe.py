"""Diagnosis of the two weakest corruptions on an export, on the first 2,000 test images: the suite's outlines
against Sobel drawn picture by picture and the training sketch, and stripes by direction and strength.

    PYTHONPATH=. .venv/bin/python results/robustness/round2/probe.py runs/rob2/cons1/exports/fashion_mnist_model.onnx
"""
import sys

import numpy as np
import onnxruntime as ort
from scipy import ndimage

from data.idx import load_split
from evaluation.corruptions import CORRUPTIONS, as_uint8

x, y = load_split("../shared/fashion-mnist", "test")
x, y = x[:2000, ..., 0], y[:2000]
session = ort.InferenceSession(sys.argv[1])


def predicted(images):
    name = session.get_inputs()[0].name
    return np.concatenate([session.run(None, {name: images[i:i + 500, ..., None].astype("float32")})[0].argmax(1)
                           for i in range(0, len(images), 500)])


def sketch(images):  # models/augmentation.RandomSketch at its strongest: peak 255, nothing of the picture kept
    g = np.pad(images.astype(np.float32), ((0, 0), (1, 1), (1, 1)))
    edges = np.hypot(g[:, 2:, 1:-1] - g[:, :-2, 1:-1], g[:, 1:-1, 2:] - g[:, 1:-1, :-2])
    return as_uint8(255 * edges / np.maximum(edges.max(axis=(1, 2), keepdims=True), 1))


def sobel_on_the_stack(images):  # the suite's outlines before fa83cb9
    s = images.astype(np.float32)
    m = np.hypot(ndimage.sobel(s, axis=1), ndimage.sobel(s, axis=2))
    return as_uint8(255 * m / np.maximum(m.max(axis=(1, 2), keepdims=True), 1))


bars = np.arange(28) % 4 < 2
tests = {"clean": x, "outlines before fa83cb9": sobel_on_the_stack(x),
         "outlines (picture by picture)": CORRUPTIONS["outlines"](x, None), "training sketch": sketch(x),
         "stripes (vertical, +70)": CORRUPTIONS["stripes"](x, None),
         "horizontal stripes +70": as_uint8(x + 70 * bars[None, :, None]),
         "vertical stripes +35": as_uint8(x + 35 * bars[None, None, :])}
for name, images in tests.items():
    p = predicted(images)
    print(f"{name:30s} accuracy {np.mean(p == y):.4f}  predicted as Shirt {np.mean(p == 6):.3f}")
