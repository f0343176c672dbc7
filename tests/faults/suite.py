"""The fault suite's cases and judgement (issue 15). Run by tests/faults/run.sh, which builds
the binary, provides a private PostgreSQL cluster and cleans up whatever this leaves behind
(it reads the pids and mounts this records under FAULTS_WORK).

On the cluster: three `marktrace serve` nodes behind nginx (tests/faults/nginx.conf), a world
seeded through the front, and per case a fresh mixed load (tests/faults/load.py) through the
front, WARMUP seconds before the fault and SETTLE seconds after recovery:
  (a) kill -9 of node 2, down for KILLED_FOR seconds, then restarted;
  (b) PostgreSQL restarted (`pg_ctl restart -m fast`);
  (c) PostgreSQL stopped (`-m fast`) for OUTAGE seconds, then started.
Then one node on SQLite, load straight at it:
  (d1) its database directory a small tmpfs: filled to the last byte for DISK_FULL_FOR
       seconds, then freed;
  (d2) its database on an ext4 image on a loop device, mounted errors=remount-ro, whose
       filesystem turns read-only under it (sysfs trigger_fs_error: the kernel's own reaction to
       a disk error) for READ_ONLY_FOR seconds; then the operator's recovery: stop the node,
       unmount, e2fsck, mount read-write, start it. Not the tmpfs: Linux refuses to remount a
       filesystem read-only while a file on it is open for writing (EBUSY), and SQLite holds
       its database so; and an ext4 that went read-only on an error is made writable again
       only by unmounting it, so the node is restarted.

After each case, bounds (a case failing one fails the suite):
  - lost writes 0: every write the load saw acknowledged is served, as created, by every node
    (also all of (a)-(c)'s together after (c));
  - bad answers 0 (load.py's module doc says exactly what counts), wrong verdicts 0;
  - every 503 carried Retry-After and came within 2 s; (c), (d1), (d2) must show 503s at all,
    or the fault did not bite;
  - `marktrace log verify` passes, and proofs.check_across (consistency from the checkpoint
    before the fault, inclusion of entries appended since, checkpoint signatures) passes;
  - recovery within RECOVERY_DEADLINE: fault end to the first acknowledged write (a probe
    enterprise, re-sent with one Idempotency-Key every POLL seconds), and to /readyz 200 on
    every node;
  - after (b) and after (c), staleness across a reconnect: on node 1, REVOCATIONS marks are
    voided one by one while node 2 is polled in a tight loop (straight, not through the front);
    node 2 must never answer `genuine` to a request sent more than STALENESS_BOUND after node
    1's acknowledgement. Reported per revocation: when node 2 stopped answering `genuine` (the
    first answer after its last `genuine`, counted from the acknowledgement; 0 when it had
    stopped before the acknowledgement reached the client). After (a) the same with node 3,
    which no fault touched, for comparison: staleness without a reconnect.
The summary table goes to stdout and FAULTS_REPORT/summary.md; every answer of the load to
FAULTS_REPORT/answers.jsonl; the nodes' and nginx's logs beside them.
"""

import errno
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import load
import proofs

BIN = os.environ["MARKTRACE_BIN"]
WORK = Path(os.environ["FAULTS_WORK"])
REPORT = Path(os.environ["FAULTS_REPORT"])
PG_CTL = os.environ["FAULTS_PG_CTL"]
PG_DATA = os.environ["FAULTS_PG_DATA"]
PG_LOG = os.environ["FAULTS_PG_LOG"]
PG_URL = f"postgres://postgres@127.0.0.1:{os.environ['FAULTS_PG_PORT']}/marktrace"
HERE = Path(__file__).resolve().parent

# Durations, in seconds: load before each fault; load after recovery; how long each fault
# lasts (the outage is issue 15's 45 s).
WARMUP = 3
SETTLE = 2
KILLED_FOR = 3
OUTAGE = int(os.environ.get("FAULTS_OUTAGE", "45"))  # shorter only to try the suite out
DISK_FULL_FOR = 8
READ_ONLY_FOR = 8
# Deadlines and the polling interval: a node's start-up; recovery after a fault; a graceful
# stop; a CLI command.
START_DEADLINE = 60
RECOVERY_DEADLINE = 60
STOP_DEADLINE = 15
COMMAND_DEADLINE = 120
POLL = 0.05
# Staleness: the bound issue 15 states, revocations per measurement, and how long node 2 is
# polled after node 1 acknowledged one.
STALENESS_BOUND = 0.100
REVOCATIONS = 10
WATCHED_FOR = 0.3
# The SQLite case's filesystems.
TMPFS_SIZE = "48m"
EXT4_SIZE = 64 * 1024 * 1024


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def eventually(condition, deadline, what):
    """Polls `condition()` every POLL seconds until it returns something truthy (returned);
    past `deadline` seconds, fails naming `what`."""
    end = time.monotonic() + deadline
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            raise SystemExit(f"fault suite: waited {deadline} s for {what}")
        time.sleep(POLL)


class Process:
    """A child process whose pid is recorded for run.sh's cleanup while it lives."""

    def __init__(self, name, argv, env=None):
        self.name, self.argv, self.env = name, argv, env
        self.pidfile = WORK / "pids" / name
        self.popen = None

    def start(self):
        log = open(REPORT / f"{self.name}.log", "ab")
        self.popen = subprocess.Popen(self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL)
        log.close()
        self.pidfile.write_text(str(self.popen.pid))

    def signal(self, number, deadline=STOP_DEADLINE):
        """Sends `number` and reaps the process; SIGKILL past `deadline`. Whether it stopped
        by itself."""
        self.popen.send_signal(number)
        try:
            self.popen.wait(deadline)
            graceful = True
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            graceful = False
        self.pidfile.unlink()
        return graceful


def marktrace(env, *args):
    result = subprocess.run([BIN, *args], env=env, capture_output=True, text=True, timeout=COMMAND_DEADLINE)
    if result.returncode != 0:
        raise SystemExit(f"fault suite: marktrace {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def settings(database_url, keys, public_url):
    """The environment of a node and of the CLI on its database."""
    config = WORK / "marktrace.toml"
    config.touch()
    return dict(os.environ, MARKTRACE_DATABASE_URL=database_url, MARKTRACE_KEYS_DIR=str(keys),
                MARKTRACE_PUBLIC_URL=public_url, MARKTRACE_CONFIG=str(config),
                # One client (the load) makes every request: the public rate limit would
                # answer most of them 429.
                MARKTRACE_PUBLIC_RATE="0", RUST_LOG="info", NO_COLOR="1")


class Node:
    def __init__(self, name, env, port):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.process = Process(name, [BIN, "serve"], dict(env, MARKTRACE_LISTEN=f"127.0.0.1:{port}"))

    def start(self):
        self.process.start()

    def ready(self, client=None):
        answer = (client or load.Client(self.url)).request("GET", "/readyz")
        return answer if answer.status == 200 else None

    def wait_ready(self):
        eventually(self.ready, START_DEADLINE, f"{self.process.name} to be ready")


def tokens(env):
    """An admin and an issuer token, minted with the CLI as an operator does."""

    def mint(*args):
        out = marktrace(env, "token", "create", "--note", "fault suite", *args)
        return next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("bearer token"))

    return mint("--role", "admin"), mint("--role", "issuer", "--issuer", load.ISSUER)


def pg_ctl(*args):
    subprocess.run(["runuser", "-u", "postgres", "--", PG_CTL, "-D", PG_DATA, "-l", PG_LOG, "-w", "-t", "60", *args],
                   check=True, stdout=subprocess.DEVNULL, timeout=COMMAND_DEADLINE)


def mount(name, target, device=""):
    """Records a mount point (and its loop device) for run.sh's cleanup, before mounting."""
    (WORK / "mounts" / name).write_text(f"{target} {device}\n")


# --- measurements -----------------------------------------------------------------------------

def recovery(fault_end, base, nodes, issuer):
    """Seconds from `fault_end` to the first acknowledged write through `base` and to /readyz
    200 on every node, polled every POLL seconds; the probe write, acknowledged, is returned
    to be read back with the load's."""
    found = {}

    def write():
        client = load.Client(base)
        body = {"uscc": load.uscc(random.Random()), "name": "恢复探测企业", "region": "360100"}
        headers = {"Idempotency-Key": str(uuid.uuid4())}

        def acked():
            answer = client.request("POST", "/api/v1/enterprises", body, issuer, headers)
            return answer if answer.status == 201 else None

        answer = eventually(acked, RECOVERY_DEADLINE, "an acknowledged write after the fault")
        found["write"] = answer.received - fault_end
        found["probe"] = load.acknowledged("enterprise", answer)

    def ready(node):
        client = load.Client(node.url)
        answer = eventually(lambda: node.ready(client), RECOVERY_DEADLINE, f"{node.process.name} ready")
        found[node.process.name] = answer.received - fault_end

    threads = [threading.Thread(target=write)] + [threading.Thread(target=ready, args=(n,)) for n in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if "write" not in found or any(n.process.name not in found for n in nodes):
        raise SystemExit("fault suite: no recovery within the deadline")
    return found["write"], max(found[n.process.name] for n in nodes), found["probe"]


def verdict_of(answer):
    if answer.status == 200:
        return answer.json()["verdict"]
    return str(answer.status or answer.error)


def staleness(a, b, marks, issuer):
    """Voids each mark on node `a` while node `b` is polled; per mark, (seconds until `b`
    stopped answering genuine, the latest request `b` answered genuine, sent how long after
    the acknowledgement (None: none), b's last verdict)."""
    client_a, client_b = load.Client(a.url), load.Client(b.url)
    results = []
    for serial, token, batch in marks:
        path = f"/v/{token}"
        # Node b knows the mark genuine (its signature cached): the answer that could go stale.
        eventually(lambda: verdict_of(client_b.request("GET", path)) == "genuine", RECOVERY_DEADLINE,
                   f"node b to answer genuine for serial {serial}")
        samples, done = [], threading.Event()

        def watch():
            while not done.is_set():
                answer = client_b.request("GET", path)
                samples.append((answer.sent, answer.received, verdict_of(answer)))

        watcher = threading.Thread(target=watch)
        watcher.start()
        body = {"first": serial, "last": serial, "status": "voided", "reason": "staleness probe"}
        answer, _ = load.call(client_a, "POST", f"/api/v1/batches/{batch}/reports", body, issuer, write=True)
        acked = answer.received
        done.wait(max(0.0, acked + WATCHED_FOR - time.monotonic()))
        done.set()
        watcher.join()
        load.expect(answer, "the revocation", 200, 201)
        genuine = [i for i, (_, _, v) in enumerate(samples) if v == "genuine"]
        after = genuine[-1] + 1 if genuine else 0
        stopped_at = samples[min(after, len(samples) - 1)][1]
        late = [samples[i][0] - acked for i in genuine if samples[i][0] > acked]
        results.append((max(0.0, stopped_at - acked), max(late) if late else None, samples[-1][2]))
    return results


def log_verified(env):
    result = subprocess.run([BIN, "log", "verify"], env=env, capture_output=True, text=True,
                            timeout=COMMAND_DEADLINE)
    last = (result.stdout + result.stderr).strip().splitlines()[-1:] or [""]
    return result.returncode == 0, last[0]


def proofs_hold(base, before, vkey):
    client = load.Client(base)

    def get(path):
        return load.expect(client.request("GET", path, accept="*/*"), path, 200).body.decode()

    try:
        old, new, proved = proofs.check_across(get, before, vkey)
        return True, f"consistent {old}→{new}, {proved} inclusions"
    except proofs.ProofFailure as failure:
        return False, str(failure)


# --- cases ------------------------------------------------------------------------------------

class Deployment:
    """Nodes on one database, and the URL the load goes through (the front, or the node)."""

    def __init__(self, nodes, base, env, admin, issuer, world):
        self.nodes, self.base, self.env = nodes, base, env
        self.admin, self.issuer, self.world = admin, issuer, world
        self.vkey = load.Client(base).request("GET", "/api/v1/log/key", accept="text/plain").body.decode()


def run_case(label, title, deployment, fault, must_refuse, stale=None, answers=None):
    """Runs the load around `fault()` (which returns the instant the fault ended) and judges
    the case; returns its row of figures. `stale`: (node a, node b, marks) to measure staleness
    on once recovered."""
    d = deployment
    before = load.Client(d.base).request("GET", "/api/v1/log/checkpoint", accept="text/plain").body.decode()
    print(f"== ({label}) {title}", flush=True)
    driver = load.Driver(d.base, d.world).start()
    time.sleep(WARMUP)  # load before the fault: a duration, not a wait for anything
    fault_end = fault()
    recovered_write, recovered_ready, probe = recovery(fault_end, d.base, d.nodes, d.issuer)
    row = {"case": label, "title": title, "recover write s": recovered_write, "recover ready s": recovered_ready}
    if stale:
        a, b, marks = stale
        row["staleness nodes"] = (a.process.name, b.process.name)
        row["staleness"] = staleness(a, b, marks, d.issuer)
    time.sleep(SETTLE)  # load after recovery: a duration
    driver.stop()
    row.update(driver.tally())
    row["front retries"] = sum(1 for _, a in driver.answers if ", " in a.headers.get("x-upstream", ""))
    writes = driver.writes + [probe]
    row["writes acked"] = len(writes)
    row["lost"] = load.lost_writes(writes, [n.url for n in d.nodes], d.issuer)
    row["log verify"] = log_verified(d.env)
    row["proofs"] = proofs_hold(d.base, before, d.vkey)
    row["must refuse"] = must_refuse
    if answers is not None:
        driver.dump(answers, label)
    row["failures"] = judge(row)
    print(f"   {len(row['failures'])} failures {row['failures']}", flush=True)
    return row, writes


def judge(row):
    failures = []
    if row["lost"]:
        failures.append(f"{len(row['lost'])} acknowledged writes not served, e.g. {row['lost'][:3]}")
    if row["bad"]:
        failures.append(f"{row['bad']} bad answers, e.g. {row['bad examples']}")
    if row["503 late or bare"]:
        failures.append(f"{row['503 late or bare']} 503s late or without Retry-After")
    if row["wrong verdicts"]:
        failures.append(f"{row['wrong verdicts']} scans of genuine marks not genuine")
    if row["must refuse"] and not row["503"]:
        failures.append("the fault did not bite: no 503 at all")
    if not row["log verify"][0]:
        failures.append(f"log verify: {row['log verify'][1]}")
    if not row["proofs"][0]:
        failures.append(f"proofs: {row['proofs'][1]}")
    for stopped, late, last in row.get("staleness", []):
        b = row["staleness nodes"][1]
        if late is not None and late > STALENESS_BOUND:
            failures.append(f"{b} answered genuine {late * 1000:.0f} ms after the revocation")
        if last != "void":
            failures.append(f"{b} ended on {last}, not void")
    return failures


def postgres_cases(answers):
    keys = WORK / "keys"
    front_port = free_port()
    front = f"http://127.0.0.1:{front_port}"
    env = settings(PG_URL, keys, front)
    marktrace(env, "keygen")
    marktrace(env, "init")
    admin, issuer = tokens(env)
    nodes = [Node(f"node{i}", env, free_port()) for i in (1, 2, 3)]
    for node in nodes:
        node.start()
    for node in nodes:
        node.wait_ready()

    nginx_dir = WORK / "nginx"
    nginx_dir.mkdir()
    upstreams = "\n".join(f"        server 127.0.0.1:{n.port} max_fails=1 fail_timeout=2s;" for n in nodes)
    config = (HERE / "nginx.conf").read_text().replace("@WORK@", str(nginx_dir)) \
        .replace("@PORT@", str(front_port)).replace("@UPSTREAMS@", upstreams)
    (nginx_dir / "nginx.conf").write_text(config)
    nginx = Process("nginx", ["nginx", "-p", str(nginx_dir), "-c", str(nginx_dir / "nginx.conf")])
    nginx.start()
    eventually(lambda: nginx.popen.poll() is not None or load.Client(front).request("GET", "/healthz").status == 200,
               START_DEADLINE, "nginx")
    if nginx.popen.poll() is not None:
        raise SystemExit(f"fault suite: nginx did not start; see {REPORT / 'nginx.log'}")

    world = load.World(front, admin, issuer)
    world.seed()
    deployment = Deployment(nodes, front, env, admin, issuer, world)
    probes = iter(world.probes)

    def kill_and_restart():
        nodes[1].process.signal(signal.SIGKILL)
        time.sleep(KILLED_FOR)  # down while the load runs: a duration
        nodes[1].start()
        return time.monotonic()

    def restart_postgres():
        pg_ctl("restart", "-m", "fast")
        return time.monotonic()

    def stop_postgres():
        pg_ctl("stop", "-m", "fast")
        time.sleep(OUTAGE)  # the outage: a duration
        pg_ctl("start")
        return time.monotonic()

    rows, writes = [], []
    for label, title, fault, refuse, (a, b) in (
        ("a", "kill -9 of a node, restarted", kill_and_restart, False, (nodes[0], nodes[2])),
        ("b", "PostgreSQL restarted", restart_postgres, False, (nodes[0], nodes[1])),
        ("c", f"PostgreSQL stopped for {OUTAGE} s", stop_postgres, True, (nodes[0], nodes[1])),
    ):
        marks = [next(probes) for _ in range(REVOCATIONS)]
        row, acked = run_case(label, title, deployment, fault, refuse, (a, b, marks), answers)
        rows.append(row)
        writes += acked
    lost = load.lost_writes(writes, [n.url for n in nodes], issuer)
    print(f"== every write of (a)-(c), {len(writes)}, on every node: {len(lost)} not served", flush=True)
    return rows, (len(writes), lost)


def sqlite_node(name, directory):
    """A node on SQLite in `directory`, with its own keys and world, load straight at it."""
    keys = WORK / f"keys-{name}"
    port = free_port()
    env = settings(f"sqlite://{directory}/marktrace.db", keys, f"http://127.0.0.1:{port}")
    marktrace(env, "keygen")
    marktrace(env, "init")
    admin, issuer = tokens(env)
    node = Node(name, env, port)
    node.start()
    node.wait_ready()
    world = load.World(node.url, admin, issuer)
    world.seed()
    return Deployment([node], node.url, env, admin, issuer, world)


def sqlite_cases(answers):
    tmpfs = WORK / "tmpfs"
    tmpfs.mkdir()
    mount("tmpfs", tmpfs)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=700", "tmpfs", str(tmpfs)], check=True)
    full = sqlite_node("sqlite-tmpfs", tmpfs / "data")

    def fill_then_free():
        filler = tmpfs / "filler"
        chunk = b"\0" * (1 << 20)
        with open(filler, "wb", buffering=0) as out:
            try:
                while True:
                    out.write(chunk)
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
            # The last partial chunk: to the last byte.
            try:
                while True:
                    out.write(b"\0" * 4096)
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
        time.sleep(DISK_FULL_FOR)  # the disk stays full: a duration
        filler.unlink()
        return time.monotonic()

    row_full, _ = run_case("d1", f"SQLite: its tmpfs full for {DISK_FULL_FOR} s, then freed", full,
                           fill_then_free, True, answers=answers)
    full.nodes[0].process.signal(signal.SIGTERM)

    image, ext4 = WORK / "ext4.img", WORK / "ext4"
    ext4.mkdir()
    with open(image, "wb") as out:
        out.truncate(EXT4_SIZE)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", str(image)], check=True)
    device = subprocess.run(["losetup", "-f", "--show", str(image)], check=True, capture_output=True,
                            text=True).stdout.strip()
    mount("ext4", ext4, device)
    subprocess.run(["mount", "-o", "errors=remount-ro", device, str(ext4)], check=True)
    read_only = sqlite_node("sqlite-ext4", ext4 / "data")
    node = read_only.nodes[0]
    stopped = {}

    def read_only_then_repaired():
        (Path("/sys/fs/ext4") / Path(device).name / "trigger_fs_error").write_text("fault suite\n")
        time.sleep(READ_ONLY_FOR)  # the filesystem stays read-only: a duration
        stopped["graceful"] = node.process.signal(signal.SIGTERM)
        subprocess.run(["umount", str(ext4)], check=True)
        fsck = subprocess.run(["e2fsck", "-f", "-y", device], capture_output=True, text=True)
        if fsck.returncode not in (0, 1):
            raise SystemExit(f"fault suite: e2fsck failed ({fsck.returncode}):\n{fsck.stdout}{fsck.stderr}")
        subprocess.run(["mount", "-o", "errors=remount-ro", device, str(ext4)], check=True)
        fault_end = time.monotonic()
        node.start()
        return fault_end

    row_ro, _ = run_case("d2", f"SQLite: its ext4 read-only for {READ_ONLY_FOR} s, repaired, node restarted",
                         read_only, read_only_then_repaired, True, answers=answers)
    row_ro["graceful stop"] = stopped["graceful"]
    node.process.signal(signal.SIGTERM)
    return [row_full, row_ro]


# --- the summary ------------------------------------------------------------------------------

def ms(seconds):
    return f"{seconds * 1000:.0f}"


def summary(rows, every_write):
    """The table (a column per case, a row per figure), the staleness table, the failures."""
    figures = [
        ("answers (attempts)", lambda r: r["answers"]),
        ("2xx", lambda r: r["2xx"]),
        ("4xx", lambda r: r["4xx"]),
        ("503 (all with Retry-After, within 2 s?)", lambda r: f"{r['503']} ({'yes' if not r['503 late or bare'] else 'NO: ' + str(r['503 late or bare'])})"),
        ("slowest 503 (ms)", lambda r: ms(r["slowest 503 s"]) if r["503"] else "–"),
        ("bad answers", lambda r: r["bad"]),
        ("front errors retried to an answer", lambda r: r["front errors retried"]),
        ("requests nginx retried on another node", lambda r: r["front retries"]),
        ("scans of genuine marks not genuine", lambda r: r["wrong verdicts"]),
        ("writes acknowledged", lambda r: r["writes acked"]),
        ("writes retried", lambda r: r["retried writes"]),
        ("retries found done (409)", lambda r: r["retries found done"]),
        ("retries replayed (Idempotent-Replayed)", lambda r: r["replayed"]),
        ("acknowledged writes lost", lambda r: len(r["lost"])),
        ("log verify", lambda r: "pass" if r["log verify"][0] else "FAIL"),
        ("proofs", lambda r: ("pass: " if r["proofs"][0] else "FAIL: ") + r["proofs"][1]),
        ("recovery: first acknowledged write (s)", lambda r: f"{r['recover write s']:.2f}"),
        ("recovery: /readyz 200 on every node (s)", lambda r: f"{r['recover ready s']:.2f}"),
        ("result", lambda r: "pass" if not r["failures"] else "FAIL"),
    ]
    lines = [f"- ({r['case']}) {r['title']}" for r in rows] + [""]
    lines += ["| | " + " | ".join(f"({r['case']})" for r in rows) + " |", "|---" * (len(rows) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(str(value(r)) for r in rows) + " |" for name, value in figures]
    count, lost = every_write
    lines += ["", f"Every write acknowledged in (a)-(c), {count}, read back from every node after (c): "
                  f"{len(lost)} not served."]
    stale_rows = [r for r in rows if "staleness" in r]
    if stale_rows:
        lines += ["", f"Staleness (bound: no `genuine` from node B to a request sent more than "
                      f"{ms(STALENESS_BOUND)} ms after node A acknowledged the revocation; after (b) and (c) node B "
                      f"has reconnected to PostgreSQL, after (a) it is a node no fault touched):", "",
                  "| after | A → B | revocations | B stopped answering genuine: median (ms) | max (ms) | "
                  "latest genuine sent after the ack (ms) | each (ms) | result |", "|---|---|---|---|---|---|---|---|"]
        for r in stale_rows:
            stops = [s for s, _, _ in r["staleness"]]
            lates = [late for _, late, _ in r["staleness"] if late is not None]
            latest = f"{ms(max(lates))}" if lates else "none"
            ok = all(late <= STALENESS_BOUND for late in lates)
            each = ", ".join(ms(s) for s in stops)
            lines.append(f"| ({r['case']}) | {' → '.join(r['staleness nodes'])} | {len(stops)} | "
                         f"{ms(statistics.median(stops))} | {ms(max(stops))} | "
                         f"{latest} | {each} | {'pass' if ok else 'FAIL'} |")
    d2 = next((r for r in rows if r["case"] == "d2"), None)
    if d2 is not None:
        lines += ["", f"(d2) the node stopped gracefully on SIGTERM with its filesystem read-only: "
                      f"{'yes' if d2['graceful stop'] else f'no, killed after {STOP_DEADLINE} s'}."]
    failures = [f"({r['case']}) {f}" for r in rows for f in r["failures"]]
    if lost:
        failures.append(f"{len(lost)} writes of (a)-(c) not served at the end, e.g. {lost[:3]}")
    lines += ["", "Failures:" if failures else "All bounds held."] + [f"- {f}" for f in failures]
    return "\n".join(lines) + "\n", failures


def main():
    started = time.monotonic()
    with open(REPORT / "answers.jsonl", "w") as answers:
        rows, every_write = postgres_cases(answers)
        rows += sqlite_cases(answers)
    text, failures = summary(rows, every_write)
    text = (f"# Fault suite, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n\n"
            f"{text}\nSuite time (after the build): {time.monotonic() - started:.0f} s.\n")
    (REPORT / "summary.md").write_text(text)
    print(text)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
