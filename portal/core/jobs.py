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

Durable: the JobRun row is the truth and Redis only carries the nudge. The row keeps what to
call (`name`, `args`) and a lease (`lease_until`): JOB_RECOVERY_SECONDS for the nudge to arrive,
then renewed by a heartbeat while the job runs. A job whose lease ran out (its nudge was lost,
Redis was down or flushed, its work horse or worker was killed, the database went away under it)
is queued again by `recover_jobs`, which the worker runs at start and every JOB_TICK_SECONDS,
at most JOB_MAX_TRIES times; then it is `failed` with the reason, and the module that asked for
it hears so (`gives_up`). A job is taken only from `queued`, so a second nudge runs nothing
twice. Without a worker, `flask --app portal jobs recover` does the same from cron.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, g, has_app_context, has_request_context
from flask_babel import lazy_gettext as _l
from redis.exceptions import RedisError
from rq.timeouts import JobTimeoutException
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.core.db import UTCDateTime, utcnow
from portal.extensions import db

log = logging.getLogger(__name__)

STATUSES = ("queued", "started", "finished", "failed")
LIVE = ("queued", "started")
# What a lost Redis looks like to its client: refused, reset, timed out, or out of memory.
QUEUE_ERRORS = (RedisError, OSError)


class JobRun(db.Model):
    __tablename__ = "job_runs"
    __table_args__ = (
        # The recovery's look-up: live jobs by lease; finished ones (nearly all) stay out of it.
        sa.Index("ix_job_runs_live_lease", "lease_until",
                 sqlite_where=sa.text("status IN ('queued', 'started')"),
                 postgresql_where=sa.text("status IN ('queued', 'started')")),
    )

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
    # What to call again after a loss: {"args": [...], "kwargs": {...}} (JSON: pass ids).
    call: Mapped[dict | None] = mapped_column(sa.JSON)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    # While queued or started: when the job counts as lost unless its heartbeat renews this.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def to_dict(self) -> dict:
        status, progress = self.status, self.progress
        if status in ("queued", "started"):
            status, progress = _live_status(self, status, progress)
        return {"id": self.id, "name": self.name, "status": status, "progress": progress,
                "result": self.result, "error": self.error}


class TryAgain(Exception):  # noqa: N818 (an outcome, not an error of the job's)
    """Raised by a job whose try was lost through no fault of its own (a helper process it
    relied on died): the try is given back and the job is run again after the recovery's
    next tick, as for a killed work horse, a bounded number of times (JOB_MAX_TRIES)."""


# Jobs the worker runs in its own process rather than in a work horse forked for each: those
# whose cost is a fork's several times over otherwise (a certificate: its PDF is made by a
# long-lived renderer process, portal.records.renderer, which is what a crash can take).
_IN_WORKER: set[str] = set()


def runs_in_worker(job: Callable) -> Callable:
    _IN_WORKER.add(_path(job))
    return job


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
                 created_by=getattr(actor, "id", None), attempts=0,
                 call={"args": list(args), "kwargs": kwargs}, lease_until=_lease_end())
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


def _lease_end(now: datetime | None = None) -> datetime:
    return (now or utcnow()) + timedelta(seconds=current_app.config["JOB_RECOVERY_SECONDS"])


def using_redis() -> bool:
    return bool(current_app.config.get("REDIS_URL"))


# A Redis that failed is left alone for QUEUE_RETRY_SECONDS by this process: one that hangs
# instead of refusing would otherwise cost every request its timeout (the jobs wait in the
# database, the failure counts go to the database, meanwhile).
_queue_failed_at: dict[str, float] = {}


def queue_usable() -> bool:
    """False while this process saw Redis fail in the last QUEUE_RETRY_SECONDS."""
    failed = _queue_failed_at.get(current_app.config.get("REDIS_URL") or "")
    return failed is None or \
        time.monotonic() - failed > current_app.config["QUEUE_RETRY_SECONDS"]


def queue_failed(exc: Exception, what: str) -> None:
    """Redis failed: say so once, and leave it alone for QUEUE_RETRY_SECONDS."""
    url = current_app.config.get("REDIS_URL") or ""
    if queue_usable():
        log.warning("Redis unreachable (%s) %s; not asked again for %d s", type(exc).__name__,
                    what, current_app.config["QUEUE_RETRY_SECONDS"])
    _queue_failed_at[url] = time.monotonic()


def redis_connection():
    from redis import Redis

    ext = current_app.extensions.setdefault("portal_redis", {})
    if "conn" not in ext:
        # A Redis that went away must not hold a request: 2 s to connect or for an answer (a
        # worker raises the latter for its own blocking reads).
        ext["conn"] = Redis.from_url(current_app.config["REDIS_URL"], socket_connect_timeout=2,
                                     socket_timeout=2)
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
        # Committed is committed: the request answers what it did. Without Redis the rows wait:
        # a JobRun until its lease runs out and the recovery queues it again, the outbox until
        # the worker's next tick drains it.
        if not queue_usable():
            return
        try:
            _nudge(pending)
        except QUEUE_ERRORS as exc:
            queue_failed(exc, f"({len(pending)} job(s) wait in the database)")
        return
    if has_request_context():
        # Inline, at the end of the request: the committing session still holds its
        # connection here, and a job needs one of its own (under load, taking a second
        # connection inside the commit would empty the pool and deadlock).
        g.setdefault("inline_jobs", []).extend(pending)
        return
    for job in pending:  # a command or a job: nothing else waits for the pool
        _run_inline(job)


def _nudge(pending) -> None:
    for job_id, path, args, kwargs, coalesce in pending:
        # One waiting job of a name at a time: the flag lives until the worker starts it (or a
        # minute, should the worker die holding it; the worker's tick drains meanwhile).
        key = _coalesce_key(coalesce) if coalesce else None
        if key and not redis_connection().set(key, "1", nx=True, ex=60):
            continue
        # Internal work (no JobRun) is short: the worker runs it in its own process.
        queue().enqueue(run_job, job_id, path, args, kwargs, coalesce=key,
                        job_id=job_id, job_timeout=current_app.config["JOB_TIMEOUT"],
                        meta={IN_PROCESS: True} if job_id is None else None)


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
    now = utcnow()
    # Taken only from `queued`: a second nudge (or a recovered job's old one) runs nothing twice.
    # The try it takes (`attempts`) fences everything this run writes to the row afterwards: a
    # run that was given up for lost and queued again can no longer renew, finish or fail it.
    attempt = db.session.scalar(
        sa.update(JobRun).where(JobRun.id == job_id, JobRun.status == "queued")
        .values(status="started", started_at=now, attempts=JobRun.attempts + 1,
                lease_until=_lease_end(now))
        .returning(JobRun.attempts)
        .execution_options(synchronize_session=False))
    db.session.commit()
    if attempt is None:
        run = db.session.get(JobRun, job_id)
        log.info("job %s is %s: not run", job_id, run.status if run else "gone")
        return run.result if run is not None else None
    mine = sa.and_(JobRun.id == job_id, JobRun.status == "started", JobRun.attempts == attempt)
    with _Heartbeat(job_id, attempt):
        try:
            result = _resolve(path)(*args, **kwargs)
            # Finished in the job's own last transaction, if this run still holds the job (else
            # another run has it, and this one's last work is undone).
            finished = db.session.execute(
                sa.update(JobRun).where(mine)
                .values(status="finished", progress=100, result=result, ended_at=utcnow(),
                        lease_until=None, error=None)
                .execution_options(synchronize_session=False)).rowcount
            if not finished:
                db.session.rollback()
                log.warning("job %s (%s): try %d was superseded; its end is not kept", job_id,
                            path, attempt)
                return None
            db.session.commit()
        except OperationalError:
            # The database went away: nothing can be recorded now. The lease runs out and the
            # recovery runs the job again (a bounded number of times).
            _forget_session()
            log.exception("job %s (%s) lost its database; it will be tried again", job_id, path)
            return None
        except JobTimeoutException:
            # Past JOB_TIMEOUT: tried again now (a bounded number of times), not failed at once.
            db.session.rollback()
            log.error("job %s (%s) passed its timeout; it will be tried again", job_id, path)
            expire_lease(job_id, attempt, TIMED_OUT)
            return None
        except TryAgain as exc:
            db.session.rollback()
            log.error("job %s (%s) gave its try back (%s); it will be tried again", job_id,
                      path, exc)
            expire_lease(job_id, attempt, str(exc))
            return None
        except Exception as exc:  # the job failed; record it, never crash the worker
            db.session.rollback()
            log.exception("job %s (%s) failed", job_id, path)
            run = db.session.scalar(sa.select(JobRun).where(mine).with_for_update())
            if run is not None:  # else another run holds it now
                _give_up(run, f"{type(exc).__name__}: {exc}")
            db.session.commit()
            return None
    return result


def expire_lease(job_id: str, attempt: int | None = None, why: str | None = None) -> None:
    """The job's process is gone (or gave up its try): recover it at the next tick. `why`
    becomes the reason shown should its tries run out."""
    where = [JobRun.id == job_id, JobRun.status == "started"]
    if attempt is not None:
        where.append(JobRun.attempts == attempt)
    values = {"lease_until": utcnow()}
    if why:
        values["error"] = why
    db.session.execute(sa.update(JobRun).where(*where).values(**values)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def _forget_session() -> None:
    with contextlib.suppress(Exception):  # the connection is gone; the pool replaces it
        db.session.rollback()
    db.session.remove()


class _Heartbeat:
    """While a job runs, renew its lease every third of JOB_RECOVERY_SECONDS on a connection of
    its own: a job that stops renewing (killed, its machine gone) is recovered, one that merely
    runs long is not. The thread dies with the process that runs the job."""

    def __init__(self, job_id: str, attempt: int):
        self.job_id, self.attempt, self.engine = job_id, attempt, db.engine
        self.seconds = current_app.config["JOB_RECOVERY_SECONDS"]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"lease {job_id}", daemon=True)

    def _beat(self) -> None:
        table = JobRun.__table__
        while not self.stop.wait(max(0.5, self.seconds / 3)):
            try:
                with self.engine.begin() as conn:
                    conn.execute(table.update().where(
                        table.c.id == self.job_id, table.c.status == "started",
                        table.c.attempts == self.attempt).values(
                        lease_until=utcnow() + timedelta(seconds=self.seconds)))
            except Exception as exc:  # the job goes on; a missed beat only risks a re-run
                log.warning("job %s: lease not renewed (%s)", self.job_id, type(exc).__name__)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=10)


# --- giving up and recovering -----------------------------------------------------------------

_GIVE_UP: dict[str, Callable] = {}


def gives_up(job: Callable):
    """Register what to do when `job` fails for good (it raised, or it was lost JOB_MAX_TRIES
    times): `handler(*args, reason=..., **kwargs)` with the job's own arguments, in the
    transaction that marks the JobRun failed. A certificate is marked failed by it, so that
    asking again starts afresh."""
    def register(handler: Callable) -> Callable:
        _GIVE_UP[_path(job)] = handler
        return handler
    return register


def _give_up(run: JobRun, reason: str) -> None:
    run.status, run.ended_at, run.lease_until = "failed", utcnow(), None
    run.error = reason[:2000]
    with contextlib.suppress(ImportError, AttributeError):
        _resolve(run.name)  # imports the job's module, which registers its handler
    handler = _GIVE_UP.get(run.name)
    if handler is not None and run.call is not None:
        handler(*run.call["args"], reason=run.error, **run.call["kwargs"])


LOST = "lost:"
TIMED_OUT = "timeout: the job ran longer than JOB_TIMEOUT"


def lost_reason(tries: int) -> str:
    return f"{LOST} the job stopped without finishing ({tries} tries)"


def failure_text(error: str | None) -> str:
    """Why a job failed, for the person who asked (pages: the `job_failure` filter)."""
    from flask_babel import gettext as _

    if not error:
        return ""
    if error.startswith(LOST):
        return _("The work was interrupted too many times (the server restarted or ran out of "
                 "memory). Please ask again.")
    if error == TIMED_OUT:
        return _("The work took too long and was stopped. Please ask again, for a shorter "
                 "period if you can.")
    return _("The work stopped with an error: {error}").format(error=error[:300])


def _queue_answers() -> bool:
    if not queue_usable():
        return False
    try:
        return bool(redis_connection().ping())
    except QUEUE_ERRORS as exc:
        queue_failed(exc, "(lost jobs are queued again once it is back)")
        return False


def _rq_still_waiting(job_id: str) -> bool | None:
    """Does Redis still hold this job's nudge, waiting to be run? None: Redis cannot say."""
    if not using_redis():
        return False
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    try:
        status = Job.fetch(job_id, connection=redis_connection()).get_status(refresh=False)
    except NoSuchJobError:
        return False
    except QUEUE_ERRORS:
        return None
    return getattr(status, "value", status) in ("queued", "scheduled", "deferred")


def _recover(runs) -> dict:
    """Queue again (after this transaction commits) each of `runs` whose lease ran out, or give
    it up after JOB_MAX_TRIES. A queued job whose nudge is still in Redis only gets a new lease
    (a long queue is not a lost job)."""
    now, tries = utcnow(), current_app.config["JOB_MAX_TRIES"]
    counts = {"requeued": 0, "failed": 0, "waiting": 0}
    pending = db.session.info.setdefault("pending_jobs", [])
    # Asked once, not per job: rows stay locked while Redis is asked about them.
    queue_up = not using_redis() or _queue_answers()
    for run in runs:
        if run.status not in LIVE or (run.lease_until is not None and run.lease_until > now):
            continue
        if run.call is None or run.attempts >= tries:
            _give_up(run, run.error if run.error == TIMED_OUT else lost_reason(run.attempts))
            counts["failed"] += 1
            continue
        if run.status == "queued":
            waiting = _rq_still_waiting(run.id) if queue_up else None
            if waiting is None:
                continue  # Redis is away: nothing can be queued now; the next tick tries
            if waiting:
                run.lease_until = _lease_end(now)
                counts["waiting"] += 1
                continue
        log.warning("job %s (%s) was lost after %d tries; queued again", run.id, run.name,
                    run.attempts)
        run.status, run.lease_until = "queued", _lease_end(now)
        pending.append((run.id, run.name, run.call["args"], run.call["kwargs"], None))
        counts["requeued"] += 1
    return counts


def recover_jobs(limit: int = 200) -> dict:
    """Periodic work: every live job whose lease ran out is queued again or given up (each
    claimed FOR UPDATE SKIP LOCKED on PostgreSQL, so that two workers share the work)."""
    stale = db.session.scalars(
        sa.select(JobRun).where(JobRun.status.in_(LIVE),
                                sa.or_(JobRun.lease_until.is_(None),
                                       JobRun.lease_until < utcnow()))
        .order_by(JobRun.created_at).limit(limit).with_for_update(skip_locked=True)).all()
    counts = _recover(stale)
    db.session.commit()
    return counts


def revive(run: JobRun | None) -> bool:
    """Someone is waiting on `run` (asking again, watching its progress): if it was lost, queue
    it again (or give it up) once the caller's transaction commits, instead of at the worker's
    next tick; without a worker, this is how a lost job comes back. True if it changed."""
    if run is None or run.status not in LIVE or \
            (run.lease_until is not None and run.lease_until > utcnow()):
        return False
    # Locked and read afresh: the worker's recovery (or another request) may be at it too.
    run = db.session.get(JobRun, run.id, with_for_update=True, populate_existing=True)
    counts = _recover([run])
    return bool(counts["requeued"] or counts["failed"])


def periodic_work() -> dict:
    """What the worker does at start and every JOB_TICK_SECONDS, whatever Redis does: recover
    lost jobs and drain the notifications' outbox (a lost nudge or a stale "waiting" flag then
    delays a notification by one tick at most), and once a day remind hosts of statements due.
    Each step in a session of its own; returns each step's answer by its path (a failed step's
    is None). `flask jobs recover` runs the same from cron where no worker runs."""
    results: dict = {}
    for path in PERIODIC:
        results[path] = None
        try:
            results[path] = _resolve(path)()
            db.session.commit()
        except OperationalError as exc:  # the database is away: one line a tick, no traceback
            log.error("periodic work %s: database unavailable (%s)", path,
                      str(exc.orig or exc).splitlines()[0][:200])
            _forget_session()
        except Exception:
            log.exception("periodic work %s failed", path)
            _forget_session()
    return results


PERIODIC = ("portal.core.jobs:recover_jobs", "portal.core.notify:deliver_outbox",
            "portal.charity.disclosure:remind_daily", "portal.ratings.services:tick",
            "portal.callouts.services:close_ended")


def set_progress(percent: int) -> None:
    """Report progress from inside a job (shown by the progress page). Cheap: Redis only."""
    percent = max(0, min(100, int(percent)))
    try:
        from rq import get_current_job

        job = get_current_job()
    except Exception:  # not in a worker
        job = None
    if job is not None and queue_usable():
        job.meta["progress"] = percent
        try:
            job.save_meta()
        except QUEUE_ERRORS as exc:  # a nicety: the work goes on without Redis
            queue_failed(exc, "(progress not shown)")


def _live_status(run: JobRun, status: str, progress: int) -> tuple[str, int]:
    if not using_redis() or not queue_usable():
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
                 "skipped": _l("Already done"), "places": _l("Places filled")}


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


# Run once by the worker before it takes jobs (and before its threads start): a slow import
# loaded here is paid once, not per job (a work horse inherits it), and the certificates'
# PDF renderer starts here.
WORKER_WARM_UPS = ("portal.records.certificates:warm_up",)


def warm_up_worker() -> None:
    for path in WORKER_WARM_UPS:
        try:
            _resolve(path)()
        except Exception:  # a job then loads what it needs itself, as before
            log.exception("worker warm-up %s failed", path)


IN_PROCESS = "portal_in_process"  # a job's meta flag: run it without forking a work horse


def _in_process(job) -> bool:
    """Run in the worker itself: internal work (flagged when queued), and the jobs marked
    `runs_in_worker`, judged here by what the job calls, whoever queued it (a command that
    never imported the job's module cannot have flagged it)."""
    if job.meta.get(IN_PROCESS):
        return True
    args = job.args or ()
    if job.func_name != _path(run_job).replace(":", ".") or len(args) < 2:
        return False
    try:  # its module marks it as it loads (the worker has most loaded already)
        importlib.import_module(str(args[1]).partition(":")[0])
    except ImportError:
        return False  # run_job says so, in a work horse
    return args[1] in _IN_WORKER
_worker_pid: int | None = None


def start_worker(burst: bool = False) -> None:
    """The RQ worker: a work horse (a fork) per job, so that a long or heavy job (an import,
    an export) can be stopped at its timeout and takes its memory with it, except for internal
    work scheduled with `after_commit` (the notifications' drain, milliseconds) and the jobs
    marked `runs_in_worker` (a certificate, whose PDF a long-lived renderer process makes):
    those run in the worker itself, on its pooled database connection. A fork, a new
    connection and its goodbye cost ~5 ms of CPU a job, more than the drain itself, and with
    RQ's bookkeeping 0.6 s of a certificate's 0.8 s.

    Beside it a thread does the periodic work (`periodic_work`: recovery and the outbox) at
    start and every JOB_TICK_SECONDS, on the database alone, so it goes on while Redis is down;
    and when Redis goes away the worker waits for it instead of exiting."""
    global _worker_pid
    import gc

    from rq import SimpleWorker, Worker
    from sqlalchemy.orm import configure_mappers

    class PortalWorker(Worker):
        def execute_job(self, job, queue):
            if _in_process(job):
                SimpleWorker.execute_job(self, job, queue)  # RQ's own in-process execution
            else:
                super().execute_job(job, queue)

        def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
            # In-process work gets no heartbeats while it runs: cover its whole timeout.
            if _in_process(job):
                return SimpleWorker.get_heartbeat_ttl(self, job, working_time)
            return super().get_heartbeat_ttl(job, working_time)

        def kill_horse(self, sig=None):
            if self.horse_pid:  # no horse during in-process work: never signal our own group
                super().kill_horse(*([sig] if sig is not None else []))

        def request_stop(self, signum, frame):
            self.stop_event.set()  # RQ's own flag is set only when a job is running
            super().request_stop(signum, frame)

        def handle_work_horse_killed(self, job, retpid, ret_val, rusage):
            super().handle_work_horse_killed(job, retpid, ret_val, rusage)
            try:  # the OOM killer, an operator: recover the job at the next tick
                if not _in_process(job):
                    expire_lease(job.id)
            except Exception:
                log.exception("job %s: could not mark it lost", job.id)
                _forget_session()

    warm_up_worker()
    configure_mappers()
    # What is loaded now lives as long as the worker: out of the collector's reach, so that the
    # work horse RQ forks per job neither walks it nor copies its pages by touching them.
    gc.collect()
    gc.freeze()
    _worker_pid = os.getpid()
    app = current_app._get_current_object()
    ticker = _Ticker(app)
    ticker.start()
    queues = [queue(name) for name in current_app.config["RQ_QUEUES"]]
    stop = threading.Event()  # a SIGTERM (or SIGINT), whatever RQ's worker object knew of it

    def request_stop(signum, frame):
        stop.set()
        raise SystemExit(0)

    try:
        while not stop.is_set():
            try:
                # RQ talks to Redis as soon as a worker is made: inside the try.
                worker = PortalWorker(queues, connection=redis_connection())
                worker.stop_event = stop
                worker.max_connection_wait_time = REDIS_RETRY_SECONDS * 5  # back soon
                worker.work(burst=burst, with_scheduler=False)
                if burst or worker._stop_requested or stop.is_set():
                    return
                log.error("worker: the work loop ended; starting it again in %d s",
                          REDIS_RETRY_SECONDS)
            except QUEUE_ERRORS as exc:  # Redis away at start or mid-loop: wait for it
                if burst or stop.is_set():
                    return
                log.error("worker: Redis unreachable (%s); trying again in %d s",
                          type(exc).__name__, REDIS_RETRY_SECONDS)
            # Between runs of the loop RQ's own handlers are not listening: ours are.
            signal.signal(signal.SIGTERM, request_stop)
            signal.signal(signal.SIGINT, request_stop)
            stop.wait(REDIS_RETRY_SECONDS)
    finally:
        ticker.stop.set()


REDIS_RETRY_SECONDS = 2


class _Ticker(threading.Thread):
    """The worker's clock: `periodic_work` at start and every JOB_TICK_SECONDS."""

    def __init__(self, app):
        super().__init__(name="portal periodic work", daemon=True)
        self.app, self.stop = app, threading.Event()

    def run(self) -> None:
        seconds = self.app.config["JOB_TICK_SECONDS"]
        while True:
            if os.getpid() != _worker_pid:
                return  # never in a work horse (a fork has no threads, but be sure)
            with self.app.app_context():
                periodic_work()
                db.session.remove()
            if self.stop.wait(seconds):
                return
