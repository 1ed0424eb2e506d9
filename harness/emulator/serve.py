"""`python -m harness.emulator.serve [--port N]`: the local stack's moto server, in a process of its own.

A process of its own so that the API's CPU (moto's S3 and SQS) does not share a GIL with the SQS pollers, the
invokers and the telemetry, which then wait for it and add their own latency to every photo. Not `moto_server`
itself: what the local stack changes in moto (harness.emulator.motocompat's CloudFormation fixes, SQS ->
Lambda delivery switched off, harness.emulator.speedups, the CPU ledger) are patches of moto's classes, which
only act in the process that serves the API.

Served by gevent's WSGI server rather than werkzeug's development server (moto's own): one greenlet per
connection instead of a thread, and a cheaper request and body reader. Measured on this project's 2-core
machine, server CPU per request: HEAD 2.4 -> 1.4 ms, a 1 MB PUT 7.6 -> 4.7 ms. gevent patches the standard
library first, so moto's long polls (threading.Condition) wait as greenlets.

Prints one JSON line, {"port": N}, once it listens; stops on SIGTERM or SIGINT, and when the process that
started it is gone (killed before it could stop the server).
"""

from gevent import monkey

monkey.patch_all()  # before anything else imports threading, socket or ssl

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402


def _stop_when_orphaned(parent: int, stop: Callable[[], None]) -> None:
    import gevent

    while os.getppid() == parent:
        gevent.sleep(1.0)
    stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.emulator.serve", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    args = parser.parse_args(argv)

    import gevent
    from gevent.pywsgi import WSGIServer
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from harness.emulator import ledger, speedups
    from harness.emulator.motocompat import patch_moto
    from harness.emulator.server import disable_moto_sqs_delivery

    patch_moto()
    disable_moto_sqs_delivery()
    speedups.install()
    ledger.install()
    server = WSGIServer(("127.0.0.1", args.port), DomainDispatcherApplication(create_backend_app), log=None)
    server.start()
    for signum in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(signum, server.stop)
    gevent.spawn(_stop_when_orphaned, os.getppid(), server.stop)
    sys.stdout.write(json.dumps({"port": server.server_port}) + "\n")
    sys.stdout.flush()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
