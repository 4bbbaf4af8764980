"""Stops `make test` early, with instructions, when PostgreSQL, Redis or RabbitMQ cannot be reached.

The suite runs on the real services; it never skips because they are missing.
"""

import os
import socket
import sys
from urllib.parse import urlparse

import psycopg
import redis


def main() -> int:
    problems = []
    database_url = os.environ["DATABASE_URL"]
    try:
        psycopg.connect(database_url, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        problems.append(
            f"PostgreSQL is not reachable at {urlparse(database_url).netloc}: {str(exc).strip()}\n"
            "  Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n"
            "  or point TEST_DATABASE_URL at a PostgreSQL server."
        )
    redis_url = os.environ["REDIS_URL"]
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        problems.append(
            f"Redis is not reachable at {urlparse(redis_url).netloc}: {exc}\n"
            '  Start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save ""\n'
            "  or point TEST_REDIS_URL at a Redis server."
        )
    # make test (--rabbitmq): the engine's fault tests also run on RabbitMQ, in a virtual host of their own.
    if "--rabbitmq" in sys.argv[1:]:
        rabbitmq = urlparse(os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/"))
        try:
            socket.create_connection((rabbitmq.hostname or "127.0.0.1", rabbitmq.port or 5672), timeout=3).close()
        except OSError as exc:
            problems.append(
                f"RabbitMQ is not reachable at {rabbitmq.hostname}:{rabbitmq.port or 5672}: {exc}\n"
                "  Start it with: rabbitmq-server -detached\n"
                "  or point TEST_RABBITMQ_URL at a RabbitMQ server (rabbitmqctl must reach it to make a virtual host)."
            )
    for problem in problems:
        print(f"make test cannot run: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
