"""`kep serve` writing no message for any change: what the service's registrations cost
with their messages (and so the mail sender's work) left out, for the row of
benchmarks/load.py between the service and the floor. A reference, as the floor is,
not a way to run the service.

    .venv/bin/python -m benchmarks.no_message serve --port 8000 --workers 2

Everything else is the service as it is: the ORM, the audit entry, the feeds' hooks,
who is calling, the middleware, the answer. The workers are started by
multiprocessing's spawn, which imports this module again in each of them as their main
module, so the change below holds in every worker.
"""

from app.cli import main
from app.notifications import reactions

reactions.drafts_for = lambda *_args: []  # type: ignore[assignment]

if __name__ == "__main__":
    main()
