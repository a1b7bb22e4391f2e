"""How pytest-xdist shares the suite between processes (``make test``, ``-n``).

Every test on PostgreSQL runs in one process, one after another, as in a run in one
process: a state of the data there is the server's snapshot (``app.data_state``), which
any transaction in any database of the server moves, so a test that finds an answer
kept by that state would miss it while another process's test writes. Every other test
file runs whole in one process, so that what its module sets up once (a browser, served
processes, a programme) is set up once. The largest share, PostgreSQL's, is handed out
first (the scheduler orders shares by their number of tests).
"""

from xdist.scheduler import LoadScopeScheduling

from tests.helpers.database import backend_of


def share_of(nodeid: str) -> str:
    """The share a test runs in: ``postgresql``, or its file."""
    if backend_of(nodeid) == "postgresql":
        return "postgresql"
    return nodeid.split("::", 1)[0]


class ByDatabase(LoadScopeScheduling):
    """pytest-xdist's scheduling by scope, with the shares above as scopes."""

    def _split_scope(self, nodeid: str) -> str:
        return share_of(nodeid)
