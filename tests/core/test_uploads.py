"""Stored files follow their transaction: kept when it commits, removed when it rolls back,
and a SAVEPOINT rolled back on the way removes nothing stored before it."""

import sqlalchemy as sa

from portal.core.uploads import path_of, store
from portal.extensions import db

PDF = b"%PDF-1.4 a test file"


def test_a_rolled_back_savepoint_keeps_the_file_and_the_rollback_removes_it(app):
    with app.app_context():
        stored = store("a.pdf", PDF, 1)
        path = path_of(stored.storage_key)
        savepoint = db.session.begin_nested()
        db.session.execute(sa.select(1))
        savepoint.rollback()
        assert path.exists()
        db.session.rollback()
        assert not path.exists()


def test_a_committed_file_stays(app):
    with app.app_context():
        stored = store("a.pdf", PDF, 1)
        db.session.commit()
        db.session.rollback()
        assert path_of(stored.storage_key).read_bytes() == PDF
