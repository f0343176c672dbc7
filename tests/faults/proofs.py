"""The fault suite's proof check, from outside the service as a monitor would do it: across a
fault, the log only grew (a consistency proof from the checkpoint before it to the one after,
RFC 9162 section 2.1.4), the entries written meanwhile are in the tree (inclusion proofs,
section 2.1.3, of leaves recomputed here as SHA-256(0x00 || envelope), whose data hashes to
the envelope's `data_sha256`), and both checkpoints carry the log key's Ed25519 signature
(C2SP signed note, checked with `openssl pkeyutl`; Python's standard library has no Ed25519).
Standard library and the openssl command only.
"""

import base64
import hashlib
import json
import subprocess
import tempfile
from pathlib import Path

# DER SubjectPublicKeyInfo of an Ed25519 key, before its 32 bytes (RFC 8410).
ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


class ProofFailure(Exception):
    """A proof, leaf or signature did not check."""


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, proof, first_root, second_root):
    """RFC 9162 2.1.4.2, for 0 < first <= second."""
    if first == second:
        return not proof and first_root == second_root
    if first & (first - 1) == 0:
        proof = [first_root] + proof
    if not proof:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


class Checkpoint:
    """A C2SP checkpoint as served at /api/v1/log/checkpoint, signature checked against the
    verifier key `name+keyid+base64(0x01 || key)`."""

    def __init__(self, note, vkey):
        text, _, signatures = note.partition("\n\n")
        lines = text.split("\n")
        self.origin, self.size, self.root = lines[0], int(lines[1]), base64.b64decode(lines[2])
        name, key_id, key = vkey.strip().split("+", 2)
        raw_key = base64.b64decode(key)
        for line in signatures.splitlines():
            prefix = f"\u2014 {name} "
            if not line.startswith(prefix):
                continue
            signature = base64.b64decode(line[len(prefix):])
            if signature[:4].hex() == key_id:
                if not ed25519_verifies(raw_key[1:], (text + "\n").encode(), signature[4:]):
                    raise ProofFailure(f"checkpoint of size {self.size}: the signature does not verify")
                return
        raise ProofFailure(f"checkpoint of size {self.size}: no signature by {name}+{key_id}")


def ed25519_verifies(public_key, message, signature):
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        der = ED25519_SPKI_PREFIX + public_key
        pem = "-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(der).decode() + "\n-----END PUBLIC KEY-----\n"
        (scratch / "key.pem").write_text(pem)
        (scratch / "message").write_bytes(message)
        (scratch / "signature").write_bytes(signature)
        result = subprocess.run(
            ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", scratch / "key.pem", "-rawin",
             "-in", scratch / "message", "-sigfile", scratch / "signature"],
            capture_output=True, timeout=30)
        return result.returncode == 0


def leaf_of(entry_text):
    """The leaf hash of an entry as served at /api/v1/log/entries/{i}: recomputed from the raw
    envelope bytes (sliced from the answer, not re-serialised), which must agree with the
    served hash, and whose data_sha256 must be the data's (public entries)."""
    entry = json.loads(entry_text)
    start = entry_text.index('"envelope":') + len('"envelope":')
    _, end = json.JSONDecoder().raw_decode(entry_text, start)
    envelope = entry_text[start:end]
    leaf = hashlib.sha256(b"\x00" + envelope.encode()).digest()
    if base64.b64decode(entry["leaf_hash"]) != leaf:
        raise ProofFailure(f"entry {entry['index']}: the served leaf hash is not the envelope's")
    if "data" in entry:
        start = entry_text.index('"data":') + len('"data":')
        _, end = json.JSONDecoder().raw_decode(entry_text, start)
        data_hash = hashlib.sha256(entry_text[start:end].encode()).hexdigest()
        if data_hash != entry["envelope"]["data_sha256"]:
            raise ProofFailure(f"entry {entry['index']}: the data does not hash to data_sha256")
    return leaf


def check_across(get, before, vkey, samples=8):
    """Checks the log now against `before` (the checkpoint note read before the fault), reading
    through `get(path) -> text`: the current checkpoint's signature, consistency from before,
    and inclusion of up to `samples` entries appended since, first and last among them.
    Returns (size before, size now, entries proved); raises ProofFailure."""
    old, new = Checkpoint(before, vkey), Checkpoint(get("/api/v1/log/checkpoint"), vkey)
    if new.size < old.size:
        raise ProofFailure(f"the log shrank from {old.size} to {new.size}")
    if old.size > 0:
        proof = json.loads(get(f"/api/v1/log/proof/consistency?from={old.size}&to={new.size}"))
        hashes = [base64.b64decode(h) for h in proof["hashes"]]
        if not verify_consistency(old.size, new.size, hashes, old.root, new.root):
            raise ProofFailure(f"no consistency from size {old.size} to {new.size}")
    appended = range(old.size, new.size)
    step = max(1, len(appended) // samples)
    indexes = sorted(set(list(appended[::step]) + list(appended[-1:])))
    for index in indexes:
        leaf = leaf_of(get(f"/api/v1/log/entries/{index}"))
        proof = json.loads(get(f"/api/v1/log/proof/inclusion?index={index}&size={new.size}"))
        hashes = [base64.b64decode(h) for h in proof["hashes"]]
        if not verify_inclusion(index, new.size, leaf, hashes, new.root):
            raise ProofFailure(f"entry {index} is not included in the tree of size {new.size}")
    return old.size, new.size, len(indexes)
