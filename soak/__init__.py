"""The chaos soak (`make soak`): submissions and clerk decisions against a throwaway stack while
workers, Redis and PostgreSQL are killed at random; afterwards, proof that nothing was lost or
done twice. See docs/hardening.md."""
