"""A webhook receiver for the test suites: verifies every request with the unmodified
`standardwebhooks` package and records each one, verified or refused, as a JSON line.

    python webhook_receiver.py --record FILE --secret-file FILE [--fail-first N]

Prints `listening <port>` once it listens on 127.0.0.1. The secret is read from its file at
every request (the endpoint's secret exists only after the endpoint is created with this
receiver's URL). The first N verified requests are answered 500, to prove retries; other
verified ones 204; refused ones 400.
"""

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--record", required=True)
    parser.add_argument("--secret-file", required=True)
    parser.add_argument("--fail-first", type=int, default=0)
    args = parser.parse_args()
    lock = threading.Lock()
    state = {"failures_left": args.fail_first}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            entry = {
                "path": self.path,
                "webhook_id": headers.get("webhook-id"),
                "webhook_timestamp": headers.get("webhook-timestamp"),
                "body": body.decode("utf-8", "replace"),
            }
            try:
                with open(args.secret_file, encoding="utf-8") as f:
                    secret = f.read().strip()
                Webhook(secret).verify(body, headers)
                entry["verified"] = True
            except (WebhookVerificationError, ValueError, OSError) as e:
                entry["verified"] = False
                entry["error"] = type(e).__name__
            with lock:
                status = 400
                if entry["verified"]:
                    if state["failures_left"] > 0:
                        state["failures_left"] -= 1
                        status = 500
                    else:
                        status = 204
                entry["status"] = status
                with open(args.record, "a", encoding="utf-8") as f:
                    f.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *a: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
