"""How fast this machine runs Django code right now: a fixed reference workload, timed.

The bench's figures move with the machine, not only with the code. On the shared 2-core
development host, the same commit gave 33.0 and then 26.7 applications/s within fifteen minutes
(docs/benchmarks.md, "The machine's speed moves under the bench"), while a tight arithmetic
loop ran at the same speed throughout: what slowed was work with a large memory footprint, as
a Django request's is. So the reference is such work, and it does not change with the portal's
code: Django's template engine rendering a table, model instances built and turned into dicts,
JSON both ways. It uses only Django and the standard library, pinned in the lock files, so a run
of another commit measures the same thing.

`reference_ms()` is the median of `rounds` timings, measured while the stack is idle: the best
one would report the quietest instant, and on a shared host the speed changes from one second
to the next (one run's best-of-7 read 19 ms between two of 31 and 34). It says how fast the
machine was around each measurement, to read beside the figures; the targets stay on the raw
figures, and nothing is divided by it.
"""

import json
import statistics
import time
from typing import Any

TEMPLATE = """<table>{% for row in rows %}<tr>{% for cell in row %}<td class="{% cycle 'a' 'b' %}">
{{ cell.label|title }} {{ cell.value|floatformat:2 }}{% if cell.flag %} <b>{{ cell.note|default:"-" }}</b>{% endif %}
</td>{% endfor %}</tr>{% endfor %}</table>"""


def _workload(template: Any, context_class: Any, user_model: Any) -> int:
    rows = [
        [{"label": f"field {i}-{j}", "value": i * j / 7, "flag": (i + j) % 3 == 0, "note": ""} for j in range(12)]
        for i in range(60)
    ]
    html = template.render(context_class({"rows": rows}))
    users = [user_model(username=f"person{i}", first_name="Wang", last_name=f"Li {i}") for i in range(400)]
    dumped = json.dumps([{"id": i, "name": u.get_full_name(), "user": u.username} for i, u in enumerate(users)])
    return len(html) + len(json.loads(dumped))


def reference_ms(rounds: int = 15) -> float:
    """Milliseconds for one reference workload, the median of `rounds` (Django must be set up)."""
    from django.contrib.auth import get_user_model
    from django.template import Context, Engine

    template = Engine(debug=False).from_string(TEMPLATE)
    user_model = get_user_model()
    _workload(template, Context, user_model)  # imports and caches warmed
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        _workload(template, Context, user_model)
        timings.append(time.perf_counter() - started)
    return round(statistics.median(timings) * 1000, 2)


if __name__ == "__main__":
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    django.setup()
    print(reference_ms())
