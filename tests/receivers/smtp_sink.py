"""An SMTP server for the tests: accepts every mail on 127.0.0.1:PORT and appends it to
OUT/mails.jsonl: the envelope, the raw message, and its headers and parts decoded. Prints
"ready" once it listens."""

import argparse
import asyncio
import email
import email.policy
import json
import os
import signal
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out):
        self.path = os.path.join(out, "mails.jsonl")
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.content.decode("utf-8", "replace")
        msg = email.message_from_string(raw, policy=email.policy.default)
        text = msg.get_body(("plain",))
        html = msg.get_body(("html",))
        line = json.dumps(
            {
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "from": str(msg["From"]),
                "to": str(msg["To"]),
                "subject": str(msg["Subject"]),
                "content_type": msg.get_content_type(),
                "list_unsubscribe": str(msg["List-Unsubscribe"]),
                "list_unsubscribe_post": str(msg["List-Unsubscribe-Post"]),
                "text": text.get_content() if text else None,
                "html": html.get_content() if html else None,
                "data": raw,
            },
            ensure_ascii=False,
        )
        await asyncio.to_thread(self.append, line)
        return "250 OK"

    def append(self, line):
        with self.lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    controller = Controller(Sink(args.out), hostname="127.0.0.1", port=args.port)
    controller.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
