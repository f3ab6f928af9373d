"""The web studio's JSON API (``singan serve``, issue 25) through FastAPI's TestClient: upload, train
a tiny run in the worker process while following its progress, stop and resume, sample, harmonize
with a mask, animate, download; and the refusals: oversized and non-image uploads, paths outside
the runs folder, requests from other origins."""

from __future__ import annotations

import io
import json
import zipfile

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from tests.conftest import blob_image

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402

from studio import safety  # noqa: E402
from studio.app import create_app  # noqa: E402

BASE = "http://127.0.0.1:8000"
TINY = {"preset": "tiny", "iters": "6", "max_size": "32"}


def png(array: np.ndarray) -> bytes:
    return iio.imwrite("<bytes>", array, extension=".png")


def follow(client: TestClient) -> list[dict]:
    """The progress events until the queue is idle (the stream ends then)."""
    events = []
    with client.stream("GET", "/api/events", params={"until_idle": "true"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    return events


def upload(client: TestClient, image: np.ndarray, **fields) -> str:
    response = client.post("/api/runs", files={"image": ("my photo?.png", png(image), "image/png")},
                           data={**TINY, **fields})
    assert response.status_code == 201, response.text
    return response.json()["name"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A studio on a fresh runs folder with one tiny run trained through the API."""
    runs = tmp_path_factory.mktemp("runs")
    with TestClient(create_app(runs, port=8000), base_url=BASE) as client:
        name = upload(client, blob_image(40, 56))
        events = follow(client)
        yield client, runs, name, events


@pytest.mark.slow
def test_upload_trains_in_the_worker_with_live_progress(served):
    client, runs, name, events = served
    assert name.startswith("my-photo-")  # the file name sanitised, plus a random tag
    assert not any(p.name.startswith("my photo") for p in runs.rglob("*"))
    progress = [e["progress"] for e in events if e["progress"]]
    assert progress, "no progress event while training"
    assert any(p["state"] == "training" and p.get("num_scales") for p in progress)
    assert events[-1]["jobs"] == {"active": None, "queue": []}
    card = client.get(f"/api/runs/{name}").json()
    assert card["state"] == "done" and card["scales_done"] == card["num_scales"] >= 2
    assert card["architecture"] == "singan" and max(card["width"], card["height"]) == 32
    assert len(card["previews"]) == card["num_scales"]
    thumb = client.get(card["thumbnail"])
    assert thumb.status_code == 200 and iio.imread(thumb.content).shape == (card["height"], card["width"], 3)
    listed = client.get("/api/runs").json()["runs"]
    assert [r["name"] for r in listed] == [name]
    final = json.loads((runs / name / "studio_progress.json").read_text())
    assert final["state"] == "done" and len(final["scales"]) == card["num_scales"]
    rows = client.get(f"/api/runs/{name}/log").json()["rows"]
    assert rows and {"scale", "d_loss", "rec_loss"} <= set(rows[0])


def test_presets_come_from_the_registry(served):
    client = served[0]
    catalog = client.get("/api/presets").json()
    by_name = {p["preset"]: p["architecture"] for p in catalog}
    assert by_name["tiny"] == "singan" and by_name["consingan"] == "consingan"


@pytest.mark.slow
def test_sample_grid_and_zip(served):
    client, runs, name, _ = served
    response = client.post(f"/api/runs/{name}/sample", json={"num": 3, "scale": "1.5x1", "seed": 4})
    assert response.status_code == 200, response.text
    result = response.json()
    assert len(result["images"]) == 3
    card = client.get(f"/api/runs/{name}").json()
    first = iio.imread(client.get(result["images"][0]).content)
    assert first.shape[1] == round(card["width"] * 1.5) and first.shape[0] == card["height"]
    assert client.get(result["grid"]).status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(client.get(result["zip"]).content))
    assert len([n for n in archive.namelist() if "sample_" in n]) == 3
    again = client.post(f"/api/runs/{name}/sample", json={"num": 3, "scale": "1.5x1", "seed": 4}).json()
    assert client.get(again["images"][2]).content == client.get(result["images"][2]).content  # same seed
    bad = client.post(f"/api/runs/{name}/sample", json={"num": 2, "start_scale": 99})
    assert bad.status_code == 400 and "start scale" in bad.json()["error"]


@pytest.mark.slow
def test_harmonize_with_a_drawn_mask_animate_and_report(served):
    client, runs, name, _ = served
    card = client.get(f"/api/runs/{name}").json()
    height, width = card["height"], card["width"]
    real = iio.imread(client.get(card["thumbnail"]).content)
    naive = real.copy()
    naive[4:14, 6:18] = (250, 20, 20)  # a pasted red patch
    mask = np.zeros((height, width, 3), np.uint8)
    mask[4:14, 6:18] = 255
    response = client.post(f"/api/runs/{name}/harmonize", data={"inject_scale": 1, "seed": 0},
                           files={"image": ("naive.png", png(naive)), "mask": ("mask.png", png(mask))})
    assert response.status_code == 200, response.text
    result = iio.imread(client.get(response.json()["result"]).content)
    assert result.shape == (height, width, 3)
    inside = result[6:12, 8:16].astype(float)
    assert not np.array_equal(result[6:12, 8:16], naive[6:12, 8:16])  # harmonized, not the input returned
    red_over_green = [(image[..., 0].astype(float) - image[..., 1]).mean() for image in (inside, real[6:12, 8:16])]
    assert red_over_green[0] > red_over_green[1] + 20  # ... and the pasted red patch is there
    no_mask = client.post(f"/api/runs/{name}/harmonize", data={"inject_scale": 1},
                          files={"image": ("naive.png", png(naive))})
    assert no_mask.status_code == 400 and "mask" in no_mask.json()["error"]
    painted = client.post(f"/api/runs/{name}/paint", data={"inject_scale": 1})  # over the training image
    assert painted.status_code == 200, painted.text
    # the options that retrain first: harmonization fine-tune, paint quantization
    tuned = client.post(f"/api/runs/{name}/harmonize", data={"inject_scale": 1, "seed": 0, "fine_tune": 2},
                        files={"image": ("naive.png", png(naive)), "mask": ("mask.png", png(mask))})
    assert tuned.status_code == 200, tuned.text
    assert not np.array_equal(iio.imread(client.get(tuned.json()["result"]).content), result)  # G_N was retrained
    quantized = client.post(f"/api/runs/{name}/paint", data={"inject_scale": 1, "quantize": 3})
    assert quantized.status_code == 200, quantized.text
    assert client.post(f"/api/runs/{name}/paint", data={"inject_scale": 1, "quantize": -1}).status_code == 422
    gif = client.post(f"/api/runs/{name}/animate", json={"frames": 4, "start_scale": 1})
    assert gif.status_code == 200, gif.text
    frames = iio.imread(client.get(gif.json()["result"]).content, index=None)
    assert frames.shape[0] == 4
    sr = client.post(f"/api/runs/{name}/super_resolve", json={"factor": 2})
    assert sr.status_code == 200 and iio.imread(client.get(sr.json()["result"]).content).shape[0] == 2 * height
    report = client.post(f"/api/runs/{name}/report")
    assert report.status_code == 200 and b"<html" in client.get(report.json()["report"]).content.lower()


def test_uploads_are_refused_before_decoding(served, monkeypatch):
    client = served[0]
    not_image = client.post("/api/runs", files={"image": ("x.png", b"not an image at all")}, data=TINY)
    assert not_image.status_code == 400 and "uploaded image" in not_image.json()["error"]
    monkeypatch.setattr(safety, "MAX_UPLOAD_PIXELS", 100)
    too_many = client.post("/api/runs", files={"image": ("big.png", png(blob_image(20, 20)))}, data=TINY)
    assert too_many.status_code == 400 and "exceeds limit" in too_many.json()["error"]
    monkeypatch.setattr(safety, "MAX_UPLOAD_BYTES", 50)
    too_big = client.post("/api/runs", files={"image": ("big.png", png(blob_image(20, 20)))}, data=TINY)
    assert too_big.status_code == 400 and "limit of 50 bytes" in too_big.json()["error"]
    declared = client.post("/api/runs", content=b"x" * 70_000, headers={"Content-Type": "multipart/form-data; b=x"})
    assert declared.status_code == 413  # refused from its Content-Length, before the body is parsed
    bad_preset = client.post("/api/runs", files={"image": ("a.png", png(blob_image(20, 20)))},
                             data={"preset": "nope"})
    assert bad_preset.status_code == 400 and "unknown preset" in bad_preset.json()["error"]
    assert client.get("/api/runs").json()["jobs"] == {"active": None, "queue": []}


@pytest.mark.parametrize("path", ["../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "/etc/passwd",
                                  "previews/../../../secret.txt", "%2e%2e/%2e%2e/secret.txt"])
def test_no_file_outside_the_runs_folder(served, path):
    client, runs, name, _ = served
    (runs.parent / "secret.txt").write_text("secret")
    response = client.get(f"/files/{name}/{path}")
    assert response.status_code in (400, 404) and b"secret" not in response.content and b"root:" not in response.content
    for run_name in ("..", "%2e%2e", "..%2F" + runs.name):
        response = client.get(f"/files/{run_name}/secret.txt")
        assert response.status_code in (400, 404) and b"secret" not in response.content


def test_other_origins_and_hosts_are_refused(served):
    client, runs, name, _ = served
    for headers in ({"Origin": "http://evil.example"}, {"Origin": "null"}, {"Referer": "http://evil.example/x"},
                    {"Sec-Fetch-Site": "cross-site"}, {"Host": "evil.example:8000"}):
        response = client.post(f"/api/runs/{name}/sample", json={"num": 1}, headers=headers)
        assert response.status_code == 403, headers
        assert client.get("/api/runs", headers=headers).status_code == 403
    same = client.post(f"/api/runs/{name}/stop", headers={"Origin": BASE})
    assert same.status_code == 400  # past the origin check: the run is not training
    assert client.get("/", headers={"Referer": "http://elsewhere.example/"}).status_code == 200  # a link to the page


def wait_for_iterations(client: TestClient) -> None:
    with client.stream("GET", "/api/events") as response:
        for line in response.iter_lines():
            progress = json.loads(line[6:])["progress"] if line.startswith("data: ") else None
            if progress and progress["state"] == "training" and progress.get("iteration"):
                return  # the worker is past the start of a level (not a file left by an earlier attempt)


@pytest.mark.slow
def test_stop_resume_and_restart_give_the_weights_of_an_uninterrupted_run(tmp_path):
    """A run stopped mid-training, resumed, then cut off by a server shutdown shows as interrupted
    after the restart, resumes to the end, and holds the weights an uninterrupted training gives."""
    from safetensors.torch import load_file

    from singan_kit import api

    runs = tmp_path / "runs"
    with TestClient(create_app(runs, port=8000, checkpoint_seconds=0), base_url=BASE) as client:
        name = upload(client, blob_image(40, 56), iters="60")
        wait_for_iterations(client)
        assert client.post(f"/api/runs/{name}/stop").status_code == 200
        follow(client)
        assert client.get(f"/api/runs/{name}").json()["state"] == "interrupted"
        assert client.post(f"/api/runs/{name}/resume").status_code == 200
        wait_for_iterations(client)
    # the server went down while training (its shutdown interrupts the worker); a new one starts
    with TestClient(create_app(runs, port=8000), base_url=BASE) as client:
        card = client.get(f"/api/runs/{name}").json()
        assert card["state"] == "interrupted" and card["scales_done"] < card["num_scales"]
        assert client.post(f"/api/runs/{name}/resume").status_code == 200
        follow(client)
        card = client.get(f"/api/runs/{name}").json()
        assert card["state"] == "done" and card["scales_done"] == card["num_scales"]
        assert client.post(f"/api/runs/{name}/resume").status_code == 400  # nothing left to resume
    upload_png = next((runs / ".studio-uploads").glob("*.png"))
    api.train_run(upload_png, tmp_path / "reference", api.make_config("tiny", iters=60, max_size=32),
                  device="cpu", progress=False)
    resumed, reference = load_file(runs / name / "generators.safetensors"), load_file(tmp_path / "reference" /
                                                                                       "generators.safetensors")
    assert resumed.keys() == reference.keys()
    assert all(torch.equal(resumed[k], reference[k]) for k in reference)


def test_serve_command_warns_off_loopback(monkeypatch, tmp_path):
    """``singan serve`` parses its options, warns when others on the network can reach it, and hands
    over to the studio's server (replaced here: the server itself is tested above and in a browser)."""
    from click.testing import CliRunner

    import studio.app
    from cli.singan import main

    started = []
    monkeypatch.setattr(studio.app, "serve", lambda runs, host, port: started.append((runs, host, port)))
    result = CliRunner().invoke(main, ["serve", "--runs", str(tmp_path), "--host", "0.0.0.0", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert started == [(str(tmp_path), "0.0.0.0", 8123)]
    assert "warning" in result.output and "anyone" in result.output
    quiet = CliRunner().invoke(main, ["serve", "--runs", str(tmp_path)])
    assert quiet.exit_code == 0 and "warning" not in quiet.output
    assert started[-1] == (str(tmp_path), "127.0.0.1", 8000)
    bad = CliRunner().invoke(main, ["serve", "--port", "0"])
    assert bad.exit_code != 0 and "Traceback" not in bad.output
