"""module_utils.k8s_cluster.pki with real keys and certificates (cryptography), in a temp directory."""

from __future__ import annotations

import base64
import json
import os
import stat

import yaml
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.goaltrajectory.platform.plugins.module_utils.k8s_cluster import pki

CAS = [pki.CertSpec(name="ca", common_name="test-ca"), pki.CertSpec(name="etcd-ca", common_name="test-etcd-ca")]
APISERVER = pki.CertSpec(
    name="apiserver",
    ca="ca",
    common_name="kube-apiserver",
    dns=["kubernetes", "kubernetes.default.svc"],
    ips=["127.0.0.1", "10.96.0.1"],
    usages=["server"],
)
ADMIN = pki.CertSpec(name="admin", ca="ca", common_name="admin", organizations=["system:masters"], usages=["client"])
ETCD = pki.CertSpec(
    name="etcd-server", ca="etcd-ca", common_name="node", ips=["127.0.0.1"], usages=["server", "client"]
)


def ensure(tmp_path, certs=None, check_mode=False, store=None):
    store = store or pki.PKI(str(tmp_path))
    return store.ensure(CAS, certs or [APISERVER, ADMIN, ETCD], ["service-account"], check_mode)


def load(tmp_path, name):
    return x509.load_pem_x509_certificate((tmp_path / f"{name}.crt").read_bytes())


def test_first_run_makes_everything_and_second_run_nothing(tmp_path):
    made = ensure(tmp_path)
    assert set(made) == {"ca", "etcd-ca", "apiserver", "admin", "etcd-server", "service-account"}
    assert all(reason == "missing" for reason in made.values())
    assert ensure(tmp_path) == {}


def test_certificates_carry_the_asked_identity_and_are_signed_by_their_ca(tmp_path):
    ensure(tmp_path)
    cert = load(tmp_path, "apiserver")
    cert.verify_directly_issued_by(load(tmp_path, "ca"))
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(sans.get_values_for_type(x509.DNSName)) == {"kubernetes", "kubernetes.default.svc"}
    assert {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "10.96.0.1"}
    admin = load(tmp_path, "admin")
    assert admin.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:masters"
    usages = admin.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    load(tmp_path, "etcd-server").verify_directly_issued_by(load(tmp_path, "etcd-ca"))


def test_keys_are_written_0600_and_a_loosened_key_is_tightened(tmp_path):
    ensure(tmp_path)
    for key in tmp_path.glob("*.key"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    os.chmod(tmp_path / "admin.key", 0o644)
    assert ensure(tmp_path) == {"admin.key mode": "key readable by others"}
    assert stat.S_IMODE((tmp_path / "admin.key").stat().st_mode) == 0o600


def test_changed_sans_reissue_only_that_certificate_and_keep_its_key(tmp_path):
    ensure(tmp_path)
    key_before = (tmp_path / "apiserver.key").read_bytes()
    admin_before = (tmp_path / "admin.crt").read_bytes()
    wider = pki.CertSpec(**{**APISERVER.__dict__, "ips": [*APISERVER.ips, "192.0.2.2"]})
    made = ensure(tmp_path, certs=[wider, ADMIN, ETCD])
    assert made == {"apiserver": "subject alternative names changed"}
    assert (tmp_path / "apiserver.key").read_bytes() == key_before
    assert (tmp_path / "admin.crt").read_bytes() == admin_before


def test_a_new_ca_reissues_what_it_signed(tmp_path):
    ensure(tmp_path)
    (tmp_path / "ca.key").unlink()
    made = ensure(tmp_path)
    assert made["ca"] == "missing"
    assert made["apiserver"] == made["admin"] == "ca regenerated"
    assert "etcd-server" not in made
    load(tmp_path, "apiserver").verify_directly_issued_by(load(tmp_path, "ca"))


def test_expiring_certificate_is_renewed(tmp_path):
    store = pki.PKI(str(tmp_path), cert_days=10, renew_days=30)
    made = ensure(tmp_path, store=store)
    assert "apiserver" in made
    again = ensure(tmp_path, store=pki.PKI(str(tmp_path), cert_days=365, renew_days=30))
    assert again["apiserver"].startswith("expires ")


def test_check_mode_reports_and_writes_nothing(tmp_path):
    made = ensure(tmp_path, check_mode=True)
    assert "apiserver" in made
    assert list(tmp_path.iterdir()) == []


def test_validate_rejects_bad_specs():
    assert pki.CertSpec(name="x", common_name="x", ips=["not-ip"]).validate()
    assert pki.CertSpec(name="x", common_name="x", usages=["email"]).validate()
    assert pki.CertSpec(name="a/b", common_name="x").validate()


def test_encryption_config_has_a_random_32_byte_key_0600_and_is_kept(tmp_path):
    path = tmp_path / "encryption-config.yaml"
    assert pki.ensure_encryption_config(str(path), "secretbox", ["secrets"], check_mode=False) == "missing"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = yaml.safe_load(path.read_text())
    providers = doc["resources"][0]["providers"]
    key = base64.b64decode(providers[0]["secretbox"]["keys"][0]["secret"])
    assert len(key) == 32
    assert providers[-1] == {"identity": {}}
    before = path.read_bytes()
    assert pki.ensure_encryption_config(str(path), "secretbox", ["secrets"], check_mode=False) == ""
    assert path.read_bytes() == before


def test_changing_the_provider_keeps_the_old_key_to_read_old_data(tmp_path):
    path = tmp_path / "encryption-config.yaml"
    pki.ensure_encryption_config(str(path), "aescbc", ["secrets"], check_mode=False)
    old = yaml.safe_load(path.read_text())["resources"][0]["providers"][0]
    assert pki.ensure_encryption_config(str(path), "secretbox", ["secrets"], check_mode=False)
    providers = yaml.safe_load(path.read_text())["resources"][0]["providers"]
    assert list(providers[0]) == ["secretbox"]
    assert providers[1] == old
    assert providers[-1] == {"identity": {}}


def test_no_key_material_in_what_ensure_returns(tmp_path):
    made = ensure(tmp_path)
    text = json.dumps(made)
    for key in tmp_path.glob("*.key"):
        body = key.read_text().splitlines()[1]
        assert body not in text
