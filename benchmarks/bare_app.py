"""The ceiling for benchmarks/load.py: FastAPI with one JSON endpoint and nothing else,
served the same way (uvicorn, two workers, a synchronous endpoint in the thread pool)."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/ping")
def ping() -> dict[str, bool]:
    return {"ok": True}


if __name__ == "__main__":  # served as `kep serve` serves: uvicorn, workers sharing one socket
    import sys

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from app.cli import listening_socket

    port, workers = int(sys.argv[1]), int(sys.argv[2])
    config = uvicorn.Config(
        "benchmarks.bare_app:app", port=port, workers=workers, log_level="warning", access_log=False
    )
    Multiprocess(config, sockets=[listening_socket(config)]).run()
