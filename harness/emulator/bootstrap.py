"""The Lambda runtime loop inside a worker process (one warm "container"): standard library only.

Run as `pythonX.Y -I -S bootstrap.py`: isolated (no PYTHONPATH, no user or site-packages, not even the
harness's), so the function sees the unzipped package (LAMBDA_TASK_ROOT) and the runtime's boto3
(LAMBDA_RUNTIME_DIR) and nothing else, as on Lambda. Requests arrive as JSON lines on stdin; answers go to the
file descriptor named by _PHOTOPIPE_RESPONSE_FD, so the function's own stdout stays its log stream.
"""

import importlib
import json
import os
import sys
import time
import traceback
from typing import Any

END_MARK = "\x1e"


class LambdaContext:
    def __init__(self, request_id: str, deadline_ms: int) -> None:
        self.aws_request_id = request_id
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
        self.invoked_function_arn = os.environ["_PHOTOPIPE_FUNCTION_ARN"]
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity: Any = None
        self.client_context: Any = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_ms - time.time() * 1000))


def _error(exc: BaseException, request_id: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }
    if request_id:
        error["requestId"] = request_id
    return error


def main() -> int:
    sys.path[:0] = [os.environ["LAMBDA_TASK_ROOT"], os.environ["LAMBDA_RUNTIME_DIR"]]
    os.chdir(os.environ["LAMBDA_TASK_ROOT"])
    answers = os.fdopen(int(os.environ.pop("_PHOTOPIPE_RESPONSE_FD")), "w", buffering=1)
    module_name, function_name = os.environ["_HANDLER"].rsplit(".", 1)
    started = time.monotonic()
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as exc:  # what Lambda reports for a function that cannot be loaded
        error = _error(exc)
        error["errorType"] = "Runtime.ImportModuleError" if isinstance(exc, ImportError) else "Runtime.Init"
        error["errorMessage"] = f"Unable to import module '{module_name}': {exc}"
        print(json.dumps(error), flush=True)
        answers.write(json.dumps({"init_error": error}) + "\n")
        return 1
    answers.write(json.dumps({"ready": True, "init_ms": (time.monotonic() - started) * 1000}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        request_id = request["id"]
        context = LambdaContext(request_id, request["deadline_ms"])
        try:
            answer = {"id": request_id, "ok": True, "result": handler(request["event"], context)}
        except Exception as exc:
            error = _error(exc, request_id)
            print(json.dumps(error), flush=True)
            answer = {"id": request_id, "ok": False, "error": error}
        sys.stdout.flush()
        sys.stderr.flush()
        print(END_MARK + request_id, flush=True)
        answers.write(json.dumps(answer, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
