"""For gunicorn: `gunicorn -b 127.0.0.1:8000 wsgi:app` (its settings: gunicorn.conf.py)."""

import gc

from sqlalchemy.orm import configure_mappers

from portal import create_app

app = create_app()
configure_mappers()
# Everything loaded so far (modules, the app, mappers, catalogues) lives as long as the worker:
# move it out of the collector's reach, so that a full collection walks only what requests make.
# Without this, every few requests with many rows (recommendations score 2,000) pay a full
# collection of ~100 ms (PostgreSQL p95 of recommendations 146 ms; with it, about p50).
gc.freeze()
