"""The local test PKI for `make run` and the tests: a root and a TSA, built by certomancer from
pki/local-test-pki.yml into a directory under var/ on first use, and one issuing CA per
department, certified by the local root when the department first signs (`department_ca`).
The configuration's shared `issuing` CA signed certificates before departments had their own
CAs; it stays so that those documents keep their revocation list.

Nothing here is trusted outside this installation: production names its own issuing CA,
trust roots and timestamp authority in the settings (docs/certificates.md).
"""

import contextlib
import datetime
import fcntl
import functools
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from certomancer.registry import ArchLabel, CertLabel, CertomancerConfig, KeyLabel, PKIArchitecture, ServiceLabel
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes, PublicKeyTypes
from cryptography.x509.oid import NameOID

CONFIG = Path(__file__).resolve().parent / "pki" / "local-test-pki.yml"
ARCH = "onedoor"
KEYS = ("root", "issuing", "tsa")
DEPARTMENT_CA_VALID_UNTIL = datetime.datetime(2055, 1, 1, tzinfo=datetime.UTC)


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """One process at a time builds what is missing (two processes starting at once build it once)."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


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

    def root_crl_url(self) -> str:
        return f"{self.url_prefix}/{ARCH}/crls/root/latest.crl"

    def certify_department_ca(
        self, *, code: str, name: str, public_key: PublicKeyTypes, generation: int = 1
    ) -> x509.Certificate:
        """A department's issuing CA certificate, signed by the local root: it may certify
        signing certificates (one level below it, no further CAs), and the root's CRL covers it.
        A rotated CA's name carries its generation, so no two of a department's CAs share one."""
        root = x509.load_der_x509_certificate(self.cert("root").dump())
        root_key = serialization.load_pem_private_key(self.key_pem("root"), password=None)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "One Door (local test PKI, not trusted)"),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, code[:64]),
                x509.NameAttribute(
                    NameOID.COMMON_NAME, (f"{name} Issuing CA" + (f" {generation}" if generation > 1 else ""))[:64]
                ),
            ]
        )
        now = datetime.datetime.now(datetime.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(root.subject)
            .public_key(public_key)  # type: ignore[arg-type]
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(DEPARTMENT_CA_VALID_UNTIL)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
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
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)  # type: ignore[arg-type]
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(root.public_key()),  # type: ignore[arg-type]
                critical=False,
            )
            .add_extension(
                x509.CRLDistributionPoints(
                    [
                        x509.DistributionPoint(
                            full_name=[x509.UniformResourceIdentifier(self.root_crl_url())],
                            relative_name=None,
                            reasons=None,
                            crl_issuer=None,
                        )
                    ]
                ),
                critical=False,
            )
            .sign(root_key, hashes.SHA256())  # type: ignore[arg-type]
        )

    def _department_paths(self, code: str, generation: int) -> tuple[Path, Path]:
        """A generation's key and certificate files: generation 1 keeps the names it had before
        CAs could rotate (`<code>.key.pem`), later ones add theirs (`<code>.g2.key.pem`)."""
        stem = code if generation == 1 else f"{code}.g{generation}"
        folder = self.directory / "departments"
        return folder / f"{stem}.key.pem", folder / f"{stem}.cert.pem"

    def department_generations(self, code: str) -> list[int]:
        """The generations of the department's issuing CA, oldest first (none before it first signs)."""
        found = [1] if self._department_paths(code, 1)[1].exists() else []
        for path in (self.directory / "departments").glob(f"{code}.g*.cert.pem"):
            number = path.name.removeprefix(f"{code}.g").removesuffix(".cert.pem")
            if number.isdigit() and int(number) > 1:
                found.append(int(number))
        return sorted(found)

    def department_ca(
        self, *, code: str, name: str, create: bool, generation: int | None = None
    ) -> tuple[x509.Certificate, CertificateIssuerPrivateKeyTypes, int] | None:
        """A generation of the department's issuing CA (certificate, key, generation; in files
        under departments/), the current (latest) one when `generation` is None, made the first
        time the department signs; None when it has none and `create` is off."""
        generations = self.department_generations(code)
        if generation is None:
            if not generations:
                if not create:
                    return None
                return self._department_ca_make(code=code, name=name, generation=1)
            generation = generations[-1]
        elif generation not in generations:
            return None
        key_path, cert_path = self._department_paths(code, generation)
        stored = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        return x509.load_pem_x509_certificate(cert_path.read_bytes()), stored, generation  # type: ignore[return-value]

    def department_ca_rotate(self, *, code: str, name: str) -> int:
        """Makes the department's next issuing CA (a new key and certificate); the earlier
        ones stay, to check and revoke what they signed. Returns the new generation."""
        generations = self.department_generations(code)
        return self._department_ca_make(code=code, name=name, generation=(generations[-1] if generations else 0) + 1)[2]

    def _department_ca_make(
        self, *, code: str, name: str, generation: int
    ) -> tuple[x509.Certificate, CertificateIssuerPrivateKeyTypes, int]:
        key_path, cert_path = self._department_paths(code, generation)
        with _locked(self.directory):
            if not cert_path.exists():
                cert_path.parent.mkdir(mode=0o700, exist_ok=True)
                key = ec.generate_private_key(ec.SECP256R1())
                key_path.write_bytes(
                    key.private_bytes(
                        serialization.Encoding.PEM,
                        serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption(),
                    )
                )
                os.chmod(key_path, 0o600)
                cert = self.certify_department_ca(
                    code=code, name=name, public_key=key.public_key(), generation=generation
                )
                staging = cert_path.with_suffix(".tmp")
                staging.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
                staging.rename(cert_path)
        stored = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        return x509.load_pem_x509_certificate(cert_path.read_bytes()), stored, generation  # type: ignore[return-value]


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
    keys_dir = directory / "keys"
    with _locked(directory):
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
