#!/usr/bin/python
# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: k8s_cluster_pki
short_description: Certificate authorities, certificates, key pairs and the encryption-at-rest key of a cluster
version_added: 0.1.0
description:
  - Generates, in O(dir), the CAs, the certificates they sign (ECDSA P-256, SHA-256) and bare key pairs a
    Kubernetes control plane needs, and the API server's EncryptionConfiguration with a random 32-byte key.
  - Existing files are kept while they are valid; a certificate is reissued when it is missing, no longer
    signed by its CA, its subject, alternative names or usages changed, or it expires within
    O(renew_days). A regenerated CA reissues every certificate it signed.
  - Private keys and the encryption configuration are written with mode 0600 and never returned.
author:
  - GoalTrajectory.AI platform team (@goaltrajectory)
requirements:
  - cryptography >= 40
  - PyYAML
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - goaltrajectory.platform.attributes
attributes:
  check_mode:
    support: full
    details: Reports what would be generated and why; writes nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
  platform:
    platforms: posix
options:
  dir:
    description: Directory for C(<name>.crt), C(<name>.key) and C(<name>.pub) files.
    type: path
    required: true
  cas:
    description: Certificate authorities.
    type: list
    elements: dict
    default: []
    suboptions:
      name: {description: File name stem., type: str, required: true}
      common_name: {description: Subject CN., type: str, required: true}
  certs:
    description: Certificates signed by one of O(cas).
    type: list
    elements: dict
    default: []
    suboptions:
      name: {description: File name stem., type: str, required: true}
      ca: {description: Name of the signing CA., type: str, required: true}
      common_name: {description: Subject CN (the user name for client certificates)., type: str, required: true}
      organizations: {description: Subject O values (the groups)., type: list, elements: str, default: []}
      dns: {description: DNS subject alternative names., type: list, elements: str, default: []}
      ips: {description: IP subject alternative names., type: list, elements: str, default: []}
      usages:
        description: Extended key usages.
        type: list
        elements: str
        choices: [server, client]
        default: []
  key_pairs:
    description: Bare key pairs (C(<name>.key), C(<name>.pub)), e.g. the service-account signing key.
    type: list
    elements: str
    default: []
  encryption_config:
    description: Path of the EncryptionConfiguration; empty skips it.
    type: path
    default: ""
  encryption_provider:
    description: Provider of the generated key. C(secretbox) and C(aesgcm) are the upstream recommendations.
    type: str
    choices: [secretbox, aesgcm, aescbc]
    default: secretbox
  encryption_resources:
    description: Resources encrypted at rest.
    type: list
    elements: str
    default: [secrets]
  ca_days:
    description: Validity of a new CA.
    type: int
    default: 3650
  cert_days:
    description: Validity of a new certificate.
    type: int
    default: 365
  renew_days:
    description: Reissue what expires within this many days.
    type: int
    default: 30
"""

EXAMPLES = r"""
- name: Generate the cluster PKI
  goaltrajectory.platform.k8s_cluster_pki:
    dir: /etc/k8s-cluster/pki
    cas:
      - {name: ca, common_name: k8s-cluster-ca}
    certs:
      - name: apiserver
        ca: ca
        common_name: kube-apiserver
        dns: [kubernetes, kubernetes.default.svc]
        ips: [127.0.0.1, 10.96.0.1]
        usages: [server]
    key_pairs: [service-account]
    encryption_config: /etc/k8s-cluster/encryption-config.yaml
"""

RETURN = r"""
generated:
  description: Names of what was (in check mode, would be) generated, with the reason. Never key material.
  returned: always
  type: dict
  sample: {ca: missing, apiserver: subject alternative names changed}
files:
  description: Certificate and key paths by name.
  returned: always
  type: dict
  sample: {apiserver: {crt: /etc/k8s-cluster/pki/apiserver.crt, key: /etc/k8s-cluster/pki/apiserver.key}}
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.goaltrajectory.platform.plugins.module_utils.k8s_cluster import pki


def argspec():
    return {
        "dir": {"type": "path", "required": True},
        "cas": {
            "type": "list",
            "elements": "dict",
            "default": [],
            "options": {
                "name": {"type": "str", "required": True},
                "common_name": {"type": "str", "required": True},
            },
        },
        "certs": {
            "type": "list",
            "elements": "dict",
            "default": [],
            "options": {
                "name": {"type": "str", "required": True},
                "ca": {"type": "str", "required": True},
                "common_name": {"type": "str", "required": True},
                "organizations": {"type": "list", "elements": "str", "default": []},
                "dns": {"type": "list", "elements": "str", "default": []},
                "ips": {"type": "list", "elements": "str", "default": []},
                "usages": {"type": "list", "elements": "str", "default": [], "choices": ["server", "client"]},
            },
        },
        # Names of key pairs (the files hold the keys): validate-modules takes "key" for a secret.
        "key_pairs": {"type": "list", "elements": "str", "default": [], "no_log": False},
        "encryption_config": {"type": "path", "default": ""},
        "encryption_provider": {"type": "str", "choices": ["secretbox", "aesgcm", "aescbc"], "default": "secretbox"},
        "encryption_resources": {"type": "list", "elements": "str", "default": ["secrets"]},
        "ca_days": {"type": "int", "default": 3650},
        "cert_days": {"type": "int", "default": 365},
        "renew_days": {"type": "int", "default": 30},
    }


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    if pki.IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("cryptography and PyYAML"), exception=str(pki.IMPORT_ERROR))
    p = module.params
    cas = [pki.CertSpec.from_dict(c) for c in p["cas"]]
    certs = [pki.CertSpec.from_dict(c) for c in p["certs"]]
    ca_names = {c.name for c in cas}
    problems = [e for spec in cas + certs for e in spec.validate()]
    problems += [f"{c.name}: its ca {c.ca!r} is not in cas" for c in certs if c.ca not in ca_names]
    names = [s.name for s in cas + certs] + p["key_pairs"]
    problems += [f"name {n!r} is used twice" for n in sorted({n for n in names if names.count(n) > 1})]
    if problems:
        module.fail_json(msg="k8s_cluster_pki: " + "; ".join(problems))

    store = pki.PKI(p["dir"], ca_days=p["ca_days"], cert_days=p["cert_days"], renew_days=p["renew_days"])
    try:
        generated = store.ensure(cas, certs, p["key_pairs"], module.check_mode)
        if p["encryption_config"]:
            reason = pki.ensure_encryption_config(
                p["encryption_config"], p["encryption_provider"], p["encryption_resources"], module.check_mode
            )
            if reason:
                generated["encryption_config"] = reason
    except (OSError, ValueError) as exc:
        module.fail_json(msg=f"k8s_cluster_pki: {exc}")
    files = {s.name: {"crt": str(store.paths(s.name)[0]), "key": str(store.paths(s.name)[1])} for s in cas + certs}
    for name in p["key_pairs"]:
        files[name] = {"pub": f"{p['dir']}/{name}.pub", "key": f"{p['dir']}/{name}.key"}
    module.exit_json(changed=bool(generated), generated=generated, files=files)


if __name__ == "__main__":
    main()
