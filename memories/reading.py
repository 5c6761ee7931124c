"""What an add carries that may cost far more to read than its size (a PDF, a web page, an Office file, an image), read
by memories/document_reader.py in a process of its own: stopped by the kernel past READ_SECONDS of CPU time and a
bound of memory, at a lower priority than the server's requests (READER_NICENESS), with an empty environment (the
server's secrets stay out of a process reading what anyone sent)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

READER = Path(__file__).with_name("document_reader.py")
# How the reader is run: as a script is (its module named "__main__", its argv READER, kind, …), but loaded as an import
# loads a module, so that its compiled code is kept beside it (memories/__pycache__) and used again, where Python
# compiles a script given on its command line at each start: ~45 ms of CPU for the reader's 3,000 lines, a third of
# what reading a small document costs.
_RUN = (
    "import sys, importlib.util as u; del sys.argv[0]; s = u.spec_from_file_location('__main__', sys.argv[0]); "
    "m = sys.modules['__main__'] = u.module_from_spec(s); s.loader.exec_module(m)"
)
# CPU seconds a document or an image may take to read: a PDF page of 16 KB can hold 200,000 operations, 6 s of work;
# past this the reading stops.
READ_SECONDS = 10
# How much lower the reader's priority is than the server's (nice): its CPU goes to requests first.
READER_NICENESS = 10
# The most address space the reader may take (RLIMIT_AS): past it, the document is refused as too large to read.
MEMORY_BYTES = 1024 * 1024 * 1024


def read_apart(kind: str, content: bytes, *limits: int) -> dict | None:
    """What the reader writes of `content` read as `kind` ("pdf", "html", "office", "image"; `limits` after
    READ_SECONDS in its command line), or None when it was stopped: past READ_SECONDS of CPU time, or three times that
    and 5 s more of waiting, on a busy machine. A reader ended by another signal is {"error": "unreadable", "why"}."""
    try:
        done = subprocess.run(  # noqa: S603  (fixed argv: this interpreter and the reader beside this file)
            reader_command(kind, READ_SECONDS, *limits, MEMORY_BYTES),
            input=content,
            capture_output=True,
            timeout=READ_SECONDS * 3 + 5,
            env={},
        )
    except subprocess.TimeoutExpired:
        return None
    if done.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return None
    if done.returncode < 0:  # ended by another signal: a library's C code (Pillow's) crashed on what it was given
        return {"error": "unreadable", "why": f"the reader ended with {signal.Signals(-done.returncode).name}"}
    if done.returncode != 0:  # a bug of the reader's own
        raise RuntimeError(f"{READER.name} ended with {done.returncode}: {done.stderr.decode()[-500:]}")
    return json.loads(done.stdout)


def reader_command(*arguments: object) -> list[str]:
    """The command line that runs READER with `arguments` (its kind, CPU seconds, …): this interpreter, isolated (-I:
    the reader's folder is not on its path, where memories/selectors.py would stand for the standard library's)."""
    return [sys.executable, "-I", "-c", _RUN, str(READER), *map(str, arguments)]
