"""The run-folder lock and the ownership / output-path / pruning rules of ganbase.io (issue 22)."""

from __future__ import annotations

import json
import os
import socket
import time

import pytest

import ganbase.zoo.inference.runs  # noqa: F401  (registers the zoo's run kind)
import singan_kit.run_folder  # noqa: F401  (registers SinGAN's run kind)
from ganbase.errors import UserError
from ganbase.io.run_lock import LOCK_FILE, TORN_SECONDS, RunLock, pid_alive, read_holder, remove_lock_of
from ganbase.io.run_safety import check_output_not_in_run, check_run_target, kind_of, prune_owned
from singan_kit.batch.folders import run_names


def dead_pid() -> int:
    """A pid no process has now."""
    for pid in range(4_000_000, 3_000_000, -7):
        if not pid_alive(pid):
            return pid
    raise AssertionError("no free pid found")


def write_lock(folder, pid, host=None):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / LOCK_FILE).write_text(json.dumps({"pid": pid, "host": host or socket.gethostname(),
                                                "started": "2026-01-01T00:00:00", "command": "singan train"}))


def test_lock_is_taken_and_released(tmp_path):
    run = tmp_path / "run"
    with RunLock(run, "singan train"):
        holder = read_holder(run / LOCK_FILE)
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        with RunLock(run, "sr"):  # nested use in one process shares it
            assert (run / LOCK_FILE).exists()
        assert (run / LOCK_FILE).exists()
        (run / "weights").write_text("x")
    assert not (run / LOCK_FILE).exists()
    assert (run / "weights").exists()


def test_lock_leaves_no_empty_folder_it_created(tmp_path):
    with pytest.raises(RuntimeError):
        with RunLock(tmp_path / "new" / "run", "singan train"):
            raise RuntimeError("bad input found after locking")
    assert list(tmp_path.iterdir()) == []


def test_live_holder_is_refused_with_its_name(tmp_path):
    write_lock(tmp_path, os.getppid())  # the parent process: alive, not us
    with pytest.raises(UserError, match=rf"in use by pid {os.getppid()} on {socket.gethostname()} since "
                                        r"2026-01-01T00:00:00 \(singan train\)"):
        with RunLock(tmp_path, "ganzoo train"):
            pass
    assert read_holder(tmp_path / LOCK_FILE)["pid"] == os.getppid()  # not taken over


def test_another_hosts_lock_is_refused(tmp_path):
    write_lock(tmp_path, dead_pid(), host="other-node-17")
    with pytest.raises(UserError, match="on other-node-17"):
        with RunLock(tmp_path, "singan train"):
            pass


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    write_lock(tmp_path, dead_pid())
    with RunLock(tmp_path, "singan train"):
        assert read_holder(tmp_path / LOCK_FILE)["pid"] == os.getpid()
    assert not (tmp_path / LOCK_FILE).exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no ".stale" leftovers


def test_torn_lock_is_stale_only_when_old(tmp_path):
    (tmp_path / LOCK_FILE).write_text("")
    with pytest.raises(UserError, match="writing its lock right now"):
        with RunLock(tmp_path, "singan train"):
            pass
    old = time.time() - 2 * TORN_SECONDS
    os.utime(tmp_path / LOCK_FILE, (old, old))
    with RunLock(tmp_path, "singan train"):
        assert read_holder(tmp_path / LOCK_FILE)["pid"] == os.getpid()


def make_run(folder, config):
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


SINGAN = {"format": 1, "model": "singan"}
ZOO = {"format": 1, "ganzoo_version": "0", "model": "dcgan"}


def test_kinds_and_run_targets(tmp_path):
    singan = make_run(tmp_path / "s", SINGAN)
    zoo = make_run(tmp_path / "z", ZOO)
    foreign = make_run(tmp_path / "f", {"name": "my project"})
    assert (kind_of(singan), kind_of(zoo), kind_of(foreign), kind_of(tmp_path)) == ("singan", "ganzoo", "foreign",
                                                                                  None)
    assert check_run_target(tmp_path / "missing", "singan") == "new"
    (tmp_path / "empty").mkdir()
    assert check_run_target(tmp_path / "empty", "ganzoo") == "new"
    assert check_run_target(singan, "singan") == "own"
    assert check_run_target(zoo, "ganzoo") == "own"
    with pytest.raises(UserError, match="is a ganzoo run, not a SinGAN run"):
        check_run_target(zoo, "singan", overwrite=True)
    with pytest.raises(UserError, match="is a SinGAN run, not a ganzoo run"):
        check_run_target(singan, "ganzoo")
    with pytest.raises(UserError, match="another kind"):
        check_run_target(foreign, "singan", overwrite=True)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("x")
    with pytest.raises(UserError, match="not empty .* or use --overwrite"):
        check_run_target(tmp_path / "other", "singan", overwrite=False)
    with pytest.raises(UserError, match=r"not empty \(and no ganzoo run\); choose another --out$"):
        check_run_target(tmp_path / "other", "ganzoo")
    assert check_run_target(tmp_path / "other", "singan", overwrite=True) == "other"
    with pytest.raises(UserError, match="is a file"):
        check_run_target(tmp_path / "other" / "notes.txt", "singan", overwrite=True)


def test_outputs_never_name_a_runs_own_files(tmp_path):
    singan = make_run(tmp_path / "s", SINGAN)
    zoo = make_run(tmp_path / "z", ZOO)
    foreign = make_run(tmp_path / "f", {"name": "x"})  # another program's folder
    (foreign / "data.bin").write_text("x")
    unknown = make_run(tmp_path / "u", {"format": 1, "model": "x"})  # a run of a kind not loaded here
    (unknown / "weights.bin").write_text("x")
    for path in [singan / "config.json", singan / "previews" / "scale_00.png", singan / "generators.safetensors",
                 zoo / "latest.json", zoo / "checkpoints" / "step_00000002" / "model.safetensors",
                 foreign / "config.json", unknown / "weights.bin", zoo / ".." / "z" / "config.json",
                 singan / ".lock"]:
        with pytest.raises(UserError, match="would overwrite"):
            check_output_not_in_run(path, "--out")
    link = tmp_path / "link.json"
    link.symlink_to(zoo / "config.json")
    with pytest.raises(UserError, match="would overwrite"):
        check_output_not_in_run(link, "--out")
    for path in [singan / "report.html", singan / "samples", zoo / "samples" / "grid.png", foreign / "new.png",
                 foreign / "data.bin", unknown / "new.png", tmp_path / "elsewhere.png", singan]:
        check_output_not_in_run(path, "--out")


def test_pruning_removes_only_what_the_writer_wrote(tmp_path):
    names = frozenset({"model.safetensors", "state.json"})
    ckpts = tmp_path / "run" / "checkpoints"
    for step in ("step_00000002", "step_00000004", "step_00000006"):
        (ckpts / step).mkdir(parents=True)
        for name in names:
            (ckpts / step / name).write_text("w")
    (ckpts / "step_00000004" / "notes.txt").write_text("the user's")  # not only our files: kept
    (ckpts / "my_best_keep").mkdir()
    (ckpts / "my_best_keep" / "model.safetensors").write_text("w")
    (ckpts / "step_1").mkdir()  # not our pattern
    removed = prune_owned(tmp_path / "run", "checkpoints", r"step_\d{8}", names, keep="step_00000006")
    assert [p.name for p in removed] == ["step_00000002"]
    assert sorted(p.name for p in ckpts.iterdir()) == ["my_best_keep", "step_00000004", "step_00000006", "step_1"]


def test_pruning_never_follows_a_link_out_of_the_run(tmp_path):
    shared = tmp_path / "shared"
    (shared / "step_00000002").mkdir(parents=True)
    (shared / "step_00000002" / "model.safetensors").write_text("another run's")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "checkpoints").symlink_to(shared)
    assert prune_owned(tmp_path / "run", "checkpoints", r"step_\d{8}", frozenset({"model.safetensors"}),
                       keep="step_00000004") == []
    assert (shared / "step_00000002" / "model.safetensors").read_text() == "another run's"


def test_run_names_never_map_two_images_to_one_run(tmp_path):
    names = run_names([tmp_path / "a.png", tmp_path / "a.jpg", tmp_path / "b.png"])
    assert sorted(names.values()) == ["a_jpg", "a_png", "b"]
    with pytest.raises(UserError, match="images a.png and a_png.png would both train the run folder a_png"):
        run_names([tmp_path / "a.png", tmp_path / "a.jpg", tmp_path / "a_png.png"])
    with pytest.raises(UserError, match="would both train"):
        run_names([tmp_path / "A.png", tmp_path / "a.jpg"])  # one folder on case-insensitive file systems


def test_a_taken_over_claim_releases_only_its_own_holders_lock(tmp_path):
    write_lock(tmp_path, 4242, host="other-node-17")
    remove_lock_of(tmp_path, {"pid": 4243, "host": "other-node-17"})  # another process: kept
    assert read_holder(tmp_path / LOCK_FILE)["pid"] == 4242
    remove_lock_of(tmp_path, {"pid": 4242, "host": "other-node-17", "rank": 0})
    assert list(tmp_path.iterdir()) == []
