#!/usr/bin/env python3
"""Drives a running local host with an unmodified Open311 client library from PyPI.

    python scripts/open311_client.py http://127.0.0.1:PORT

georeport (a GeoReport v2 client) reads services, a service definition, a search and one request
in JSON and in XML; a request is filed the way such clients post one (a form body through
`requests`). The two formats must give the same data, and no personal data may come back.
Exit status 0 with a one-line summary, or 1 with the failure.
"""

import sys
import time

import requests
from georeport import GeoReport

PERSONAL = ("ivanov@example.ru", "79991234567", "Иванов")


def fail(msg: str) -> None:
    print(f"open311_client: FAILED: {msg}", file=sys.stderr)
    sys.exit(1)


def text(v) -> str:
    """A JSON scalar as xmltodict shows it: every value a string, an empty element None."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def as_xml_shape(v):
    if isinstance(v, dict):
        return {k: as_xml_shape(x) for k, x in v.items()}
    if isinstance(v, list):
        return [as_xml_shape(x) for x in v]
    return text(v)


def one_or_list(v):
    """xmltodict gives a single child as a dict and several as a list."""
    return v if isinstance(v, list) else [v]


def main() -> None:
    base = sys.argv[1].rstrip("/")
    token = requests.post(f"{base}/v1/dev/tokens", json={"sub": "admin-1", "roles": ["admin"], "region": "72"})
    token.raise_for_status()
    auth = {"Authorization": f"Bearer {token.json()['token']}"}
    made = requests.post(f"{base}/v1/integrations", json={"name": "Клиент georeport"}, headers=auth)
    if made.status_code != 201:
        fail(f"POST /v1/integrations: {made.status_code} {made.text}")
    key = made.json()["api_key"]

    as_json = GeoReport(f"{base}/open311/v2", jurisdiction="72", api_key=key, output_format="json")
    as_xml = GeoReport(f"{base}/open311/v2", jurisdiction="72", api_key=key, output_format="xml")

    services = as_json.get_service_list()
    services_xml = one_or_list(as_xml.get_service_list())
    if as_xml_shape(services) != services_xml:
        fail("services differ between JSON and XML")
    code = next(s["service_code"] for s in services if s["service_code"] == "dorogi-yamy")
    definition = as_json.get_service_definition(code)
    definition_xml = as_xml.get_service_definition(code)
    attrs = one_or_list(definition_xml["attributes"]["attribute"])
    for a in attrs:
        a["values"] = one_or_list(a["values"]["value"])
    if as_xml_shape(definition) != {"service_code": definition_xml["service_code"], "attributes": attrs}:
        fail("the service definition differs between JSON and XML")

    form = {
        "api_key": key,
        "jurisdiction_id": "72",
        "service_code": code,
        "lat": "57.1530",
        "long": "65.5343",
        "address_string": "Тюмень, ул. Республики, 15",
        "email": PERSONAL[0],
        "phone": PERSONAL[1],
        "last_name": PERSONAL[2],
        "description": "Глубокая яма на проезжей части у дома 15, машины объезжают по встречной",
    }
    posted = requests.post(f"{base}/open311/v2/requests.json", data=form)
    if posted.status_code != 201:
        fail(f"POST requests.json: {posted.status_code} {posted.text}")
    request_id = posted.json()[0]["service_request_id"]
    wrong = requests.post(f"{base}/open311/v2/requests.json", data={**form, "api_key": "fbk_wrong"})
    if wrong.status_code != 403 or wrong.json()[0]["code"] != 403:
        fail(f"a wrong key answered {wrong.status_code} {wrong.text}")

    # A request is public once routed: until then it is 404, as if it did not exist.
    deadline = time.monotonic() + 20
    while True:
        try:
            one = as_json.get_service_request(request_id)
        except requests.exceptions.HTTPError as e:
            if e.response is None or e.response.status_code != 404:
                raise
            one = {}
        if one.get("agency_responsible"):
            break
        if time.monotonic() > deadline:
            fail(f"request {request_id} was not routed in time: {one}")
        time.sleep(0.2)
    one_xml = as_xml.get_service_request(request_id)
    if as_xml_shape(one) != one_xml:
        fail(f"the request differs between JSON and XML:\n{one}\n{one_xml}")
    if not one.get("expected_datetime"):
        fail("no expected_datetime on a routed request")
    found = as_json.get_service_requests(service_code=code, status="open")
    found_xml = one_or_list(as_xml.get_service_requests(service_code=code, status="open"))
    if [r["service_request_id"] for r in found] != [request_id] or as_xml_shape(found) != found_xml:
        fail(f"the search differs: {found} / {found_xml}")
    raw = requests.get(f"{base}/open311/v2/requests.json").text + requests.get(f"{base}/open311/v2/requests.xml").text
    if any(p in raw for p in PERSONAL):
        fail("personal data is shown")
    print(
        f"open311_client: ok: georeport read {len(services)} services, a definition, a search and request "
        f"{request_id} (routed to {one['agency_responsible']}) identically in JSON and XML"
    )


if __name__ == "__main__":
    main()
