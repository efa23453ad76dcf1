"""The cluster's PKI and encryption-at-rest key, generated locally and kept while valid.

Certificate authorities, leaf certificates signed by them, bare key pairs (the service-account
signing key) and the API server's EncryptionConfiguration. Every existing file is checked
(loads, key matches, signed by its CA, same subject/SANs/usages, not about to expire) and only
what fails a check is regenerated; a regenerated CA reissues every certificate it signed.
Private keys are written 0600 and never returned.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

try:
    import yaml
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError as exc:  # the module fails with missing_required_lib("cryptography and PyYAML")
    IMPORT_ERROR = exc
    USAGES = dict.fromkeys(("server", "client"))
else:
    IMPORT_ERROR = None
    USAGES = {"server": ExtendedKeyUsageOID.SERVER_AUTH, "client": ExtendedKeyUsageOID.CLIENT_AUTH}

PROVIDERS = ("secretbox", "aesgcm", "aescbc")
KEY_BYTES = 32


@dataclass
class CertSpec:
    name: str
    common_name: str
    ca: str = ""
    organizations: list[str] = field(default_factory=list)
    dns: list[str] = field(default_factory=list)
    ips: list[str] = field(default_factory=list)
    usages: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict) -> CertSpec:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if data.get(k) is not None})

    def validate(self) -> list[str]:
        errors = []
        if not self.name or "/" in self.name:
            errors.append(f"certificate name {self.name!r} must be a plain file name")
        if not self.common_name:
            errors.append(f"{self.name}: common_name is empty")
        for ip in self.ips:
            try:
                ipaddress.ip_address(ip)
            except ValueError:
                errors.append(f"{self.name}: {ip!r} in ips is not an IP address")
        for usage in self.usages:
            if usage not in USAGES:
                errors.append(f"{self.name}: usage {usage!r} is not one of {', '.join(USAGES)}")
        return errors


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _name(common_name: str, organizations: list[str]) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _write(path: Path, data: bytes, mode: int) -> None:
    """Atomic write with the final mode from the start (a key is never briefly world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load_key(path: Path):
    try:
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None


def _load_cert(path: Path):
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return None


def _public_bytes(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _sans(spec: CertSpec) -> set[str]:
    return {f"DNS:{d}" for d in spec.dns} | {f"IP:{ipaddress.ip_address(i)}" for i in spec.ips}


def _cert_sans(cert) -> set[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return {f"DNS:{d}" for d in ext.get_values_for_type(x509.DNSName)} | {
        f"IP:{i}" for i in ext.get_values_for_type(x509.IPAddress)
    }


def _cert_usages(cert) -> set[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return set()
    return {name for name, oid in USAGES.items() if oid in ext}


def _is_ca(cert) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


class PKI:
    def __init__(self, directory: str, ca_days: int = 3650, cert_days: int = 365, renew_days: int = 30):
        self.dir = Path(directory)
        self.ca_days = ca_days
        self.cert_days = cert_days
        self.renew_days = renew_days
        self.report: dict[str, str] = {}
        self.check_mode = False

    def paths(self, name: str) -> tuple[Path, Path]:
        return self.dir / f"{name}.crt", self.dir / f"{name}.key"

    def _expiring(self, cert) -> bool:
        return cert.not_valid_after_utc - _now() < datetime.timedelta(days=self.renew_days)

    # --- checks ---------------------------------------------------------------------------
    def ca_problem(self, spec: CertSpec) -> str:
        crt, key_path = self.paths(spec.name)
        cert, key = _load_cert(crt), _load_key(key_path)
        if cert is None or key is None:
            return "missing"
        if _public_bytes(key.public_key()) != _public_bytes(cert.public_key()):
            return "key does not match certificate"
        if not _is_ca(cert):
            return "not a CA certificate"
        if cert.subject != _name(spec.common_name, spec.organizations):
            return "subject changed"
        if self._expiring(cert):
            return f"expires {cert.not_valid_after_utc:%Y-%m-%d}"
        return ""

    def cert_problem(self, spec: CertSpec) -> str:
        crt, key_path = self.paths(spec.name)
        cert, key = _load_cert(crt), _load_key(key_path)
        ca_cert = _load_cert(self.paths(spec.ca)[0])
        if cert is None or key is None:
            return "missing"
        if ca_cert is None:
            return f"CA {spec.ca} missing"
        if _public_bytes(key.public_key()) != _public_bytes(cert.public_key()):
            return "key does not match certificate"
        try:
            cert.verify_directly_issued_by(ca_cert)
        except (ValueError, TypeError, InvalidSignature):
            return f"not signed by the current {spec.ca}"
        if cert.subject != _name(spec.common_name, spec.organizations):
            return "subject changed"
        if _cert_sans(cert) != _sans(spec):
            return "subject alternative names changed"
        if _cert_usages(cert) != set(spec.usages):
            return "usages changed"
        if self._expiring(cert):
            return f"expires {cert.not_valid_after_utc:%Y-%m-%d}"
        return ""

    # --- generation -------------------------------------------------------------------------
    def _key_for(self, key_path: Path):
        """Reuse a readable key (a reissued certificate keeps its key) or make a P-256 key."""
        key = _load_key(key_path)
        if key is None:
            key = ec.generate_private_key(ec.SECP256R1())
            _write(key_path, _key_pem(key), 0o600)
        os.chmod(key_path, 0o600)
        return key

    def make_ca(self, spec: CertSpec) -> None:
        crt, key_path = self.paths(spec.name)
        if key_path.exists():
            key_path.unlink()
        key = self._key_for(key_path)
        name = _name(spec.common_name, spec.organizations)
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=self.ca_days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        _write(crt, cert.public_bytes(serialization.Encoding.PEM), 0o644)

    def make_cert(self, spec: CertSpec) -> None:
        crt, key_path = self.paths(spec.name)
        ca_crt, ca_key_path = self.paths(spec.ca)
        ca_cert, ca_key = _load_cert(ca_crt), _load_key(ca_key_path)
        key = self._key_for(key_path)
        now = _now()
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(spec.common_name, spec.organizations))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=self.cert_days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
        )
        if spec.usages:
            builder = builder.add_extension(x509.ExtendedKeyUsage([USAGES[u] for u in spec.usages]), critical=False)
        sans = [x509.DNSName(d) for d in spec.dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in spec.ips]
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        _write(crt, cert.public_bytes(serialization.Encoding.PEM), 0o644)

    def key_pair_problem(self, name: str) -> str:
        key = _load_key(self.dir / f"{name}.key")
        if key is None:
            return "missing"
        try:
            pub = serialization.load_pem_public_key((self.dir / f"{name}.pub").read_bytes())
        except (OSError, ValueError):
            return "public key missing"
        if _public_bytes(pub) != _public_bytes(key.public_key()):
            return "public key does not match"
        return ""

    def make_key_pair(self, name: str) -> None:
        key_path = self.dir / f"{name}.key"
        if _load_key(key_path) is None and key_path.exists():
            key_path.unlink()
        key = self._key_for(key_path)
        pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        _write(self.dir / f"{name}.pub", pub, 0o644)

    # --- whole run ----------------------------------------------------------------------------
    def ensure(self, cas: list[CertSpec], certs: list[CertSpec], key_pairs: list[str], check_mode: bool) -> dict:
        """Bring every item to a valid state; return {name: reason} for what was (or would be) made."""
        made: dict[str, str] = {}
        remade_cas = set()
        for spec in cas:
            problem = self.ca_problem(spec)
            if problem:
                made[spec.name] = problem
                remade_cas.add(spec.name)
                if not check_mode:
                    self.make_ca(spec)
        for spec in certs:
            problem = self.cert_problem(spec)
            if spec.ca in remade_cas and problem != "missing":
                problem = f"{spec.ca} regenerated"
            if problem:
                made[spec.name] = problem
                if not check_mode:
                    self.make_cert(spec)
        for name in key_pairs:
            problem = self.key_pair_problem(name)
            if problem:
                made[name] = problem
                if not check_mode:
                    self.make_key_pair(name)
        for path in self.dir.glob("*.key") if self.dir.exists() else []:
            if path.stat().st_mode & 0o077:
                made[f"{path.name} mode"] = "key readable by others"
                if not check_mode:
                    os.chmod(path, 0o600)
        return made


# --- encryption at rest -------------------------------------------------------------------------
def encryption_config_problem(path: str, provider: str, resources: list[str]) -> str:
    """Why the file at ``path`` is not an EncryptionConfiguration led by ``provider`` for ``resources``."""
    try:
        doc = yaml.safe_load(Path(path).read_text())
    except OSError:
        return "missing"
    except yaml.YAMLError:
        return "not YAML"
    try:
        entry = doc["resources"][0]
        first = entry["providers"][0]
        keys = first[provider]["keys"]
        secret = base64.b64decode(keys[0]["secret"], validate=True)
    except (KeyError, IndexError, TypeError, ValueError):
        return f"{provider} is not the first provider"
    if len(secret) != KEY_BYTES:
        return f"{provider} key is not {KEY_BYTES} bytes"
    if sorted(entry.get("resources") or []) != sorted(resources):
        return "resources changed"
    if doc.get("kind") != "EncryptionConfiguration":
        return "not an EncryptionConfiguration"
    return ""


def render_encryption_config(provider: str, resources: list[str], previous: dict | None) -> str:
    """A config with a new random key for ``provider`` first, earlier providers next (to read old data).

    ``identity`` comes last, so data written before encryption was turned on stays readable.
    """
    key = base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()
    providers = [{provider: {"keys": [{"name": f"key-{_now():%Y%m%d%H%M%S}", "secret": key}]}}]
    for old in (previous or {}).get("resources", [{}])[0].get("providers", []):
        if "identity" not in old and old not in providers:
            providers.append(old)
    providers.append({"identity": {}})
    doc = {
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "EncryptionConfiguration",
        "resources": [{"resources": list(resources), "providers": providers}],
    }
    header = "# Generated by goaltrajectory.platform k8s_cluster. Holds the key that encrypts Secrets in etcd.\n"
    return header + yaml.safe_dump(doc, sort_keys=False)


def ensure_encryption_config(path: str, provider: str, resources: list[str], check_mode: bool) -> str:
    """Return why the config was (or would be) written, or "" when it is kept."""
    if provider not in PROVIDERS:
        raise ValueError(f"encryption provider {provider!r} is not one of {', '.join(PROVIDERS)}")
    problem = encryption_config_problem(path, provider, resources)
    target = Path(path)
    if not problem:
        if target.stat().st_mode & 0o077:
            if not check_mode:
                os.chmod(target, 0o600)
            return "file readable by others"
        return ""
    if not check_mode:
        previous = None
        if target.exists():
            try:
                previous = yaml.safe_load(target.read_text())
            except yaml.YAMLError:
                previous = None
        if not isinstance(previous, dict) or previous.get("kind") != "EncryptionConfiguration":
            previous = None
        _write(target, render_encryption_config(provider, resources, previous).encode(), 0o600)
    return problem
