"""Where a study lives: a SQLite file (one machine), any SQLAlchemy URL (PostgreSQL, MySQL: many machines), or a
journal file on a disk the machines share. Every kind keeps heartbeats: a trial whose worker stopped beating (killed,
its machine lost) is failed and queued again, for the next worker to take up (in its run folder, where it lives)."""

import time
from pathlib import Path

import sqlalchemy
from optuna.storages import JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages._heartbeat import BaseHeartbeat
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from runkit.errors import UserError

BEATS_MISSED = 3  # a trial is given up after this many heartbeats missed in a row
HEARTBEAT = "heartbeat"  # the system attribute holding a journal trial's last heartbeat (seconds since the epoch)


def open_storage(url: str, heartbeat_s: int):
    """The storage `url` names: `sqlite:///FILE`, another SQLAlchemy URL, or (anything without `://`) a journal
    file. A UserError in one line if it cannot be opened; nothing is written then."""
    # A trial whose run kills its worker each time is given up after 3 tries.
    retry = RetryHeartbeatStaleTrialCallback(max_retry=3)
    if "://" not in url:
        if not Path(url).parent.is_dir():
            raise UserError(f"--storage {url}: its folder {Path(url).parent} does not exist; create it (on a disk "
                            "the machines share, to search on many)")
        return HeartbeatJournal(url, heartbeat_s, retry)
    try:
        shown = sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        raise UserError(f"--storage {url}: not a database URL; write sqlite:///FILE, "
                        "postgresql://USER@HOST/DATABASE, or a journal file's path") from None
    try:
        return RDBStorage(url, heartbeat_interval=heartbeat_s, grace_period=BEATS_MISSED * heartbeat_s,
                          heartbeat_stale_trial_callback=retry)
    except (sqlalchemy.exc.SQLAlchemyError, ImportError) as e:
        cause = str(getattr(e, "orig", None) or e).strip().splitlines()[0]
        raise UserError(f"--storage {shown}: cannot open it ({cause}); check the URL, that the server runs and "
                        "its driver is installed (pip install 'psycopg[binary]' for PostgreSQL)") from None


class HeartbeatJournal(JournalStorage, BaseHeartbeat):
    """A journal file whose running trials beat as RDBStorage's do (Optuna's journal has no heartbeat): each beat
    is a line of the journal, and a trial is stale when its last beat (or its start) is too long ago. Machines
    sharing the file must agree on the time (NTP)."""

    def __init__(self, path: str, heartbeat_s: int, retry):
        super().__init__(JournalFileBackend(path))
        self.heartbeat_s, self.retry = heartbeat_s, retry

    def record_heartbeat(self, trial_id: int) -> None:
        self.set_trial_system_attr(trial_id, HEARTBEAT, time.time())

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        now = time.time()
        return [t._trial_id for t in self.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,))
                if now - max(t.system_attrs.get(HEARTBEAT, 0), t.datetime_start.timestamp())
                > BEATS_MISSED * self.heartbeat_s]

    def get_heartbeat_interval(self) -> int:
        return self.heartbeat_s

    def get_heartbeat_stale_trial_callback(self):
        return self.retry
