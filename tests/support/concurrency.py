"""Running the same work in several threads at once, each with its own database connection,
to prove that a race on real PostgreSQL has exactly one winner."""

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection


def in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Starts `count` threads that call `work(index)` together (behind a barrier); returns each
    result, or the exception it raised, in index order. Each thread closes its connection."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(5)
            results[index] = work(index)
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results
