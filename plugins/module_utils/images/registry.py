# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small client of the registry HTTP API (distribution v2): manifest digests and retags.

Used to skip a push whose tag already points at the image's digest, and to promote an
environment tag by copying the manifest (same bytes, so the same digest) without pulling
or pushing any layer. Basic auth and bearer tokens (the WWW-Authenticate challenge) are
supported. Loopback registries and ``insecure`` ones are spoken to over plain HTTP, as the
Docker daemon does.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import urllib.error
import urllib.parse

from ansible.module_utils.urls import open_url

MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)


class RegistryError(RuntimeError):
    """A registry request failed; the message names the repository and tag."""


def _loopback(host: str) -> bool:
    name = host[1 : host.index("]")] if host.startswith("[") and "]" in host else host.split(":")[0]
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def split_ref(ref: str) -> tuple[str, str, str]:
    """registry, repository, tag of ``registry/repo/path:tag``."""
    registry, rest = ref.split("/", 1)
    repo, _sep, tag = rest.rpartition(":") if ":" in rest.rsplit("/", 1)[-1] else (rest, "", "latest")
    return registry, repo, tag


class Registry:
    def __init__(
        self, host: str, username: str = "", password: str = "", insecure: bool = False, timeout: float = 30
    ) -> None:
        self.host = host
        self.scheme = "http" if insecure or _loopback(host) else "https"
        self.username = username
        self.password = password
        self.timeout = timeout
        self._tokens: dict[str, str] = {}

    def _basic(self) -> str:
        return "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()

    def _token(self, challenge: str, scope_hint: str) -> str:
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        realm = params.pop("realm", "")
        if not realm:
            raise RegistryError(f"{self.host}: bearer challenge without realm: {challenge}")
        params.setdefault("scope", scope_hint)
        if not realm.startswith(("https://", "http://")):
            raise RegistryError(f"{self.host}: bearer realm {realm} is not an http(s) URL")
        headers = {"Authorization": self._basic()} if self.username else {}
        with open_url(realm + "?" + urllib.parse.urlencode(params), headers=headers, timeout=self.timeout) as resp:
            body = json.loads(resp.read())
        return body.get("token") or body.get("access_token") or ""

    def _request(
        self, method: str, repo: str, tag: str, *, data: bytes | None = None, content_type: str = ""
    ) -> tuple[int, object, bytes]:
        url = f"{self.scheme}://{self.host}/v2/{repo}/manifests/{tag}"
        scope = f"repository:{repo}:pull" + (",push" if method == "PUT" else "")
        for attempt in range(2):
            headers = {"Accept": MANIFEST_TYPES}
            if content_type:
                headers["Content-Type"] = content_type
            if scope in self._tokens:
                headers["Authorization"] = self._tokens[scope]
            elif self.username:
                headers["Authorization"] = self._basic()
            try:
                with open_url(url, data=data, method=method, headers=headers, timeout=self.timeout) as resp:
                    return resp.status, resp.headers, resp.read()
            except urllib.error.HTTPError as exc:
                challenge = exc.headers.get("WWW-Authenticate", "")
                if exc.code == 401 and attempt == 0 and challenge.lower().startswith("bearer"):
                    self._tokens[scope] = "Bearer " + self._token(challenge[len("bearer") :], scope)
                    continue
                return exc.code, exc.headers, b""
            except (urllib.error.URLError, OSError) as exc:
                raise RegistryError(f"{url}: {getattr(exc, 'reason', exc)}") from exc
        raise RegistryError(f"{url}: still unauthorized after the bearer token")

    def digest(self, repo: str, tag: str) -> str:
        """The manifest digest ``repo:tag`` points at, or '' when the tag does not exist."""
        status, headers, _body = self._request("HEAD", repo, tag)
        if status == 404:
            return ""
        if status != 200:
            raise RegistryError(f"{self.host}/{repo}:{tag}: HEAD manifest answered {status}")
        return headers.get("Docker-Content-Digest", "")

    def retag(self, repo: str, source: str, target: str) -> str:
        """Point ``target`` at the manifest ``source`` points at; the digest."""
        status, headers, body = self._request("GET", repo, source)
        if status != 200:
            raise RegistryError(f"{self.host}/{repo}:{source}: no such manifest (GET answered {status})")
        content_type = headers.get("Content-Type", "application/vnd.docker.distribution.manifest.v2+json")
        status, headers, _body = self._request("PUT", repo, target, data=body, content_type=content_type)
        if status not in (200, 201):
            raise RegistryError(f"{self.host}/{repo}:{target}: PUT manifest answered {status}")
        return headers.get("Docker-Content-Digest", "")
