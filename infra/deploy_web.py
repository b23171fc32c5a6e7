#!/usr/bin/env python3
"""Publishes the web portal (web/dist) to a deployed stack: uploads the files to the stack's
WebBucket with their content types and caching, writes /config.json (OIDC sign-in against the
stack's OidcIssuer, with OidcAudience as the client id, and the region's name and time zone),
then invalidates what may not be cached stale at the edge.

    python infra/deploy_web.py --stack feedback-72-prod [--region-file infra/regions/72-tyumen.toml]
                               [--dist web/dist] [--no-invalidate]

Run it after `sam deploy` (docs/deploy.md). Credentials, the AWS region and AWS_ENDPOINT_URL come
from the standard environment. Hashed files under assets/ are uploaded first and never deleted, so
a browser still holding the previous index.html finds its scripts; index.html comes last.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tomllib
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
TYPES = {
    "html": "text/html; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "mjs": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "json": "application/json",
    "svg": "image/svg+xml",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "ico": "image/x-icon",
    "woff2": "font/woff2",
    "txt": "text/plain; charset=utf-8",
}


def content_type(name: str) -> str:
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return TYPES.get(ext, "application/octet-stream")


def stack_facts(cfn, stack: str) -> tuple[dict, dict]:
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    params = {p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])}
    return outputs, params


def portal_config(params: dict, region_file: Path) -> dict:
    data = tomllib.loads(region_file.read_text(encoding="utf-8"))
    region = data["region"]
    portal_region = {"code": region["code"], "name": region["name"], "time_zone": region["time_zone"]}
    if "map" in data:
        # The same defaults as the region file's reader (feedback_core::region::MapSettings).
        portal_region["map"] = {
            "tiles_url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            "attribution": "© участники OpenStreetMap",
            **data["map"],
        }
    return {
        "auth": "oidc",
        "issuer": params["OidcIssuer"],
        "client_id": params["OidcAudience"],
        "scope": "openid profile",
        "region": portal_region,
    }


def upload(s3, bucket: str, dist: Path, config: dict) -> list[str]:
    if not (dist / "index.html").is_file():
        raise SystemExit(f"deploy_web: {dist}/index.html is missing; build the portal first (cd web && npm run build)")
    files = sorted(p for p in dist.rglob("*") if p.is_file())
    # Hashed assets first, the shell last: a reader never gets an index.html whose scripts are missing.
    files.sort(key=lambda p: (p.name == "index.html", not p.relative_to(dist).as_posix().startswith("assets/")))
    keys = []
    for path in files:
        key = path.relative_to(dist).as_posix()
        cache = IMMUTABLE if key.startswith("assets/") else REVALIDATE
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(), ContentType=content_type(key), CacheControl=cache)
        keys.append(key)
    s3.put_object(Bucket=bucket, Key="config.json", Body=json.dumps(config, ensure_ascii=False).encode(),
                  ContentType="application/json", CacheControl="no-cache")
    keys.append("config.json")
    return keys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stack", required=True)
    ap.add_argument("--region-file", type=Path, default=ROOT / "infra" / "regions" / "72-tyumen.toml")
    ap.add_argument("--dist", type=Path, default=ROOT / "web" / "dist")
    ap.add_argument("--no-invalidate", action="store_true", help="skip the CloudFront invalidation")
    args = ap.parse_args()

    session = boto3.session.Session()
    outputs, params = stack_facts(session.client("cloudformation"), args.stack)
    bucket = outputs.get("WebBucket")
    if not bucket:
        raise SystemExit(f"deploy_web: stack {args.stack} has no WebBucket output")
    config = portal_config(params, args.region_file)
    keys = upload(session.client("s3"), bucket, args.dist, config)
    print(f"deploy_web: {len(keys)} files in s3://{bucket} (config: {config['issuer']}, client {config['client_id']})")
    if not args.no_invalidate:
        distribution = outputs.get("WebDistributionId")
        if not distribution:
            raise SystemExit(f"deploy_web: stack {args.stack} has no WebDistributionId output")
        paths = ["/index.html", "/config.json", "/favicon.svg"]
        session.client("cloudfront").create_invalidation(
            DistributionId=distribution,
            InvalidationBatch={"Paths": {"Quantity": len(paths), "Items": paths}, "CallerReference": str(time.time())},
        )
        print(f"deploy_web: invalidated {', '.join(paths)} on {distribution}; the portal is at {outputs.get('WebUrl')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
