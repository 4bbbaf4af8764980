"""Second factors: authenticator apps (TOTP), passkeys (WebAuthn) and recovery codes.

- `selectors`: what a person has, whether they must have one (staff), one of their devices;
- `actions`: enrol an app, make recovery codes, remove a factor, check a code (each recorded);
- `views` (+ `urls`): the security page and the verification step after signing in;
- `passkeys`: django-otp-webauthn's ceremonies, recording the level and the change;
- `gate`: the middleware that keeps staff areas closed until a factor is confirmed.
"""
