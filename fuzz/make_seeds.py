#!/usr/bin/env python3
"""Writes the seed corpora fuzz/corpus/<target>/seed-* from examples/ and tests/data/.
Run from the repository root; the fuzzers add their own finds (other names) beside them."""
import io
import json
import os
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def dumps(j):
    return json.dumps(j, ensure_ascii=False, separators=(",", ":"))


example = json.load(open(os.path.join(ROOT, "examples", "config.json")))
records = [json.loads(l) for l in open(os.path.join(ROOT, "examples", "records.jsonl")) if l.strip()]

# ---- config
write("config", "example.json", dumps(example))
write("config", "minimal.json", dumps({"users": [{"id": "a"}], "pools": [{"id": "p", "object_type": "lead", "members": ["a"]}]}))
write("config", "positions.json", dumps({"users": [{"id": "a"}, {"id": "b"}], "pools": [
    {"id": "p", "object_type": "lead", "members": [{"user": "a", "position": 2}, {"user": "b", "position": 1}]}]}))
write("config", "user-full.json", dumps({"users": [{"id": "a", "name": "A", "email": "a@x.io", "active": False,
    "out_of_office": [{"from": "2026-11-01T00:00:00Z", "to": "2026-11-05T00:00:00+01:00"}],
    "working_hours": {"tz": "America/New_York", "days": {"sat": ["22:00", "02:00"]}},
    "caps": {"per_day": 3, "max_open": 10}}], "settings": {"history_retention_days": 7, "time_zone": "Asia/Kolkata"}}))
write("config", "assign-shapes.json", dumps({"users": [{"id": "a"}], "pools": [{"id": "p", "object_type": "deal", "members": ["a"]}],
    "rules": [
        {"id": "r1", "object_type": "deal", "events": ["updated"], "conditions": {"all": [{"field": "s", "op": "changed_to", "value": "won"}]},
         "assign": {"type": "least_loaded", "pool": "p"}},
        {"id": "r2", "object_type": "deal", "events": ["created"], "assign": {"type": "field", "field": "owner_email"}},
        {"id": "r3", "object_type": "deal", "events": ["created"], "active": False,
         "assign": {"type": "related_owner", "relation": "person"}, "actions": {"apply_to_related": ["person"], "related_mode": "replace", "notify": True}}],
    "settings": {"default_owners": {"deal": "a", "lead": "a"}}}))
write("config", "bad-shapes.json", dumps({"users": [{"id": 5}, "x"], "pools": {"id": "p"}, "rules": [{"id": "r", "object_type": "ticket",
    "events": ["deleted"], "conditions": {"all": [{"field": "", "op": "between", "value": [3]}]}, "assign": {"type": "nobody"}}],
    "settings": {"time_zone": "Mars/Base", "history_retention_days": -1}, "extra": None}))
write("config", "keys-percent.json", dumps({"users": [{"id": "a"}, {"id": "b"}], "distributions": [{"id": "d", "object_type": "lead",
    "property": "region", "keys": [{"value": " Liège ", "owners": [{"user": "a", "percent": 33.3333}, {"user": "b", "percent": 66.6667}]},
                                    {"value": "liège", "owners": [{"user": "a", "percent": 100}]}]}]}))

# ---- conditions
ops = [("eq", "Web"), ("neq", 5), ("in", ["a", "B", 3]), ("not_in", ["x"]), ("contains", "ÄB"), ("not_contains", "z"),
       ("starts_with", "we"), ("ends_with", "B "), ("gt", 10), ("gte", "10.5"), ("lt", "m"), ("lte", -1),
       ("between", [1, "20"]), ("is_empty", None), ("is_not_empty", None), ("changed", None),
       ("changed_from", "new"), ("changed_to", "Won")]
for op, value in ops:
    c = {"field": "f", "op": op}
    if value is not None:
        c["value"] = value
    doc = {"conditions": {"all": [c]}, "record": {"f": "web", "g": 12}}
    if op.startswith("changed"):
        doc["previous"] = {"f": "New"}
        doc["record"]["f"] = "won"
    write("conditions", op + ".json", dumps(doc))
write("conditions", "any-all.json", dumps({"conditions": {"all": [{"field": "amount", "op": "gte", "value": 100000}],
    "any": [{"field": "source", "op": "in", "value": ["web", "form"]}, {"field": "country", "op": "eq", "value": "PL"}]},
    "record": {"amount": "120000", "source": " Form ", "country": "pl"}}))
write("conditions", "unicode.json", dumps({"conditions": {"any": [{"field": "name", "op": "eq", "value": "STRASSE"},
    {"field": "name", "op": "contains", "value": "ﬁ"}, {"field": "n", "op": "eq", "value": "e\u0301"}]},
    "record": {"name": "straße", "n": "é"}}))
write("conditions", "numbers.json", dumps({"conditions": {"all": [{"field": "x", "op": "between", "value": [-1e308, 1e308]},
    {"field": "y", "op": "gt", "value": "0.0"}, {"field": "z", "op": "eq", "value": True}]},
    "record": {"x": 1.5e300, "y": " -0 ", "z": "true"}}))

# ---- csv (first byte: bit 0 = header)
csv = open(os.path.join(ROOT, "tests", "data", "keys_header_libreoffice.csv"), "rb").read()
write("csv", "libreoffice-header.csv", b"\x01" + csv)
write("csv", "no-header.csv", b"\x00" + b"Kent,u-1,50\nKent,u-2,50%\n\"Li\xc3\xa8ge, BE\",u-3,\"100\"\n")
write("csv", "semicolon.csv", b"\x01" + b"\xef\xbb\xbfvalue;user;percent\r\nA;u-1;50,5\r\nA;u-2;49,5\r\n;;\r\n")
write("csv", "problems.csv", b"\x00" + b"x\n,u-1,10\nB,,\nC,u-2,ten\n\"D\"\"q\",u-3,1e3\n\"open")

# ---- xlsx: workbooks as they are, and their parts (see fuzz_xlsx.cc)
parts = ["xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/sharedStrings.xml", "xl/styles.xml", "xl/worksheets/sheet1.xml"]
for name in ["keys_header_libreoffice.xlsx", "keys_percent_libreoffice.xlsx", "keys_corrupt.xlsx"]:
    data = open(os.path.join(ROOT, "tests", "data", name), "rb").read()
    write("xlsx", name, data)
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        continue
    texts = []
    for p in parts:
        try:
            texts.append(z.read(p))
        except KeyError:
            texts.append(b"")
    write("xlsx", name.replace(".xlsx", ".parts"), b"\n~~\n".join(texts))
write("xlsx", "inline.parts", "\n~~\n".join([
    '<workbook><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
    '<Relationships><Relationship Id="rId1" Target="worksheets/sheet1.xml"/></Relationships>',
    '<sst><si><t>Kent</t></si><si><r><t>u-</t></r><r><t>1</t></r><rPh><t>x</t></rPh></si></sst>',
    '<styleSheet><numFmts><numFmt numFmtId="164" formatCode="0.0&quot;%&quot;\\%"/></numFmts>'
    '<cellXfs><xf numFmtId="0"/><xf numFmtId="9"/><xf numFmtId="164"/></cellXfs></styleSheet>',
    '<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" s="1"><v>0.5</v></c></row>'
    '<row r="3"><c t="inlineStr"><is><t>Kent</t></is></c><c t="str"><v>u-2</v></c><c s="2"><v>50</v></c></row>'
    '<row><c r="AA4" t="e"><v>#N/A</v></c><c t="b"><v>1</v></c><c t="d"><v>2026-01-01</v></c></row></sheetData></worksheet>']))

# ---- http: raw requests; the target sends a fresh workspace's admin key when there is none


def req(method, path, body=None, ctype="application/json", headers=()):
    if body is None:
        body = b""
    elif isinstance(body, (dict, list)):
        body = dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\n"
    for h in headers:
        head += h + "\r\n"
    if body or method in ("POST", "PUT", "PATCH"):
        head += f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def seq(*reqs):
    return b"".join(reqs)


assign = {"object_type": "lead", "event": "created", "record": {"id": "L-1", "properties": {"source": "web"}}, "explain": True}
write("http", "config-assign.http", seq(req("PUT", "/v1/config", example), req("POST", "/v1/assign", assign, headers=["Idempotency-Key: k1"]),
                                        req("GET", "/v1/history?period=today&object_type=lead", headers=["Accept: text/csv"])))
write("http", "users-pools.http", seq(req("POST", "/v1/users", {"id": "a", "name": "A"}), req("POST", "/v1/users", {"id": "b"}),
                                      req("POST", "/v1/pools", {"id": "p", "object_type": "lead", "members": ["a"]}),
                                      req("POST", "/v1/pools/p/members", {"user": "b"}), req("GET", "/v1/pools/p"),
                                      req("PATCH", "/v1/users/a", {"active": False}), req("DELETE", "/v1/pools/p/members/b"),
                                      req("GET", "/v1/users?limit=1&cursor=a")))
write("http", "rules.http", seq(req("POST", "/v1/users", {"id": "a"}),
                                req("POST", "/v1/rules", {"id": "r", "object_type": "deal", "events": ["created"],
                                                           "conditions": {"all": [{"field": "x", "op": "gt", "value": 3}]},
                                                           "assign": {"type": "user", "user": "a"}}),
                                req("PUT", "/v1/rules/priority", {"object_type": "deal", "order": ["r"]}),
                                req("GET", "/v1/rules?object_type=deal"),
                                req("POST", "/v1/assign/batch", {"items": [{"object_type": "deal", "event": "created",
                                                                             "record": {"id": "D-1", "properties": {"x": 5}}}]}),
                                req("DELETE", "/v1/rules/r")))
write("http", "distribution-import.http", seq(req("POST", "/v1/users", {"id": "u-1"}), req("POST", "/v1/users", {"id": "u-2"}),
                                              req("POST", "/v1/distributions", {"id": "d", "object_type": "lead", "property": "county"}),
                                              req("POST", "/v1/distributions/d/import?header=true", csv, ctype="text/csv"),
                                              req("PUT", "/v1/distributions/d/keys/Li%C3%A8ge", {"owners": [{"user": "u-1", "percent": 100}]}),
                                              req("GET", "/v1/distributions/d/import/template.csv?header=false"),
                                              req("GET", "/v1/reports/distribution?distribution=d")))
write("http", "records-settings.http", seq(req("PUT", "/v1/settings", {"default_owners": {}, "history_retention_days": 30, "time_zone": "UTC"}),
                                           req("PUT", "/v1/records/company/C-1", {"properties": {"name": "Acme"}, "owners": [], "tags": ["x"]}),
                                           req("GET", "/v1/records/company/C-1"), req("GET", "/v1/unassigned?object_type=lead"),
                                           req("GET", "/v1/reports/summary"), req("PUT", "/v1/config?dry_run=true", {"users": []})))
write("http", "keys-webhooks.http", seq(req("POST", "/v1/keys", {"role": "member", "name": "m"}), req("GET", "/v1/keys"),
                                        req("POST", "/v1/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["decision"]}),
                                        req("GET", "/v1/webhooks"), req("GET", "/v1/webhooks/x/deliveries?limit=5"),
                                        req("POST", "/v1/webhooks/x/deliveries/y/retry"), req("DELETE", "/v1/keys/nope")))
write("http", "roles.http", seq(req("PUT", "/v1/config", example),
                                req("POST", "/v1/users", {"id": "x"}, headers=["X-Fuzz-Role: member"]),
                                req("POST", "/v1/assign", dict(assign, event="assign_requested", target={"pool": "north"}),
                                    headers=["X-Fuzz-Role: member"]),
                                req("PUT", "/v1/records/lead/L-9", {"properties": {"source": "form"}}, headers=["X-Fuzz-Role: integration"]),
                                req("GET", "/v1/config", headers=["X-Fuzz-Role: integration"])))
write("http", "public.http", seq(req("GET", "/healthz"), req("GET", "/metrics"), req("GET", "/index.html"),
                                 req("GET", "/v1/users", headers=["Authorization: Bearer wrong"])))
