"""The web studio's FastAPI app: one static page and a small JSON API over :mod:`singan_kit.api`.

The API (OpenAPI at ``/docs``) is usable from scripts too: ``GET /api/runs`` lists the runs of the
runs folder, ``POST /api/runs`` uploads an image and queues its training, ``GET /api/events`` streams
the training progress (Server-Sent Events), and ``POST /api/runs/{name}/sample`` (``harmonize``,
``edit``, ``paint``, ``animate``, ``super_resolve``, ``report``) write their results inside the run
folder, under ``studio/``, and return the URLs to fetch them from ``/files/{name}/...``.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import shutil
import threading
import time
import uuid
import zipfile
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from ganbase.errors import UserError
from ganbase.io.images import save_image
from singan_kit import api
from studio import HOST, PORT, RUNS, safety
from studio.jobs import Job, JobQueue
from studio.worker import PROGRESS_FILE, read_progress

STATIC = Path(__file__).parent / "static"
STUDIO_DIR = "studio"  # inside a run folder: what the studio wrote (samples, inputs, results)
UPLOADS_DIR = ".studio-uploads"  # inside the runs folder: uploaded training images, by random name
EVENT_SECONDS = 0.4  # how often the event stream looks for changes


class SampleRequest(BaseModel):
    num: int = Field(8, ge=1, le=64)
    scale: str = "1"  # one factor or WxH factors
    size: str | None = None  # exact "WIDTHxHEIGHT" px instead of scale
    start_scale: int = Field(0, ge=0)
    seed: int = 0


class AnimateRequest(BaseModel):
    frames: int = Field(30, ge=2, le=300)
    start_scale: int = Field(1, ge=0)
    alpha: float = 0.1
    beta: float = 0.9
    fps: float = Field(10, gt=0, le=60)
    seed: int = 0


class SuperResolveRequest(BaseModel):
    factor: float = Field(2.0, gt=1, le=8)
    seed: int = 0


class Studio:
    """The runs folder, the training queue and a small cache of loaded models."""

    def __init__(self, runs_dir: Path, host: str, port: int, checkpoint_seconds: float) -> None:
        self.runs_dir = runs_dir
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.hosts = safety.allowed_hosts(host, port)
        self.jobs = JobQueue(runs_dir, checkpoint_seconds)
        self._models: dict[str, tuple[tuple, api.SinGAN]] = {}
        self._lock = threading.Lock()

    def run_dir(self, name: str) -> Path:
        path = safety.inside(self.runs_dir, safety.check_run_name(name))
        if not (path / "config.json").is_file():
            raise LookupError(name)
        return path

    def status(self, name: str) -> dict:
        """A run's card: state from its folder, live progress from its worker while it trains."""
        path = self.run_dir(name)
        info = api.run_status(path)
        progress = read_progress(path)
        busy = self.jobs.snapshot()
        if busy["active"] == name:
            state = "training"
        elif name in busy["queue"]:
            state = "queued"
        elif info["finished"]:
            state = "done"
        else:
            state = "interrupted"  # nothing trains it: a stop, a failure or a server restart
        height, width = info["sizes"][-1]
        config = info["config"]
        previews = sorted(p.name for p in (path / "previews").glob("scale_*.png"))
        return {"name": name, "state": state, "architecture": info["architecture"],
                "scales_done": info["scales_done"], "num_scales": info["num_scales"], "sizes": info["sizes"],
                "width": width, "height": height, "iters": info["iters"],
                "settings": {k: config[k] for k in ("iters", "max_size", "min_size", "num_filters") if k in config},
                "thumbnail": f"/files/{name}/real.png", "previews": [f"/files/{name}/previews/{p}" for p in previews],
                "report": f"/files/{name}/report.html" if (path / "report.html").is_file() else None,
                "progress": progress if state == "training" else None,
                "error": progress.get("error") if state == "interrupted" else None,
                "modified": (path / "config.json").stat().st_mtime}

    def run_names(self) -> list[str]:
        names = [p.name for p in self.runs_dir.iterdir()
                 if p.is_dir() and safety.RUN_NAME.match(p.name) and (p / "config.json").is_file()]
        return sorted(names, key=lambda n: -(self.runs_dir / n / "config.json").stat().st_mtime)

    def idle_run(self, name: str) -> Path:
        """The run folder of ``name``, refused while it trains or waits to (its weights change)."""
        path = self.run_dir(name)
        if self.jobs.busy(name):
            raise UserError(f"{name} is training; stop it or wait until it is done")
        return path

    def model(self, name: str) -> api.SinGAN:
        """The run loaded (cached while its config.json is unchanged); refused while it trains."""
        path = self.idle_run(name)
        stamp = (path / "config.json").stat().st_mtime_ns
        with self._lock:
            cached = self._models.get(name)
            if cached is None or cached[0] != stamp:
                if len(self._models) >= 2:
                    self._models.pop(next(iter(self._models)))
                cached = (stamp, api.SinGAN.load(path, device="cpu"))
                self._models[name] = cached
            return cached[1]

    def out_dir(self, name: str, kind: str) -> tuple[Path, str]:
        """A fresh folder ``<run>/studio/<kind>/<id>`` and its URL prefix."""
        ident = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:4]
        folder = self.run_dir(name) / STUDIO_DIR / kind / ident
        folder.mkdir(parents=True)
        return folder, f"/files/{name}/{STUDIO_DIR}/{kind}/{ident}"

    def events(self) -> dict:
        """What the event stream sends: the queue and the live state of the training run."""
        jobs = self.jobs.snapshot()
        progress = read_progress(self.runs_dir / jobs["active"]) if jobs["active"] else None
        stamps = {n: (self.runs_dir / n / "config.json").stat().st_mtime_ns for n in self.run_names()}
        return {"jobs": jobs, "progress": progress, "runs": stamps}


@contextmanager
def _removed_on_error(folder: Path):
    """Leave no half-written result folder behind when the work fails."""
    try:
        yield
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _upload(file: UploadFile, folder: Path, what: str) -> Path:
    data = await file.read(safety.MAX_UPLOAD_BYTES + 1)
    path, _ = safety.store_upload(data, folder, what)
    return path


def create_app(runs_dir: str | Path, host: str = HOST, port: int = PORT,
               checkpoint_seconds: float = 10.0) -> FastAPI:
    """The studio for the runs folder ``runs_dir``, answering on ``host:port``."""
    studio = Studio(Path(runs_dir), host, port, checkpoint_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        studio.jobs.close()  # the training run keeps its last checkpoint and shows "resume"

    app = FastAPI(title="SinGAN studio", version="1", lifespan=lifespan,
                  description="Train SinGAN on one image, sample, harmonize, edit, paint, animate.")
    app.state.studio = studio

    @app.middleware("http")
    async def guard(request: Request, call_next):
        # every request: a Host this server answers to; the API and every write: also the same origin
        reason = safety.same_origin(request.headers, studio.hosts, check_origin=(
            request.url.path.startswith("/api/") or request.method not in ("GET", "HEAD")))
        if reason is not None:
            return _error(403, reason)
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > 2 * safety.MAX_UPLOAD_BYTES + 65536):
            return _error(413, "request too large")
        return await call_next(request)

    @app.exception_handler(UserError)
    async def user_error(request: Request, exc: UserError):
        return _error(400, str(exc))

    @app.exception_handler(LookupError)
    async def not_found(request: Request, exc: LookupError):
        return _error(404, f"no run {exc.args[0]!r}" if exc.args else "not found")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def page():
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    @app.get("/files/{name}/{path:path}", summary="A file inside a run folder")
    def run_file(name: str, path: str):
        target = safety.inside(studio.runs_dir, safety.check_run_name(name), path)
        if not target.is_file() or target.name == PROGRESS_FILE:
            return _error(404, "no such file")
        return FileResponse(target, headers={"Cache-Control": "no-cache"})

    @app.get("/api/presets", summary="Presets of every registered architecture")
    def presets():
        return api.preset_catalog()

    @app.get("/api/runs", summary="Every run of the runs folder, newest first")
    def runs():
        jobs = studio.jobs.snapshot()
        return {"runs": [studio.status(name) for name in studio.run_names()], "jobs": jobs}

    @app.get("/api/runs/{name}", summary="One run")
    def run(name: str):
        return studio.status(name)

    @app.post("/api/runs", status_code=201, summary="Upload an image and queue its training")
    async def new_run(image: UploadFile = File(...), preset: str = Form("fast"), iters: int | None = Form(None),
                      max_size: int | None = Form(None)):
        overrides = {k: v for k, v in {"iters": iters, "max_size": max_size}.items() if v is not None}
        api.make_config(preset, **overrides)  # bad settings are refused now, not in the worker
        path = await _upload(image, studio.runs_dir / UPLOADS_DIR, "image")
        name = safety.new_run_name(image.filename)
        studio.jobs.submit(Job(name, image=str(path), preset=preset, overrides=overrides))
        return {"name": name, "queue": studio.jobs.snapshot()}

    @app.post("/api/runs/{name}/stop", summary="Stop a training run (its checkpoint is kept) or unqueue it")
    def stop(name: str):
        safety.check_run_name(name)
        if not studio.jobs.stop(name):
            raise UserError(f"{name} is not training or queued")
        return {"stopped": name}

    @app.post("/api/runs/{name}/resume", summary="Queue an unfinished run to continue from its checkpoint")
    def resume(name: str):
        card = studio.status(name)
        if card["state"] != "interrupted":
            raise UserError(f"{name} is {card['state']}; only an interrupted run resumes")
        studio.jobs.submit(Job(name, resume=True))
        return {"name": name, "queue": studio.jobs.snapshot()}

    @app.get("/api/runs/{name}/log", summary="The training log (log.csv) as rows")
    def log(name: str):
        path = studio.run_dir(name) / "log.csv"
        if not path.is_file():
            return {"rows": []}
        rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8", errors="replace"))))
        return {"rows": [{k: _number(v) for k, v in row.items() if k is not None} for row in rows]}

    @app.get("/api/events", summary="Training progress as Server-Sent Events")
    async def events(request: Request, until_idle: bool = False):
        async def stream():
            last = None
            while not await request.is_disconnected():
                state = await asyncio.to_thread(studio.events)
                text = json.dumps(state, sort_keys=True)
                if text != last:
                    yield f"event: progress\ndata: {text}\n\n"
                    last = text
                if until_idle and state["jobs"]["active"] is None and not state["jobs"]["queue"]:
                    return
                await asyncio.sleep(EVENT_SECONDS)

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    @app.post("/api/runs/{name}/sample", summary="Random samples as a grid (PNG files, a zip)")
    def sample(name: str, request: SampleRequest):
        run_dir = studio.idle_run(name)
        folder, url = studio.out_dir(name, "samples")
        with _removed_on_error(folder):
            api.sample_runs(run_dir, folder, request.num, request.scale, request.start_scale, request.seed,
                            grid=True, device="cpu", progress=False, size=request.size)
        images = sorted(p.name for p in folder.glob("sample_*.png"))
        return {"images": [f"{url}/{n}" for n in images], "grid": f"{url}/grid.png",
                "zip": f"/api/runs/{name}/samples/{folder.name}.zip"}

    @app.get("/api/runs/{name}/samples/{ident}.zip", summary="A sample set as one zip")
    def sample_zip(name: str, ident: str):
        folder = safety.inside(studio.run_dir(name), STUDIO_DIR, "samples", safety.check_run_name(ident))
        if not folder.is_dir():
            return _error(404, "no such sample set")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for path in sorted(folder.glob("*.png")):
                archive.write(path, f"{name}-{path.name}")
        return Response(buffer.getvalue(), media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{name}-{ident}.zip"'})

    async def reference_app(name: str, kind: str, image: UploadFile | None, mask: UploadFile | None,
                            inject_scale: int, seed: int, retrain: int = 0) -> dict:
        model = await asyncio.to_thread(studio.model, name)
        if kind != "paint" and mask is None:
            raise UserError(f"{kind} needs a mask: draw one or upload it")
        folder, url = studio.out_dir(name, kind)
        with _removed_on_error(folder):
            return await _reference_result(model, kind, folder, url, image, mask, inject_scale, seed,
                                           studio.run_dir(name) / "real.png", retrain)

    async def _reference_result(model, kind, folder, url, image, mask, inject_scale, seed, real,
                                retrain: int) -> dict:
        source = await _upload(image, folder, "image") if image is not None else real  # paint over the run's image
        mask_path = await _upload(mask, folder, "mask") if mask is not None else None

        def work():
            # retrain: harmonization fine-tune iterations, or paint's quantization colours (0: off)
            if kind == "harmonize":
                return model.harmonize(source, mask_path, inject_scale, seed, fine_tune=retrain)
            if kind == "edit":
                return model.edit(source, mask_path, inject_scale, seed)
            return model.paint(source, inject_scale, seed, quantize=retrain or None)

        result = await asyncio.to_thread(work)
        save_image(folder / "result.png", result)
        return {"result": f"{url}/result.png", "input": f"{url}/{source.name}" if image is not None else None,
                "notes": model.notes}

    @app.post("/api/runs/{name}/harmonize", summary="Harmonize a pasted object (image + mask)")
    async def harmonize(name: str, image: UploadFile | None = File(None), mask: UploadFile | None = File(None),
                        inject_scale: int = Form(...), seed: int = Form(0),
                        fine_tune: int = Form(0, ge=0, le=5000, description="fine-tune iterations first (0: off)")):
        return await reference_app(name, "harmonize", image, mask, inject_scale, seed, fine_tune)

    @app.post("/api/runs/{name}/edit", summary="Blend a copy-paste edit (image + mask)")
    async def edit(name: str, image: UploadFile | None = File(None), mask: UploadFile | None = File(None),
                   inject_scale: int = Form(...), seed: int = Form(0)):
        return await reference_app(name, "edit", image, mask, inject_scale, seed)

    @app.post("/api/runs/{name}/paint", summary="Turn a painting into an image")
    async def paint(name: str, image: UploadFile | None = File(None), inject_scale: int = Form(...),
                    seed: int = Form(0),
                    quantize: int = Form(0, ge=0, le=64, description="colours to quantize to and retrain (0: off)")):
        return await reference_app(name, "paint", image, None, inject_scale, seed, quantize)

    @app.post("/api/runs/{name}/animate", summary="A GIF of a random walk around the training image")
    def animate(name: str, request: AnimateRequest):
        run_dir = studio.idle_run(name)
        folder, url = studio.out_dir(name, "animations")
        with _removed_on_error(folder):
            api.animate_runs(run_dir, request.frames, request.start_scale, request.alpha, request.beta,
                             request.fps, out=folder / "animation.gif", seed=request.seed, device="cpu",
                             progress=False)
        return {"result": f"{url}/animation.gif"}

    @app.post("/api/runs/{name}/super_resolve", summary="The training image upscaled")
    def super_resolve(name: str, request: SuperResolveRequest):
        model = studio.model(name)
        folder, url = studio.out_dir(name, "super_resolution")
        with _removed_on_error(folder):
            save_image(folder / "result.png", model.super_resolve(request.factor, request.seed))
        return {"result": f"{url}/result.png"}

    @app.post("/api/runs/{name}/report", summary="Write the run's HTML report")
    def report(name: str):
        api.report(studio.idle_run(name), num=4, device="cpu", with_eval=False, progress=False)
        return {"report": f"/files/{name}/report.html"}

    return app


def _number(value: str):
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def serve(runs_dir: str | Path = RUNS, host: str = HOST, port: int = PORT) -> None:
    """Run the studio with uvicorn until Ctrl-C."""
    import uvicorn

    uvicorn.run(create_app(runs_dir, host, port), host=host, port=port, log_level="warning")
