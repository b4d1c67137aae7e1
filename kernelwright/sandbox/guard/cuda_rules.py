"""Rules on the candidate's CUDA C++ (device code, and the host wrappers of load_inline files).

A load_inline extension runs arbitrary host C++ inside the evaluating process, so the Python rules
have C++ twins here: threads, processes, files, environment, sockets, streams and graphs. Comments
and string literals are blanked first (keeping line numbers), so a rule fires on code only.
"""

from __future__ import annotations

import re

from kernelwright.contracts import GuardFinding

_CPP_RULES: list[tuple[str, re.Pattern[str], str]] = [
    (
        "side-stream",
        re.compile(r"\b(cudaStreamCreate\w*|cuStreamCreate\w*|getStreamFromPool|cudaStreamPerThread)\b"),
        "creates or uses a side stream ({what}); launch on the current stream so timing sees all work",
    ),
    (
        "cuda-graph",
        re.compile(r"\b(cudaStreamBeginCapture\w*|cudaGraphLaunch|cuGraphLaunch|cudaGraphInstantiate\w*)\b"),
        "uses CUDA graphs ({what}); launch kernels directly",
    ),
    (
        "concurrency",
        re.compile(r"\b(std::thread|std::async|std::jthread|pthread_create|omp\s+parallel)\b"),
        "starts host threads ({what}); work outside the calling thread escapes timing",
    ),
    (
        "process-control",
        re.compile(r"\b(fork|vfork|system|popen|execv\w*|execl\w*|kill|killpg|_exit|abort|exit|raise)\s*\("),
        "controls processes ({what}); candidates must not create, signal or end processes",
    ),
    (
        "file-access",
        re.compile(
            r"\b(?:(fopen|freopen|unlink|remove|rename|mkdir|open|opendir)\s*\("
            r"|(std::[io]?fstream|std::ofstream|FILE\s*\*))"
        ),
        "accesses files ({what}); candidates must not read or write files",
    ),
    (
        "environment",
        re.compile(r"\b(getenv|secure_getenv|setenv|putenv|environ)\b"),
        "reads the environment ({what}); a kernel needs nothing from it",
    ),
    (
        "network",
        re.compile(r"\b(socket|connect|gethostbyname|getaddrinfo|curl_easy_\w+)\s*\("),
        "uses the network ({what}); candidates have no network access",
    ),
    (
        "native-code",
        re.compile(r"\b(dlopen|dlsym|mmap|mprotect|ptrace)\s*\("),
        "loads or patches native code ({what})",
    ),
]
_INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)
_LITERALS = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)


def blank_comments_and_strings(code: str) -> str:
    """Comments and literals replaced by spaces; newlines kept so line numbers still match."""
    return _LITERALS.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), code)


def cuda_rules(cuda_source: str, label: str = "CUDA source") -> list[GuardFinding]:
    """Findings for one CUDA source string; lines are lines of that string."""
    found: list[GuardFinding] = []
    for match in _INCLUDE.finditer(cuda_source):
        header = match.group(1)
        if header.startswith("/") or ".." in header.split("/"):
            line = cuda_source.count("\n", 0, match.start()) + 1
            message = f"{label} line {line}: includes '{header}' by path; include only standard CUDA headers."
            found.append(GuardFinding(rule="include-path", line=line, where="cuda", message=message))
    code = blank_comments_and_strings(cuda_source)
    code = re.sub(r"^\s*#\s*include[^\n]*", "", code, flags=re.M)
    for rule, pattern, template in _CPP_RULES:
        for match in pattern.finditer(code):
            line = code.count("\n", 0, match.start()) + 1
            what = next((g for g in match.groups() if g), match.group())
            message = f"{label} line {line}: " + template.format(what=what.strip()) + "."
            found.append(GuardFinding(rule=rule, line=line, where="cuda", message=message))
    return sorted(found, key=lambda f: (f.line or 0, f.rule))
