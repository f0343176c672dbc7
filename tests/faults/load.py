"""The fault suite's client side (standard library only): HTTP with the retry rule a careful
client follows, the world the load needs, the mixed load, and the check that acknowledged
writes survived.

Every write carries an `Idempotency-Key` (a fresh UUID per logical write) and is retried with
the same key and body while the answer says nothing was decided for certain: a 503 (after its
Retry-After), a 409 that carries Retry-After (the same key still running elsewhere), a 502 or
504 from the front, or a connection error. Once the server honours the key (issue 15, part 2)
a retried write happens exactly once; before, a retry may make a duplicate certificate or
batch, or find the enterprise registered (409), which the suite neither needs nor counts.
Scans are retried only on 502, 504 and connection errors: a 503 is the answer a scanning
phone shows (try again shortly).

What is counted, per answer (attempt) and per logical request:
  - accepted answers: 2xx, 4xx, and 503 `unavailable` with Retry-After within 2 s;
  - bad: any other status (a 500, or a 503 without Retry-After or slower than 2 s); a 502, 504
    or connection error is bad unless the same logical request, retried with the same key,
    ended in an accepted answer (then it is counted as `front errors retried`); a logical
    request that gave up at its deadline on such an error is bad;
  - a scan of a genuine mark answered 200 with any other verdict is a wrong verdict;
  - a write retried after a 503 or a front error whose retry answered 409 was done by an
    attempt whose answer was lost (a commit the database made as the connection to it broke);
    counted as `retries found done`, not bad: the 409 tells the client so. Once the server
    honours Idempotency-Key such a retry answers the original outcome (`replayed`) instead;
  - an acknowledged write is a 2xx to a write, with what it created; it is lost if, after
    recovery, any node fails to serve it (polled up to READ_DEADLINE).
"""

import csv
import http.client
import io
import json
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

# Deadlines, in seconds: one HTTP exchange; a logical write, long enough to outlast the
# 45 s outage; a scan; and how long a node may take to serve an acknowledged write (another
# node's write reaches its read models by notification or, at worst, a one-second poll).
REQUEST_TIMEOUT = 15
WRITE_DEADLINE = 90
SCAN_DEADLINE = 10
READ_DEADLINE = 5
# How soon a 503 must be answered, and the pause before retrying a front error (502, 504, a
# connection error): a poll interval, not a wait for anything.
UNAVAILABLE_WITHIN = 2.0
FRONT_RETRY_PAUSE = 0.1
# The most a retry waits for a Retry-After, so that recovery is seen within a second.
MAX_RETRY_AFTER = 1.0

ISSUER = "jx-faults"
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc(rng):
    """A random GB 32100 code with its check character (as src/domain/uscc.rs computes it)."""
    body = "91360100" + "".join(rng.choice(ALPHABET) for _ in range(9))
    total = sum(ALPHABET.index(c) * w for c, w in zip(body, WEIGHTS))
    return body + ALPHABET[(31 - total % 31) % 31]


class Answer:
    """One HTTP exchange: `status` is None for a connection error (`error` says which)."""

    __slots__ = ("status", "headers", "body", "sent", "received", "error")

    def __init__(self, status, headers, body, sent, received, error=None):
        self.status, self.headers, self.body = status, headers, body
        self.sent, self.received, self.error = sent, received, error

    def json(self):
        return json.loads(self.body)

    @property
    def took(self):
        return self.received - self.sent


class Client:
    """HTTP/1.1 to one base URL over one kept-alive connection (one per thread)."""

    def __init__(self, base):
        parts = urlsplit(base)
        self.base = base.rstrip("/")
        self.host, self.port = parts.hostname, parts.port
        self.connection = None

    def request(self, method, path, body=None, bearer=None, headers=None, accept="application/json"):
        sent_headers = {"Accept": accept}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent_headers["Content-Type"] = "application/json"
        if bearer:
            sent_headers["Authorization"] = f"Bearer {bearer}"
        sent_headers.update(headers or {})
        sent = time.monotonic()
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT)
            self.connection.request(method, path, body=data, headers=sent_headers)
            response = self.connection.getresponse()
            payload = response.read()
            answer = Answer(response.status, {k.lower(): v for k, v in response.getheaders()},
                            payload, sent, time.monotonic())
            if response.will_close:
                self.close()
            return answer
        except (OSError, http.client.HTTPException) as error:
            self.close()
            return Answer(None, {}, b"", sent, time.monotonic(), error=f"{type(error).__name__}: {error}")

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def retry_after(answer):
    try:
        return min(float(answer.headers.get("retry-after", "1")), MAX_RETRY_AFTER)
    except ValueError:
        return MAX_RETRY_AFTER


def call(client, method, path, body=None, bearer=None, write=False, deadline=None, record=None):
    """One logical request under the retry rule (module doc); returns (final answer, attempts).
    A write carries one Idempotency-Key on every attempt."""
    headers = {"Idempotency-Key": str(uuid.uuid4())} if write else {}
    deadline = time.monotonic() + (deadline or (WRITE_DEADLINE if write else SCAN_DEADLINE))
    attempts = []
    while True:
        answer = client.request(method, path, body=body, bearer=bearer, headers=headers)
        attempts.append(answer)
        if record is not None:
            record(answer)
        if answer.status is None or answer.status in (502, 504):
            pause = FRONT_RETRY_PAUSE
        elif write and (answer.status == 503 or (answer.status == 409 and "retry-after" in answer.headers)):
            pause = retry_after(answer)
        else:
            return answer, attempts
        if time.monotonic() + pause > deadline:
            return answer, attempts
        time.sleep(pause)


def expect(answer, path, *statuses):
    if answer.status not in statuses:
        raise RuntimeError(f"{path} answered {answer.status} {answer.error or answer.body[:300]!r}")
    return answer


class World:
    """What the load needs, registered through the API: an issuer with an active key, an
    enterprise, an issued certificate, a batch of marks to scan and one of marks to revoke."""

    def __init__(self, base, admin, issuer, scan_marks=200, probe_marks=40):
        self.base, self.admin, self.issuer = base, admin, issuer
        self.scan_marks, self.probe_marks = scan_marks, probe_marks

    def seed(self):
        client = Client(self.base)
        rng = random.Random(15)

        def post(path, body, bearer):
            answer, _ = call(client, "POST", path, body, bearer, write=True)
            return expect(answer, path, 200, 201).json()

        post("/api/v1/issuers", {"id": ISSUER, "name": "故障演练认证中心", "brand": "江西绿色生态",
                                 "region": "360100"}, self.admin)
        key = post(f"/api/v1/issuers/{ISSUER}/keys", {}, self.admin)["key_id"]
        post(f"/api/v1/keys/{key}/activate", None, self.admin)
        self.uscc = uscc(rng)
        post("/api/v1/enterprises", {"uscc": self.uscc, "name": "故障演练米业有限公司", "region": "360100"},
             self.issuer)
        self.application = {"enterprise_uscc": self.uscc, "product_name": "大米", "product_category": "粮食",
                            "standard": "GB/T 1354", "scope": "全部"}
        self.certificate = post("/api/v1/certificates", self.application, self.issuer)["certificate_id"]
        today = time.strftime("%Y-%m-%d", time.gmtime())
        post(f"/api/v1/certificates/{self.certificate}/evaluate",
             {"evaluator": "第三方评价机构", "result": "pass", "report_sha256": "ab" * 32, "date": today}, self.issuer)
        post(f"/api/v1/certificates/{self.certificate}/issue",
             {"code": f"JXGE-FAULTS-{rng.randrange(10**6):06d}", "valid_from": today, "valid_until": "2099-12-31"},
             self.issuer)
        self.scans = self._marks(client, post, self.scan_marks)
        self.probes = self._marks(client, post, self.probe_marks)
        client.close()

    def _marks(self, client, post, count):
        """A batch of `count` marks: [(serial, token, batch id)] from its CSV export."""
        batch = post("/api/v1/batches", {"certificate_id": self.certificate, "count": count}, self.issuer)
        path = f"/api/v1/batches/{batch['batch_id']}/marks.csv"
        answer = expect(client.request("GET", path, bearer=self.issuer, accept="text/csv"), path, 200)
        rows = csv.DictReader(io.StringIO(answer.body.decode()))
        return [(int(row["serial"]), row["token"], batch["batch_id"]) for row in rows]


class Write:
    """An acknowledged write and what it created, to be read back from every node."""

    __slots__ = ("kind", "path", "expected", "acked")

    def __init__(self, kind, path, expected, acked):
        self.kind, self.path, self.expected, self.acked = kind, path, expected, acked

    def served_by(self, client, bearer):
        """Whether `client`'s node serves this write as created, polled up to READ_DEADLINE."""
        deadline = time.monotonic() + READ_DEADLINE
        while True:
            answer = client.request("GET", self.path, bearer=bearer)
            if answer.status == 200 and all(answer.json().get(k) == v for k, v in self.expected.items()):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(FRONT_RETRY_PAUSE)


def acknowledged(kind, answer):
    """The Write a 2xx answer to `kind` acknowledges."""
    created = answer.json()
    if kind == "enterprise":
        return Write(kind, f"/api/v1/enterprises/{created['uscc']}", {"uscc": created["uscc"]}, answer.received)
    if kind == "certificate":
        return Write(kind, f"/api/v1/certificates/{created['certificate_id']}",
                     {"certificate_id": created["certificate_id"]}, answer.received)
    return Write(kind, f"/api/v1/batches/{created['batch_id']}",
                 {"batch_id": created["batch_id"], "first_serial": created["first_serial"],
                  "count": created["count"]}, answer.received)


def lost_writes(writes, nodes, bearer):
    """The writes some node in `nodes` (base URLs) does not serve: [(write, node)]."""
    local = threading.local()

    def check(item):
        write, node = item
        clients = local.__dict__.setdefault("clients", {})
        client = clients.setdefault(node, Client(node))
        return None if write.served_by(client, bearer) else (write.path, node)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return [miss for miss in pool.map(check, [(w, n) for w in writes for n in nodes]) if miss]


class Driver:
    """The mixed load through one URL: scanners verify genuine marks (GET /v/{token}), a
    registrar registers enterprises and applies for certificates, a printer issues batches;
    each worker paced to its rate. Every answer is recorded; every acknowledged write too."""

    def __init__(self, base, world, scanners=2, scan_rate=40.0, registry_rate=8.0, batch_rate=4.0):
        self.base, self.world = base, world
        self.lock = threading.Lock()
        self.answers = []  # (kind, Answer)
        self.requests = []  # (kind, final Answer, attempts)
        self.writes = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._scan, args=(scan_rate, seed), daemon=True)
                        for seed in range(scanners)]
        self.threads.append(threading.Thread(target=self._register, args=(registry_rate,), daemon=True))
        self.threads.append(threading.Thread(target=self._issue, args=(batch_rate,), daemon=True))

    def start(self):
        for thread in self.threads:
            thread.start()
        return self

    def stop(self):
        """Stops starting requests and waits for those in flight (at most a write's deadline)."""
        self.stopping.set()
        for thread in self.threads:
            thread.join(WRITE_DEADLINE + REQUEST_TIMEOUT)

    def _paced(self, rate, step):
        client = Client(self.base)
        interval, due = 1.0 / rate, time.monotonic()
        turn = 0
        while not self.stopping.is_set():
            step(client, turn)
            turn += 1
            due = max(due + interval, time.monotonic() - interval)
            pause = due - time.monotonic()
            if pause > 0:
                self.stopping.wait(pause)
        client.close()

    def _run(self, client, kind, method, path, body=None, bearer=None, write=False):
        def record(answer):
            with self.lock:
                self.answers.append((kind, answer))

        final, attempts = call(client, method, path, body, bearer, write=write, record=record)
        with self.lock:
            self.requests.append((kind, final, attempts))
            if write and final.status is not None and 200 <= final.status < 300:
                self.writes.append(acknowledged(kind, final))
        return final

    def _scan(self, rate, seed):
        rng = random.Random(seed)
        marks = self.world.scans

        def step(client, _):
            token = rng.choice(marks)[1]
            self._run(client, "scan", "GET", f"/v/{token}")

        self._paced(rate, step)

    def _register(self, rate):
        rng = random.Random(uuid.uuid4().int)
        issuer = self.world.issuer

        def step(client, turn):
            if turn % 2 == 0:
                body = {"uscc": uscc(rng), "name": f"故障演练企业{turn}", "region": "360100"}
                self._run(client, "enterprise", "POST", "/api/v1/enterprises", body, issuer, write=True)
            else:
                self._run(client, "certificate", "POST", "/api/v1/certificates", self.world.application,
                          issuer, write=True)

        self._paced(rate, step)

    def _issue(self, rate):
        body = {"certificate_id": self.world.certificate, "count": 20}

        def step(client, _):
            self._run(client, "batch", "POST", "/api/v1/batches", body, self.world.issuer, write=True)

        self._paced(rate, step)

    def tally(self):
        """The figures of module doc's rules, over everything recorded."""
        figures = {"answers": len(self.answers), "2xx": 0, "4xx": 0, "503": 0, "503 late or bare": 0,
                   "front errors retried": 0, "bad": 0, "wrong verdicts": 0, "retried writes": 0,
                   "retries found done": 0, "replayed": 0, "slowest 503 s": 0.0, "writes acked": len(self.writes), "bad examples": []}
        for _, answer in self.answers:
            status = answer.status
            if status is not None and 200 <= status < 300:
                figures["2xx"] += 1
            elif status is not None and 400 <= status < 500:
                figures["4xx"] += 1
            elif status == 503:
                figures["503"] += 1
                figures["slowest 503 s"] = max(figures["slowest 503 s"], answer.took)
                if "retry-after" not in answer.headers or answer.took >= UNAVAILABLE_WITHIN:
                    figures["503 late or bare"] += 1
                    figures["bad examples"].append(f"503 in {answer.took:.2f} s, Retry-After "
                                                   f"{answer.headers.get('retry-after')}")
            elif status is not None and status not in (502, 504):
                figures["bad"] += 1
                figures["bad examples"].append(f"{status}: {answer.body[:200]!r}")
            if answer.headers.get("idempotent-replayed") == "true":
                figures["replayed"] += 1
        for kind, final, attempts in self.requests:
            front_errors = sum(1 for a in attempts if a.status is None or a.status in (502, 504))
            ended_accepted = final.status is not None and final.status not in (502, 504)
            if front_errors and ended_accepted:
                figures["front errors retried"] += front_errors
            elif front_errors:
                figures["bad"] += 1
                figures["bad examples"].append(f"{kind} gave up on {final.status or final.error}")
            if kind != "scan" and len(attempts) > 1:
                figures["retried writes"] += 1
                if final.status == 409:
                    figures["retries found done"] += 1
            if kind == "scan" and final.status == 200 and final.json().get("verdict") != "genuine":
                figures["wrong verdicts"] += 1
                figures["bad examples"].append(f"scan answered {final.body[:200]!r}")
        figures["bad examples"] = figures["bad examples"][:5]
        return figures

    def dump(self, out, case):
        """Every answer as one JSON line, for reading after a run."""
        for kind, answer in self.answers:
            out.write(json.dumps({"case": case, "kind": kind, "sent": round(answer.sent, 4),
                                  "took_ms": round(answer.took * 1000, 1), "status": answer.status,
                                  "error": answer.error, "upstream": answer.headers.get("x-upstream"),
                                  "retry_after": answer.headers.get("retry-after")}) + "\n")
