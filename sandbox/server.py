"""One threaded loopback HTTP server that serves all five platform simulators.

Path prefixes `/ig`, `/fb`, `/tiktok`, `/youtube`, `/x` stand for the platforms' hosts, so
`KOL_<P>_BASE_URL=http://127.0.0.1:<port>/<prefix>` is the only difference from
production. `/_sandbox/*` is the control plane (clock, stats, faults, health, truth); it
needs no credential because it only ever listens on loopback by default.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import sys
import threading
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sandbox.api import ApiError, PlatformApi, Request, Response, request_key
from sandbox.faults import FAULT_HEADER, FaultConfig, FaultPlan, apply_drift, header_modes
from sandbox.graph import FacebookApi, InstagramApi
from sandbox.profiles import SANDBOX_IG_USER_ID
from sandbox.quotas import QuotaLimits, QuotaMeter
from sandbox.tiktok import TikTokApi
from sandbox.world import World, WorldConfig
from sandbox.xapi import XApi
from sandbox.youtube import YouTubeApi

log = logging.getLogger(__name__)

API_CLASSES: tuple[type[PlatformApi], ...] = (
    InstagramApi,
    FacebookApi,
    TikTokApi,
    YouTubeApi,
    XApi,
)
PREFIXES: dict[str, str] = {cls.platform: cls.prefix for cls in API_CLASSES}
ENTITIES = ("accounts", "posts", "post_insights", "comments")
_GRAPH_VERSION = re.compile(r"^v\d+\.\d+$")
ENV_NAMES = {p: p.upper() for p in PREFIXES}


class SandboxStats:
    """Records served per platform and entity (for `served = landed + quarantined`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.since = datetime.now(UTC).isoformat(timespec="seconds")
            self.served: dict[str, dict[str, int]] = {
                p: dict.fromkeys(ENTITIES, 0) for p in PREFIXES
            }
            self.requests: dict[str, int] = dict.fromkeys(PREFIXES, 0)
            self.statuses: dict[str, dict[str, int]] = defaultdict(dict)
            self.faults: dict[str, dict[str, int]] = defaultdict(dict)

    def record(
        self, platform: str, status: int, records: dict[str, int], faults: list[str]
    ) -> None:
        with self._lock:
            self.requests[platform] += 1
            st = self.statuses[platform]
            st[str(status)] = st.get(str(status), 0) + 1
            for entity, n in records.items():
                self.served[platform][entity] = self.served[platform].get(entity, 0) + n
            for mode in faults:
                self.faults[platform][mode] = self.faults[platform].get(mode, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "since": self.since,
                "served": {p: dict(v) for p, v in self.served.items()},
                "requests": dict(self.requests),
                "statuses": {p: dict(v) for p, v in self.statuses.items()},
                "faults": {p: dict(v) for p, v in self.faults.items()},
            }


class SandboxServer:
    """The sandbox: a world, a clock, fault injection and the five APIs on one port.

    Usable in-process (`with SandboxServer(cfg) as s: urls = s.base_urls`) or blocking via
    `serve_forever`. Port 0 picks a free port.
    """

    def __init__(
        self,
        cfg: WorldConfig,
        token: str = "sandbox",
        faults: FaultConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.cfg = cfg
        self.world = World(cfg)
        self.token = token
        self.host = host
        self.port = port
        self.apis: dict[str, PlatformApi] = {
            cls.prefix: cls(self.world, token) for cls in API_CLASSES
        }
        self.plan = FaultPlan(faults)
        self.quota = _meter(faults)
        self.stats = SandboxStats()
        self._clock = self.world.end
        self._clock_lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle ------------------------------------------------------------------------
    def start(self) -> dict[str, str]:
        """Start serving in a background thread; returns platform -> base URL."""
        if self._httpd is None:
            httpd = _HTTPServer((self.host, self.port), _Handler)
            httpd.sandbox = self
            self._httpd = httpd
            self.port = httpd.server_address[1]
            self._thread = threading.Thread(
                target=httpd.serve_forever, name="kol-sandbox", daemon=True
            )
            self._thread.start()
            log.info(
                "sandbox serving on %s (world %s..%s)", self.url, self.world.start, self.world.end
            )
        return self.base_urls

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_urls(self) -> dict[str, str]:
        return {p: f"{self.url}/{prefix}" for p, prefix in PREFIXES.items()}

    def env(self) -> dict[str, str]:
        """The KOL_* settings pointing the pipeline at this sandbox (no tokens).

        KOL_TODAY is the day after the clock: the sandbox serves the world as of the end of
        its clock's day, as a real platform serves yesterday's counts today."""
        out = {f"KOL_{ENV_NAMES[p]}_BASE_URL": u for p, u in self.base_urls.items()}
        out["KOL_INSTAGRAM_USER_ID"] = SANDBOX_IG_USER_ID
        out["KOL_TODAY"] = (self.clock + timedelta(days=1)).isoformat()
        return out

    # ---- clock and faults -------------------------------------------------------------------
    @property
    def clock(self) -> date:
        return self._clock

    def set_clock(self, d: date) -> None:
        """Serve the world as of the end of `d` (ValueError outside the world)."""
        self.world.check_date(d)
        with self._clock_lock:
            if d != self._clock:
                self.plan.reset_day()
            self._clock = d

    def set_faults(self, faults: FaultConfig | None) -> None:
        self.plan = FaultPlan(faults)
        self.quota = _meter(faults)

    # ---- one request ----------------------------------------------------------------------
    def respond(self, handler: BaseHTTPRequestHandler, method: str) -> tuple[Response, str | None]:
        """Route one request. Returns (response, the response-level fault applied or None)."""
        split = urlsplit(handler.path)
        segs = [unquote(s) for s in split.path.split("/") if s]
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        if segs[:1] == ["_sandbox"]:
            return self.control(method, segs[1:], raw), None
        api = self.apis.get(segs[0]) if segs else None
        if api is None:
            return _plain(
                404, f"unknown path {split.path}: use /ig, /fb, /tiktok, /youtube, /x or /_sandbox"
            ), None
        rest = segs[1:]
        if rest and api.prefix in ("ig", "fb") and _GRAPH_VERSION.match(rest[0]):
            rest = rest[1:]
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        clock = self._clock
        host = handler.headers.get("Host") or f"{self.host}:{self.port}"
        req = Request(
            method=method,
            platform=api.platform,
            prefix=api.prefix,
            segments=rest,
            query=query,
            headers=handler.headers,
            body=None,
            base_url=f"http://{host}/{api.prefix}",
            clock=clock,
            now=self.world.instant(clock),
            key=request_key(method, split.path, query, raw),
        )
        if not api.authorized(req):
            resp = api.unauthorized(req)
            self.stats.record(api.platform, resp.status, {}, [])
            return resp, None
        try:
            req.body = json.loads(raw) if raw else None
        except ValueError:
            return api.error(req, 400, "invalid_params", "the request body is not valid JSON"), None
        try:
            forced = header_modes(handler.headers.get(FAULT_HEADER))
        except ValueError as exc:
            return _plain(400, str(exc)), None
        return self.serve_api(api, req, forced)

    def serve_api(
        self, api: PlatformApi, req: Request, forced: set[str]
    ) -> tuple[Response, str | None]:
        """Charge the quota (when modelled), draw faults, answer (fault or normal response),
        delay, count what was served."""
        meter = self.quota
        if meter is not None:
            refused = meter.admit(api, req)
            if refused is not None:
                self.stats.record(api.platform, refused.status, {}, ["quota_model"])
                return refused, None
        decision = self.plan.decide(api.platform, req.key, req.clock, forced)
        req.glitch = "glitch" in decision.content_modes
        mode = decision.response_mode
        resp = api.fault(req, mode, decision.variant) if mode else None
        if resp is None:
            if mode in ("rate_limit", "server_error", "quota", "no_comment_access"):
                mode = None  # the mode does not apply to this endpoint
            resp = self.handle(api, req)
            drift = decision.content_modes - {"glitch"}
            if resp.status == 200 and drift:
                apply_drift(resp.body, drift)
        if mode == "slow":
            time.sleep(self.plan.cfg.slow_seconds)
        elif mode == "timeout":
            time.sleep(self.plan.cfg.timeout_seconds)
        complete = resp.status == 200 and mode not in ("truncated", "timeout")
        if meter is not None:
            meter.settle(api, req, resp)
        faults = sorted(decision.content_modes) + ([mode] if mode else [])
        self.stats.record(api.platform, resp.status, resp.records if complete else {}, faults)
        return resp, mode

    @staticmethod
    def handle(api: PlatformApi, req: Request) -> Response:
        try:
            return api.handle(req)
        except ApiError as exc:
            return exc.response
        except Exception:  # a sandbox bug must still answer, in the platform's shape
            log.exception(
                "sandbox handler failed for %s /%s/%s",
                req.method,
                req.prefix,
                "/".join(req.segments),
            )
            return api.error(req, 500, "internal", "sandbox internal error (see its log)")

    def control(self, method: str, segs: list[str], raw: bytes) -> Response:
        """The /_sandbox control plane."""
        route = "/".join(segs)
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return _plain(400, "the request body is not valid JSON")
        if route == "health":
            return Response(
                200,
                {
                    "status": "ok",
                    "clock": self._clock.isoformat(),
                    "world": self.world_info(),
                    "base_urls": self.base_urls,
                },
            )
        if route == "clock":
            if method == "POST":
                try:
                    self.set_clock(date.fromisoformat(str(body.get("date"))))
                except ValueError as exc:
                    return _plain(
                        400,
                        f'POST /_sandbox/clock needs {{"date": "YYYY-MM-DD"}} '
                        f"inside the world: {exc}",
                    )
            return Response(200, {"clock": self._clock.isoformat()})
        if route == "stats":
            snap = self.stats.snapshot()
            snap["clock"] = self._clock.isoformat()
            if self.quota is not None:
                snap["quota_charged"] = self.quota.snapshot()
            return Response(200, snap)
        if route == "stats/reset" and method == "POST":
            self.stats.reset()
            return Response(200, {"reset": True})
        if route == "faults":
            if method == "POST":
                try:
                    self.set_faults(FaultConfig.parse(str(body.get("spec", ""))))
                except ValueError as exc:
                    return _plain(400, str(exc))
            return Response(200, {"spec": self.plan.cfg.spec()})
        if route == "truth":
            return Response(200, self.world.truth())
        return _plain(
            404,
            f"unknown control endpoint /_sandbox/{route}: health, clock, stats, "
            "stats/reset, faults, truth",
        )

    def world_info(self) -> dict[str, Any]:
        return {
            "seed": self.cfg.seed,
            "creators": self.cfg.creators,
            "days": self.cfg.days,
            "start_date": self.world.start.isoformat(),
            "end_date": self.world.end.isoformat(),
        }


def _meter(faults: FaultConfig | None) -> QuotaMeter | None:
    """The quota meter when the fault spec asks for the documented quotas (`quota_model=1`)."""
    if faults is None or not faults.quota_model:
        return None
    return QuotaMeter(QuotaLimits(**faults.quota_limits))


def _plain(status: int, message: str) -> Response:
    return Response(status, {"error": message})


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128
    sandbox: SandboxServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes: without TCP_NODELAY, Nagle + delayed ACK
        # adds ~40 ms to every keep-alive response
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        resp, mode = self.server.sandbox.respond(self, method)
        if isinstance(resp.body, str):
            data = resp.body.encode()
            ctype = "text/html; charset=utf-8"
        else:
            data = json.dumps(resp.body, ensure_ascii=False, separators=(",", ":")).encode()
            ctype = "application/json; charset=UTF-8"
        if mode == "truncated" and resp.status == 200:
            data = data[: max(1, len(data) // 2)]  # a body cut mid-JSON
        try:
            self.send_response(resp.status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for k, v in resp.headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout fault): nothing to do

    def log_message(self, format: str, *args: Any) -> None:
        # the request line carries tokens (access_token=, key=): log the path only
        log.debug("%s %s", self.command, urlsplit(self.path).path)


def serve_forever(
    cfg: WorldConfig,
    token: str = "sandbox",
    faults: FaultConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> None:
    """Serve until interrupted; prints the KOL_* settings a user exports to use it."""
    server = SandboxServer(cfg, token=token, faults=faults, host=host, port=port)
    server.start()
    for k, v in server.env().items():
        print(f"{k}={v}")
    print(
        f"# sandbox world seed={cfg.seed} creators={cfg.creators} "
        f"{server.world.start}..{server.world.end}; set each KOL_<P>_TOKEN to the sandbox "
        f'token; move the clock: POST {server.url}/_sandbox/clock {{"date": "YYYY-MM-DD"}}',
    )
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
