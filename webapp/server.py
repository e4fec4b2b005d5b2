"""The demo's server: the page, and POST /api/predict, which takes a picture and answers in JSON.

Flask, because the page needs only one route and one endpoint: the JSON endpoint is what scripts call
(`curl -F image=@shirt.jpg`), the page calls the same, and every answer, errors included, is ours to word.
Served by waitress rather than Werkzeug's development server: a fixed pool of threads whatever the connections,
stalled uploads closed, no server name sent. It is a local server: it answers requests named for 127.0.0.1 or
localhost only, and POSTs from its own page or from scripts, never from another site's page (DNS rebinding).
"""

import base64
import io
import secrets
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import waitress
from flask import Flask, g, jsonify, render_template_string, request
from matplotlib import colormaps
from PIL import Image
from werkzeug.exceptions import HTTPException

from data.images import conversion_of, load_image
from data.spec import TITLES, DataSpec
from evaluation.cam import METHOD_NAMES, ActivationMaps, upsampled
from inference.novelty import with_score
from inference.runtime import recognised, top_classes
from models.classifier import classifier_of
from runkit.errors import UserError
from runkit.frameworks import keras

PAGE = Path(__file__).with_name("index.html")
MAX_UPLOAD_MB = 20  # a larger request is refused before it is read
MAX_FORM_PARTS = 8  # the form holds one file; a request of many fields is refused before they are parsed
LOCAL_HOSTS = ("127.0.0.1", "localhost")
STALLED_S = 10  # a connection that sends nothing for this long is closed (an upload from this machine never pauses)
THREADS = 4
POLICY = ("default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; img-src 'self' data: blob:; "
          "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
CONVERSIONS_AT_ONCE = 2  # each converts a picture of up to 50 megapixels in about 250 MB; more wait their turn
TOP_K = 3


def create_app(model: keras.Model, spec: DataSpec, novelty: dict | None = None) -> Flask:
    """The demo's Flask app for an exported model (the raw pixels `spec` describes in, probabilities out); with
    `novelty`, the "not recognised" record saved with it, each answer says whether the picture is `known`."""
    classifier = classifier_of(model)
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
    app.config["MAX_FORM_PARTS"] = MAX_FORM_PARTS

    @app.before_request
    def local_and_same_origin():
        host = hostname(request.host)
        if host not in LOCAL_HOSTS:
            return error(f"this demo answers requests to {' or '.join(LOCAL_HOSTS)} only, not {host!r}; open "
                         f"http://127.0.0.1:{request.environ.get('SERVER_PORT', 8000)}/", 403)
        origin, site = request.headers.get("Origin"), request.headers.get("Sec-Fetch-Site")
        if request.method == "POST" and ((origin and origin.split("://", 1)[-1] != request.host)
                                         or site not in (None, "same-origin", "none")):
            return error(f"a request from another site's page ({origin or site}) is refused; use the demo's own page "
                         "or a script (curl)", 403)
        g.nonce = secrets.token_urlsafe(16)  # lets the page's own style and script run, and nothing injected

    @app.after_request
    def security_headers(response):
        response.headers["Content-Security-Policy"] = POLICY.format(nonce=g.get("nonce", "none"))
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    @app.get("/")
    def index():
        return render_template_string(PAGE.read_text(), nonce=g.nonce, **about)

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
        if (request.content_length or 0) > app.config["MAX_CONTENT_LENGTH"]:
            return error(f"the upload is over {MAX_UPLOAD_MB} MB; send a smaller picture", 413)
        return error(f"the form holds more than {MAX_FORM_PARTS} fields, or a text field too long; send one file "
                     "as the form field 'image'", 413)

    @app.errorhandler(HTTPException)
    def http_error(e):
        return error(f"{e.code} {e.name}: the demo serves the page at / and POST /api/predict", e.code)

    @app.errorhandler(Exception)
    def failed(e):  # a bug of ours: the client gets JSON, the terminal one line to report
        print(f"error: {request.method} {request.path} failed ({type(e).__name__}: {e})", flush=True)
        return error(f"the server failed on this request ({type(e).__name__}); the terminal running demo.py says "
                     "more", 500)

    return app


def hostname(host: str) -> str:
    """The name in a Host header, without its port ('[::1]:8000' -> '::1'); '' where there is none."""
    try:
        return urllib.parse.urlsplit(f"//{host}").hostname or ""
    except ValueError:  # not a host at all
        return ""


def serve(app: Flask, port: int, stalled_s: int = STALLED_S) -> None:
    """Serve `app` on 127.0.0.1:`port` until Ctrl-C: THREADS threads for requests whatever the connections (waitress
    reads requests in one loop), a connection idle for `stalled_s` closed, bodies over MAX_UPLOAD_MB not buffered."""
    waitress.serve(app, host="127.0.0.1", port=port, threads=THREADS, ident="", channel_timeout=stalled_s,
                   cleanup_interval=max(1, stalled_s // 4), max_request_body_size=(MAX_UPLOAD_MB + 1) * 2**20)


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
