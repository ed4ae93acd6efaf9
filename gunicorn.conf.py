"""gunicorn's settings for the portal (gunicorn reads ./gunicorn.conf.py by itself):
`gunicorn -b 127.0.0.1:8000 wsgi:app`. Command-line options and $GUNICORN_CMD_ARGS win.

Workers: one sync worker per usable core. A request of the portal is short and its database
is fast, so a worker rarely waits long; more workers than cores only take turns on them, and
each switch costs caches. Measured with benchmarks/signups.py on 2 cores with PostgreSQL on the
same machine: 2 workers took ~510 signups/s at p95 40 ms and 3.7 ms of CPU each; 4 workers
389/s at p95 52 ms and 5.1 ms each. With PostgreSQL on a machine of its own a worker
waits longer for it: try gunicorn's own advice, 2 x cores + 1, and measure. $WEB_CONCURRENCY
sets the number outright.
"""

import os

workers = int(os.environ.get("WEB_CONCURRENCY") or len(os.sched_getaffinity(0)))
