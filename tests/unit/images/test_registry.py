"""The registry client and the golden download against real local HTTP servers (through ansible's open_url)."""

from __future__ import annotations

import hashlib
import json
import pathlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import golden, registry

MANIFEST = b'{"schemaVersion": 2}'
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"


class _Registry(BaseHTTPRequestHandler):
    """A registry that wants a bearer token (from its /token realm, given basic auth) for every manifest request."""

    def log_message(self, *args):
        pass

    def _answer(self, code, body=b"", headers=None):
        self.send_response(code)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _authorized(self):
        self.server.seen.append((self.command, self.path, self.headers.get("Authorization", "")))
        if self.headers.get("Authorization") == "Bearer t0ken":
            return True
        realm = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        self._answer(401, headers={"WWW-Authenticate": f'Bearer realm="{realm}",service="test"'})
        return False

    def do_GET(self):
        if self.path.startswith("/token?"):
            self.server.seen.append(("GET", self.path, self.headers.get("Authorization", "")))
            self._answer(200, json.dumps({"token": "t0ken"}).encode())
        elif self._authorized():
            if self.path == "/v2/app/manifests/1.0":
                self._answer(200, MANIFEST, {"Content-Type": MANIFEST_TYPE, "Docker-Content-Digest": "sha256:abc"})
            else:
                self._answer(404)

    def do_HEAD(self):
        self.do_GET()

    def do_PUT(self):
        if self._authorized():
            body = self.rfile.read(int(self.headers["Content-Length"]))
            self.server.put.append((self.path, self.headers["Content-Type"], body))
            self._answer(201, headers={"Docker-Content-Digest": "sha256:abc"})


@pytest.fixture()
def reg():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Registry)
    srv.seen, srv.put = [], []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()


def test_digest_and_retag_fetch_a_bearer_token_once_per_scope(reg):
    client = registry.Registry(f"127.0.0.1:{reg.server_address[1]}", username="u", password="p")
    assert client.scheme == "http"
    assert client.digest("app", "1.0") == "sha256:abc"
    assert client.digest("app", "missing") == ""
    assert client.retag("app", "1.0", "latest") == "sha256:abc"
    assert reg.put == [("/v2/app/manifests/latest", MANIFEST_TYPE, MANIFEST)]
    tokens = [seen for seen in reg.seen if seen[1].startswith("/token")]
    # Basic auth for the realm; one token for pull, one for pull,push.
    assert [auth for _method, _path, auth in tokens] == ["Basic dTpw", "Basic dTpw"]
    assert "scope=repository%3Aapp%3Apull%2Cpush" in tokens[1][1]


def test_unreachable_registry_is_a_registry_error():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Registry)
    port = srv.server_address[1]
    srv.server_close()
    with pytest.raises(registry.RegistryError, match=f"127.0.0.1:{port}/v2/app/manifests/1.0"):
        registry.Registry(f"127.0.0.1:{port}", timeout=2).digest("app", "1.0")


TARBALL = b"node tarball bytes"


class _Npm(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        if self.path == "/node/22.1.0":
            shasum = self.server.shasum or hashlib.sha1(TARBALL).hexdigest()  # noqa: S324 (npm's shasum is sha1)
            body = json.dumps({"dist": {"tarball": f"{base}/node.tgz", "shasum": shasum}}).encode()
        elif self.path == "/node.tgz":
            body = TARBALL
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture()
def npm():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Npm)
    srv.shasum = ""
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


BASE = {"tag": "gt-golden/node:22", "download": {"package": "node", "version": "22.1.0", "file": "node.tgz"}}


def test_golden_download_checks_the_sha1(npm, tmp_path):
    srv, url = npm
    path = golden.download(BASE, url, str(tmp_path / "dl"))
    assert pathlib.Path(path).read_bytes() == TARBALL
    srv.shasum = "0" * 40
    with pytest.raises(golden.GoldenError, match="has sha1"):
        golden.download(BASE, url, str(tmp_path / "dl"))


def test_golden_download_names_what_it_could_not_fetch(npm, tmp_path):
    _srv, url = npm
    missing = {**BASE, "download": {**BASE["download"], "version": "0.0.0"}}
    why = r"cannot download node@0\.0\.0 from http://127\.0\.0\.1:\d+: HTTP Error 404"
    with pytest.raises(golden.GoldenError, match=why):
        golden.download(missing, url, str(tmp_path / "dl"))
