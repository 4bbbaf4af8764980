"""Notifications, a ground service of the engine: what each application event tells whom
(`hooks`), the messages in each reader's language (`notify`), and their delivery by e-mail and
SMS through the outbox (`deliveries`, `sms`). The engine calls down into it; it never calls up."""
