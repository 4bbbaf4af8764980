"""Who signs: the issuing CA that certifies one signing key per issued document, the trust
roots a validator starts from, and the timestamp authority.

Why one signing certificate per document: an e-certificate is revoked on its own (a licence
withdrawn), and an offline validator learns of revocation only from an X.509 revocation list.
Signing every document with a fresh key whose certificate names the department and the
verification code lets the issuing CA's CRL revoke exactly that document, while the
department's identity stays in every signature. The per-document key exists only while the
document is signed.

The material comes from the local test PKI (`local_pki`, development and tests) or from the
settings (a PKCS#12 bundle of the issuing CA, PEM trust roots and a TSA URL; production).
"""

import datetime
import functools
from dataclasses import dataclass, field
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.utils import timezone
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from accounts.models import Department
from documents.signing import SigningUnavailable
from documents.signing.local_pki import LocalPki, local_pki

ISSUING_CRL = "issuing"
CRL_PATH = "/verify/pki/onedoor/crls/{label}/latest.crl"
# A revocation list is valid for a day; the endpoint builds a fresh one for every request.
CRL_LIFETIME = datetime.timedelta(days=1)
LEAF_LIFETIME = datetime.timedelta(days=365 * 30)


def to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def crl_url(label: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + CRL_PATH.format(label=label)


@dataclass(frozen=True)
class LeafKey:
    cert: asn1_x509.Certificate
    key: asn1_keys.PrivateKeyInfo
    serial: str


@dataclass
class Authority:
    issuer_cert: x509.Certificate
    issuer_key: CertificateIssuerPrivateKeyTypes
    trust_roots: list[asn1_x509.Certificate]
    chain: list[asn1_x509.Certificate]  # the issuing CA and any intermediates up to a root
    timestamper: TimeStamper
    # Revocation information a validator may fetch itself (production); the local PKI's is all in hand.
    allow_fetching: bool = False
    local: LocalPki | None = field(default=None)

    def issue_leaf(self, *, department: Department, reference: str) -> LeafKey:
        """A one-document signing certificate naming the department and the verification code."""
        now = timezone.now()
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, settings.SIGNING_ORGANISATION),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, department.code[:64]),
                x509.NameAttribute(NameOID.COMMON_NAME, department.name_en[:64]),
                x509.NameAttribute(NameOID.SERIAL_NUMBER, reference[:64]),
            ]
        )
        serial = x509.random_serial_number()
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.issuer_cert.subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + LEAF_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
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
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.issuer_cert.public_key()),  # type: ignore[arg-type]
                critical=False,
            )
            .add_extension(
                x509.CRLDistributionPoints(
                    [
                        x509.DistributionPoint(
                            full_name=[x509.UniformResourceIdentifier(crl_url(ISSUING_CRL))],
                            relative_name=None,
                            reasons=None,
                            crl_issuer=None,
                        )
                    ]
                ),
                critical=False,
            )
            .sign(self.issuer_key, hashes.SHA256())  # type: ignore[arg-type]
        )
        private = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return LeafKey(cert=to_asn1(cert), key=asn1_keys.PrivateKeyInfo.load(private), serial=format(serial, "x"))

    def issuing_crl(self, revoked: list[tuple[str, datetime.datetime]], *, at: datetime.datetime) -> bytes:
        """The issuing CA's CRL listing the revoked document certificates (serial hex, when)."""
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.issuer_cert.subject)
            .last_update(at - datetime.timedelta(minutes=1))
            .next_update(at + CRL_LIFETIME)
            .add_extension(x509.CRLNumber(int(at.timestamp())), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.issuer_cert.public_key()),  # type: ignore[arg-type]
                critical=False,
            )
        )
        for serial, when in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(int(serial, 16))
                .revocation_date(when)
                .add_extension(x509.CRLReason(x509.ReasonFlags.privilege_withdrawn), critical=False)
                .build()
            )
        return builder.sign(self.issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)  # type: ignore[arg-type]

    def other_crls(self, *, at: datetime.datetime) -> dict[str, bytes]:
        """Revocation lists of the CAs above the issuing CA, when we hold them (the local PKI)."""
        if self.local is None:
            return {}
        return {"root": self.local.root_crl(at).dump()}


def local_authority(directory: Path) -> Authority:
    """The local test PKI in `directory` (built there on first use)."""
    pki = local_pki(directory, url_prefix=settings.PUBLIC_BASE_URL.rstrip("/") + "/verify/pki")
    issuer_key = serialization.load_pem_private_key(pki.key_pem("issuing"), password=None)
    root, issuing, tsa = pki.cert("root"), pki.cert("issuing"), pki.cert("tsa")
    return Authority(
        issuer_cert=x509.load_der_x509_certificate(issuing.dump()),
        issuer_key=issuer_key,  # type: ignore[arg-type]
        trust_roots=[root],
        chain=[issuing, root],
        # An RFC 3161 timestamp from the local TSA, made in-process: nothing to serve or reach.
        timestamper=DummyTimeStamper(
            tsa_cert=tsa, tsa_key=pki.private_key("tsa"), certs_to_embed=SimpleCertificateStore.from_certs([root])
        ),
        local=pki,
    )


def _configured_authority() -> Authority:
    bundle = Path(settings.SIGNING_ISSUER_BUNDLE)
    passphrase = settings.SIGNING_ISSUER_PASSPHRASE.encode() or None
    key, cert, extra = pkcs12.load_key_and_certificates(bundle.read_bytes(), passphrase)
    if key is None or cert is None:
        raise SigningUnavailable(f"{bundle} holds no key and certificate")
    roots: list[asn1_x509.Certificate] = []
    for path in settings.SIGNING_TRUST_ROOTS:
        roots.extend(to_asn1(c) for c in x509.load_pem_x509_certificates(Path(path).read_bytes()))
    if not roots or not settings.SIGNING_TSA_URL:
        raise SigningUnavailable("SIGNING_TRUST_ROOTS and SIGNING_TSA_URL must be set")
    return Authority(
        issuer_cert=cert,
        issuer_key=key,  # type: ignore[arg-type]
        trust_roots=roots,
        chain=[to_asn1(cert), *(to_asn1(c) for c in extra)],
        timestamper=RequestsHTTPTimeStamper(settings.SIGNING_TSA_URL, timeout=settings.SIGNING_TSA_TIMEOUT),
        allow_fetching=True,
    )


@functools.cache
def authority() -> Authority:
    """The configured authority; the local test PKI unless an issuing CA bundle is set."""
    if settings.SIGNING_ISSUER_BUNDLE:
        return _configured_authority()
    if not settings.SIGNING_LOCAL_PKI:
        raise SigningUnavailable("no issuing CA is configured (SIGNING_ISSUER_BUNDLE)")
    return local_authority(Path(settings.SIGNING_LOCAL_PKI_DIR))
