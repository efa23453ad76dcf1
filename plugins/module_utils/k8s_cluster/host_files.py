# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files the k8s_cluster role writes once per user or per registry, as ``{path, content}``, and its
add-on images as the k8s_cluster_image module takes them.

One ``file_tree`` call then writes them all (a template task per file cost a module run each).
The text is what the role's templates wrote before, so an upgrade restarts no component.
"""

from __future__ import annotations

HEADER = "# Ansible managed\n"


def kubeconfigs(users: dict[str, str], cluster: str, server: str, pki_dir: str) -> list[dict]:
    """One kubeconfig per component: ``{<file name>: <certificate name>}`` → ``<name>.conf``."""
    files = []
    for name, cert in users.items():
        user = f"{cluster}-{name}"
        content = (
            f"{HEADER}# {name} of {cluster}: client certificate {pki_dir}/{cert}.crt\n"
            "apiVersion: v1\n"
            "kind: Config\n"
            "clusters:\n"
            f"  - name: {cluster}\n"
            "    cluster:\n"
            f"      server: {server}\n"
            f"      certificate-authority: {pki_dir}/ca.crt\n"
            "users:\n"
            f"  - name: {user}\n"
            "    user:\n"
            f"      client-certificate: {pki_dir}/{cert}.crt\n"
            f"      client-key: {pki_dir}/{cert}.key\n"
            "contexts:\n"
            f"  - name: {cluster}\n"
            "    context:\n"
            f"      cluster: {cluster}\n"
            f"      user: {user}\n"
            f"current-context: {cluster}\n"
        )
        files.append({"path": f"{name}.conf", "content": content})
    return files


def containerd_hosts(registry: str, insecure: bool, mirrors: dict[str, list[str]]) -> list[dict]:
    """containerd's ``containerd/certs.d/<host>/hosts.toml`` (under the configuration directory, where
    containerd's config.toml points): the local registry, then each mirrored registry."""
    url = f"{'http' if insecure else 'https'}://{registry}"
    files = [
        {
            "path": f"containerd/certs.d/{registry}/hosts.toml",
            "content": (
                f"{HEADER}# The local registry: plain HTTP on loopback, pull and resolve.\n"
                f'server = "{url}"\n\n[host."{url}"]\n  capabilities = ["pull", "resolve"]\n'
            ),
        }
    ]
    for name, urls in mirrors.items():
        if name == registry:
            continue
        hosts = "".join(f'\n[host."{mirror}"]\n  capabilities = ["pull", "resolve"]\n' for mirror in urls)
        files.append(
            {
                "path": f"containerd/certs.d/{name}/hosts.toml",
                "content": f"{HEADER}# Mirrors of {name}, tried in order.\n{hosts}",
            }
        )
    return files


def push_specs(images: list[dict], prefix: str) -> list[dict]:
    """The add-on images (``name``, ``tag``, ``files``, ``entrypoint``, ``user``) as k8s_cluster_image's
    ``images``: keyed by name, in ``<prefix>/<name>``, labelled with their title and version."""
    return [
        {
            "name": image["name"],
            "repository": f"{prefix}/{image['name']}",
            "tag": image["tag"],
            "files": image["files"],
            "entrypoint": image["entrypoint"],
            "user": image["user"],
            "labels": {
                "org.opencontainers.image.title": image["name"],
                "org.opencontainers.image.version": image["tag"],
            },
        }
        for image in images
    ]
