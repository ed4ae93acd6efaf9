"""Background jobs: one `enqueue` for every module.

With REDIS_URL set, a job goes to an RQ queue *after* the transaction that asked for it commits
(a fast worker must find the rows it needs); without it, the job runs inline right after that
commit, in a session of its own. Either way a `JobRun` row, written in the same transaction as
the request, records who asked, the status, the progress and the result, so that
GET /api/v1/jobs/<id> and the progress page read one place.

Internal work whose own rows already say how it went (the notifications outbox: `sent_at`,
`error`) is scheduled with `after_commit` instead: no JobRun row, asked at most once per
transaction, and with `coalesce` at most one such job waiting in the queue at a time (it does
all the work pending when it starts). With Redis such a job first lets a burst gather for
JOB_COALESCE_MS (only then does it clear its name and start work): under load a hundred
signups then cost the worker one RQ job, not one each (an RQ job costs the request and the
worker more CPU than a drain of a hundred notifications), and a notification waits at most that
long more. Internal work runs in the worker's own process (see `start_worker`).
"""

from __future__ import annotations

import importlib
import logging
import os
import time
import uuid
from datetime import datetime

import sqlalchemy as sa
from flask import current_app, g, has_app_context, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.core.db import UTCDateTime, utcnow
from portal.extensions import db

log = logging.getLogger(__name__)

STATUSES = ("queued", "started", "finished", "failed")


class JobRun(db.Model):
    __tablename__ = "job_runs"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(16), default="queued")
    progress: Mapped[int] = mapped_column(sa.Integer, default=0)
    result: Mapped[dict | list | str | int | None] = mapped_column(sa.JSON)
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"),
                                                   index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def to_dict(self) -> dict:
        status, progress = self.status, self.progress
        if status in ("queued", "started"):
            status, progress = _live_status(self, status, progress)
        return {"id": self.id, "name": self.name, "status": status, "progress": progress,
                "result": self.result, "error": self.error}


def _path(func) -> str:
    return f"{func.__module__}:{func.__qualname__}"


def _resolve(path: str):
    module, _sep, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def enqueue(func, *args, actor=None, **kwargs) -> JobRun:
    """Schedule `func(*args, **kwargs)` to run once the current transaction commits.

    Pass ids, not objects: the job re-loads its rows. Nothing runs if the transaction rolls
    back.
    """
    run = JobRun(id=str(uuid.uuid4()), name=_path(func), status="queued", progress=0,
                 created_by=getattr(actor, "id", None))
    db.session.add(run)
    db.session.flush()
    pending = db.session.info.setdefault("pending_jobs", [])
    pending.append((run.id, _path(func), args, kwargs, None))
    return run


def after_commit(func, *args, coalesce: str | None = None) -> None:
    """Schedule internal work `func(*args)` for once the current transaction commits, with no
    JobRun row. Asked again in the same transaction, it is not scheduled twice. `coalesce`
    names the job for Redis: while one of that name waits in the queue, no second is queued,
    so `func` must do all the work pending when it starts (the worker clears the name before
    calling it). Nothing runs if the transaction rolls back."""
    pending = db.session.info.setdefault("pending_jobs", [])
    job = (None, _path(func), args, {}, coalesce)
    if job not in pending:
        pending.append(job)


def _coalesce_key(name: str) -> str:
    return f"{current_app.config['REDIS_PREFIX']}job-waiting:{name}"


def using_redis() -> bool:
    return bool(current_app.config.get("REDIS_URL"))


def redis_connection():
    from redis import Redis

    ext = current_app.extensions.setdefault("portal_redis", {})
    if "conn" not in ext:
        ext["conn"] = Redis.from_url(current_app.config["REDIS_URL"])
    return ext["conn"]


def queue(name: str | None = None):
    from rq import Queue

    name = name or current_app.config["RQ_QUEUES"][0]
    return Queue(name, connection=redis_connection())


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session):
    if session.in_nested_transaction():
        return  # a SAVEPOINT released: the real commit is still to come
    pending = session.info.pop("pending_jobs", None)
    if not pending or not has_app_context():
        return
    if using_redis():
        for job_id, path, args, kwargs, coalesce in pending:
            # One waiting job of a name at a time: the flag lives until the worker starts it
            # (or a minute, should the worker die holding it).
            key = _coalesce_key(coalesce) if coalesce else None
            if key and not redis_connection().set(key, "1", nx=True, ex=60):
                continue
            # Internal work (no JobRun) is short: the worker runs it in its own process.
            queue().enqueue(run_job, job_id, path, args, kwargs, coalesce=key,
                            job_id=job_id, job_timeout=current_app.config["JOB_TIMEOUT"],
                            meta={IN_PROCESS: True} if job_id is None else None)
        return
    if has_request_context():
        # Inline, at the end of the request: the committing session still holds its
        # connection here, and a job needs one of its own (under load, taking a second
        # connection inside the commit would empty the pool and deadlock).
        g.setdefault("inline_jobs", []).extend(pending)
        return
    for job in pending:  # a command or a job: nothing else waits for the pool
        _run_inline(job)


def _run_inline(job) -> None:
    job_id, path, args, kwargs, _coalesce = job
    # A fresh app context is a fresh session.
    with current_app._get_current_object().app_context():
        _run(job_id, path, args, kwargs)


def run_inline_jobs(_exc=None) -> None:
    """teardown_request: run the request's jobs once its transaction is over (no Redis)."""
    jobs = g.pop("inline_jobs", None) if has_app_context() else None
    if jobs:
        # The response is made; end the request's session (reading the response may have
        # begun a transaction, which on SQLite would hold the write lock the job needs).
        db.session.remove()
    while jobs:
        _run_inline(jobs.pop(0))
        jobs.extend(g.pop("inline_jobs", []))


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session):
    if session.in_nested_transaction():
        return  # a SAVEPOINT rolled back: what the transaction asked before it still stands
    session.info.pop("pending_jobs", None)


def run_job(job_id: str | None, path: str, args, kwargs, coalesce: str | None = None):
    """Entry point for the worker and for inline runs: mark started, run, record the outcome
    (with no job_id: run, commit, and log a failure). `coalesce` is the Redis key that kept
    a second such job out of the queue: cleared, after the gathering window, before the work
    starts, so that work asked for from then on queues a new job."""
    from rq import get_current_job

    in_worker = get_current_job() is not None
    if in_worker or not has_app_context():
        if has_app_context():
            app = current_app._get_current_object()
        else:
            from portal import create_app

            app = create_app()
        with app.app_context():  # a session of the job's own
            if in_worker and os.getpid() != _worker_pid:
                db.engine.dispose(close=False)  # never share a pooled connection across a fork
            if coalesce and using_redis():
                time.sleep(current_app.config["JOB_COALESCE_MS"] / 1000)  # let a burst gather
                redis_connection().delete(coalesce)
            return _run(job_id, path, args, kwargs)
    return _run(job_id, path, args, kwargs)


def _run(job_id: str | None, path: str, args, kwargs):
    if job_id is None:  # internal work, no JobRun: its own rows tell how it went
        try:
            result = _resolve(path)(*args, **kwargs)
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("job %s failed", path)
            return None
        return result
    run = db.session.get(JobRun, job_id)
    if run is None:
        log.warning("job %s has no JobRun row; skipped", job_id)
        return None
    if run.status == "finished":
        return run.result  # safe to run twice
    run.status, run.started_at = "started", utcnow()
    db.session.commit()
    try:
        result = _resolve(path)(*args, **kwargs)
        db.session.commit()
    except Exception as exc:  # the job failed; record it, never crash the worker
        db.session.rollback()
        log.exception("job %s (%s) failed", job_id, path)
        run = db.session.get(JobRun, job_id)
        run.status, run.ended_at = "failed", utcnow()
        run.error = f"{type(exc).__name__}: {exc}"[:2000]
        db.session.commit()
        return None
    run = db.session.get(JobRun, job_id)
    run.status, run.progress, run.result, run.ended_at = "finished", 100, result, utcnow()
    db.session.commit()
    return result


def set_progress(percent: int) -> None:
    """Report progress from inside a job (shown by the progress page). Cheap: Redis only."""
    percent = max(0, min(100, int(percent)))
    try:
        from rq import get_current_job

        job = get_current_job()
    except Exception:  # not in a worker
        job = None
    if job is not None:
        job.meta["progress"] = percent
        job.save_meta()


def _live_status(run: JobRun, status: str, progress: int) -> tuple[str, int]:
    if not using_redis():
        return status, progress
    try:
        from rq.job import Job

        job = Job.fetch(run.id, connection=redis_connection())
    except Exception:
        return status, progress
    rq_status = job.get_status(refresh=False)
    rq_status = getattr(rq_status, "value", rq_status)
    if rq_status == "started":
        status = "started"
    return status, int(job.meta.get("progress", progress))


RESULT_LABELS = {"rows": _l("Rows"), "created": _l("Saved"), "rejected": _l("Not imported"),
                 "already_registered": _l("Already registered"), "counted": _l("Counted"),
                 "volunteers": _l("Volunteers"), "records": _l("Service records"),
                 "minutes": _l("Approved minutes"), "bytes": _l("Size (bytes)"),
                 "skipped": _l("Already done")}


def result_label(key: str) -> str:
    return str(RESULT_LABELS.get(key, key))


def ping() -> str:
    """A harmless job: proves the queue and the worker work (used by tests and operators)."""
    return "pong"


def count_to(n: int) -> dict:
    """A job with progress, for the progress page and its tests."""
    for i in range(n):
        set_progress(int(100 * (i + 1) / n))
        time.sleep(0.05)
    return {"counted": n}


# Run once by the worker before it takes jobs. RQ forks a work horse per job, which inherits
# what the worker has loaded: a slow import or font cache loaded here is paid once, not per job.
WORKER_WARM_UPS = ("portal.records.certificates:warm_up",)


def warm_up_worker() -> None:
    for path in WORKER_WARM_UPS:
        try:
            _resolve(path)()
        except Exception:  # a job then loads what it needs itself, as before
            log.exception("worker warm-up %s failed", path)


IN_PROCESS = "portal_in_process"  # a job's meta flag: run it without forking a work horse
_worker_pid: int | None = None


def start_worker(burst: bool = False) -> None:
    """The RQ worker: a work horse (a fork) per job, so that a long or heavy job (an import,
    an export, a certificate) can be stopped at its timeout and takes its memory with it, except
    for internal work scheduled with `after_commit` (the notifications' drain, milliseconds):
    that runs in the worker itself, on its pooled database connection. A fork, a new
    connection and its goodbye cost ~5 ms of CPU a job, more than the drain itself."""
    global _worker_pid
    import gc

    from rq import SimpleWorker, Worker
    from sqlalchemy.orm import configure_mappers

    class PortalWorker(Worker):
        def execute_job(self, job, queue):
            if job.meta.get(IN_PROCESS):
                SimpleWorker.execute_job(self, job, queue)  # RQ's own in-process execution
            else:
                super().execute_job(job, queue)

        def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
            # In-process work gets no heartbeats while it runs: cover its whole timeout.
            if job.meta.get(IN_PROCESS):
                return SimpleWorker.get_heartbeat_ttl(self, job, working_time)
            return super().get_heartbeat_ttl(job, working_time)

        def kill_horse(self, sig=None):
            if self.horse_pid:  # no horse during in-process work: never signal our own group
                super().kill_horse(*([sig] if sig is not None else []))

    warm_up_worker()
    configure_mappers()
    # What is loaded now lives as long as the worker: out of the collector's reach, so that the
    # work horse RQ forks per job neither walks it nor copies its pages by touching them.
    gc.collect()
    gc.freeze()
    _worker_pid = os.getpid()
    queues = [queue(name) for name in current_app.config["RQ_QUEUES"]]
    worker = PortalWorker(queues, connection=redis_connection())
    worker.work(burst=burst, with_scheduler=False)
