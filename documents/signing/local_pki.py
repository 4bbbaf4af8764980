"""The local test PKI for `make run` and the tests: a root, an issuing CA and a TSA, built by
certomancer from pki/local-test-pki.yml into a directory under var/ on first use.

Nothing here is trusted outside this installation: production names its own issuing CA,
trust roots and timestamp authority in the settings (docs/certificates.md).
"""

import datetime
import fcntl
import functools
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from certomancer.registry import ArchLabel, CertLabel, CertomancerConfig, KeyLabel, PKIArchitecture, ServiceLabel
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

CONFIG = Path(__file__).resolve().parent / "pki" / "local-test-pki.yml"
ARCH = "onedoor"
KEYS = ("root", "issuing", "tsa")


@dataclass(frozen=True)
class LocalPki:
    directory: Path
    url_prefix: str

    @functools.cached_property
    def arch(self) -> PKIArchitecture:
        config = CertomancerConfig.from_file(
            str(CONFIG), key_search_dir=str(self.directory / "keys"), external_url_prefix=self.url_prefix
        )
        return config.get_pki_arch(ArchLabel(ARCH))

    def cert(self, label: str) -> asn1_x509.Certificate:
        return self.arch.get_cert(CertLabel(label))

    def private_key(self, label: str) -> asn1_keys.PrivateKeyInfo:
        return self.arch.key_set.get_private_key(KeyLabel(label))

    def key_pem(self, label: str) -> bytes:
        return (self.directory / "keys" / f"{label}.key.pem").read_bytes()

    def root_crl(self, at_time: datetime.datetime) -> asn1_crl.CertificateList:
        return self.arch.service_registry.get_crl(ServiceLabel("root"), at_time=at_time)


def _write_keys(keys_dir: Path) -> None:
    for label in KEYS:
        # pyHanko's in-process timestamper signs with RSA only; the CAs use EC P-256.
        key = rsa.generate_private_key(65537, 2048) if label == "tsa" else ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        (keys_dir / f"{label}.key.pem").write_bytes(pem)


def local_pki(directory: Path, *, url_prefix: str) -> LocalPki:
    """The PKI in `directory`, generating its keys the first time (under a file lock, so two
    processes starting at once build it once)."""
    directory.mkdir(parents=True, exist_ok=True)
    keys_dir = directory / "keys"
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not keys_dir.is_dir():
            staging = Path(tempfile.mkdtemp(dir=directory, prefix=".keys-"))
            os.chmod(staging, 0o700)
            _write_keys(staging)
            staging.rename(keys_dir)
    pki = LocalPki(directory=directory, url_prefix=url_prefix)
    for label in ("root", "issuing", "tsa"):
        (directory / f"{label}.cert.pem").write_bytes(_pem(pki.cert(label)))
    return pki


def _pem(cert: asn1_x509.Certificate) -> bytes:
    return pem.armor("CERTIFICATE", cert.dump())
