"""Who signs: one issuing CA per department, which certifies one signing key per issued
document; the trust roots a validator starts from; and the timestamp authority.

Why one issuing CA per department: a department's revocation list is its own. Revoking one of
its e-certificates is signed by its CA alone and published under its label
(`department-<code>`), and never involves another department's CA or key; a department's key
can be kept in its own HSM slot and replaced without touching the others.

Why one signing certificate per document: an e-certificate is revoked on its own (a licence
withdrawn), and an offline validator learns of revocation only from an X.509 revocation list.
Signing every document with a fresh key whose certificate names the department and the
verification code lets the department CA's CRL revoke exactly that document, while the
department's identity stays in every signature. The per-document key exists only while the
document is signed.

Where the material comes from (docs/certificates.md):
- issuing CA keys: a PKCS#11 token when `SIGNING_PKCS11_MODULE` is set (one key per department,
  found by its label), else PKCS#12 bundles (`SIGNING_ISSUER_BUNDLE`, per department with
  `{department}` in the path), else the local test PKI's files (development and tests);
- trust roots and TSA: the settings (production) or the local test PKI.
"""

import datetime
import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
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
from documents.signing.keys import (
    FileIssuerKey,
    FileKeyStore,
    IssuerKey,
    KeyStore,
    Pkcs11KeyStore,
    Pkcs11Settings,
    read_pin,
    to_asn1,
)
from documents.signing.local_pki import LocalPki, local_pki

# The label of the one issuing CA all departments shared before each had its own (and of a
# single PKCS#12 bundle without `{department}` in its path).
SHARED_CRL = "issuing"
ROOT_CRL = "root"
DEPARTMENT_CRL_PREFIX = "department-"
GENERATION_SUFFIX = "-g"
CRL_PATH = "/verify/pki/onedoor/crls/{label}/latest.crl"
# A revocation list is valid for a day; the endpoint builds a fresh one for every request.
CRL_LIFETIME = datetime.timedelta(days=1)
LEAF_LIFETIME = datetime.timedelta(days=365 * 30)


def crl_url(label: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + CRL_PATH.format(label=label)


def department_crl_label(code: str, generation: int = 1) -> str:
    """The label of a department CA's revocation list: `department-<code>` for its first CA
    (the name documents signed before CAs could rotate carry), `department-<code>-g<n>` after."""
    return DEPARTMENT_CRL_PREFIX + code + (f"{GENERATION_SUFFIX}{generation}" if generation > 1 else "")


def _label_readings(label: str) -> list[tuple[str, int]]:
    """The (department code, generation) a department label may mean: a code may itself end
    in `-g<n>`, so both readings are tried, the whole code first."""
    rest = label.removeprefix(DEPARTMENT_CRL_PREFIX)
    readings = [(rest, 1)]
    code, separator, number = rest.rpartition(GENERATION_SUFFIX)
    if separator and code and number.isdigit() and int(number) > 1:
        readings.append((code, int(number)))
    return readings


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=not ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass
class Issuer:
    """One issuing CA: a department's, or the shared one of older documents."""

    label: str  # names its revocation list: department-<code>, or "issuing"
    cert: x509.Certificate
    key: IssuerKey
    chain: list[asn1_x509.Certificate]  # this CA and the CAs above it, up to a root
    department_code: str | None = None  # None: the shared CA

    def certify_document_key(
        self, *, public_key: PublicKeyTypes, department: Department, reference: str
    ) -> tuple[asn1_x509.Certificate, str]:
        """A one-document signing certificate naming the department and the verification code."""
        now = timezone.now()
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
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.cert.subject)
            .public_key(public_key)  # type: ignore[arg-type]
            .serial_number(serial)
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + LEAF_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(ca=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)  # type: ignore[arg-type]
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.cert.public_key()),  # type: ignore[arg-type]
                critical=False,
            )
            .add_extension(
                x509.CRLDistributionPoints(
                    [
                        x509.DistributionPoint(
                            full_name=[x509.UniformResourceIdentifier(crl_url(self.label))],
                            relative_name=None,
                            reasons=None,
                            crl_issuer=None,
                        )
                    ]
                ),
                critical=False,
            )
        )
        return to_asn1(self.key.sign_certificate(builder)), format(serial, "x")

    def crl(self, revoked: list[tuple[str, datetime.datetime]], *, at: datetime.datetime) -> bytes:
        """This CA's CRL listing the revoked document certificates (serial hex, when)."""
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.cert.subject)
            .last_update(at - datetime.timedelta(minutes=1))
            .next_update(at + CRL_LIFETIME)
            .add_extension(x509.CRLNumber(int(at.timestamp())), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.cert.public_key()),  # type: ignore[arg-type]
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
        return self.key.sign_crl(builder).public_bytes(serialization.Encoding.DER)


class IssuerSource(Protocol):
    """Finds (or, when `create`, makes in the local test PKI) a department's issuing CA: its
    current one, or with `generation` an earlier one kept after a rotation (never made)."""

    def __call__(self, department: Department, create: bool, generation: int | None = None) -> Issuer | None: ...


# Makes a department's next issuing CA (a rotation); returns its generation.
IssuerRotation = Callable[[Department], int]


@dataclass
class Authority:
    trust_roots: list[asn1_x509.Certificate]
    timestamper: TimeStamper
    department_issuers: IssuerSource
    keystore: KeyStore = field(default_factory=FileKeyStore)
    shared: Issuer | None = None  # the "issuing" CA of documents signed before per-department CAs
    # Revocation information a validator may fetch itself (production); the local PKI's is all in hand.
    allow_fetching: bool = False
    local: LocalPki | None = None
    # Where the authority can make a department's next CA itself (the local test PKI); in
    # production the next CA's key is loaded on the token and found there (docs/certificates.md).
    rotation: IssuerRotation | None = None
    _issuers: dict[str, Issuer] = field(default_factory=dict)
    _retired: dict[tuple[str, int], Issuer] = field(default_factory=dict)
    _issuers_lock: threading.Lock = field(default_factory=threading.Lock)

    def issuer(self, department: Department, *, create: bool = True) -> Issuer | None:
        """The department's issuing CA; None when it has none yet and `create` is off.
        Raises SigningUnavailable when its key cannot be reached."""
        cached = self._issuers.get(department.code)
        if cached is not None:
            return cached
        with self._issuers_lock:
            found = self.department_issuers(department, create)
            if found is not None:
                self._issuers[department.code] = found
            return found

    def issuer_generation(self, department: Department, generation: int) -> Issuer | None:
        """A given generation of the department's issuing CA (the current one, or an earlier
        one kept after a rotation to check and revoke what it signed); None if it has none."""
        current = self.issuer(department, create=False)
        if current is not None and current.label == department_crl_label(department.code, generation):
            return current
        key = (department.code, generation)
        cached = self._retired.get(key)
        if cached is not None:
            return cached
        with self._issuers_lock:
            found = self.department_issuers(department, False, generation)
            if found is not None:
                self._retired[key] = found
            return found

    def issuer_for_label(self, label: str) -> Issuer | None:
        """The CA whose revocation list is published under `label`, if we have it."""
        if label == SHARED_CRL:
            return self.shared
        if not label.startswith(DEPARTMENT_CRL_PREFIX):
            return None
        for code, generation in _label_readings(label):
            department = Department.objects.filter(code=code).first()
            if department is None:
                continue
            issuer = self.issuer_generation(department, generation)
            # A shared bundle serves every department: its list is published once, as "issuing".
            return issuer if issuer is not None and issuer.label == label else None
        return None

    def rotate(self, department: Department) -> Issuer:
        """Makes the department's next issuing CA, which signs from now on; the earlier ones
        are kept to check and revoke what they signed. Other processes pick it up when they
        restart (each keeps its department CAs in memory)."""
        if self.rotation is None:
            raise SigningUnavailable(
                "this configuration cannot make CA keys: load the department's next key and CA "
                "certificate on the token (docs/certificates.md, 'Rotating a department's key')"
            )
        self.rotation(department)
        with self._issuers_lock:
            self._issuers.pop(department.code, None)
        issuer = self.issuer(department)
        assert issuer is not None
        return issuer

    def other_crls(self, *, at: datetime.datetime) -> dict[str, bytes]:
        """Revocation lists of the CAs above the issuing CAs, when we hold them (the local PKI)."""
        if self.local is None:
            return {}
        return {ROOT_CRL: self.local.root_crl(at).dump()}


def _local_file_issuers(pki: LocalPki) -> IssuerSource:
    root = pki.cert("root")

    def find(department: Department, create: bool, generation: int | None = None) -> Issuer | None:
        found = pki.department_ca(code=department.code, name=department.name_en, create=create, generation=generation)
        if found is None:
            return None
        cert, key, made = found
        return Issuer(
            label=department_crl_label(department.code, made),
            cert=cert,
            key=FileIssuerKey(key),
            chain=[to_asn1(cert), root],
            department_code=department.code,
        )

    return find


def _local_file_rotation(pki: LocalPki) -> IssuerRotation:
    return lambda department: pki.department_ca_rotate(code=department.code, name=department.name_en)


def _chain_from(cert: x509.Certificate, pool: list[x509.Certificate]) -> list[asn1_x509.Certificate]:
    """`cert` and the CAs above it found in `pool`, by issuer name, up to a self-signed one."""
    chain = [cert]
    while chain[-1].issuer != chain[-1].subject and len(chain) < 8:
        above = next((c for c in pool if c.subject == chain[-1].issuer and c not in chain), None)
        if above is None:
            break
        chain.append(above)
    return [to_asn1(c) for c in chain]


def _token_issuers(store: Pkcs11KeyStore, *, pki: LocalPki | None, roots: list[x509.Certificate]) -> IssuerSource:
    """Issuing CA keys on the token, one per department, labelled by `SIGNING_PKCS11_KEY_LABEL`;
    the CA's certificate is the token's certificate object of the same label. With the local
    test PKI, a missing key is generated on the token and the local root certifies it."""

    def find(department: Department, create: bool, generation: int | None = None) -> Issuer | None:
        with store.session() as session:
            generations = store.key_generations(session, department.code)
            if generation is None:
                generation = generations[-1] if generations else 1
            elif generation not in generations:
                return None
            label = store.config.key_label(department.code, generation)
            cert = store.certificate(session, label)
            has_key = store.has_private_key(session, label)
            if pki is not None and create and (cert is None or not has_key):
                public: PublicKeyTypes | None
                if not has_key:
                    store.delete_certificates(session, label)  # it certified a key that is gone
                    public = store.generate_issuer_key(session, label)
                    has_key = True
                else:
                    public = store.public_key(session, label)
                if public is None:
                    raise store.refuse(f"PKCS#11: the key {label!r} has no public key on the token")
                cert = pki.certify_department_ca(
                    code=department.code, name=department.name_en, public_key=public, generation=generation
                )
                store.store_certificate(session, label, cert)
            if not has_key or cert is None:
                if not create:
                    return None
                missing = "private key" if not has_key else "certificate"
                raise store.refuse(
                    f"PKCS#11: no {missing} labelled {label!r} on token {store.config.token_label!r} "
                    "(docs/certificates.md: one key and its CA certificate per department, same label)"
                )
            pool = store.all_certificates(session) + roots
        return Issuer(
            label=department_crl_label(department.code, generation),
            cert=cert,
            key=store.issuer_key(label=label, cert=cert),
            chain=_chain_from(cert, pool),
            department_code=department.code,
        )

    return find


def _token_rotation(store: Pkcs11KeyStore, pki: LocalPki) -> IssuerRotation:
    """The local test PKI's rotation on the token: a new key under the next generation's label,
    certified by the local root."""

    def rotate(department: Department) -> int:
        with store.session() as session:
            generations = store.key_generations(session, department.code)
            generation = (generations[-1] if generations else 0) + 1
            label = store.config.key_label(department.code, generation)
            public = store.generate_issuer_key(session, label)
            cert = pki.certify_department_ca(
                code=department.code, name=department.name_en, public_key=public, generation=generation
            )
            store.store_certificate(session, label, cert)
        return generation

    return rotate


def _load_bundle(path: Path) -> Issuer:
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(
            path.read_bytes(), settings.SIGNING_ISSUER_PASSPHRASE.encode() or None
        )
    except (OSError, ValueError) as error:
        raise SigningUnavailable(f"the issuing CA bundle {path} cannot be read ({error})") from error
    if key is None or cert is None:
        raise SigningUnavailable(f"{path} holds no key and certificate")
    return Issuer(
        label=SHARED_CRL,
        cert=cert,
        key=FileIssuerKey(key),  # type: ignore[arg-type]
        chain=[to_asn1(cert), *(to_asn1(c) for c in extra)],
    )


def _bundle_issuers(template: str) -> tuple[IssuerSource, Issuer | None]:
    """PKCS#12 bundles: one per department when the path names `{department}`, else one shared."""
    if "{department}" not in template:
        shared = _load_bundle(Path(template))
        return (lambda department, create, generation=None: shared if generation in (None, 1) else None), shared

    def find(department: Department, create: bool, generation: int | None = None) -> Issuer | None:
        if generation not in (None, 1):
            return None  # a bundle holds one CA: rotate by moving to a token (docs/certificates.md)
        path = Path(template.format(department=department.code))
        if not path.exists():
            if not create:
                return None
            raise SigningUnavailable(f"no issuing CA bundle for department {department.code} ({path})")
        issuer = _load_bundle(path)
        issuer.label = department_crl_label(department.code)
        issuer.department_code = department.code
        return issuer

    return find, None


def _pkcs11_store() -> Pkcs11KeyStore | None:
    if not settings.SIGNING_PKCS11_MODULE:
        return None
    return Pkcs11KeyStore(
        Pkcs11Settings(
            module=settings.SIGNING_PKCS11_MODULE,
            token_label=settings.SIGNING_PKCS11_TOKEN,
            pin=read_pin(pin=settings.SIGNING_PKCS11_PIN, pin_file=settings.SIGNING_PKCS11_PIN_FILE),
            key_label_template=settings.SIGNING_PKCS11_KEY_LABEL,
        )
    )


def local_authority(directory: Path, *, keystore: Pkcs11KeyStore | None = None) -> Authority:
    """The local test PKI in `directory` (built there on first use); department CA keys in its
    files, or on the PKCS#11 token of `keystore`."""
    pki = local_pki(directory, url_prefix=settings.PUBLIC_BASE_URL.rstrip("/") + "/verify/pki")
    root, issuing, tsa = pki.cert("root"), pki.cert("issuing"), pki.cert("tsa")
    issuing_cert = x509.load_der_x509_certificate(issuing.dump())
    shared = Issuer(
        label=SHARED_CRL,
        cert=issuing_cert,
        key=FileIssuerKey(serialization.load_pem_private_key(pki.key_pem("issuing"), password=None)),  # type: ignore[arg-type]
        chain=[issuing, root],
    )
    rotation: IssuerRotation
    if keystore is not None:
        issuers = _token_issuers(keystore, pki=pki, roots=[x509.load_der_x509_certificate(root.dump())])
        rotation = _token_rotation(keystore, pki)
    else:
        issuers, rotation = _local_file_issuers(pki), _local_file_rotation(pki)
    return Authority(
        trust_roots=[root],
        # An RFC 3161 timestamp from the local TSA, made in-process: nothing to serve or reach.
        timestamper=DummyTimeStamper(
            tsa_cert=tsa, tsa_key=pki.private_key("tsa"), certs_to_embed=SimpleCertificateStore.from_certs([root])
        ),
        department_issuers=issuers,
        keystore=keystore or FileKeyStore(),
        shared=shared,
        local=pki,
        rotation=rotation,
    )


def _configured_authority(keystore: Pkcs11KeyStore | None) -> Authority:
    roots: list[x509.Certificate] = []
    for path in settings.SIGNING_TRUST_ROOTS:
        roots.extend(x509.load_pem_x509_certificates(Path(path).read_bytes()))
    if not roots or not settings.SIGNING_TSA_URL:
        raise SigningUnavailable("SIGNING_TRUST_ROOTS and SIGNING_TSA_URL must be set")
    shared: Issuer | None = None
    if keystore is not None:
        issuers = _token_issuers(keystore, pki=None, roots=roots)
    else:
        issuers, shared = _bundle_issuers(settings.SIGNING_ISSUER_BUNDLE)
    return Authority(
        trust_roots=[to_asn1(c) for c in roots],
        timestamper=RequestsHTTPTimeStamper(settings.SIGNING_TSA_URL, timeout=settings.SIGNING_TSA_TIMEOUT),
        department_issuers=issuers,
        keystore=keystore or FileKeyStore(),
        shared=shared,
        allow_fetching=True,
    )


@functools.cache
def authority() -> Authority:
    """The configured authority: the settings' trust roots and TSA with the department keys on
    a PKCS#11 token or in bundles; else the local test PKI (its keys on the token if one is set)."""
    keystore = _pkcs11_store()
    if settings.SIGNING_ISSUER_BUNDLE or (keystore is not None and settings.SIGNING_TRUST_ROOTS):
        return _configured_authority(keystore)
    if not settings.SIGNING_LOCAL_PKI:
        raise SigningUnavailable("no issuing CA is configured (SIGNING_PKCS11_MODULE or SIGNING_ISSUER_BUNDLE)")
    return local_authority(Path(settings.SIGNING_LOCAL_PKI_DIR), keystore=keystore)
