"""Real servers and a real container for probe_check."""

from __future__ import annotations

import http.server
import io
import os
import shutil
import socket
import subprocess
import tarfile
import threading
import time
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


class Behaviour:
    """How a test HTTP server answers: ready after some time, a delay, a status, recorded headers."""

    def __init__(self, ready_after=0.0, delay=0.0, status=200, unready_status=503):
        self.started = time.monotonic()
        self.ready_after = ready_after
        self.delay = delay
        self.status = status
        self.unready_status = unready_status
        self.requests: list[dict] = []


def _handler(behaviour: Behaviour):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            behaviour.requests.append({"path": self.path, "headers": dict(self.headers), "at": time.monotonic()})
            if behaviour.delay:
                time.sleep(behaviour.delay)
            ready = time.monotonic() - behaviour.started >= behaviour.ready_after
            code = behaviour.status if ready else behaviour.unready_status
            body = b"ok" if ready else b"starting"
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def http_server():
    """Factory: start a threaded HTTP server on 127.0.0.1; returns (port, behaviour)."""
    servers = []

    def start(**kwargs):
        behaviour = Behaviour(**kwargs)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(behaviour))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return server.server_address[1], behaviour

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def tcp_server():
    """A listening TCP socket that accepts and closes connections."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    stop = threading.Event()

    def serve():
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _addr = sock.accept()
                conn.close()
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    stop.set()
    thread.join(2)
    sock.close()


@pytest.fixture
def free_port():
    """A port nothing listens on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def _busybox_image(tag: str) -> None:
    busybox = shutil.which("busybox") or "/bin/busybox"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(busybox, arcname="bin/busybox")
        tmp = tarfile.TarInfo("tmp")
        tmp.type = tarfile.DIRTYPE
        tmp.mode = 0o1777
        tar.addfile(tmp)
        for applet in ("sh", "true", "test", "sleep", "touch", "wget", "cat"):
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            tar.addfile(link)
    changes = ["--change", "ENV PATH=/bin", "--change", 'CMD ["/bin/sleep", "3600"]']
    subprocess.run(["docker", "import", *changes, "-", tag], input=buffer.getvalue(), check=True, capture_output=True)


@pytest.fixture(scope="session")
def busybox_image():
    tag = f"goaltrajectory-probes-test/busybox:{uuid.uuid4().hex[:8]}"
    _busybox_image(tag)
    yield tag
    subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, check=False)


@pytest.fixture
def container(busybox_image):
    """A running container (busybox sleeping) removed after the test."""
    name = f"gt-probes-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["docker", "run", "-d", "--rm", "--network", "none", "--name", name, busybox_image, "sleep", "300"],
        check=True,
        capture_output=True,
    )
    yield name
    subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
