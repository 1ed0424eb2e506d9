"""`python -m harness.localstack.serve [--port N]`: the local stack's moto server, in a process of its own.

A process of its own so that the API's CPU (werkzeug, moto's S3 and SQS) does not share a GIL with the SQS
pollers, the invokers and the telemetry, which then wait for it and add their own latency to every photo.
Not `moto_server` itself: what the local stack changes in moto (harness.motocompat's CloudFormation fixes,
SQS -> Lambda delivery switched off, harness.localstack.speedups, the CPU ledger) are patches of moto's
classes, which only act in the process that serves the API.

Prints one JSON line, {"port": N}, once it listens; stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.localstack.serve", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    args = parser.parse_args(argv)

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from harness.localstack import ledger, speedups
    from harness.localstack.server import disable_moto_sqs_delivery
    from harness.motocompat import patch_moto

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # werkzeug logs every request otherwise
    patch_moto()
    disable_moto_sqs_delivery()
    speedups.install()
    ledger.install()
    server: Any = make_server(
        "127.0.0.1",
        args.port,
        DomainDispatcherApplication(create_backend_app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )

    def stop(_signum: int, _frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.stdout.write(json.dumps({"port": server.server_port}) + "\n")
    sys.stdout.flush()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
