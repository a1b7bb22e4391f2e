"""The ceiling for benchmarks/load.py: FastAPI with one JSON endpoint and nothing else,
served the same way (uvicorn, two workers, a synchronous endpoint in the thread pool)."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/ping")
def ping() -> dict[str, bool]:
    return {"ok": True}


def serve(target: str) -> None:
    """Serve ``target`` as `kep serve` serves: uvicorn, workers sharing one socket; the
    port and the number of workers from the command line."""
    import sys

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from app.serving import listening_socket

    port, workers = int(sys.argv[1]), int(sys.argv[2])
    config = uvicorn.Config(
        target, port=port, workers=workers, log_level="warning", access_log=False
    )
    Multiprocess(config, sockets=[listening_socket(config)]).run()


if __name__ == "__main__":
    serve("benchmarks.bare_app:app")
