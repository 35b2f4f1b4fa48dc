"""Telemetry of a built project, for real: the server exports OTLP over HTTP to a receiver on
loopback that decodes what arrives with the OpenTelemetry protobuf definitions, a real Prometheus
scrapes its metrics port, log lines carry the trace id, and without OTEL_* settings no SDK
module is even loaded.

One built project (the defaults), two server processes: one with everything on, one with nothing.
"""

from __future__ import annotations

import gzip
import json
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from support.mcp_client import INITIALIZE, MCP_HEADERS, MODERN_REVISION, http_request
from support.server_process import ServerProcess, free_port
from variants import DEFAULTS, PROJECT_VARIANTS

pytestmark = pytest.mark.node

DEADLINE = 60.0  # a safety net only: every wait ends as soon as its event arrives
SPAN_KIND_SERVER = 2


def _value(any_value):
    kind = any_value.WhichOneof("value")
    return None if kind is None else getattr(any_value, kind)


def number_of(point) -> float:
    """A sum data point's value, an integer or a double on the wire."""
    return getattr(point, point.WhichOneof("value"))


def attributes_of(key_values) -> dict:
    return {kv.key: _value(kv.value) for kv in key_values}


class OtlpReceiver:
    """An OTLP/HTTP (protobuf) collector stand-in on loopback: keeps every span and metric."""

    def __init__(self) -> None:
        self.spans: list = []
        self.metrics: list = []  # (name, data point attributes, data point)
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self._body()
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path == "/v1/traces":
                    request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
                    reply = trace_service_pb2.ExportTraceServiceResponse()
                    receiver._add_spans(request)
                elif self.path == "/v1/metrics":
                    request = metrics_service_pb2.ExportMetricsServiceRequest.FromString(body)
                    reply = metrics_service_pb2.ExportMetricsServiceResponse()
                    receiver._add_metrics(request)
                else:
                    self.send_error(404)
                    return
                payload = reply.SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
                    return self.rfile.read(int(self.headers.get("Content-Length", "0")))
                # Node's exporter streams its body: chunked transfer coding, which http.server leaves to us.
                body = b""
                while size := int(self.rfile.readline().split(b";")[0].strip(), 16):
                    body += self.rfile.read(size)
                    self.rfile.readline()  # the CRLF after each chunk
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return body

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _add_spans(self, request) -> None:
        with self.changed:
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    self.spans.extend(scope_spans.spans)
            self.changed.notify_all()

    def _add_metrics(self, request) -> None:
        with self.changed:
            for resource_metrics in request.resource_metrics:
                for scope_metrics in resource_metrics.scope_metrics:
                    for metric in scope_metrics.metrics:
                        kind = metric.WhichOneof("data")
                        for point in getattr(metric, kind).data_points:
                            self.metrics.append((metric.name, attributes_of(point.attributes), point))
            self.changed.notify_all()

    def wait_for(self, what: str, found: Callable[[], list]) -> list:
        """Blocks until `found()` returns something (checked on every export), at most DEADLINE."""
        deadline = time.monotonic() + DEADLINE
        with self.changed:
            while not (result := found()):
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"no {what} arrived within {DEADLINE} s; spans: {len(self.spans)}")
                self.changed.wait(left)
            return result

    def wait_for_counter(self, metric: str, reason: str) -> list:
        """Waits until the counter `metric` with this `reason` label has counted at least once."""
        return self.wait_for(
            f"{metric}{{reason={reason}}}",
            lambda: [
                p
                for name, attrs, p in self.metrics
                if name == metric and attrs.get("reason") == reason and number_of(p) >= 1
            ],
        )

    def spans_of_trace(self, trace_id: str) -> list:
        return [span for span in self.spans if span.trace_id.hex() == trace_id]

    def __enter__(self) -> OtlpReceiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


# Records every module an ESM import resolves, in a file: proves which packages a server loaded.
# (module.registerHooks: synchronous, in-thread hooks; Node 22.15 and later, the default line.)
MODULE_RECORDER = """
import { appendFileSync } from "node:fs";
import { registerHooks } from "node:module";
registerHooks({
  resolve(specifier, context, next) {
    const result = next(specifier, context);
    appendFileSync(process.env.MODULE_RECORD, result.url + "\\n");
    return result;
  },
});
"""


def echo_call(request_id: int, text: str) -> bytes:
    """A raw JSON-RPC tools/call of the echo tool."""
    params = {"name": "echo", "arguments": {"text": text}}
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}).encode()


def traceparent(trace_id: str, span_id: str) -> str:
    return f"00-{trace_id}-{span_id}-01"


def call_echo_with_meta(url: str, key: str, meta_parent: str, http_parent: str) -> str:
    """A 2026-07-28 tools/call from the Python SDK, carrying trace context in `_meta` (SEP-414),
    over an HTTP request whose own traceparent header names another trace."""

    async def call() -> str:
        headers = {"Authorization": f"Bearer {key}", "traceparent": http_parent}
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
            transport = streamable_http_client(url, http_client=http, terminate_on_close=False)
            async with Client(transport, mode=MODERN_REVISION) as client:
                result = await client.call_tool("echo", {"text": "via _meta"}, meta={"traceparent": meta_parent})
                return "".join(getattr(block, "text", "") for block in result.content)

    return anyio.run(call)


def prometheus_query(base: str, query: str) -> list:
    url = f"{base}/api/v1/query?{urllib.parse.urlencode({'query': query})}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)["data"]["result"]


@pytest.fixture(scope="module")
def built(build_project):
    return build_project(**DEFAULTS)


def test_traces_metrics_and_logs_reach_a_collector_and_prometheus(built, tmp_path):
    project, env = built
    prometheus_bin = shutil.which("prometheus")
    assert prometheus_bin, "Debian's prometheus package is missing (scripts/machine.sh installs it)"
    key, flood_key = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    metrics_port = free_port()
    recorder = tmp_path / "recorder.mjs"
    recorder.write_text(MODULE_RECORDER)
    record = tmp_path / "modules-on.txt"

    with OtlpReceiver() as receiver:
        extra = {
            "NODE_ENV": "production",
            "AUTH_MODE": "api_key",
            "AUTH_API_KEYS": f"{key},{flood_key}",
            # Low enough for the flood key below to be refused, far above the other calls here.
            "RATE_LIMIT_PER_CALLER": "20",
            "LOG_LEVEL": "info",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
            "OTEL_METRICS_EXPORTER": "otlp,prometheus",
            "OTEL_EXPORTER_PROMETHEUS_HOST": "127.0.0.1",
            "OTEL_EXPORTER_PROMETHEUS_PORT": str(metrics_port),
            "OTEL_SERVICE_NAME": "telemetry-under-test",
            # Short export intervals: the waits below end on arrival, these make arrival early.
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_METRIC_EXPORT_INTERVAL": "300",
            "NODE_OPTIONS": f"--import {recorder}",
            "MODULE_RECORD": str(record),
        }
        with ServerProcess(project, env, extra) as server:
            url = f"{server.base_url}/mcp"

            # 1. A handshake-era call whose trace context is the HTTP traceparent header.
            header_trace, header_parent = secrets.token_hex(16), secrets.token_hex(8)
            headers = {
                **MCP_HEADERS,
                "Authorization": f"Bearer {key}",
                "MCP-Protocol-Version": "2025-11-25",
                "traceparent": traceparent(header_trace, header_parent),
            }
            answer = http_request("POST", url, headers, echo_call(7, "hi"))
            assert answer.status == 200 and "hi" in answer.body, answer

            # 2. A 2026-07-28 call with trace context in _meta, and another trace in the header.
            meta_trace, meta_parent = secrets.token_hex(16), secrets.token_hex(8)
            transport_trace = secrets.token_hex(16)
            echoed = call_echo_with_meta(
                url, key, traceparent(meta_trace, meta_parent), traceparent(transport_trace, secrets.token_hex(8))
            )
            assert echoed == "via _meta"

            # 3. A refused token: an authentication failure to count.
            refused = http_request("POST", url, {**MCP_HEADERS, "Authorization": "Bearer not-a-key-" + key[:8]}, b"{}")
            assert refused.status == 401

            # 4. One caller over its rate limit: refusals the limit counter sees.
            flood_headers = {**MCP_HEADERS, "Authorization": f"Bearer {flood_key}"}
            statuses = [http_request("POST", url, flood_headers, echo_call(n, "flood")).status for n in range(40)]
            assert 429 in statuses and set(statuses) <= {200, 429}, statuses

            # The header call: HTTP span under the caller's span, MCP span under the HTTP span.
            spans = receiver.wait_for(
                "spans of the header call",
                lambda: len(receiver.spans_of_trace(header_trace)) >= 2 and receiver.spans_of_trace(header_trace),
            )
            http_span = next(s for s in spans if s.name == "POST /mcp")
            mcp_span = next(s for s in spans if s.name == "tools/call echo")
            assert http_span.parent_span_id.hex() == header_parent and http_span.kind == SPAN_KIND_SERVER
            http_attrs = attributes_of(http_span.attributes)
            assert http_attrs["http.request.method"] == "POST" and http_attrs["http.route"] == "/mcp"
            assert http_attrs["http.response.status_code"] == 200 and http_attrs["mcp.auth.outcome"] == "ok"
            assert mcp_span.parent_span_id == http_span.span_id and mcp_span.kind == SPAN_KIND_SERVER
            mcp_attrs = attributes_of(mcp_span.attributes)
            assert mcp_attrs["mcp.method.name"] == "tools/call" and mcp_attrs["gen_ai.tool.name"] == "echo"
            assert mcp_attrs["jsonrpc.request.id"] == "7" and mcp_attrs["mcp.protocol.version"] == "2025-11-25"
            assert mcp_attrs["mcp.auth.outcome"] == "ok" and mcp_attrs["mcp.auth.method"] == "api_key"
            assert "error.type" not in mcp_attrs
            for span in spans:  # never a credential, in any attribute
                assert key not in json.dumps({k: str(v) for k, v in attributes_of(span.attributes).items()})

            # The start-up waited on /health: probes make no spans.
            assert not [s for s in receiver.spans if attributes_of(s.attributes).get("url.path") == "/health"]

            # The _meta call: the MCP span's parent is the _meta context, the HTTP span a link.
            meta_spans = receiver.wait_for("the _meta call's MCP span", lambda: receiver.spans_of_trace(meta_trace))
            (meta_mcp,) = meta_spans
            assert meta_mcp.name == "tools/call echo" and meta_mcp.parent_span_id.hex() == meta_parent
            assert attributes_of(meta_mcp.attributes)["mcp.protocol.version"] == MODERN_REVISION
            transport_spans = receiver.wait_for(
                "the _meta call's HTTP span",
                lambda: [s for s in receiver.spans_of_trace(transport_trace) if s.name == "POST /mcp"],
            )
            transport_ids = {s.span_id for s in transport_spans}
            assert [link.span_id in transport_ids for link in meta_mcp.links] == [True], meta_mcp.links

            # The refused call: its HTTP span says why, with the RFC 6750 code.
            receiver.wait_for(
                "the refused call's span",
                lambda: [
                    s for s in receiver.spans if attributes_of(s.attributes).get("mcp.auth.outcome") == "invalid_token"
                ],
            )

            # Metrics over OTLP: the duration histogram by method and tool, the auth failure counter.
            # One series per protocol revision: both calls, each in its own.
            durations = receiver.wait_for(
                "mcp.server.operation.duration for tools/call echo, in both revisions",
                lambda: (
                    {
                        attrs.get("mcp.protocol.version"): p
                        for name, attrs, p in receiver.metrics
                        if name == "mcp.server.operation.duration"
                        and attrs.get("mcp.method.name") == "tools/call"
                        and attrs.get("gen_ai.tool.name") == "echo"
                        and "error.type" not in attrs
                        and p.count >= 1
                    }.keys()
                    >= {"2025-11-25", MODERN_REVISION}
                    and receiver.metrics
                ),
            )
            assert durations
            receiver.wait_for_counter("mcp.server.auth.failures", reason="invalid_token")
            receiver.wait_for_counter("mcp.server.limit.rejections", reason="caller_rate")

            # A real Prometheus scrapes the metrics port; PromQL sees the request counter.
            _prometheus_sees_requests(prometheus_bin, metrics_port, tmp_path)

            # The public port serves no metrics: they live on their own port only.
            assert http_request("GET", f"{server.base_url}/metrics").status == 404

        log = server.log()

    # Log lines written while a span was active carry its trace id (the access log line here).
    traced = [json.loads(line) for line in log.splitlines() if header_trace in line]
    assert any(entry.get("trace_id") == header_trace and entry.get("span_id") for entry in traced), log[-3000:]
    # The configured server did load the SDK (the positive control for the test below).
    loaded = record.read_text()
    assert "/@opentelemetry/sdk-trace/" in loaded and "/@opentelemetry/exporter-prometheus/" in loaded


def _prometheus_sees_requests(prometheus_bin: str, metrics_port: int, tmp_path: Path) -> None:
    web_port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: mcp\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{metrics_port}']\n"
    )
    log = (tmp_path / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            prometheus_bin,
            f"--config.file={config}",
            f"--storage.tsdb.path={tempfile.mkdtemp(dir=tmp_path)}",
            f"--web.listen-address=127.0.0.1:{web_port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{web_port}"
    query = 'sum(mcp_server_operation_duration_count{mcp_method_name="tools/call",gen_ai_tool_name="echo"})'
    try:
        deadline = time.monotonic() + DEADLINE
        result: list = []
        while time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "prometheus.log").read_text()[-3000:]
            try:
                result = prometheus_query(base, query)
            except OSError:
                result = []  # not listening yet
            if result and float(result[0]["value"][1]) > 0:
                break
            time.sleep(0.25)
        assert result and float(result[0]["value"][1]) >= 2, (result, (tmp_path / "prometheus.log").read_text()[-3000:])
        failures = prometheus_query(base, 'mcp_server_auth_failures_total{reason="invalid_token"}')
        assert failures and float(failures[0]["value"][1]) >= 1, failures
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_nothing_configured_loads_no_sdk_and_connects_nowhere(built, tmp_path):
    project, env = built
    key = secrets.token_urlsafe(32)
    recorder = tmp_path / "recorder.mjs"
    recorder.write_text(MODULE_RECORDER)
    record = tmp_path / "modules-off.txt"
    extra = {
        "NODE_ENV": "production",
        "AUTH_MODE": "api_key",
        "AUTH_API_KEYS": key,
        "LOG_LEVEL": "info",
        "NODE_OPTIONS": f"--import {recorder}",
        "MODULE_RECORD": str(record),
    }
    with ServerProcess(project, env, extra) as server:
        headers = {**MCP_HEADERS, "Authorization": f"Bearer {key}", "MCP-Protocol-Version": "2025-11-25"}
        headers["traceparent"] = traceparent(secrets.token_hex(16), secrets.token_hex(8))
        answer = http_request("POST", f"{server.base_url}/mcp", headers, echo_call(1, "x"))
        assert answer.status == 200, answer
        log = server.log()
    loaded = record.read_text()
    assert "/dist/app.js" in loaded, loaded[:2000]  # the recorder saw the server's own modules
    otel = {
        line.split("/node_modules/")[1].split("/dist/")[0] for line in loaded.splitlines() if "/@opentelemetry/" in line
    }
    # Only the API (no-op without an SDK): no SDK, exporter, resource or context package.
    assert otel == {"@opentelemetry/api"}, otel
    assert '"telemetry":"off"' in log and "trace_id" not in log, log[-2000:]


def test_the_esbuild_bundle_on_the_oldest_node_line_serves_metrics(build_project):
    """The SDK inside one esbuild bundle (loaded lazily there too), on the oldest Node line offered
    (OpenTelemetry 3.x declares Node 22.15): the variant test_project builds, so no extra build."""
    project, env = build_project(**PROJECT_VARIANTS[1])
    key = secrets.token_urlsafe(32)
    metrics_port = free_port()
    extra = {
        "NODE_ENV": "production",
        "AUTH_MODE": "api_key",
        "AUTH_API_KEYS": key,
        "OTEL_METRICS_EXPORTER": "prometheus",
        "OTEL_EXPORTER_PROMETHEUS_PORT": str(metrics_port),
    }
    with ServerProcess(project, env, extra) as server:
        headers = {**MCP_HEADERS, "Authorization": f"Bearer {key}", "MCP-Protocol-Version": "2025-11-25"}
        assert http_request("POST", f"{server.base_url}/mcp", headers, echo_call(1, "x")).status == 200
        scraped = http_request("GET", f"http://127.0.0.1:{metrics_port}/metrics")
    assert scraped.status == 200
    assert any(
        line.startswith("mcp_server_operation_duration_count{") and 'gen_ai_tool_name="echo"' in line
        for line in scraped.body.splitlines()
    ), scraped.body[:3000]


def test_what_a_client_chooses_never_becomes_a_metric_label_or_an_unbounded_attribute(built):
    """A client names the protocol revision (header, `_meta`, initialize's params) and the
    resource URI: a made-up revision is never a metric series of its own (each one would be a new
    series: unbounded cardinality), and a long URI is cut before a span holds it (a queue of spans
    waiting for a slow collector would otherwise hold up to MAX_BODY_BYTES each)."""
    project, env = built
    key = secrets.token_urlsafe(32)
    with OtlpReceiver() as receiver:
        extra = {
            "NODE_ENV": "production",
            "AUTH_MODE": "api_key",
            "AUTH_API_KEYS": key,
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_METRIC_EXPORT_INTERVAL": "300",
        }
        with ServerProcess(project, env, extra) as server:
            url = f"{server.base_url}/mcp"
            auth = {**MCP_HEADERS, "Authorization": f"Bearer {key}"}
            made_up = ["0001-01-01", "1999-12-31", "2099-02-30", "2027-01-01"]
            # In the header (refused by the SDK), in initialize (negotiated down: answered 200),
            # in a 2026-07-28-shaped envelope (refused as unsupported).
            ping = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode()
            assert http_request("POST", url, {**auth, "MCP-Protocol-Version": made_up[0]}, ping).status == 400
            init = {**INITIALIZE, "params": {**INITIALIZE["params"], "protocolVersion": made_up[1]}}
            assert http_request("POST", url, auth, json.dumps(init).encode()).status == 200
            init["params"]["protocolVersion"] = made_up[2]
            assert http_request("POST", url, auth, json.dumps(init).encode()).status == 200
            envelope = {
                "io.modelcontextprotocol/protocolVersion": made_up[3],
                "io.modelcontextprotocol/clientInfo": {"name": "x", "version": "1"},
                "io.modelcontextprotocol/clientCapabilities": {},
            }
            modern = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "echo", "_meta": envelope}}
            modern["params"]["arguments"] = {"text": "x"}
            headers = {**auth, "MCP-Protocol-Version": made_up[3], "Mcp-Method": "tools/call", "Mcp-Name": "echo"}
            assert http_request("POST", url, headers, json.dumps(modern).encode()).status == 400

            # A handshake-era resources/read (no Mcp-Name header bounds it) of a 6000-character URI.
            trace_id = secrets.token_hex(16)
            uri = "greeting://" + "a" * 6000
            read = {"jsonrpc": "2.0", "id": 3, "method": "resources/read", "params": {"uri": uri}}
            headers = {**auth, "MCP-Protocol-Version": "2025-11-25"}
            headers["traceparent"] = traceparent(trace_id, secrets.token_hex(8))
            assert http_request("POST", url, headers, json.dumps(read).encode()).status == 200

            # Tools that do not exist: a made-up name of the allowed shape, and a 6000-character one.
            made_up_tool = f"made_up_{secrets.token_hex(8)}"
            for name in (made_up_tool, "t" * 6000):
                call = {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": name, "arguments": {}}}
                assert http_request("POST", url, headers, json.dumps(call).encode()).status == 200

            # The last call, in its own series: once it is exported, so are the calls before it.
            marker = {**headers, "MCP-Protocol-Version": "2025-06-18"}
            assert http_request("POST", url, marker, echo_call(4, "last")).status == 200
            receiver.wait_for(
                "the last call's duration series",
                lambda: [
                    attrs
                    for name, attrs, _ in receiver.metrics
                    if name == "mcp.server.operation.duration" and attrs.get("mcp.protocol.version") == "2025-06-18"
                ],
            )
            (span,) = receiver.wait_for(
                "the resources/read span",
                lambda: [s for s in receiver.spans_of_trace(trace_id) if s.name == "resources/read"],
            )

            def unknown_tool_spans() -> list:
                found = [s for s in receiver.spans_of_trace(trace_id) if s.status.message]
                return found if len(found) >= 2 else []

            unknown = receiver.wait_for("the unknown tools' spans", unknown_tool_spans)
            labels = {attrs.get("mcp.protocol.version") for _, attrs, _ in receiver.metrics}
            span_names = {s.name for s in receiver.spans}

    assert labels.isdisjoint(made_up), labels
    kept = attributes_of(span.attributes)["mcp.resource.uri"]
    assert uri.startswith(kept) and 0 < len(kept) <= 1024, len(kept)
    # A made-up tool name is no span name (backends index those like metric labels), and the
    # SDK's error message repeating a long one is cut like an attribute.
    assert not [name for name in span_names if made_up_tool in name], span_names
    assert all(len(s.status.message) <= 1024 for s in unknown), [len(s.status.message) for s in unknown]


def test_credentials_in_an_absolute_form_target_never_reach_a_span(built):
    """`POST http://user:secret@host/mcp` (absolute-form, RFC 9112 3.2.2) is refused by the Host
    guard, but its span is made before that: `url.path` must be the path, not the target with its
    userinfo (nor its query, which may carry an access_token)."""
    project, env = built
    key = secrets.token_urlsafe(32)
    secret = secrets.token_hex(12)
    with OtlpReceiver() as receiver:
        extra = {
            "NODE_ENV": "production",
            "AUTH_MODE": "api_key",
            "AUTH_API_KEYS": key,
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }
        with ServerProcess(project, env, extra) as server:
            authority = server.base_url.removeprefix("http://")
            sent: dict[str, str] = {}
            for target in (
                f"http://alice:{secret}@{authority}/mcp",
                f"HTTP://{secret}@{authority}/mcp?access_token={secret}",
                f"http://{authority}/mcp?access_token={secret}",
            ):
                trace_id = secrets.token_hex(16)
                sent[trace_id] = target
                head = (
                    f"POST {target} HTTP/1.1\r\nHost: {authority}\r\n"
                    f"traceparent: {traceparent(trace_id, secrets.token_hex(8))}\r\n"
                    "Content-Length: 0\r\nConnection: close\r\n\r\n"
                )
                with socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE) as conn:
                    conn.sendall(head.encode())
                    status = conn.makefile("rb").readline()
                assert status.split()[1] in (b"400", b"401"), (target, status)

            def all_three() -> list:
                found = [span for span in receiver.spans if span.trace_id.hex() in sent]
                return found if len(found) >= len(sent) else []

            spans = receiver.wait_for("the three requests' spans", all_three)
    for span in spans:
        attributes = attributes_of(span.attributes)
        assert secret not in json.dumps({k: str(v) for k, v in attributes.items()}), (
            sent[span.trace_id.hex()],
            attributes,
        )
        assert attributes["url.path"] == "/mcp", attributes


def test_connections_to_the_metrics_port_cannot_take_the_servers_file_descriptors(built):
    """OTEL_EXPORTER_PROMETHEUS_HOST=0.0.0.0 (for an in-cluster scraper) lets anything that reaches
    the port connect: more idle connections than the process has file descriptors must not take
    /health (both ports) or the scrape itself down. The scrape listener keeps a small budget of
    its own and makes room by closing the oldest idle connection."""
    project, env = built
    key = secrets.token_urlsafe(32)
    metrics_port, probe_port = free_port(), free_port()
    file_limit = 256  # low, so that a bounded flood exceeds it
    extra = {
        "NODE_ENV": "production",
        "AUTH_MODE": "api_key",
        "AUTH_API_KEYS": key,
        "PROBE_PORT": str(probe_port),
        "OTEL_METRICS_EXPORTER": "prometheus",
        "OTEL_EXPORTER_PROMETHEUS_PORT": str(metrics_port),
    }
    with ServerProcess(project, env, extra, file_limit=file_limit) as server:
        flood: list[socket.socket] = []
        try:
            for _ in range(file_limit + 44):
                flood.append(socket.create_connection(("127.0.0.1", metrics_port), timeout=DEADLINE))
            _wait_until_accepted(metrics_port)
            health = http_request("GET", f"{server.base_url}/health")
            probe = http_request("GET", f"http://127.0.0.1:{probe_port}/health")
            scrape = http_request("GET", f"http://127.0.0.1:{metrics_port}/metrics")
        finally:
            for conn in flood:
                conn.close()
        assert health.status == 200, (health, server.log()[-2000:])
        assert probe.status == 200, probe
        assert scrape.status == 200 and "target_info" in scrape.body, scrape
        assert server.process.poll() is None, server.log()[-2000:]


def _wait_until_accepted(port: int) -> None:
    """Blocks until the listening socket on `port` has no connection waiting to be accepted (its
    accept queue, /proc/net/tcp's rx_queue of a LISTEN socket, is empty): the server has taken
    every connection the kernel completed for it, and kept or closed each one."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        queued = [
            int(fields[4].split(":")[1], 16)
            for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
            if (fields := line.split()) and int(fields[1].split(":")[1], 16) == port and fields[3] == "0A"
        ]
        assert queued, f"nothing listens on {port}"
        if queued == [0]:
            return
        time.sleep(0.05)
    pytest.fail(f"the server did not accept the connections waiting on {port} within {DEADLINE} s")
