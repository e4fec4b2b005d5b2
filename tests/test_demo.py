"""demo.py: the JSON endpoint in process, and the page in a real headless Chromium against the served script."""

import base64
import contextlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from config import make_config
from data.images import load_image
from data.spec import FASHION_MNIST
from evaluation.photos import render_photo
from inference.novelty import probabilities_and_features
from inference.runtime import load_keras_export, novelty_of, top_classes
from models.classifier import build_model, classifier_of, with_flip_averaging
from runkit.files import write_json
from tests.helpers import ROOT, as_photo, assert_one_line_error, garment, large_photo, png_header_only, run_script
from webapp.server import MAX_FORM_PARTS, MAX_UPLOAD_MB, STALLED_S, create_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# CI installs Chromium and sets this, so that the browser test fails there rather than skips
BROWSER_REQUIRED = os.environ.get("REQUIRE_BROWSER") == "1"


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    """A photo of a drawn t-shirt, as bench.photos renders them."""
    path = tmp_path_factory.mktemp("photos") / "t-shirt.jpg"
    path.write_bytes(render_photo(garment("t-shirt"), np.random.default_rng(0)))
    return path


@pytest.fixture(scope="module")
def noise(tmp_path_factory):
    """A picture of noise: not one of the classes."""
    path = tmp_path_factory.mktemp("noise") / "noise.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (80, 80), dtype=np.uint8)).save(path)
    return path


@pytest.fixture(scope="module")
def exported(tmp_path_factory, photo, noise):
    """An export shaped like export_model.py's (the flip-averaging model around the classifier), untrained, with an
    exports.json whose "not recognised" score keeps the photo and marks the noise: the score's direction is their
    features' difference, the threshold half way."""
    path = tmp_path_factory.mktemp("export") / "model.h5"
    model = with_flip_averaging(classifier_of(build_model(make_config({"image_size": 32, "weights": None}))))
    model.save(path)
    _, features = probabilities_and_features(model).predict(
        np.stack([load_image(photo), load_image(noise)])[..., None], verbose=0)
    weights = features[0] - features[1]
    scores = features @ weights
    novelty = {"weights": weights.tolist(), "bias": 0.0, "threshold": float(scores.mean())}
    write_json(path.parent / "exports.json", {"model": path.name, "novelty": novelty})
    return path


def expected_top(model_path, picture) -> list[dict]:
    model = load_keras_export(model_path)
    probs = model.predict(load_image(picture)[None, ..., None], verbose=0)[0]
    return top_classes(probs, 3, FASHION_MNIST.class_names)


def test_the_endpoint_answers_top_3_the_image_seen_and_grad_cam_and_bad_uploads_get_reasons(exported, photo,
                                                                                             noise, tmp_path):
    client = create_app(load_keras_export(exported), FASHION_MNIST, novelty_of(exported)).test_client()

    def post(content: bytes, name: str):
        return client.post("/api/predict", data={"image": (io.BytesIO(content), name)},
                           content_type="multipart/form-data")

    answer = post(photo.read_bytes(), "t-shirt.jpg")
    assert answer.status_code == 200
    body = answer.get_json()
    expected = expected_top(exported, photo)
    assert [t["class"] for t in body["top"]] == [t["class"] for t in expected]
    np.testing.assert_allclose([t["probability"] for t in body["top"]], [t["probability"] for t in expected],
                               rtol=1e-5)
    seen = np.asarray(Image.open(io.BytesIO(decode(body["seen"]))))
    np.testing.assert_array_equal(seen, as_photo(garment("t-shirt"), 0))  # the 28x28 image, polarity fixed
    assert np.asarray(Image.open(io.BytesIO(decode(body["activation_map"])))).shape == (32, 32, 3)  # at image_size
    assert body["map_method"] == "LayerCAM"
    assert body["known"] is True and body["score"] > novelty_of(exported)["threshold"]
    not_known = post(noise.read_bytes(), "noise.png").get_json()
    assert not_known["known"] is False and len(not_known["top"]) == 3  # the closest classes are still given

    bomb = png_header_only(tmp_path / "bomb.png", 30_000, 30_000)
    cases = [(post(b"not an image", "notes.txt"), 400, "notes.txt: not a readable image"),
             (post(bomb.read_bytes(), "bomb.png"), 400, "bomb.png: declares more than the 50,000,000 pixels"),
             (post(b"\0" * (MAX_UPLOAD_MB * 2**20 + 1), "huge.png"), 413, f"the upload is over {MAX_UPLOAD_MB} MB"),
             (client.post("/api/predict"), 400, "no picture: send one file as the form field 'image'")]
    for response, status, message in cases:
        assert response.status_code == status and response.get_json()["error"].startswith(message)
    assert post(photo.read_bytes(), "again.jpg").status_code == 200  # still serving


def test_the_demo_answers_only_its_own_host_and_page_and_sends_the_security_headers(exported, photo):
    """Another site's page cannot use it (DNS rebinding, cross-origin POSTs), and its page runs only its own script."""
    client = create_app(load_keras_export(exported), FASHION_MNIST, novelty_of(exported)).test_client()
    page, again = client.get("/"), client.get("/")
    policy = page.headers["Content-Security-Policy"]
    nonce = re.search(r"script-src 'nonce-([^']+)'", policy).group(1)
    assert f'<script nonce="{nonce}">' in page.get_data(as_text=True) and nonce not in again.get_data(as_text=True)
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["X-Content-Type-Options"] == "nosniff"

    def post(**headers):
        with open(photo, "rb") as f:
            return client.post("/api/predict", data={"image": (f, "photo.jpg")}, headers=headers)

    fields = {**{f"field{i}": "x" for i in range(50)}, "image": (io.BytesIO(b"x"), "x.png")}  # multipart
    cases = [(client.get("/", headers={"Host": "evil.example:8000"}), 403,
              "this demo answers requests to 127.0.0.1 or localhost only, not 'evil.example'"),
             (post(Origin="http://evil.example"), 403, "a request from another site's page (http://evil.example) is "
                                                       "refused"),
             (post(**{"Sec-Fetch-Site": "cross-site"}), 403, "a request from another site's page (cross-site)"),
             (client.post("/api/predict", data=fields), 413, f"the form holds more than {MAX_FORM_PARTS} fields"),
             (client.get("/api/predict"), 405, "405 Method Not Allowed")]
    for response, status, message in cases:
        assert response.status_code == status and response.get_json()["error"].startswith(message), response.data
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert post(Origin="http://localhost", **{"Sec-Fetch-Site": "same-origin"}).status_code == 200  # its own page
    assert post().status_code == 200  # a script (curl) sends neither


@pytest.mark.slow
def test_a_port_out_of_range_is_refused_with_one_line(exported):
    assert_one_line_error(run_script("demo.py", ["--model", str(exported), "--port", "70000"], check=False),
                          "--port 70000: a port is a number from 1 to 65535")


def decode(data_url: str) -> bytes:
    assert data_url.startswith("data:image/png;base64,")
    return base64.b64decode(data_url.split(",", 1)[1])


@pytest.fixture
def served(exported):
    """demo.py started as a user starts it, on a free port; its address and process once it answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, str(ROOT / "demo.py"), "--model", str(exported), "--port", str(port)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(240):
            if server.poll() is not None:
                pytest.fail(f"demo.py exited: {server.stdout.read()}")
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("demo.py did not answer within 120 s")
        yield url, server
    finally:
        server.terminate()
        server.wait(timeout=30)


def post_picture(url: str, path, timeout: float = 120) -> tuple[int, dict]:
    """POST a file to the demo's endpoint as a browser form does; (status, JSON answer)."""
    boundary = "----demo-test"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{Path(path).name}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + Path(path).read_bytes() + \
        f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(url + "api/predict", data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def peak_memory_mb(pid: int) -> float:
    """The process's peak resident memory so far (Linux)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]) / 1024


def thread_count(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("Threads:")).split()[1])


@pytest.mark.slow
def test_stalled_uploads_hold_no_thread_each_and_are_closed(served):
    """Fifty connections that start an upload and stop: the server's threads stay as they were, each connection is
    closed after STALLED_S, and the server names no version of itself."""
    url, server = served
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    threads = thread_count(server.pid)
    stalled = [socket.create_connection(("127.0.0.1", port)) for _ in range(50)]
    for connection in stalled:
        connection.sendall(b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n"
                           b"Content-Type: multipart/form-data; boundary=x\r\n\r\n--x\r\n")
    time.sleep(2)
    assert thread_count(server.pid) <= threads + 1
    started = time.monotonic()
    for connection in stalled:
        connection.settimeout(max(1.0, 3 * STALLED_S - (time.monotonic() - started)))
        with contextlib.suppress(ConnectionResetError), connection:  # closed: an empty read, or a reset
            assert connection.recv(1024) == b""
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.status == 200 and "Server" not in answer.headers


@pytest.mark.slow
def test_eight_large_uploads_at_once_keep_the_server_small_and_then_a_photo_is_answered(served, photo, tmp_path):
    url, server = served
    large = large_photo(tmp_path / "large.png", 7000)  # 49 megapixels, 200 KB on disk
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: post_picture(url, large), range(8)))
    assert [status for status, _ in answers] == [200] * 8
    assert {body["top"][0]["class"] for _, body in answers} == {answers[0][1]["top"][0]["class"]}
    print(f"demo server's peak memory after 8 large uploads at once: {peak_memory_mb(server.pid):.0f} MB")
    assert peak_memory_mb(server.pid) < 1500
    started = time.monotonic()
    assert post_picture(url, photo)[0] == 200 and time.monotonic() - started < 10


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None and not BROWSER_REQUIRED,
                    reason="no Chromium here (Debian: apt-get install chromium); CI installs it")
def test_the_page_in_a_real_browser_shows_the_class_and_a_bad_upload_s_reason(served, exported, photo, noise,
                                                                              tmp_path):
    from playwright.sync_api import sync_playwright

    served, _ = served
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    expected = expected_top(exported, photo)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])  # no sandbox: CI runs as root; the rest: no network here
        page = browser.new_page()
        page.goto(served)
        page.set_input_files("#file", str(photo))
        page.wait_for_selector("#top li")
        shown = page.locator("#top li").all_inner_texts()
        assert [line.split(":")[0] for line in shown] == [t["class"] for t in expected]
        assert shown[0].endswith(f"{100 * expected[0]['probability']:.1f}%")
        assert page.locator("#seen").evaluate("img => img.naturalWidth") == 28
        assert page.locator("#activation_map").evaluate("img => img.naturalWidth") == 32
        assert page.locator("#map_method").inner_text() == "LayerCAM"
        assert not page.locator("#verdict").is_visible()

        page.set_input_files("#file", str(noise))  # not one of the classes: said in a sentence, the closest below
        page.wait_for_selector("#verdict", state="visible")
        assert page.locator("#verdict").inner_text().startswith("Not recognised: this picture does not look like any "
                                                                "of the 10 classes")
        assert len(page.locator("#top li").all_inner_texts()) == 3

        page.set_input_files("#file", str(notes))
        page.wait_for_selector("#error:not(:empty)")  # not wait_for_function: the page's policy forbids eval
        assert page.locator("#error").inner_text() == "notes.txt: not a readable image (UnidentifiedImageError)"
        assert not page.locator("#result").is_visible()

        page.set_input_files("#file", str(photo))  # the server keeps serving after a bad upload
        page.wait_for_selector("#top li")
        assert page.locator("#top li").first.inner_text() == shown[0]
        browser.close()
