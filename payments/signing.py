"""Webhook signatures: HMAC-SHA256 over the raw request body with a secret shared with the
provider, sent hex-encoded in the `Pay-Signature` header. Verified on the bytes as received,
before anything is parsed."""

import hashlib
import hmac

SIGNATURE_HEADER = "Pay-Signature"


def sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(body: bytes, signature: str, secret: str) -> bool:
    if not signature or not secret:
        return False
    return hmac.compare_digest(sign(body, secret), signature.strip().lower())
