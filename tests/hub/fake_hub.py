#!/usr/bin/env python3
"""A stand-in for the Hugging Face Hub on 127.0.0.1, for tests/hub only (never a real server).

Serves GET /api/models/{repo}/revision/{rev} (JSON: sha, siblings[].rfilename) and
HEAD/GET /{repo}/resolve/{rev}/{file} like the Hub: small files answer 200 with ETag (git sha1) and
X-Repo-Commit; LFS files answer 302 to a second port ("the CDN") with X-Linked-Etag (sha256),
X-Linked-Size and X-Repo-Commit. The CDN honours Range. Repositories:
  tiny/model    config.json, tokenizer.json, model.safetensors (LFS), README.md
  tiny/flaky    the same; the CDN drops the connection after 100000 bytes, --drops times
  tiny/corrupt  the same, but X-Linked-Etag is the sha256 of other bytes
  tiny/private  the same, 401 unless "Authorization: Bearer <--token>"
  tiny/gguf     m-Q8_0.gguf, m-F16.gguf (LFS), README.md
  anything else 404 (X-Error-Code: RepoNotFound); an unknown revision 404 (RevisionNotFound)
--chunk-delay-ms N makes the CDN send 10 kB every N ms. Prints "PORT CDN_PORT" on the first line of stdout; logs one JSON line per request to --log.
"""
import argparse
import hashlib
import json
import random
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

COMMIT = "0123456789abcdef0123456789abcdef01234567"
DROP_AT = 100000


def blob(seed, n):
    return random.Random(seed).randbytes(n)


CONFIG = json.dumps({"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2}).encode()
TOKENIZER = b'{"version": "1.0", "model": {"type": "BPE", "vocab": {}, "merges": []}}'
WEIGHTS = blob(1, 300000)
REPOS = {
    "tiny/model": {"config.json": CONFIG, "tokenizer.json": TOKENIZER, "model.safetensors": WEIGHTS, "README.md": b"# tiny\n"},
    "tiny/gguf": {"m-Q8_0.gguf": blob(2, 50000), "m-F16.gguf": blob(3, 90000), "README.md": b"# gguf\n"},
}
for name in ("tiny/flaky", "tiny/corrupt", "tiny/private"):
    REPOS[name] = REPOS["tiny/model"]


def is_lfs(file):
    return file.endswith((".safetensors", ".gguf"))


def git_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class State:
    log_path = None
    token = None
    drops_left = 0
    cdn_port = 0
    chunk_delay = 0.0
    lock = threading.Lock()


def log(entry):
    with State.lock, open(State.log_path, "a") as f:
        f.write(json.dumps(entry) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    cdn = False

    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self.handle_request(head=True)

    def do_GET(self):
        self.handle_request(head=False)

    def reply(self, code, headers=None, body=b"", head=False):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def error(self, code, error_code, message, head):
        body = json.dumps({"error": message}).encode()
        self.reply(code, {"X-Error-Code": error_code, "X-Error-Message": message,
                          "Content-Type": "application/json"}, body, head)

    def handle_request(self, head):
        path = unquote(urlsplit(self.path).path)
        log({"port": "cdn" if self.cdn else "hub", "method": self.command, "path": path,
             "range": self.headers.get("Range"), "auth": self.headers.get("Authorization")})
        if self.cdn:
            return self.serve_cdn(path, head)
        if path.startswith("/api/models/"):
            rest = path[len("/api/models/"):]
            repo, _, revision = rest.partition("/revision/")
            if not self.check_repo(repo, head):
                return
            if revision not in ("main", COMMIT):
                return self.error(404, "RevisionNotFound", "Invalid rev id: " + revision, head)
            body = json.dumps({"id": repo, "sha": COMMIT,
                               "siblings": [{"rfilename": f} for f in REPOS[repo]]}).encode()
            return self.reply(200, {"Content-Type": "application/json"}, body, head)
        parts = path.lstrip("/").split("/")
        if len(parts) >= 5 and parts[2] == "resolve":
            repo, revision, file = parts[0] + "/" + parts[1], parts[3], "/".join(parts[4:])
            if not self.check_repo(repo, head):
                return
            if revision not in ("main", COMMIT):
                return self.error(404, "RevisionNotFound", "Invalid rev id: " + revision, head)
            data = REPOS[repo].get(file)
            if data is None:
                return self.error(404, "EntryNotFound", file + " does not exist", head)
            if not is_lfs(file):
                return self.reply(200, {"ETag": '"%s"' % git_sha1(data), "X-Repo-Commit": COMMIT}, data, head)
            sha = hashlib.sha256(data if repo != "tiny/corrupt" else data + b"x").hexdigest()
            location = "http://127.0.0.1:%d/cdn/%s/%s?signature=abc" % (State.cdn_port, repo, file)
            return self.reply(302, {"Location": location, "X-Repo-Commit": COMMIT, "X-Linked-Etag": '"%s"' % sha,
                                    "X-Linked-Size": str(len(data)), "ETag": '"%s"' % git_sha1(data)}, b"", head)
        self.error(404, "RepoNotFound", "Repository not found", head)

    def check_repo(self, repo, head):
        if repo == "tiny/private" and self.headers.get("Authorization") != "Bearer " + str(State.token):
            self.error(401, "RepoNotFound", "Invalid username or password.", head)
            return False
        if repo not in REPOS:
            self.error(404, "RepoNotFound", "Repository not found", head)
            return False
        return True

    def serve_cdn(self, path, head):
        parts = path.lstrip("/").split("/")
        repo, file = parts[1] + "/" + parts[2], "/".join(parts[3:])
        data = REPOS.get(repo, {}).get(file)
        if data is None:
            return self.reply(404, {}, b"no such blob", head)
        start = 0
        rng = self.headers.get("Range")
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(data):
                return self.reply(416, {"Content-Range": "bytes */%d" % len(data)}, b"", head)
        body = data[start:]
        self.send_response(206 if rng else 200)
        if rng:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if head:
            return
        drop = False
        with State.lock:
            if repo == "tiny/flaky" and State.drops_left > 0 and start < DROP_AT:
                State.drops_left -= 1
                drop = True
        if drop:
            self.wfile.write(body[:DROP_AT - start])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        if State.chunk_delay > 0:
            for i in range(0, len(body), 10000):
                self.wfile.write(body[i:i + 10000])
                self.wfile.flush()
                time.sleep(State.chunk_delay)
        else:
            self.wfile.write(body)


class CdnHandler(Handler):
    cdn = True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--log", required=True)
    p.add_argument("--token", default="secret-token")
    p.add_argument("--drops", type=int, default=1)
    p.add_argument("--chunk-delay-ms", type=float, default=0)
    a = p.parse_args()
    State.chunk_delay = a.chunk_delay_ms / 1000
    State.log_path, State.token, State.drops_left = a.log, a.token, a.drops
    hub = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    cdn = ThreadingHTTPServer(("127.0.0.1", 0), CdnHandler)
    State.cdn_port = cdn.server_address[1]
    threading.Thread(target=cdn.serve_forever, daemon=True).start()
    print(hub.server_address[1], cdn.server_address[1], flush=True)
    hub.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
