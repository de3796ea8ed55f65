"""A tiny Prometheus exporter: counters and histograms in text format on localhost ``/metrics``.

No personal data ever goes into a metric: labels are bounded enums (workflow, reason, stage).
The app records call outcomes and stage timings with :func:`record_call` /
:func:`record_turn`, and starts the HTTP endpoint with :func:`serve_metrics`.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
DURATION_BUCKETS = (10.0, 30.0, 60.0, 120.0, 180.0, 300.0, 600.0, 1200.0)
_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LabelKey = tuple[tuple[str, str], ...]


def _key(labels: Mapping[str, str] | None) -> LabelKey:
    return tuple(sorted((k, str(v)) for k, v in (labels or {}).items()))


def _fmt_labels(key: LabelKey, extra: Iterable[tuple[str, str]] = ()) -> str:
    items = [*key, *extra]
    if not items:
        return ""
    esc = [(k, v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")) for k, v in items]
    return "{" + ",".join(f'{k}="{v}"' for k, v in esc) + "}"


def _num(v: float) -> str:
    return "+Inf" if v == float("inf") else repr(float(v))


class Counter:
    def __init__(self, name: str, help_text: str) -> None:
        self.name, self.help = name, help_text
        self._values: dict[LabelKey, float] = {}
        self._lock = threading.Lock()

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        if amount < 0:
            raise ValueError("a counter only goes up")
        with self._lock:
            k = _key(labels)
            self._values[k] = self._values.get(k, 0.0) + amount

    def value(self, **labels: str) -> float:
        with self._lock:
            return self._values.get(_key(labels), 0.0)

    def render(self) -> list[str]:
        out = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        with self._lock:
            for k, v in sorted(self._values.items()):
                out.append(f"{self.name}{_fmt_labels(k)} {_num(v)}")
        return out


class Histogram:
    def __init__(self, name: str, help_text: str, buckets: Iterable[float]) -> None:
        self.name, self.help = name, help_text
        self.buckets = tuple(sorted(buckets))
        self._series: dict[LabelKey, list[float]] = {}  # bucket counts..., sum, count
        self._lock = threading.Lock()

    def observe(self, value: float, **labels: str) -> None:
        with self._lock:
            s = self._series.setdefault(_key(labels), [0.0] * (len(self.buckets) + 2))
            i = bisect.bisect_left(self.buckets, value)
            if i < len(self.buckets):
                s[i] += 1
            s[-2] += value
            s[-1] += 1

    def count(self, **labels: str) -> int:
        with self._lock:
            s = self._series.get(_key(labels))
            return int(s[-1]) if s else 0

    def render(self) -> list[str]:
        out = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        with self._lock:
            for k, s in sorted(self._series.items()):
                cum = 0.0
                for b, n in zip(self.buckets, s, strict=False):
                    cum += n
                    out.append(f"{self.name}_bucket{_fmt_labels(k, [('le', _num(b))])} {_num(cum)}")
                out.append(f"{self.name}_bucket{_fmt_labels(k, [('le', '+Inf')])} {_num(s[-1])}")
                out.append(f"{self.name}_sum{_fmt_labels(k)} {_num(s[-2])}")
                out.append(f"{self.name}_count{_fmt_labels(k)} {_num(s[-1])}")
        return out


class MetricsRegistry:
    """Named metrics; the standard call metrics are created up front (see :func:`record_call`)."""

    def __init__(self) -> None:
        self._metrics: dict[str, Counter | Histogram] = {}
        self._lock = threading.Lock()
        self.calls = self.counter("appliance_calls_total",
                                  "Calls handled, by workflow and result "
                                  "(contained/escalated/abandoned/failed)")
        self.escalations = self.counter("appliance_escalations_total",
                                        "Escalations to a human, by workflow and reason")
        self.stage = self.histogram("appliance_turn_stage_seconds",
                                    "Per-turn latency by stage (endpoint_wait, stt, policy, "
                                    "tts_first_chunk, total_server)", LATENCY_BUCKETS)
        self.rollout = self.counter("appliance_rollout_decisions_total",
                                    "Inbound calls routed by the gradual rollout, by route and "
                                    "reason")
        self.duration = self.histogram("appliance_call_duration_seconds",
                                       "Call duration (time to resolution) by workflow and result",
                                       DURATION_BUCKETS)

    def _add(self, metric: Counter | Histogram) -> Any:
        if not _NAME.match(metric.name):
            raise ValueError(f"bad metric name {metric.name!r}")
        with self._lock:
            if metric.name in self._metrics:
                raise ValueError(f"metric {metric.name} already registered")
            self._metrics[metric.name] = metric
        return metric

    def counter(self, name: str, help_text: str) -> Counter:
        return self._add(Counter(name, help_text))  # type: ignore[no-any-return]

    def histogram(self, name: str, help_text: str,
                  buckets: Iterable[float] = LATENCY_BUCKETS) -> Histogram:
        return self._add(Histogram(name, help_text, buckets))  # type: ignore[no-any-return]

    def render(self) -> str:
        with self._lock:
            metrics = list(self._metrics.values())
        lines: list[str] = []
        for m in metrics:
            lines += m.render()
        return "\n".join(lines) + "\n"


CALL_RESULTS = ("contained", "escalated", "abandoned", "failed")
ESCALATION_REASONS = frozenset({
    "caller_requested_human", "dtmf_0", "caller_upset", "emergency", "emergency_transfer_failed",
    "repeated_misunderstanding", "tool_failure", "record_not_found", "possible_emergency",
})


def classify(outcome: str | None, reason: str | None) -> str:
    """contained / escalated / abandoned from a call's final outcome and escalation reason.

    Proxy rules: no outcome at all (nothing understood or done) or a silence close is
    abandoned; an escalation reason or a bare transfer is escalated; anything else - a
    completed task, a routed call, a queued request - is contained (resolved in scope).
    """
    if outcome is None or reason == "silence":
        return "abandoned"
    if outcome == "transfer" or reason in ESCALATION_REASONS:
        return "escalated"
    return "contained"


def record_call(reg: MetricsRegistry, workflow: str, result: str, duration_s: float,
                escalation_reason: str | None = None) -> None:
    """One finished call. ``result``: contained (resolved in scope, no escalation), escalated,
    abandoned (caller hung up before resolution) or failed (technical)."""
    if result not in CALL_RESULTS:
        raise ValueError(f"result must be one of {CALL_RESULTS}")
    reg.calls.inc(workflow=workflow, result=result)
    reg.duration.observe(duration_s, workflow=workflow, result=result)
    if result == "escalated":
        reg.escalations.inc(workflow=workflow, reason=escalation_reason or "unknown")


def record_rollout(reg: MetricsRegistry, decision: Any) -> None:
    """One rollout decision (:class:`appliance.runtime.rollout.Decision`)."""
    reg.rollout.inc(route=decision.route, reason=decision.reason)


def record_turn(reg: MetricsRegistry, timing: Any) -> None:
    """Stage latencies of one turn (a :class:`appliance.runtime.timings.TurnTiming`)."""
    for stage in ("endpoint_wait", "stt", "policy", "tts_first_chunk", "total_server"):
        reg.stage.observe(float(getattr(timing, stage)), stage=stage)


def serve_metrics(registry: MetricsRegistry, port: int,
                  host: str = "127.0.0.1") -> Callable[[], None]:
    """Serve ``GET /metrics`` on ``host:port`` (0: any free port, see ``stop.port``) in a
    daemon thread; returns ``stop()``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server API
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404)
                return
            body = registry.render().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    httpd = ThreadingHTTPServer((host, port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, name="metrics", daemon=True)
    thread.start()

    def stop() -> None:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)

    stop.port = httpd.server_address[1]  # type: ignore[attr-defined]
    return stop
