"""National eID sign-in over OpenID Connect: the client (`client`), which account a sign-in
opens (`linking`) and the two pages (`views`)."""
