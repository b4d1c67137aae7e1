"""pycuda's compiler is trusted to start nvcc while a SourceModule candidate loads, and only that: a
host compiler, options file or header of the candidate's choosing, or another program, is refused by
the runner's audit hook even where the static guard was skipped. Runs in a child process (audit
hooks cannot be removed) with a stand-in pycuda/compiler.py that starts what it is given."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HACKS = Path(__file__).parent / "hacks"

SCRIPT = textwrap.dedent(
    """
    import subprocess, sys
    sys.path[:0] = [{tmp!r}]
    from kernelwright.sandbox.runner.audit_hooks import AuditGuard
    guard = AuditGuard({candidate!r}, [{tmp!r}], trusted_spawners=({compiler!r},))
    sys.addaudithook(guard.hook)
    import candidate
    for argv, env in {cases!r}:
        try:
            candidate.build(argv, env)
            print("started")
        except PermissionError as err:
            print("refused:", err)
        except OSError:
            print("started")  # past the hook: the program just is not installed here
    """
)


@pytest.mark.parametrize(
    ("argv", "env", "outcome"),
    [
        (["nvcc", "--cubin", "-arch", "sm_90", "kernel.cu"], None, "started"),
        (["/bin/sh", "-c", "id"], None, "may start only nvcc"),
        (["nvcc", "-ccbin", "/tmp/evil", "kernel.cu"], None, "nvcc option -ccbin"),
        (["nvcc", "--compiler-bindir=/tmp/evil", "kernel.cu"], None, "nvcc option --compiler-bindir"),
        (["nvcc", "-Xcompiler", "-wrapper,/tmp/evil", "kernel.cu"], None, "nvcc option -Xcompiler"),
        (["nvcc", "--pre-include", "/etc/passwd", "kernel.cu"], None, "nvcc option --pre-include"),
        (["nvcc", "-I/home", "kernel.cu"], None, "nvcc option -I"),
        # nvcc --run executes the program it just built: host code of the candidate's choosing
        (["nvcc", "--run", "kernel.cu"], None, "nvcc option --run"),
        (["nvcc", "-run", "-run-args", "x", "kernel.cu"], None, "nvcc option -run"),
        (["nvcc", "kernel.cu"], {"NVCC_PREPEND_FLAGS": "-ccbin /tmp/evil"}, "NVCC_PREPEND_FLAGS set"),
    ],
)
def test_pycuda_may_start_only_a_plain_nvcc(tmp_path: Path, argv: list[str], env, outcome: str) -> None:
    compiler = tmp_path / "pycuda" / "compiler.py"
    compiler.parent.mkdir()
    (compiler.parent / "__init__.py").write_text("")
    compiler.write_text(
        "import subprocess\n\ndef compile(argv, env):\n    subprocess.Popen(argv, env=env).wait()\n"
    )
    candidate = tmp_path / "candidate.py"
    candidate.write_text(
        "from pycuda.compiler import compile\n\ndef build(argv, env):\n    compile(argv, env)\n"
    )
    script = SCRIPT.format(tmp=str(tmp_path), candidate=str(candidate), compiler=str(compiler),
                           cases=[(argv, env)])  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert outcome in out.stdout, out.stdout


def test_the_candidate_itself_still_may_not_start_nvcc(tmp_path: Path) -> None:
    candidate = tmp_path / "candidate.py"
    candidate.write_text("import subprocess\n\ndef build(argv, env):\n    subprocess.Popen(argv, env=env)\n")
    script = SCRIPT.format(tmp=str(tmp_path), candidate=str(candidate), compiler=str(tmp_path / "none.py"),
                           cases=[(["nvcc", "kernel.cu"], None)])  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert "refused: kernelwright sandbox: subprocess.Popen: starting a process" in out.stdout, (
        out.stdout + out.stderr
    )


def test_the_guard_refuses_a_sourcemodule_that_asks_nvcc_to_run_its_program() -> None:
    """The same hack one layer up: the options never reach the runner."""
    from kernelwright.contracts import Candidate
    from kernelwright.kernelbench import find_task
    from kernelwright.sandbox.guard.policy import check

    source = (HACKS / "loader_sourcemodule_ccbin.py").read_text()
    ccbin = 'options=["-ccbin", "/var/tmp/kernelwright-cc"]'
    assert ccbin in source
    run_hack = source.replace(ccbin, 'options=["--run"]')
    found = check(find_task("level1/19_ReLU"), Candidate(source=run_hack))
    assert any(f.rule == "compiler-options" and "--run" in f.message for f in found), found
