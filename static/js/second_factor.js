// After django-otp-webauthn registers a passkey, go on to where the person was heading (the
// element carrying data-passkey-next), or show the security page again with the new passkey.
document.addEventListener("otp_webauthn.register_complete", () => {
  const holder = document.querySelector("[data-passkey-next]");
  const next = holder ? holder.getAttribute("data-passkey-next") : "";
  if (next && next.startsWith("/") && !next.startsWith("//")) {
    window.location.assign(next);
  } else {
    window.location.reload();
  }
});
