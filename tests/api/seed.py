#!/usr/bin/env python3
"""Seeds a running marktrace with a realistic registry through its HTTP API, then writes the
schemathesis configuration that points the fuzzer at what was seeded.

Without seeding, a fuzzer reaches little beyond 404s: every path id it invents is unknown.
So this registers what a real deployment holds (an issuer with an active key and a spare one,
an enterprise, an issued certificate and one still applied for, two batches, scans, a consumer
report, a voided range and its `leaked` flag, open and closed cases, a published credit
record) and binds the path parameters and body fields that name them to dictionaries of the
real values, drawn most of the time; the rest of the time the fuzzer still invents its own.

Usage: seed.py BASE_URL CONFIG_OUT   (tokens in MT_TOKEN_ADMIN, MT_TOKEN_ISSUER,
MT_TOKEN_SUPERVISOR, MT_TOKEN_ENFORCEMENT; standard library only, so it runs before and
without the fuzzer's virtualenv).
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request

BASE = sys.argv[1].rstrip("/")
CONFIG_OUT = sys.argv[2]
TOKENS = {
    role: os.environ[f"MT_TOKEN_{role.upper()}"]
    for role in ("admin", "issuer", "supervisor", "enforcement")
}

ISSUER = "jx-cb1"
USCC = "91330000704202479R"
AUTHORITY_USCC = "11360100MB1739152L"
TODAY = time.strftime("%Y-%m-%d", time.gmtime())


def call(method, path, role=None, body=None, accept="application/json", expect=(200, 201)):
    """One request; anything but an expected status stops the seeding with the answer."""
    headers = {"Accept": accept}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if role is not None:
        headers["Authorization"] = f"Bearer {TOKENS[role]}"
    request = urllib.request.Request(BASE + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    if status not in expect:
        sys.exit(f"seed: {method} {path} answered {status}: {text}")
    return json.loads(text) if text and accept == "application/json" else text


def gtin14(first13):
    """A GTIN-14 with its GS1 check digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(first13)))
    return first13 + str((10 - total % 10) % 10)


def decision():
    return {
        "name": "南昌某米业有限公司",
        "uscc": USCC,
        "legal_representative": "张三",
        "decision_number": "洪市监罚〔2026〕12号",
        "violation_type": "伪造认证标志",
        "facts": "使用伪造的\"江西绿色生态\"标识, 共 1200 袋",
        "basis": "《认证认可条例》第七十一条",
        "category": "罚款",
        "content": "罚款 5 万元",
        "fine_wan": "5",
        "confiscated_wan": "0.35",
        "decided_on": "2026-03-02",
        "publish_until": "2029-03-02",
        "authority": "南昌市市场监督管理局",
        "authority_uscc": AUTHORITY_USCC,
        "data_source": "南昌市市场监督管理局",
    }


def main():
    # The brand authority registers the certification body and endorses its keys.
    call("POST", "/api/v1/issuers", "admin",
         {"id": ISSUER, "name": "江西省绿色生态认证中心", "brand": "江西绿色生态", "region": "360100"})
    active = call("POST", f"/api/v1/issuers/{ISSUER}/keys", "admin", {})["key_id"]
    call("POST", f"/api/v1/keys/{active}/activate", "admin")
    spare = call("POST", f"/api/v1/issuers/{ISSUER}/keys", "admin", {})["key_id"]

    # The certification body: a licensee, one certificate issued, one still applied for.
    call("POST", "/api/v1/enterprises", "issuer",
         {"uscc": USCC, "name": "绿源米业有限公司", "region": "360100"})
    application = {"enterprise_uscc": USCC, "product_name": "大米", "product_category": "粮食",
                   "standard": "GB/T 1354", "scope": "全部"}
    issued = call("POST", "/api/v1/certificates", "issuer", application)["certificate_id"]
    call("POST", f"/api/v1/certificates/{issued}/evaluate", "issuer",
         {"evaluator": "第三方评价机构", "result": "pass", "report_sha256": "ab" * 32, "date": TODAY})
    call("POST", f"/api/v1/certificates/{issued}/issue", "issuer",
         {"code": "JXGE-2026-0001", "valid_from": TODAY, "valid_until": "2099-12-31"})
    applied = call("POST", "/api/v1/certificates", "issuer", application)["certificate_id"]

    # Two batches: one with a GTIN (GS1 Digital Link labels), one without; a voided range.
    gtin = gtin14("0690123456789")
    with_gtin = call("POST", "/api/v1/batches", "issuer",
                     {"certificate_id": issued, "count": 100, "gtin": gtin,
                      "regions": ["360000"], "lot": "2026-11-A"})
    plain = call("POST", "/api/v1/batches", "issuer",
                 {"certificate_id": issued, "count": 50, "notes": "无 GTIN"})
    voided = plain["first_serial"] + 10
    call("POST", f"/api/v1/batches/{plain['batch_id']}/reports", "issuer",
         {"first": voided, "last": voided + 4, "status": "voided", "reason": "印刷损耗"})
    serials = [with_gtin["first_serial"], with_gtin["first_serial"] + 99, plain["first_serial"], voided]
    tokens = [call("GET", f"/api/v1/marks/{s}", "issuer")["token"] for s in serials]
    csv = call("GET", f"/api/v1/batches/{with_gtin['batch_id']}/marks.csv", "issuer", accept="text/csv")
    assert csv.count("\n") == 101, "the export has a header and one line per mark"

    # Consumers scan (genuine, and a voided mark, which raises `leaked`) and report a fake.
    for token in tokens:
        call("POST", "/api/v1/verify", None, {"token": token, "region": "360102"})
        call("GET", f"/v/{token}?region=361102")
    call("POST", "/api/v1/reports", None,
         {"token": tokens[0], "note": "标签印刷模糊", "region": "360102", "contact": "138 0000 0000"})
    for _ in range(100):
        flags = call("GET", "/api/v1/flags", "supervisor")
        if flags:
            break
        time.sleep(0.1)
    else:
        sys.exit("seed: no flag was raised for the scanned voided mark")

    # Case work: one open case shared with 上饶, one closed with a published penalty.
    case = {"owner_region": "360100", "origin": "flags", "title": "疑似泄漏标识",
            "subject": {"enterprise_uscc": USCC, "serials": [voided], "flags": []}}
    open_case = call("POST", "/api/v1/cases", "supervisor", case)["case_id"]
    call("POST", f"/api/v1/cases/{open_case}/notes", "enforcement", {"text": "已现场核查"})
    call("POST", f"/api/v1/cases/{open_case}/evidence", "supervisor",
         {"description": "现场照片", "file_sha256": "cd" * 32, "size": 123456})
    call("POST", f"/api/v1/cases/{open_case}/share", "supervisor", {"region": "361100"})
    closed_case = call("POST", "/api/v1/cases", "supervisor", case)["case_id"]
    closed = call("POST", f"/api/v1/cases/{closed_case}/close", "supervisor",
                  {"outcome": "penalty", "decision": decision()})
    record = closed["closed"]["record_id"]
    log_size = call("GET", "/healthz")["log_size"]

    dictionaries = {
        "issuer": [ISSUER],
        "key": [active, spare],
        "uscc": [USCC],
        "certificate": [issued, applied],
        "batch": [with_gtin["batch_id"], plain["batch_id"]],
        "serial": serials,
        # The GS1 label URL's serial is a path segment typed as a string.
        "serial_text": [str(s) for s in serials],
        "token": tokens,
        "gtin": [gtin],
        "case": [open_case, closed_case],
        "record": [record],
        "index": list(range(0, log_size, max(1, log_size // 8))),
        "region": ["360100", "361100", "360000", "360102"],
    }
    # Which parameter or body field names which kind of thing, per path.
    bindings = [
        (r"^/v/", {"path.token": "token", "query.region": "region"}),
        (r"^/01/", {"path.gtin": "gtin", "path.serial": "serial_text", "query.t": "token"}),
        (r"^/api/v1/verify$", {"body.token": "token", "body.region": "region"}),
        (r"^/api/v1/reports$", {"body.token": "token", "body.region": "region"}),
        (r"^/api/v1/log/", {"path.index": "index", "query.index": "index"}),
        (r"^/api/v1/keys", {"path.key_id": "key", "query.issuer": "issuer"}),
        (r"^/api/v1/issuers", {"path.id": "issuer", "query.region": "region"}),
        (r"^/api/v1/enterprises", {"path.uscc": "uscc", "body.uscc": "uscc", "query.region": "region"}),
        (r"^/api/v1/certificates", {"path.id": "certificate", "body.enterprise_uscc": "uscc"}),
        (r"^/api/v1/batches", {"path.id": "batch", "body.certificate_id": "certificate",
                               "body.gtin": "gtin", "body.first": "serial", "body.last": "serial"}),
        (r"^/api/v1/marks/", {"path.serial": "serial"}),
        (r"^/api/v1/flags$", {"query.batch": "batch", "query.enterprise": "uscc"}),
        (r"^/api/v1/cases", {"path.id": "case", "body.region": "region", "body.owner_region": "region"}),
        (r"^/api/v1/credit/records/", {"path.id": "record", "body.uscc": "uscc"}),
        (r"^/api/v1/public/credit$", {"query.uscc": "uscc"}),
    ]
    with open(CONFIG_OUT, "w", encoding="utf-8") as out:
        out.write("# Written by tests/api/seed.py for one run; the values name what it seeded.\n")
        for name, values in dictionaries.items():
            out.write(f"[dictionaries.{name}]\nvalues = {json.dumps(values, ensure_ascii=False)}\n\n")
        for regex, params in bindings:
            table = ", ".join(
                f'"{key}" = {{ dictionary = "{kind}", probability = 0.75 }}' for key, kind in params.items()
            )
            out.write(f"[[operations]]\ninclude-path-regex = {json.dumps(regex)}\nparameters = {{ {table} }}\n\n")
    print(f"seeded: issuer {ISSUER}, keys {active} {spare}, certificate {issued}, "
          f"batches {with_gtin['batch_id']} {plain['batch_id']}, cases {open_case} {closed_case}, "
          f"credit record {record}, log size {log_size}")


if __name__ == "__main__":
    main()
