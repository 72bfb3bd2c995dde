"""The console's web app: FastAPI serving one static page and one WebSocket.

    GET /            the page (static HTML/JS/CSS shipped in robomatrix/console/static, no build step)
    GET /static/...  its script and style sheet
    WS  /ws          page → server: JSON commands (`robomatrix.console.protocol`);
                     server → page: {"type": "hello"} once, {"type": "state"} and {"type": "log"}
                     as they change (≤ 10 Hz), each new camera frame as a binary JPEG message,
                     {"type": "error"} for a refused command

Security. The server binds 127.0.0.1 unless told otherwise, and binding any other address needs
an access token (`check_bind`). With a token, every request must carry it (`?token=` on the URL,
remembered in an HttpOnly same-site cookie for the page's own requests); comparison is constant
time. A WebSocket whose Origin is another site is refused, and without a token only loopback
Host names are served (against DNS rebinding), so a web page elsewhere cannot drive the robot
through a browser on this machine. Messages are size-limited and validated; a closed
connection stops teleop motion at once, and silent teleop stops after the watchdog timeout.
"""
from __future__ import annotations

import asyncio
import hmac
import json
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, PlainTextResponse, Response

from robomatrix.console.backend import ConsoleBackend
from robomatrix.console.protocol import MAX_MESSAGE_BYTES, ConsoleInputError, TeleopCommand, parse_message
from robomatrix.errors import UsageError
from robomatrix.netaddr import is_loopback

STATIC_DIR = Path(__file__).parent / "static"
COOKIE = "robomatrix_console_token"
STATE_PERIOD_S = 0.1  # state, log and camera pushes at most this often
MAX_MESSAGES_PER_S = 100  # a page sending faster than this gets errors, not actions


def check_bind(host: str, token: str | None) -> None:
    """UsageError unless `host` is loopback or an access token is set."""
    if not is_loopback(host) and not token:
        raise UsageError(f"binding the console to {host} exposes the robot to the network: "
                         "give an access token with --token (or ROBOMATRIX_CONSOLE_TOKEN)")
    if token is not None and len(token) < 8:
        raise UsageError("--token must be at least 8 characters")


def create_app(backend: ConsoleBackend, token: str | None = None) -> FastAPI:
    app = FastAPI(title="RoboMatrix console", docs_url=None, redoc_url=None, openapi_url=None)

    def token_ok(candidate: str | None) -> bool:
        return token is None or (candidate is not None and hmac.compare_digest(candidate.encode(), token.encode()))

    def host_ok(host_header: str) -> bool:
        """Without a token only loopback names: a DNS-rebinding page (evil.example resolving to
        127.0.0.1) is same-origin with itself, so the Origin check alone would let it in."""
        return token is not None or is_loopback(urlsplit(f"//{host_header}").hostname or "")

    @app.middleware("http")
    async def require_token(request: Request, call_next):
        if not host_ok(request.headers.get("host", "")):
            return PlainTextResponse("unknown host: open the console at 127.0.0.1 or localhost\n", status_code=403)
        query = request.query_params.get("token")
        if not (token_ok(query) or token_ok(request.cookies.get(COOKIE))):
            return PlainTextResponse("access token required: open the URL that `robomatrix console` printed "
                                     "(it ends in ?token=...)\n", status_code=401)
        response = await call_next(request)
        if token is not None and token_ok(query):
            response.set_cookie(COOKIE, query, httponly=True, samesite="strict")
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        return response

    @app.get("/")
    async def index():
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    @app.get("/static/{name}")
    async def static(name: str):
        path = STATIC_DIR / name
        if "/" in name or name.startswith(".") or not path.is_file():
            return Response(status_code=404)
        return FileResponse(path)

    @app.get("/favicon.ico")
    async def favicon():
        return Response(status_code=204)

    @app.websocket("/ws")
    async def ws(websocket: WebSocket):
        origin = websocket.headers.get("origin")
        host = websocket.headers.get("host", "")
        if (origin and urlsplit(origin).netloc != host) or not host_ok(host):
            await websocket.close(code=1008, reason="cross-origin connection refused")
            return
        if not (token_ok(websocket.query_params.get("token")) or token_ok(websocket.cookies.get(COOKIE))):
            await websocket.close(code=1008, reason="access token required")
            return
        await websocket.accept()
        model = backend.model
        await websocket.send_text(json.dumps({"type": "hello", "mode": model.mode, "skills": backend.skills(),
                                              "max_text": 500, "teleop_timeout_s": 0.5}))
        closed = asyncio.Event()

        async def push() -> None:
            last_state, log_seq, frame_seq = "", 0, 0
            while not closed.is_set():
                state = json.dumps({"type": "state", **model.snapshot()})
                if state != last_state:
                    await websocket.send_text(state)
                    last_state = state
                lines = model.log_since(log_seq)
                if lines:
                    log_seq = lines[-1]["seq"]
                    await websocket.send_text(json.dumps({"type": "log", "lines": lines}))
                frame = model.frame()
                if frame is not None and frame.seq != frame_seq:
                    frame_seq = frame.seq
                    await websocket.send_bytes(frame.jpeg)
                await asyncio.sleep(STATE_PERIOD_S)

        sender = asyncio.create_task(push())
        window_start, count = time.monotonic(), 0
        last_error = ("", 0.0)

        async def refuse(text: str) -> None:
            """Send an error, but the same one at most once a second (held keys repeat 20 times a second)."""
            nonlocal last_error
            now = time.monotonic()
            if text != last_error[0] or now - last_error[1] > 1.0:
                last_error = (text, now)
                await websocket.send_text(json.dumps({"type": "error", "message": text}))
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                raw = message.get("text") if message.get("text") is not None else message.get("bytes")
                now = time.monotonic()
                if now - window_start >= 1.0:
                    window_start, count = now, 0
                count += 1
                try:
                    if count > MAX_MESSAGES_PER_S:
                        raise ConsoleInputError(f"too many messages (at most {MAX_MESSAGES_PER_S} per second)")
                    command = parse_message(raw if raw is not None else b"")
                    if isinstance(command, TeleopCommand):
                        backend.handle(command)  # quick: keep teleop in order and on time
                    else:
                        await asyncio.to_thread(backend.handle, command)
                except ConsoleInputError as exc:
                    await refuse(str(exc))
                except Exception as exc:  # the console must outlive a failing command
                    model.log(f"command failed: {type(exc).__name__}: {exc}", "error")
                    await refuse(f"{type(exc).__name__}: {exc}")
        except WebSocketDisconnect:
            pass
        finally:
            backend.teleop_release()  # watchdog: a lost connection stops teleop motion now
            closed.set()
            sender.cancel()

    return app


class ConsoleServer:
    """uvicorn serving `create_app(backend, token)` on host:port (port 0: any free port)."""

    def __init__(self, backend: ConsoleBackend, host: str = "127.0.0.1", port: int = 8765, token: str | None = None):
        import uvicorn

        check_bind(host, token)
        if not 0 <= port <= 65535:
            raise UsageError(f"--port must be within 0..65535, got {port}")
        self.backend, self.host, self.token = backend, host, token
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((host, port))
        except OSError as exc:
            self.sock.close()
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(create_app(backend, token), log_level="warning", ws_max_size=4 * MAX_MESSAGE_BYTES,
                                ws_ping_interval=5.0, ws_ping_timeout=5.0, lifespan="off")
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/" + (f"?token={self.token}" if self.token else "")

    def run(self) -> None:
        """Serve until Ctrl-C (blocking)."""
        self.server.run(sockets=[self.sock])

    def start(self, timeout_s: float = 10.0) -> ConsoleServer:
        """Serve from a background thread; returns once it accepts connections."""
        self._thread = threading.Thread(target=self.run, name="console-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the console server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self.sock.close()
