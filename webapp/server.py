"""The demo's server: the page, and POST /api/predict, which takes a picture and answers in JSON.

Flask, because the page needs only one route and one endpoint: the JSON endpoint is what scripts call
(`curl -F image=@shirt.jpg`), the page calls the same, and every answer, errors included, is ours to word.
"""

import base64
import io
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from flask import Flask, jsonify, render_template_string, request
from matplotlib import colormaps
from PIL import Image

from data.datasets import TITLES, DataSpec
from data.images import conversion_of, load_image
from evaluation.cam import METHOD_NAMES, ActivationMaps, upsampled
from inference.novelty import with_score
from inference.runtime import recognised, single_view, top_classes
from runkit.errors import UserError
from runkit.frameworks import keras

PAGE = Path(__file__).with_name("index.html")
MAX_UPLOAD_MB = 20  # a larger request is refused before it is read
CONVERSIONS_AT_ONCE = 2  # each converts a picture of up to 50 megapixels in about 250 MB; more wait their turn
TOP_K = 3


def create_app(model: keras.Model, spec: DataSpec, novelty: dict | None = None) -> Flask:
    """The demo's Flask app for an exported model (the raw pixels `spec` describes in, probabilities out); with
    `novelty`, the "not recognised" record saved with it, each answer says whether the picture is `known`."""
    classifier = single_view(model)
    scored = with_score(model, novelty) if novelty else None
    maps = ActivationMaps(classifier, background=spec.background)  # the model cut for its maps once, not per request
    convert = conversion_of(spec)
    height, width, _ = spec.input_shape
    conversion = ("It is converted as the data set's images were (trimmed to the object, 28x28 grey, light on black)"
                  if spec.conversion == "mnist" else f"Its largest centred square is resized to {height}x{width}")
    about = {"title": TITLES.get(spec.name, "Picture"), "classes": spec.num_classes, "size": f"{height}x{width}",
             "conversion": conversion}
    # Pictures are converted in threads of their own, so that the server's memory stays bounded under load: the
    # memory the allocator keeps after a conversion stays with these threads, not with each request's.
    converter = ThreadPoolExecutor(CONVERSIONS_AT_ONCE, thread_name_prefix="convert")
    one_at_a_time = threading.Lock()  # the server's threads share one model
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD_MB * 2**20

    @app.get("/")
    def index():
        return render_template_string(PAGE.read_text(), **about)

    @app.post("/api/predict")
    def predict():
        upload = request.files.get("image")
        if upload is None or not upload.filename:
            return error("no picture: send one file as the form field 'image'", 400)
        try:
            image = converter.submit(load_image, upload.stream, upload.filename, convert).result()
        except UserError as e:
            return error(str(e), 400)
        with one_at_a_time:
            if scored is None:
                probs, verdict = model.predict(image[None], verbose=0)[0], {}
            else:
                probs, score = (output[0] for output in scored.predict(image[None], verbose=0))
                verdict = {"known": bool(recognised(score, novelty)[0]), "score": float(score[0])}
            heatmap = maps(image[None], class_index=int(probs.argmax()))[0]
        return jsonify(file=upload.filename, top=top_classes(probs, TOP_K, spec.class_names), **verdict,
                       seen=png_data_url(image), activation_map=png_data_url(overlay(image, heatmap)),
                       map_method=METHOD_NAMES[maps.method])

    @app.errorhandler(413)
    def too_large(_):
        return error(f"the upload is over {MAX_UPLOAD_MB} MB; send a smaller picture", 413)

    return app


def error(message: str, status: int):
    return jsonify(error=message), status


def overlay(image: np.ndarray, heatmap: np.ndarray) -> np.ndarray:
    """The (height, width, channels) image upsampled as the model saw it, the heatmap over it in colour (RGB
    uint8)."""
    seen = upsampled(image[None], heatmap.shape[0])[0] / 255
    colour = colormaps["jet"](heatmap)[..., :3]
    return (255 * (0.55 * seen + 0.45 * colour)).clip(0, 255).astype(np.uint8)


def png_data_url(pixels: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(pixels.squeeze(axis=-1) if pixels.shape[-1] == 1 else pixels).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
