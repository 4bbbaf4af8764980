"""The web worker's memory at start: what a gunicorn worker holds before its first request.

Starts a fresh Python with the bench's production profile (bench/config.py `app_env`, throwaway
secrets, nothing written), imports the WSGI application as a gunicorn worker does
(`portal.wsgi:application`: `django.setup()` and the middleware), loads the URLconf (which
imports every view), and prints the resident memory and which heavy libraries are loaded; then
disarms one small PDF, as the bench's submit flow uploads one, and prints them again.

    .venv/bin/python -m bench.memory_imports          # a table
    .venv/bin/python -m bench.memory_imports --json   # one JSON object

The libraries listed are those the web process should only load in the function that uses them
(portal/tests/test_startup_imports.py holds the line for the ones made lazy).
"""

import io
import json
import os
import subprocess
import sys
import tempfile

# Libraries of the documents' and certificates' work (issuing, signing, rendering, previews,
# disarming), of second factors and single sign-on, and of search: their top-level packages.
HEAVY = (
    "pyhanko",
    "pyhanko_certvalidator",
    "certomancer",
    "reportlab",
    "pikepdf",
    "pypdfium2",
    "PIL",
    "asn1crypto",
    "cryptography",
    "jieba",
    "webauthn",
    "authlib",
    "joserfc",
    "segno",
    "icalendar",
    "fitz",
    "lxml",
    "fontTools",
    "qrcode",
    "numpy",
)


def measure() -> dict:
    """In the fresh process: import the WSGI application and the URLconf, then look."""
    import psutil

    process = psutil.Process()
    rss_start = process.memory_info().rss

    from django.urls import get_resolver

    from portal.wsgi import application  # noqa: F401 - django.setup() and the middleware

    rss_wsgi = process.memory_info().rss
    get_resolver().url_patterns  # noqa: B018 - imports every view
    rss_urls = process.memory_info().rss

    modules_at_start = len(sys.modules)
    loaded_at_start = [name for name in HEAVY if name in {module.split(".")[0] for module in sys.modules}]

    # What the bench's submit flow adds: the lease it uploads is a PDF, disarmed by pikepdf.
    import pikepdf

    from documents.disarm import Limits, rendition_of

    pdf = io.BytesIO()
    with pikepdf.new() as document:
        document.add_blank_page()
        document.save(pdf)
    rendition_of(pdf.getvalue(), "application/pdf", Limits("Lease", 10, 50 * 2**20, 10_000, 50_000_000))
    rss_upload = process.memory_info().rss
    loaded = {name.split(".")[0] for name in sys.modules}
    return {
        "rss_mb_start": round(rss_start / 2**20, 1),
        "rss_mb_wsgi": round(rss_wsgi / 2**20, 1),
        "rss_mb": round(rss_urls / 2**20, 1),
        "modules": modules_at_start,
        "heavy_loaded": loaded_at_start,
        "rss_mb_after_upload": round(rss_upload / 2**20, 1),
        "heavy_loaded_after_upload": [name for name in HEAVY if name in loaded],
        # redis-py 8 imports its asyncio client with the package itself (the cache needs redis).
        "redis_asyncio_loaded": "redis.asyncio" in sys.modules,
    }


def production_env(out: str) -> dict[str, str]:
    os.environ["BENCH_OUT"] = out
    from bench.config import Config

    env = Config().app_env()
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "TRACING_SPANS_FILE"):
        env.pop(name, None)
    return env


def main() -> None:
    if "--child" in sys.argv:
        print(json.dumps(measure()))
        return
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as out:
        result = subprocess.run(
            [sys.executable, "-m", "bench.memory_imports", "--child"],
            cwd=root,
            env=production_env(out),
            check=True,
            capture_output=True,
            text=True,
        )
    data = json.loads(result.stdout.strip().splitlines()[-1])
    if "--json" in sys.argv:
        print(json.dumps(data))
        return
    print(f"RSS at start               {data['rss_mb_start']:7.1f} MB")
    print(f"RSS after portal.wsgi      {data['rss_mb_wsgi']:7.1f} MB")
    print(f"RSS after the URLconf      {data['rss_mb']:7.1f} MB  ({data['modules']} modules)")
    print(f"heavy libraries loaded     {', '.join(data['heavy_loaded']) or '-'}")
    print(f"redis.asyncio loaded       {'yes' if data['redis_asyncio_loaded'] else 'no'}")
    print(f"RSS after one PDF upload   {data['rss_mb_after_upload']:7.1f} MB  (disarmed as the submit flow's lease)")
    print(f"heavy libraries then       {', '.join(data['heavy_loaded_after_upload']) or '-'}")


if __name__ == "__main__":
    main()
