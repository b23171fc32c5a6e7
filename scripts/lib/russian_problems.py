"""A schemathesis check: every problem the API answers speaks Russian.

Loaded by scripts/schemathesis.sh (SCHEMATHESIS_HOOKS=russian_problems) and run on every response
of the fuzzing run. A problem's `title`, `detail` and each field error's `message` may hold Latin
letters only in the API's own words: field, parameter and enum names of the OpenAPI document
(`RUSSIAN_PROBLEMS_OPENAPI`) and the alternatives of its patterns, header, format and standard
names, values it quotes back in «», and codes a program reads: a token with a digit, `_`, `/`, `=` or a capital inside it
(ids, dates, media types, `not_in_competence`, `minLon`). Any other Latin word is English prose
reaching a resident, and fails the run.
"""

import json
import os
import re

import schemathesis

# Names of formats, headers and protocols a Russian sentence still writes in Latin letters.
FIXED = {
    "JSON", "Content-Type", "application/json", "application/problem+json", "Idempotency-Key",
    "ISO", "UTF-8", "URL", "HTTPS", "https", "http", "ULID", "CSV", "XLSX", "GeoJSON", "Bearer",
    "If-None-Match", "ETag", "Open311", "whsec_", "SMS", "e-mail", "email", "push", "VAPID",
    "true", "false", "null", "RFC", "ASCII", "Crockford",
}
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_\-+./:=\[\]{}]*")
CODE = re.compile(r"[0-9_/=]|[a-z][A-Z]")


def _schema_words(path):
    words = set()

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "properties" and isinstance(value, dict):
                    words.update(value.keys())
                if key == "enum" and isinstance(value, list):
                    words.update(v for v in value if isinstance(v, str))
                if key == "name" and isinstance(value, str):
                    words.add(value)
                if key == "pattern" and isinstance(value, str):
                    words.update(re.findall(r"[A-Za-z][A-Za-z0-9_-]*", value))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    with open(path, encoding="utf-8") as f:
        walk(json.load(f))
    return words


ALLOWED = FIXED | _schema_words(os.environ["RUSSIAN_PROBLEMS_OPENAPI"])


def foreign_words(text):
    """The Latin words of `text` that are neither the API's own words nor values."""
    bad = []
    # What a message quotes in «» is the caller's own value, echoed.
    text = re.sub(r"«[^»]*»", "", text)
    for match in WORD.finditer(text):
        token = match.group(0).rstrip(".:,-")
        if token in ALLOWED or CODE.search(token):
            continue
        parts = [p for p in re.split(r"[.\[\]/]", token) if p]
        if parts and all(p in ALLOWED or p.isdigit() for p in parts):
            continue
        bad.append(token)
    return bad


@schemathesis.check
def problems_speak_russian(ctx, response, case):
    """A problem's title, detail and field messages carry no English prose."""
    if not response.headers.get("content-type", [""])[0].startswith("application/problem+json"):
        return
    problem = json.loads(response.content)
    texts = [problem.get("title") or "", problem.get("detail") or ""]
    texts += [e.get("message") or "" for e in problem.get("errors") or []]
    for text in texts:
        bad = foreign_words(text)
        if bad:
            raise AssertionError(f"problem text is not Russian: {text!r} (words {bad})")
