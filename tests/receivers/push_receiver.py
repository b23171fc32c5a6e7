"""A Web Push receiver for tests: a browser's side of RFC 8030 on a loopback port.

Generates a subscription (P-256 key pair and auth secret), prints one JSON line
`{"subscription": {endpoint, keys: {p256dh, auth}}}`, then serves HTTP. For each POST it checks
the VAPID JWT (RFC 8292: ES256 under the `k=` key, `aud` = this origin, `exp` in the future and
at most 24 h away, `sub` present), decrypts the body (RFC 8291, aes128gcm) and prints one JSON
line per push: `{"accepted": true, "plaintext": ..., "headers": {...}}` or
`{"accepted": false, "error": ...}`. Answers `--status` (201 by default) to accepted pushes and
400 to refused ones. Ends when standard input closes.
"""

import argparse
import base64
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def emit(record: dict) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--status", type=int, default=201)
    args = parser.parse_args()

    private_key = ec.generate_private_key(ec.SECP256R1())
    public_point = private_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    auth_secret = os.urandom(16)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                record = self.check(body)
                status = args.status
            except Exception as error:  # noqa: BLE001 (every refusal is reported)
                record = {
                    "accepted": False,
                    "error": f"{type(error).__name__}: {error}",
                }
                status = 400
            emit(record)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def check(self, body: bytes) -> dict:
            scheme, _, params = self.headers.get("Authorization", "").partition(" ")
            if scheme != "vapid":
                raise ValueError("Authorization is not vapid")
            fields = dict(
                part.strip().split("=", 1) for part in params.split(",") if "=" in part
            )
            vapid_key = ec.EllipticCurvePublicKey.from_encoded_point(
                ec.SECP256R1(), unb64url(fields["k"])
            )
            host, port = self.server.server_address[:2]
            origin = f"http://{host}:{port}"
            claims = jwt.decode(
                fields["t"],
                vapid_key,
                algorithms=["ES256"],
                audience=origin,
                options={"require": ["aud", "exp", "sub"]},
            )
            if claims["exp"] > time.time() + 24 * 3600:
                raise ValueError("exp is more than 24 hours away")
            if not str(claims["sub"]).startswith(("mailto:", "https:")):
                raise ValueError("sub is not a mailto: or https: URL")
            if self.headers.get("Content-Encoding") != "aes128gcm":
                raise ValueError("Content-Encoding is not aes128gcm")
            plaintext = http_ece.decrypt(
                body,
                private_key=private_key,
                auth_secret=auth_secret,
                version="aes128gcm",
            )
            return {
                "accepted": True,
                "plaintext": plaintext.decode(),
                "claims": claims,
                "headers": {
                    "ttl": self.headers.get("TTL"),
                    "urgency": self.headers.get("Urgency"),
                },
            }

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    emit(
        {
            "subscription": {
                "endpoint": f"http://127.0.0.1:{port}/push/{b64url(os.urandom(12))}",
                "expirationTime": None,
                "keys": {"p256dh": b64url(public_point), "auth": b64url(auth_secret)},
            }
        }
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
