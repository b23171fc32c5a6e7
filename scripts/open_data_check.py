#!/usr/bin/env python3
"""Validates the open data of a running local host with real tools.

    python scripts/open_data_check.py http://127.0.0.1:PORT

Seeds public messages: six in one grid node (a cell of six keeps its place), four in another
(a cell of four is merged up to the municipality) and one private message. Once they are routed:
- `frictionless` validates the Data Package from /v1/open-data/datapackage.json with both of its
  resources, fetched from the host, and the CSV resource on its own against the package's schema;
- the `geojson` package checks the GeoJSON as RFC 7946 (`is_valid`), and the points are checked
  to be [lon, lat];
- the cell of four and the private message appear nowhere with a place, no text or author
  appears anywhere, and the files are cached (Cache-Control, ETag, 304 on If-None-Match);
- the public scorecards answer without a token.
Exit status 0 with a one-line summary, or 1 with the failure.
"""

import csv
import io
import json
import sys
import time

import geojson
import requests
from frictionless import Package, Resource, Schema, validate

SIX = [(57.1530 + i * 0.00008, 65.5341) for i in range(6)]
FOUR = [(57.1700, 65.5600)] * 4
PRIVATE = (57.1800, 65.5800)
TEXT = "Глубокая яма на проезжей части, номер {n}, звоните 89991234567"


def fail(msg: str) -> None:
    print(f"open_data_check: FAILED: {msg}", file=sys.stderr)
    sys.exit(1)


def submit(base: str, n: int, point, public: bool) -> None:
    sub = f"open-data-{n}"
    t = requests.post(
        f"{base}/v1/dev/tokens",
        json={"sub": sub, "roles": ["citizen"], "region": "72", "municipality": "tyumen"},
        timeout=10,
    )
    t.raise_for_status()
    r = requests.post(
        f"{base}/v1/messages",
        json={
            "category_id": "dorogi-yamy",
            "text": TEXT.format(n=n),
            "municipality_id": "tyumen",
            "address": f"ул. Республики, {n}, кв. 7",
            "location": {"lat": point[0], "lon": point[1]},
            "public": public,
        },
        headers={"Authorization": f"Bearer {t.json()['token']}"},
        timeout=10,
    )
    if r.status_code != 201:
        fail(f"POST /v1/messages: {r.status_code} {r.text}")


def rows(base: str):
    r = requests.get(f"{base}/v1/open-data/messages.csv", timeout=30)
    if r.status_code != 200:
        fail(f"messages.csv: {r.status_code} {r.text}")
    return r, list(csv.DictReader(io.StringIO(r.content.decode("utf-8"))))


def main() -> None:
    base = sys.argv[1].rstrip("/")
    n = 0
    for point in SIX + FOUR:
        submit(base, n, point, True)
        n += 1
    submit(base, n, PRIVATE, False)

    deadline = time.time() + 90
    while True:
        resp, table = rows(base)
        if len(table) >= 10 or time.time() > deadline:
            break
        time.sleep(1)
    if len(table) != 10:
        fail(f"expected the 10 public messages as rows, got {len(table)}")

    # Frictionless: the whole package (both resources), then the CSV on its own.
    package_url = f"{base}/v1/open-data/datapackage.json"
    report = validate(package_url)
    if not report.valid:
        fail("frictionless: the data package is not valid:\n" + json.dumps(report.flatten(["type", "note"]), ensure_ascii=False))
    checked = [t.name for t in report.tasks]
    if sorted(checked) != ["messages", "messages-geojson"]:
        fail(f"frictionless validated {checked}, not both resources")
    package = Package(package_url)
    schema = Schema.from_descriptor(package.get_resource("messages").schema.to_descriptor())
    csv_report = validate(Resource(path=f"{base}/v1/open-data/messages.csv", format="csv", schema=schema))
    if not csv_report.valid or csv_report.tasks[0].stats.get("rows") != 10:
        fail("frictionless: messages.csv is not valid against its schema:\n" + json.dumps(csv_report.flatten(["type", "note"]), ensure_ascii=False))
    if not package.licenses or package.licenses[0].get("name") != "CC-BY-4.0":
        fail("the package names no CC-BY-4.0 licence")
    descriptor = requests.get(package_url, timeout=10).json()
    if not descriptor.get("updated"):
        fail("the package has no update time")
    for field in descriptor["resources"][0]["schema"]["fields"]:
        if not field.get("description"):
            fail(f"field {field['name']} is not documented")

    # RFC 7946 with the geojson package.
    g = requests.get(f"{base}/v1/open-data/messages.geojson", timeout=30)
    if g.status_code != 200 or not g.headers.get("content-type", "").startswith("application/geo+json"):
        fail(f"messages.geojson: {g.status_code} {g.headers.get('content-type')}")
    collection = geojson.loads(g.text)
    if not isinstance(collection, geojson.FeatureCollection) or not collection.is_valid:
        fail(f"messages.geojson is not a valid FeatureCollection: {collection.errors()}")
    points = [tuple(f["geometry"]["coordinates"]) for f in collection["features"]]
    if len(points) != 6 or any(not (65 < lon < 66 and 57 < lat < 58) for lon, lat in points):
        fail(f"expected six [lon, lat] points of the cell of six, got {points}")

    # Protections.
    located = [r for r in table if r["lat"]]
    if len(located) != 6 or {(r["lat"], r["lon"]) for r in located} != {("57.153", "65.534")}:
        fail(f"only the cell of six may keep its place: {located}")
    merged = [r for r in table if not r["lat"]]
    if len(merged) != 4 or any(r["location_precision"] != "municipality" or r["municipality_id"] != "tyumen" for r in merged):
        fail(f"the cell of four must be merged up to its municipality: {merged}")
    everything = resp.content.decode("utf-8") + g.text
    for secret in ["57.17", "65.56", "57.18", "65.58", "Глубокая яма", "89991234567", "Республики", "open-data-"]:
        if secret in everything:
            fail(f"{secret!r} appears in the open data")

    # Caching: Cache-Control, a strong ETag, 304 when it still matches.
    etag = resp.headers.get("etag")
    if "max-age" not in resp.headers.get("cache-control", "") or not etag:
        fail(f"messages.csv is not cacheable: {dict(resp.headers)}")
    again = requests.get(f"{base}/v1/open-data/messages.csv", headers={"If-None-Match": etag}, timeout=30)
    if again.status_code != 304 or again.content:
        fail(f"If-None-Match with the current ETag: {again.status_code}")

    # The public scorecards, anonymous.
    s = requests.get(f"{base}/v1/public/authorities", timeout=10)
    if s.status_code != 200 or "max-age" not in s.headers.get("cache-control", ""):
        fail(f"/v1/public/authorities: {s.status_code} {s.text[:200]}")
    items = s.json()["items"]
    if not items or any(i["standing"] != "insufficient_data" or i["rank"] is not None for i in items):
        fail("with no answers every authority must be listed as insufficient data, unranked")

    print(
        f"open_data_check: ok: frictionless validated the package ({len(checked)} resources, "
        f"{csv_report.tasks[0].stats.get('rows')} rows), RFC 7946 valid with {len(points)} points, "
        f"{len(merged)} rows merged up, 304 on ETag, {len(items)} scorecards"
    )


if __name__ == "__main__":
    main()
