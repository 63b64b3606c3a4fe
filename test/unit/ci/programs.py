"""Load bty-ci's ci/ programs as modules for their unit tests.

The programs' file names have dashes, so they are loaded by path. ci/ goes
first on sys.path, as it is for a program run from there, so the shared
qemu_vm module imports the same way. No __pycache__ is written into ci/ or
beside the tests.

Run every module: `python3 -m unittest discover -s test/unit/ci` (or one:
`cd test/unit/ci && python3 -m unittest test_chain_test`);
test/unit/ci-programs.test.ts runs each in the unit tier.
"""

from __future__ import annotations

import importlib.util
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

CI = Path(__file__).resolve().parents[3] / "ci"

sys.dont_write_bytecode = True
sys.path.insert(0, str(CI))


def load_program(relative: str) -> ModuleType:
    """The program ci/<relative> as a module named after its file (dashes as underscores)."""
    path = CI / relative
    name = path.stem.replace("-", "_")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the class is made.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def refused_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


# (method, path) -> (status, headers, body)
Routes = dict[tuple[str, str], tuple[int, dict[str, str], bytes]]


@contextmanager
def http_server(routes: Routes) -> Iterator[tuple[str, list[Request]]]:
    """A loopback HTTP server answering from routes (404 for anything else).

    Yields its base URL and the list of requests it gets, in order.
    """
    got: list[Request] = []

    class Handler(BaseHTTPRequestHandler):
        def answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            got.append(Request(self.command, self.path, dict(self.headers), body))
            status, headers, data = routes.get(
                (self.command, self.path), (404, {}, b"not found")
            )
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = answer

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Quiet: the tests look at the recorded requests."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", got
    finally:
        server.shutdown()
        server.server_close()
