"""A stand-in for the Hugging Face Hub and for release-asset hosts, on 127.0.0.1.

Serves just the routes ``huggingface_hub`` needs to download single files at a pinned commit
(``HEAD``/``GET /{repo}/resolve/{revision}/{path}``, with ``Range``), to list a repo's tree
(``GET /api/{type}s/{repo}/tree/{revision}``), to describe a repo with its commit as ``sha``
(``GET /api/{type}s/{repo}`` and ``.../revision/{revision}``), plus plain files under ``/files/``
as GitHub release assets are served. Gated repos answer 401 with the Hub's
``X-Error-Code: GatedRepo``; a file can be cut off after some bytes once, as a dropped connection
would. Every request is logged (method, path, Range header), so tests can see that a download
resumed.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

COMMIT = "a3c1f0e9b8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3"
CHUNK = 1024 * 1024
_RESOLVE = re.compile(r"^/(?:(spaces|datasets)/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")
_TREE = re.compile(r"^/api/(models|spaces|datasets)/([^/]+/[^/]+)/tree/([^/?]+)")
_INFO = re.compile(r"^/api/(models|spaces|datasets)/([^/]+/[^/]+)(?:/revision/([^/?]+))?$")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def is_lfs(path: str) -> bool:
    return not path.endswith((".json", ".txt", ".md"))


@dataclass
class FakeHub:
    repos: dict[tuple[str, str], dict[str, bytes]] = field(default_factory=dict)  # (type, id)
    files: dict[str, bytes] = field(default_factory=dict)  # /files/<name>
    gated: set[str] = field(default_factory=set)
    accepted_tokens: set[str] = field(default_factory=set)  # may download gated repos
    cut_once: dict[str, int] = field(default_factory=dict)  # url path -> bytes sent, then cut
    log: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, range)
    commit: str = COMMIT
    main: str | None = None  # the commit "main" points to in repo info (default: ``commit``)
    server: ThreadingHTTPServer | None = None

    def add_repo(self, repo_id: str, files: dict[str, bytes], repo_type: str = "model") -> None:
        self.repos[(repo_type, repo_id)] = dict(files)

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def file_url(self, name: str) -> str:
        return f"{self.url}/files/{name}"

    def start(self) -> FakeHub:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                return

            def do_HEAD(self):
                hub._serve(self, head=True)

            def do_GET(self):
                hub._serve(self, head=False)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    # -- routes ------------------------------------------------------------------------------
    def _serve(self, handler: BaseHTTPRequestHandler, head: bool) -> None:
        path = unquote(urlsplit(handler.path).path)
        self.log.append((handler.command, path, handler.headers.get("Range", "")))
        tree = _TREE.match(path)
        if tree and not head:
            return self._tree(handler, tree.group(1)[:-1], tree.group(2), tree.group(3))
        info = _INFO.match(path)
        if info and not head:
            return self._info(handler, info.group(1)[:-1], info.group(2), info.group(3))
        resolve = _RESOLVE.match(path)
        if resolve:
            kind = (resolve.group(1) or "models")[:-1]
            return self._resolve(handler, head, kind, resolve.group(2), resolve.group(3),
                                 resolve.group(4))
        if path.startswith("/files/") and path[len("/files/"):] in self.files:
            data = self.files[path[len("/files/"):]]
            return self._send(handler, head, path, data, {})
        return self._error(handler, 404, "EntryNotFound", "not found")

    def _repo(self, handler, kind: str, repo_id: str, revision: str):
        token = handler.headers.get("Authorization", "").removeprefix("Bearer ")
        if repo_id in self.gated and token not in self.accepted_tokens:
            self._error(handler, 401, "GatedRepo", "Access to this repo is restricted.")
            return None
        files = self.repos.get((kind, repo_id))
        if files is None:
            self._error(handler, 404, "RepoNotFound", "Repository not found")
            return None
        if revision not in (self.commit, "main"):
            self._error(handler, 404, "RevisionNotFound", "Invalid rev id")
            return None
        return files

    def _resolve(self, handler, head, kind, repo_id, revision, name) -> None:
        files = self._repo(handler, kind, repo_id, revision)
        if files is None:
            return
        if name not in files:
            return self._error(handler, 404, "EntryNotFound", f"{name} does not exist")
        data = files[name]
        etag = sha256(data) if is_lfs(name) else git_blob_id(data)
        headers = {"X-Repo-Commit": self.commit, "ETag": f'"{etag}"'}
        return self._send(handler, head, handler.path, data, headers)

    def _tree(self, handler, kind, repo_id, revision) -> None:
        files = self._repo(handler, kind, repo_id, revision)
        if files is None:
            return
        entries = []
        for name, data in sorted(files.items()):
            entry = {"type": "file", "path": name, "size": len(data), "oid": git_blob_id(data)}
            if is_lfs(name):
                entry["lfs"] = {"oid": sha256(data), "size": len(data), "pointerSize": 134}
            entries.append(entry)
        self._json(handler, entries)

    def _info(self, handler, kind, repo_id, revision) -> None:
        if self._repo(handler, kind, repo_id, revision or "main") is None:
            return
        sha = (self.main or self.commit) if revision in (None, "main") else self.commit
        siblings = [{"rfilename": name} for name in sorted(self.repos[(kind, repo_id)])]
        self._json(handler, {"id": repo_id, "sha": sha, "siblings": siblings})

    def _json(self, handler, payload) -> None:
        body = json.dumps(payload).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _error(self, handler, status: int, code: str, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        handler.send_response(status)
        handler.send_header("X-Error-Code", code)
        handler.send_header("X-Error-Message", message)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)

    def _send(self, handler, head: bool, key: str, data: bytes, headers: dict) -> None:
        start = 0
        match = re.match(r"bytes=(\d+)-", handler.headers.get("Range", ""))
        status = 200
        if match and not head:
            start = int(match.group(1))
            if start >= len(data):
                handler.send_response(416)
                handler.send_header("Content-Range", f"bytes */{len(data)}")
                handler.send_header("Content-Length", "0")
                handler.end_headers()
                return
            status = 206
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Accept-Ranges", "bytes")
        handler.send_header("Content-Length", str(len(data) - start))
        if status == 206:
            handler.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        handler.end_headers()
        if head:
            return
        path = unquote(urlsplit(key).path)
        cut = self.cut_once.pop(path, None)
        view = memoryview(data)[start:] if cut is None else memoryview(data)[start:start + cut]
        try:
            for first in range(0, len(view), CHUNK):
                handler.wfile.write(view[first:first + CHUNK])
            if cut is not None:  # drop the connection mid-body, as a network failure would
                handler.wfile.flush()
                handler.close_connection = True
                handler.connection.shutdown(2)
        except OSError:
            handler.close_connection = True


def main() -> None:
    """``python -m tests.hub_server MB FILES``: serve FILES random files of MB in all as the
    repo ``bench/weights`` until stdin closes; prints the URL, then one file name per line."""
    import os
    import sys

    total_mb, count = int(sys.argv[1]), int(sys.argv[2])
    size = total_mb * 1024 * 1024 // count
    block = os.urandom(1024 * 1024)
    files = {f"part-{i}.pth": block * (size // len(block)) + os.urandom(i + 1)
             for i in range(count)}
    hub = FakeHub().start()
    hub.add_repo("bench/weights", files)
    print(hub.url, *files, sep="\n", flush=True)
    sys.stdin.read()
    hub.stop()


if __name__ == "__main__":
    main()
