"""The report page: one self-contained HTML file a reviewer opens in any browser.

Input: a ``Collected`` replay. Output: HTML text with inline CSS and inline
SVG charts, no script and no external resource (it opens offline).
Everything that comes from a policy or a trace (agent ids, invariant ids,
descriptions, targets, details) is escaped: the page is rendered by Jinja2
with autoescaping, and the charts escape their own text. Stage: ``nomo
report``.

Sections: a summary (bundle, trace, counts), the incidents table (each
violation's onset, the runtime's detail, the window behind it and what drove
it), then per agent: a chart per invariant (value, threshold, approaching
band, violated stretches shaded, onsets marked), drift scores with their
thresholds, and the scope violations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, StrictUndefined
from markupsafe import Markup

from nomotic_dsl.compiler.explain import explain_spec
from nomotic_dsl.ir.describe import format_number
from nomotic_dsl.ir.spec import APPROACHING_MARGIN, EQ_TOLERANCE, InvariantSpec
from nomotic_dsl.report import svg
from nomotic_dsl.report.collect import STATE_CODES, AgentReport, Collected
from nomotic_dsl.report.explain import clock

UTC = ZoneInfo("UTC")
VALUE = "#1d4ed8"
THRESHOLD = "#b42318"
APPROACHING = "#f79009"
VIOLATED = "#fda29b"
DRIFT_COLORS = {
    "action": "#1d4ed8",
    "target": "#039855",
    "temporal": "#7a5af8",
    "outcome": "#c11574",
    "semantic": "#dc6803",
    "overall": "#101828",
}


def approaching_bands(spec: InvariantSpec) -> list[tuple[float, float]]:
    """Where a satisfied value is close to the bound (margin below 0.2), per operator."""
    t = spec.threshold
    width = APPROACHING_MARGIN * (abs(t) if t != 0 else 1.0)
    if spec.operator in ("lt", "lte"):
        return [(t - width, t)]
    if spec.operator in ("gt", "gte"):
        return [(t, t + width)]
    if spec.operator == "between" and spec.threshold_upper is not None:
        band = APPROACHING_MARGIN * (spec.threshold_upper - t)
        return [(t, t + band), (spec.threshold_upper - band, spec.threshold_upper)]
    if spec.operator == "eq":
        near = (1 - APPROACHING_MARGIN) * EQ_TOLERANCE
        return [(t - EQ_TOLERANCE, t - near), (t + near, t + EQ_TOLERANCE)]
    return []


def _ticks(agent: AgentReport) -> list[tuple[int, str, str]]:
    count = len(agent.lines)
    if count == 0:
        return []
    wanted = min(count, 7)
    indices = sorted({round(i * (count - 1) / max(wanted - 1, 1)) for i in range(wanted)})
    first = datetime.fromtimestamp(agent.times[0], UTC)
    last = datetime.fromtimestamp(agent.times[-1], UTC)
    same_day = first.date() == last.date()
    ticks = []
    for index in indices:
        moment = datetime.fromtimestamp(agent.times[index], UTC)
        when = moment.strftime("%H:%M" if same_day else "%m-%d %H:%M")
        ticks.append((index, f"line {agent.lines[index]}", when))
    return ticks


def _spans(states: bytearray) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    start = None
    for index, state in enumerate(states):
        if state == STATE_CODES["violated"]:
            if start is None:
                start = index
        elif start is not None:
            spans.append((start, index - 1))
            start = None
    if start is not None:
        spans.append((start, len(states) - 1))
    return spans


def invariant_chart(agent: AgentReport, ident: str) -> str:
    series = agent.series[ident]
    spec = series.spec
    chart = svg.Chart(count=len(series.values), title=f"{ident}: value over the trace")
    chart.lines.append(svg.Line(series.values, VALUE, f"{ident} value"))
    chart.rules.append(
        svg.Rule(spec.threshold, THRESHOLD, f"threshold {format_number(spec.threshold)}")
    )
    if spec.threshold_upper is not None:
        chart.rules.append(
            svg.Rule(
                spec.threshold_upper,
                THRESHOLD,
                f"upper bound {format_number(spec.threshold_upper)}",
            )
        )
    for low, high in approaching_bands(spec):
        chart.bands.append(svg.Band(low, high, APPROACHING, "approaching: within 20% of the bound"))
    for first, last in _spans(series.states):
        chart.spans.append(svg.Span(first, last, VIOLATED))
    positions = {line: index for index, line in enumerate(agent.lines)}
    for incident in agent.incidents:
        if incident.invariant_id == ident:
            index = positions[incident.line]
            chart.marks.append(
                svg.Mark(
                    index,
                    series.values[index],
                    THRESHOLD,
                    f"line {incident.line}: {incident.detail}",
                )
            )
    chart.ticks = _ticks(agent)
    return svg.render(chart)


def drift_chart(agent: AgentReport) -> str | None:
    if not agent.drift:
        return None
    chart = svg.Chart(count=len(agent.lines), title="drift scores over the trace")
    for name, values in agent.drift.items():
        color = DRIFT_COLORS.get(name, "#475467")
        padded = list(values) + [math.nan] * (len(agent.lines) - len(values))
        chart.lines.append(svg.Line(padded, color, f"{name} drift"))
        threshold = agent.policy.thresholds.get(name)
        if threshold is not None:
            chart.rules.append(
                svg.Rule(threshold, color, f"{name} threshold {format_number(threshold)}")
            )
    chart.ticks = _ticks(agent)
    return svg.render(chart)


def _time(timestamp: float) -> str:
    return clock(timestamp)


def _state_counts(agent: AgentReport, ident: str) -> dict[str, int]:
    states = agent.series[ident].states
    return {name: states.count(code) for name, code in STATE_CODES.items()}


def page_context(collected: Collected, title: str) -> dict[str, Any]:
    """The view-model the template lays out."""
    policy_set = collected.policy_set
    agents: list[dict[str, Any]] = []
    for agent_id, agent in sorted(collected.agents.items(), key=lambda item: str(item[0])):
        contract = agent.policy.contract
        invariants = []
        for ident, series in agent.series.items():
            counts = _state_counts(agent, ident)
            invariants.append(
                {
                    "id": ident,
                    "description": series.spec.description,
                    "rule": explain_spec(series.spec),
                    "counts": counts,
                    "chart": Markup(invariant_chart(agent, ident)),
                    "incidents": sum(1 for i in agent.incidents if i.invariant_id == ident),
                }
            )
        drift = drift_chart(agent)
        agents.append(
            {
                "id": "(any agent)" if agent_id is None else agent_id,
                "anchor": f"agent-{len(agents)}",
                "contract": None
                if contract is None
                else f"{contract.agent_id} version {contract.version} ({contract.contract_id})",
                "observations": len(agent.lines),
                "first": _time(agent.times[0]) if agent.times else "-",
                "last": _time(agent.times[-1]) if agent.times else "-",
                "invariants": invariants,
                "drift": None if drift is None else Markup(drift),
                "drift_names": [
                    {
                        "name": name,
                        "color": DRIFT_COLORS.get(name, "#475467"),
                        "threshold": agent.policy.thresholds.get(name),
                    }
                    for name in agent.drift
                ],
                "exceedances": agent.exceedances,
                "scope": [
                    {
                        "lines": str(item.line)
                        if item.observations == 1
                        else f"{item.line}-{item.last_line}",
                        "observations": item.observations,
                        "time": _time(item.timestamp)
                        if item.observations == 1
                        else f"{_time(item.timestamp)} to {_time(item.last_timestamp)}",
                        "outside": ", ".join(f"{kind} {name}" for kind, name in item.outside),
                    }
                    for item in agent.scope
                ],
                "scope_count": agent.scope_count,
                "incident_count": len(agent.incidents),
            }
        )
    incidents = [
        {
            "line": incident.line,
            "time": _time(incident.timestamp),
            "agent": "-" if incident.agent_id is None else incident.agent_id,
            "invariant": incident.invariant_id,
            "description": incident.description,
            "detail": incident.detail,
            "window": incident.explanation.sentences[1]
            if len(incident.explanation.sentences) > 1
            else "",
            "drivers": list(incident.explanation.drivers),
            "since": incident.approaching_since,
            "ended": incident.ended_at,
        }
        for incident in collected.incidents
    ]
    return {
        "title": title,
        "bundle": policy_set.name,
        "digest": policy_set.digest,
        "trace": collected.trace,
        "observations": collected.observations,
        "agents": agents,
        "incidents": incidents,
        "scope_total": sum(agent.scope_count for agent in collected.agents.values()),
        "exceedance_total": sum(agent.exceedances for agent in collected.agents.values()),
        "refused": [
            {
                "line": item.line,
                "agent": "-" if item.agent_id is None else item.agent_id,
                "message": item.message,
            }
            for item in collected.refused
        ],
        "refused_count": collected.refused_count,
    }


TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: #101828; margin: 0; background: #f9fafb; }
main { max-width: 980px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 8px; border-bottom: 1px solid #eaecf0; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 22px 0 2px; }
.muted { color: #475467; }
.mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; word-break: break-all; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; margin: 14px 0; }
.card { background: #fff; border: 1px solid #eaecf0; border-radius: 8px; padding: 10px 14px; min-width: 120px; }
.card b { display: block; font-size: 20px; }
.bad b { color: #b42318; }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid #eaecf0; }
th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid #eaecf0; }
th { background: #f2f4f7; font-weight: 600; font-size: 12px; }
td.num { white-space: nowrap; }
table.incidents td:nth-child(4) { width: 24%; }
table.incidents td:nth-child(5) { width: 48%; }
.chart { background: #fff; border: 1px solid #eaecf0; border-radius: 8px; padding: 8px; margin: 6px 0 4px; overflow-x: auto; }
.legend span { display: inline-block; margin-right: 14px; font-size: 12px; color: #344054; }
.swatch { display: inline-block; width: 18px; height: 10px; vertical-align: middle; margin-right: 4px; border-radius: 2px; }
.counts { font-size: 12px; color: #475467; }
ul.drivers { margin: 4px 0 0 16px; padding: 0; }
</style>
</head>
<body>
<main>
<h1>{{ title }}</h1>
<p class="muted">Bundle <span class="mono">{{ bundle }}</span> (digest <span class="mono">{{ digest }}</span>),
replayed on <span class="mono">{{ trace }}</span> by the fleet runtime, as <code>nomo run</code> decides.</p>
<div class="cards">
  <div class="card"><b>{{ observations }}</b>observations</div>
  <div class="card"><b>{{ agents|length }}</b>{{ "agent" if agents|length == 1 else "agents" }}</div>
  <div class="card{% if incidents %} bad{% endif %}"><b>{{ incidents|length }}</b>violations</div>
  <div class="card{% if scope_total %} bad{% endif %}"><b>{{ scope_total }}</b>out of scope</div>
  <div class="card"><b>{{ exceedance_total }}</b>drift exceedances</div>
  <div class="card{% if refused_count %} bad{% endif %}"><b>{{ refused_count }}</b>lines refused</div>
</div>

<h2 id="incidents">Incidents</h2>
{% if incidents %}
<table class="incidents">
<tr><th>line</th><th>time</th><th>agent</th><th>invariant</th><th>what happened and why</th></tr>
{% for item in incidents %}
<tr>
<td class="num">{{ item.line }}</td><td class="num">{{ item.time }}</td><td>{{ item.agent }}</td>
<td><b>{{ item.invariant }}</b><div class="muted">{{ item.description }}</div></td>
<td>{{ item.detail }}<div class="muted">{{ item.window }}</div>
{% if item.drivers %}<ul class="drivers">{% for driver in item.drivers %}<li>{{ driver }}</li>{% endfor %}</ul>{% endif %}
<div class="counts">{% if item.since %}approaching since line {{ item.since }}; {% endif %}{% if item.ended %}violated until line {{ item.ended }}{% else %}still violated at the end of the trace{% endif %}</div>
</td>
</tr>
{% endfor %}
</table>
{% else %}
<p>No invariant was violated on this trace.</p>
{% endif %}

{% if refused %}
<h2 id="refused">Lines the runtime refused</h2>
<table><tr><th>line</th><th>agent</th><th>problem</th></tr>
{% for item in refused %}<tr><td class="num">{{ item.line }}</td><td>{{ item.agent }}</td><td>{{ item.message }}</td></tr>{% endfor %}
</table>
{% if refused_count > refused|length %}<p class="muted">{{ refused_count - refused|length }} more not listed.</p>{% endif %}
{% endif %}

<p class="legend" style="margin-top:28px">
<span><span class="swatch" style="background:{{ colors.value }}"></span>value after each observation</span>
<span><span class="swatch" style="background:{{ colors.threshold }}"></span>threshold (dashed)</span>
<span><span class="swatch" style="background:{{ colors.approaching }};opacity:.5"></span>approaching band</span>
<span><span class="swatch" style="background:{{ colors.violated }};opacity:.6"></span>violated</span>
<span>&#9679; onset of a violation (hover for details)</span>
</p>

{% for agent in agents %}
<h2 id="{{ agent.anchor }}">Agent {{ agent.id }}</h2>
<p class="muted">{% if agent.contract %}Contract {{ agent.contract }}. {% endif %}{{ agent.observations }} observations,
{{ agent.first }} to {{ agent.last }}; {{ agent.incident_count }} violations, {{ agent.scope_count }} out of scope,
{{ agent.exceedances }} drift exceedances.</p>
{% for inv in agent.invariants %}
<h3>{{ inv.id }}</h3>
<div class="muted">{{ inv.rule }}{% if inv.description %} <em>As written: {{ inv.description }}</em>{% endif %}</div>
<div class="chart">{{ inv.chart }}</div>
<div class="counts">satisfied {{ inv.counts.satisfied }}, approaching {{ inv.counts.approaching }},
violated {{ inv.counts.violated }}, not measured {{ inv.counts.not_measured }} (observations); {{ inv.incidents }} violations began.</div>
{% endfor %}
{% if agent.drift %}
<h3>Drift scores</h3>
<div class="chart">{{ agent.drift }}</div>
<p class="legend">{% for item in agent.drift_names %}<span><span class="swatch" style="background:{{ item.color }}"></span>{{ item.name }}{% if item.threshold is not none %} (threshold {{ item.threshold }}){% endif %}</span>{% endfor %}</p>
{% endif %}
<h3>Scope</h3>
{% if agent.scope %}
<table><tr><th>lines</th><th>observations</th><th>time</th><th>outside the authorized scope</th></tr>
{% for item in agent.scope %}<tr><td class="num">{{ item.lines }}</td><td class="num">{{ item.observations }}</td><td>{{ item.time }}</td><td>{{ item.outside }}</td></tr>{% endfor %}
</table>
{% if agent.scope_count > agent.scope|map(attribute="observations")|sum %}<p class="muted">{{ agent.scope_count - agent.scope|map(attribute="observations")|sum }} more not listed.</p>{% endif %}
{% else %}
<p class="muted">Every action was inside the authorized scope.</p>
{% endif %}
{% endfor %}
<p class="muted" style="margin-top:40px">Made by <code>nomo report</code>. Values and verdicts are those of the
bundle's generated evaluators; windows are reconstructed from the trace to explain them.</p>
</main>
</body>
</html>
"""


def render_page(collected: Collected, title: str | None = None) -> str:
    """The whole report page."""
    environment = Environment(
        autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True
    )
    template = environment.from_string(TEMPLATE)
    context = page_context(collected, title or f"Governance report: {collected.policy_set.name}")
    context["colors"] = {
        "value": VALUE,
        "threshold": THRESHOLD,
        "approaching": APPROACHING,
        "violated": VIOLATED,
    }
    return template.render(**context)


__all__: Sequence[str] = ("approaching_bands", "render_page")
