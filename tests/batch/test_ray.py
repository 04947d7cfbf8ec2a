"""The batch on Ray: a local Ray instance (2 CPUs) started and stopped by the test gives the same
outputs, byte for byte, and the same manifest as the local process pool; resume works the same.

Ray runs in a helper process of its own (``ray.init`` there, ``ray.shutdown`` when the test
closes its stdin), so the test never shares a Ray session with anything else on the machine,
and the instance is bound to the loopback interface.  After shutdown no process of that Ray
session may be left.
"""

from __future__ import annotations

import json
import os
import pathlib
import secrets
import subprocess
import sys
import time

import pytest

from stepedit_app.session.batch import MANIFEST_COLUMNS, VOLATILE_COLUMNS, read_manifest

from .helpers import make_corpus, stepedit

# Loopback only, and a token of the test's own (Ray's token auth; nothing written to ~/.ray).
RAY_ENV = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "token",
           "RAY_AUTH_TOKEN": secrets.token_hex(32)}

HEAD = r"""
import json, logging, sys
import ray
ctx = ray.init(address="local", num_cpus=2, include_dashboard=False, object_store_memory=128 * 1024 * 1024,
               logging_level=logging.WARNING)
print(json.dumps({"address": ctx.address_info["address"], "session_dir": ctx.address_info["session_dir"]}), flush=True)
sys.stdin.read()
ray.shutdown()
print("stopped", flush=True)
"""


def _session_processes(session_dir: str) -> list[str]:
    tag = os.path.basename(session_dir).encode()
    found = []
    for p in pathlib.Path("/proc").glob("[0-9]*/cmdline"):
        try:
            cmd = p.read_bytes()
        except OSError:
            continue
        if tag in cmd:
            text = cmd.replace(b"\0", b" ")[:120].decode(errors="replace")
            found.append(f"{p.parent.name}: {text}")
    return found


@pytest.fixture(scope="module")
def ray_address():
    import ray  # noqa: F401 - Ray is in the test extra: this test runs, it is never skipped

    head = subprocess.Popen([sys.executable, "-c", HEAD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=RAY_ENV)
    try:
        info = json.loads(head.stdout.readline())
    except json.JSONDecodeError:
        head.kill()
        pytest.fail("the local Ray instance did not start")
    try:
        yield info["address"]
    finally:
        head.stdin.close()
        assert head.stdout.readline().strip() == "stopped"
        head.stdout.close()
        head.wait(60)
        deadline = time.monotonic() + 30
        while _session_processes(info["session_dir"]) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _session_processes(info["session_dir"]) == [], "Ray processes left behind"


def _comparable(rows):
    return [{k: v for k, v in r.items() if k not in VOLATILE_COLUMNS} for r in rows]


def test_ray_batch_gives_the_same_outputs_and_manifest_as_local_processes(tmp_path, recipe_file, ray_address):
    make_corpus(tmp_path / "in", 5, bad_at=3)
    local, remote = tmp_path / "local", tmp_path / "ray"
    r1 = stepedit("batch", str(tmp_path / "in"), "--recipe", str(recipe_file), "-o", str(local), "--jobs", "2")
    r2 = stepedit("batch", str(tmp_path / "in"), "--recipe", str(recipe_file), "-o", str(remote),
                  "--ray", ray_address, "--json", env=RAY_ENV)
    assert r1.returncode == 2 and r2.returncode == 2, r2.stderr  # the bad line, on both paths
    start = json.loads(r2.stdout.splitlines()[0])
    assert start["runner"] == f"ray ({ray_address})"
    rows_local, rows_ray = read_manifest(local / "manifest.csv"), read_manifest(remote / "manifest.csv")
    assert len(rows_local) == 5 and _comparable(rows_local) == _comparable(rows_ray)
    assert [r["status"] for r in rows_ray] == ["done", "done", "done", "failed", "done"]
    # the Ray tasks ran in Ray workers, not in the driver
    driver_pids = {r["worker"] for r in rows_local}
    assert all(r["worker"] and r["worker"] not in driver_pids for r in rows_ray if r["status"] == "done")
    outs = sorted(p.relative_to(local) for p in local.rglob("*.wav"))
    assert len(outs) == 4 and outs == sorted(p.relative_to(remote) for p in remote.rglob("*.wav"))
    for rel in outs:
        assert (local / rel).read_bytes() == (remote / rel).read_bytes(), rel
    # resume works the same way on Ray: nothing finished is redone
    stamps = {rel: (remote / rel).stat().st_mtime_ns for rel in outs}
    r3 = stepedit("batch", str(tmp_path / "in"), "--recipe", str(recipe_file), "-o", str(remote),
                  "--ray", ray_address, "--json", env=RAY_ENV)
    end = json.loads(r3.stdout.splitlines()[-1])
    assert (end["done"], end["skipped"], end["failed"]) == (0, 4, 1)
    assert stamps == {rel: (remote / rel).stat().st_mtime_ns for rel in outs}
    assert tuple(read_manifest(remote / "manifest.csv")[0]) == MANIFEST_COLUMNS


def test_an_unreachable_cluster_is_one_line(tmp_path, recipe_file):
    make_corpus(tmp_path / "in", 1)
    r = stepedit("batch", str(tmp_path / "in"), "--recipe", str(recipe_file), "-o", str(tmp_path / "out"),
                 "--ray", "127.0.0.1:9", env=RAY_ENV, timeout=120)
    assert r.returncode == 2 and "cannot reach the Ray cluster at 127.0.0.1:9" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
