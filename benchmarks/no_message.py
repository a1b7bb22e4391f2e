"""`kep serve` writing no message for any change: what the service's registrations cost
with their messages (and so the mail sender's work) left out, for the row of
benchmarks/load.py between the service and the floor, and for the same split in one
process (``registrations.py --split``). A reference, as the floor is, not a way to run
the service.

    .venv/bin/python -m benchmarks.no_message serve --port 8000 --workers 2

Everything else is the service as it is: the ORM, the audit entry, the feeds' hooks,
who is calling, the middleware, the answer. The workers are started by
multiprocessing's spawn, which imports this module again in each of them as their main
module (``__mp_main__``), so the messages are left out in every worker.
"""

from typing import Any
from unittest import mock

from app.cli import main
from app.notifications import reactions


def without_messages() -> Any:
    """While it is entered, no change drafts a message."""
    return mock.patch.object(reactions, "drafts_for", lambda *_args: [])


if __name__ in ("__main__", "__mp_main__"):
    without_messages().start()
    if __name__ == "__main__":
        main()
