"""The web studio end to end in headless Chromium (issue 25): a real uvicorn on a free port, the page
driven by Playwright with the system's chromium (no browser download): upload an image, train a tiny
run and watch progress and previews update, sample a grid, draw a mask with the mouse and harmonize.
Skipped where playwright or chromium is missing. Screenshots of each step go to ``$STUDIO_SCREENSHOTS``
(default: the test's temporary folder)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import imageio.v3 as iio
import pytest

from tests.conftest import blob_image

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine")]

from studio.app import create_app  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    port = free_port()
    config = uvicorn.Config(create_app(tmp_path / "runs", port=port), host="127.0.0.1", port=port, log_level="warning")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(30)


def test_upload_train_sample_and_harmonize_in_a_browser(server, tmp_path):
    shots = Path(os.environ.get("STUDIO_SCREENSHOTS", tmp_path / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    image = tmp_path / "meadow.png"
    iio.imwrite(image, blob_image(60, 90, seed=3))
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 820})
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(server)
        page.wait_for_selector("#preset option[value=tiny]", state="attached")
        page.screenshot(path=shots / "1_runs_empty.png")

        page.click("#new-run-button")
        page.set_input_files("#file", str(image))
        page.select_option("#preset", "tiny")
        page.fill("#iters", "60")
        page.fill("#max-size", "48")
        page.wait_for_function("document.getElementById('drop-preview').naturalWidth > 0")
        page.screenshot(path=shots / "2_new_run.png")
        page.click("#start")

        # live progress: the iteration counter moves, and previews appear as scales finish
        page.wait_for_selector("#run-view:not(.hidden)", timeout=60_000)
        page.wait_for_function("document.getElementById('progress-text').textContent.includes('iteration')",
                               timeout=60_000)
        first = page.text_content("#progress-text")
        page.wait_for_function(f"document.getElementById('progress-text').textContent !== {first!r}", timeout=30_000)
        page.wait_for_selector("#previews img", timeout=120_000)
        page.screenshot(path=shots / "3_training.png")
        page.wait_for_selector("#run-state.done", timeout=180_000)
        scales = page.locator("#previews img").count()
        assert scales >= 2 and page.locator(".card .badge.done").count() == 1
        page.screenshot(path=shots / "4_trained.png")

        page.click("[data-tab=sample]")
        page.fill("#s-num", "6")
        page.click("#s-go")
        page.wait_for_function("[...document.querySelectorAll('#grid img')].length === 6 && "
                               "[...document.querySelectorAll('#grid img')].every(i => i.complete && i.naturalWidth > 0)",
                               timeout=60_000)
        assert page.get_attribute("#s-zip", "href").endswith(".zip")
        page.screenshot(path=shots / "5_samples.png")
        page.click("#grid img >> nth=2")
        page.wait_for_function("document.getElementById('lightbox-img').naturalWidth > 0")
        page.screenshot(path=shots / "6_view_large.png")
        page.click("#lightbox")

        page.click("[data-tab=canvas]")
        page.wait_for_timeout(300)  # the run's image is drawn into the canvas
        box = page.locator("#stack").bounding_box()
        page.click("[data-tool=paint]")  # paste a red blob by painting it
        page.fill("#c-size", "12")
        page.dispatch_event("#c-size", "input")
        page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.5)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5, steps=8)
        page.mouse.up()
        page.click("[data-tool=mask]")
        page.fill("#c-size", "20")
        page.dispatch_event("#c-size", "input")
        page.mouse.move(box["x"] + box["width"] * 0.35, box["y"] + box["height"] * 0.5)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.65, box["y"] + box["height"] * 0.5, steps=10)
        page.mouse.up()
        masked = page.evaluate("""() => { const c = document.getElementById('c-mask-layer');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0; for (let i = 3; i < d.length; i += 4) n += d[i] > 127; return n / (c.width * c.height); }""")
        assert 0.05 < masked < 0.9, masked
        assert "scale 1" in page.text_content("#c-inject-out") and "px" in page.text_content("#c-inject-out")
        page.click("#c-go")
        page.wait_for_function("document.getElementById('c-result').naturalWidth > 0", timeout=60_000)
        assert page.text_content("#c-status").startswith("done")
        page.screenshot(path=shots / "7_harmonize.png")
        browser.close()
    assert not errors, errors
