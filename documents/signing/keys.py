"""Where the signing keys live: in files (development, or a PKCS#12 bundle) or on a PKCS#11
token (an HSM; softhsm2 in the tests).

Two kinds of key sign:

- a department's **issuing CA key** signs the one-document signing certificates and the
  department's revocation list (`IssuerKey`);
- a **one-document key** signs one PDF and is gone afterwards (`KeyStore.document_signer`).

On a token both stay inside it: the CA key is a token object found by its label, the
one-document key is made in the token as a session object (never extractable, destroyed when
the session closes), and pyHanko's PKCS#11 signer (`pyhanko.sign.pkcs11.PKCS11Signer`) does
every signature. Without a token, the CA key is read from a file and the one-document key
lives in memory while the document is signed.
"""

import asyncio
import contextlib
import functools
import hashlib
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from asn1crypto import algos as asn1_algos
from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes, PublicKeyTypes
from pyhanko.sign import signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from documents.signing import SigningUnavailable

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Certifies a one-document public key: returns its certificate (asn1crypto) and serial (hex).
Certify = Callable[[PublicKeyTypes], tuple[asn1_x509.Certificate, str]]


def run_outside_event_loop(call: Callable[[], T]) -> T:
    """pyHanko's blocking calls start their own event loop; where one is already running in
    this thread (an async caller, Playwright's sync API in a test) they run on a helper thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return call()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


def to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


class IssuerKey(Protocol):
    """An issuing CA's private key, wherever it is held."""

    def sign_certificate(self, builder: x509.CertificateBuilder) -> x509.Certificate: ...

    def sign_crl(self, builder: x509.CertificateRevocationListBuilder) -> x509.CertificateRevocationList: ...


@dataclass(frozen=True)
class FileIssuerKey:
    key: CertificateIssuerPrivateKeyTypes

    def sign_certificate(self, builder: x509.CertificateBuilder) -> x509.Certificate:
        return builder.sign(self.key, hashes.SHA256())  # type: ignore[arg-type]

    def sign_crl(self, builder: x509.CertificateRevocationListBuilder) -> x509.CertificateRevocationList:
        return builder.sign(self.key, hashes.SHA256())  # type: ignore[arg-type]


@functools.cache
def _placeholder_key(kind: str) -> CertificateIssuerPrivateKeyTypes:
    """A throwaway key of the issuer's kind: `cryptography` builds and encodes the to-be-signed
    part (with the right signature algorithm) and the token then signs exactly those bytes."""
    if kind == "rsa":
        return rsa.generate_private_key(65537, 2048)
    return ec.generate_private_key(ec.SECP256R1())


class KeyStore(Protocol):
    def document_signer(
        self, *, certify: Certify, chain: list[asn1_x509.Certificate]
    ) -> contextlib.AbstractContextManager[tuple[signers.Signer, str]]:
        """A signer with a fresh one-document key, certified by `certify`, and its serial."""
        ...


class FileKeyStore:
    """No token: issuer keys come from files (read by the authority); one-document keys are
    made in memory and dropped once the document is signed."""

    @contextlib.contextmanager
    def document_signer(
        self, *, certify: Certify, chain: list[asn1_x509.Certificate]
    ) -> Iterator[tuple[signers.Signer, str]]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert, serial = certify(key.public_key())
        private = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        yield (
            signers.SimpleSigner(
                signing_cert=cert,
                signing_key=asn1_keys.PrivateKeyInfo.load(private),
                cert_registry=SimpleCertificateStore.from_certs(chain),
            ),
            serial,
        )


# PINs a token refused in this process: not tried again, so retries of an issue step cannot
# lock the token (an HSM locks its user PIN after a few wrong tries). Fixing the setting
# (a new PIN) or restarting the worker tries again.
_REFUSED_PINS: set[str] = set()


def _pin_fingerprint(module: str, token: str, pin: str) -> str:
    return hashlib.sha256(f"{module}\0{token}\0{pin}".encode()).hexdigest()


@dataclass(frozen=True)
class Pkcs11Settings:
    module: str
    token_label: str
    pin: str
    key_label_template: str  # e.g. "onedoor-{department}"

    def key_label(self, department_code: str, generation: int = 1) -> str:
        """The label of a department's issuing CA key (and its certificate) on the token; a
        rotated CA's adds its generation (`onedoor-market.g2`)."""
        label = self.key_label_template.format(department=department_code)
        return label if generation == 1 else f"{label}.g{generation}"


def read_pin(*, pin: str, pin_file: str) -> str:
    if pin_file:
        try:
            return Path(pin_file).read_text().strip()
        except OSError as error:
            raise SigningUnavailable(f"PKCS#11: the PIN file {pin_file} cannot be read ({error.strerror})") from error
    return pin


class Pkcs11KeyStore:
    """Keys on a PKCS#11 token. PKCS#11 logs a whole process in or out of a token, so this
    process opens one session at a time (under a lock): each operation opens a session, logs
    in, works and closes it, which logs out."""

    # Re-entrant: signing a document certifies its key with the issuing CA key in the same session.
    _lock = threading.RLock()
    _loaded_in_pid: dict[str, int] = {}

    def __init__(self, config: Pkcs11Settings) -> None:
        self.config = config
        self._open: Any = None

    def refuse(self, message: str) -> SigningUnavailable:
        logger.error("signing key unavailable: %s", message)
        return SigningUnavailable(message)

    def _library(self) -> Any:
        import pkcs11

        module = self.config.module
        try:
            library = pkcs11.lib(module)
        except (OSError, RuntimeError) as error:
            raise self.refuse(f"PKCS#11: the module {module} cannot be loaded ({error!r})") from error
        # A worker process forked after its parent loaded the module starts it again.
        if self._loaded_in_pid.setdefault(module, os.getpid()) != os.getpid():
            library.reinitialize()
            self._loaded_in_pid[module] = os.getpid()
        return library

    @contextlib.contextmanager
    def session(self) -> Iterator[Any]:
        from pkcs11 import exceptions as p11

        config = self.config
        if not config.pin:
            raise self.refuse(f"PKCS#11: no PIN for token {config.token_label!r} (set SIGNING_PKCS11_PIN_FILE)")
        fingerprint = _pin_fingerprint(config.module, config.token_label, config.pin)
        if fingerprint in _REFUSED_PINS:
            raise self.refuse(
                f"PKCS#11: token {config.token_label!r} refused this PIN before; "
                "not trying it again (set the right PIN and restart)"
            )
        with self._lock:
            if self._open is not None:
                yield self._open
                return
            library = self._library()
            try:
                token = library.get_token(token_label=config.token_label)
            except p11.NoSuchToken as error:
                raise self.refuse(f"PKCS#11: no token labelled {config.token_label!r} in {config.module}") from error
            except p11.MultipleTokensReturned as error:
                raise self.refuse(f"PKCS#11: more than one token labelled {config.token_label!r}") from error
            except p11.PKCS11Error as error:
                raise self.refuse(f"PKCS#11: the module {config.module} lists no tokens ({error!r})") from error
            try:
                opened = token.open(user_pin=config.pin, rw=True)
            except p11.UserAlreadyLoggedIn:
                # Another session of this process (not ours) is logged in: the login holds for ours.
                opened = token.open(rw=True)
            except (p11.PinIncorrect, p11.PinLenRange, p11.PinInvalid) as error:
                _REFUSED_PINS.add(fingerprint)
                raise self.refuse(f"PKCS#11: token {config.token_label!r} refused the PIN") from error
            except p11.PinLocked as error:
                raise self.refuse(f"PKCS#11: the PIN of token {config.token_label!r} is locked") from error
            except p11.PKCS11Error as error:
                raise self.refuse(f"PKCS#11: cannot log in to token {config.token_label!r} ({error!r})") from error
            self._open = opened
            try:
                yield opened
            finally:
                self._open = None
                opened.close()

    def public_key(self, session: Any, label: str) -> PublicKeyTypes | None:
        """The public half of the key pair labelled `label`, or None when there is none."""
        from pkcs11 import Attribute, KeyType, ObjectClass
        from pkcs11.util.ec import encode_ec_public_key
        from pkcs11.util.rsa import encode_rsa_public_key

        found = list(session.get_objects({Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.LABEL: label}))
        if not found:
            return None
        key = found[0]
        if key.key_type == KeyType.EC:
            return serialization.load_der_public_key(encode_ec_public_key(key))
        info = asn1_keys.PublicKeyInfo(
            {
                "algorithm": {"algorithm": "rsa"},
                "public_key": asn1_keys.RSAPublicKey.load(encode_rsa_public_key(key)),
            }
        )
        return serialization.load_der_public_key(info.dump())

    def has_private_key(self, session: Any, label: str) -> bool:
        from pkcs11 import Attribute, ObjectClass

        return bool(list(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.LABEL: label})))

    def key_generations(self, session: Any, department_code: str) -> list[int]:
        """The generations of the department's CA key on the token, oldest first."""
        from pkcs11 import Attribute, ObjectClass

        first = self.config.key_label(department_code)
        found = set()
        for key in session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY}):
            label = key[Attribute.LABEL]
            if label == first:
                found.add(1)
            elif label.startswith(first + ".g") and label.removeprefix(first + ".g").isdigit():
                found.add(int(label.removeprefix(first + ".g")))
        return sorted(number for number in found if number >= 1)

    def generate_issuer_key(self, session: Any, label: str) -> PublicKeyTypes:
        """An EC P-256 key pair kept on the token (the local test PKI makes one per department)."""
        from pkcs11 import Attribute, KeyType
        from pkcs11.util.ec import encode_named_curve_parameters

        parameters = session.create_domain_parameters(
            KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True
        )
        key_id = secrets.token_bytes(8)
        parameters.generate_keypair(
            store=True,
            label=label,
            id=key_id,
            private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False},
        )
        logger.warning("generated issuing CA key %r on token %r", label, self.config.token_label)
        public = self.public_key(session, label)
        assert public is not None
        return public

    def certificate(self, session: Any, label: str) -> x509.Certificate | None:
        from pkcs11 import Attribute, ObjectClass

        found = list(session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.LABEL: label}))
        return x509.load_der_x509_certificate(found[0][Attribute.VALUE]) if found else None

    def all_certificates(self, session: Any) -> list[x509.Certificate]:
        from pkcs11 import Attribute, ObjectClass

        return [
            x509.load_der_x509_certificate(obj[Attribute.VALUE])
            for obj in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE})
        ]

    def delete_certificates(self, session: Any, label: str) -> None:
        from pkcs11 import Attribute, ObjectClass

        for obj in list(session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.LABEL: label})):
            obj.destroy()

    def store_certificate(self, session: Any, label: str, cert: x509.Certificate) -> None:
        from pkcs11 import Attribute, CertificateType, ObjectClass

        session.create_object(
            {
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True,
                Attribute.LABEL: label,
                Attribute.SUBJECT: cert.subject.public_bytes(),
                Attribute.VALUE: cert.public_bytes(serialization.Encoding.DER),
            }
        )

    def issuer_key(self, *, label: str, cert: x509.Certificate) -> IssuerKey:
        return Pkcs11IssuerKey(store=self, label=label, cert=cert)

    @contextlib.contextmanager
    def document_signer(
        self, *, certify: Certify, chain: list[asn1_x509.Certificate]
    ) -> Iterator[tuple[signers.Signer, str]]:
        from pkcs11 import Attribute, KeyType
        from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters
        from pyhanko.sign.pkcs11 import PKCS11Signer

        label = f"onedoor-document-{secrets.token_hex(8)}"
        with self.session() as session:
            parameters = session.create_domain_parameters(
                KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True
            )
            # A session object: it never leaves the token and is gone when the session closes.
            public, private = parameters.generate_keypair(
                store=False,
                label=label,
                private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False},
            )
            try:
                cert, serial = certify(serialization.load_der_public_key(encode_ec_public_key(public)))
                yield (
                    PKCS11Signer(
                        session,
                        key_label=label,
                        signing_cert=cert,
                        ca_chain=chain,
                        use_raw_mechanism=True,  # softhsm2 (and many HSMs) sign EC hashes, not data
                    ),
                    serial,
                )
            finally:
                private.destroy()
                public.destroy()


@dataclass(frozen=True)
class Pkcs11IssuerKey:
    """An issuing CA key on the token: `cryptography` encodes what is to be signed, pyHanko's
    PKCS#11 signer signs it inside the token."""

    store: Pkcs11KeyStore
    label: str
    cert: x509.Certificate

    def _sign(self, data: bytes) -> bytes:
        from pyhanko.sign.pkcs11 import PKCS11Signer

        ec_key = isinstance(self.cert.public_key(), ec.EllipticCurvePublicKey)
        with self.store.session() as session:
            signer = PKCS11Signer(
                session, key_label=self.label, signing_cert=to_asn1(self.cert), use_raw_mechanism=ec_key
            )
            try:
                return run_outside_event_loop(lambda: asyncio.run(signer.async_sign_raw(data, "sha256")))
            except Exception as error:
                raise self.store.refuse(
                    f"PKCS#11: the key {self.label!r} on token {self.store.config.token_label!r} cannot sign ({error})"
                ) from error

    def _kind(self) -> str:
        return "ec" if isinstance(self.cert.public_key(), ec.EllipticCurvePublicKey) else "rsa"

    def sign_certificate(self, builder: x509.CertificateBuilder) -> x509.Certificate:
        draft = builder.sign(_placeholder_key(self._kind()), hashes.SHA256())  # type: ignore[arg-type]
        tbs = asn1_x509.TbsCertificate.load(draft.tbs_certificate_bytes)
        signed = asn1_x509.Certificate(
            {
                "tbs_certificate": tbs,
                "signature_algorithm": asn1_algos.SignedDigestAlgorithm(tbs["signature"].native),
                "signature_value": self._sign(draft.tbs_certificate_bytes),
            }
        )
        return x509.load_der_x509_certificate(signed.dump())

    def sign_crl(self, builder: x509.CertificateRevocationListBuilder) -> x509.CertificateRevocationList:
        draft = builder.sign(_placeholder_key(self._kind()), hashes.SHA256())  # type: ignore[arg-type]
        tbs = asn1_crl.TbsCertList.load(draft.tbs_certlist_bytes)
        signed = asn1_crl.CertificateList(
            {
                "tbs_cert_list": tbs,
                "signature_algorithm": asn1_algos.SignedDigestAlgorithm(tbs["signature"].native),
                "signature": self._sign(draft.tbs_certlist_bytes),
            }
        )
        return x509.load_der_x509_crl(signed.dump())


def forget_refused_pins() -> None:
    _REFUSED_PINS.clear()
