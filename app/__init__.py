"""KEP 2.0 events service: joint seminars, peer-to-peer events, registration and feeds."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kep-events")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0.0.0"
