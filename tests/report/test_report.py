"""``nomo report``: the page holds what the replay decided, explains each violation, escapes
everything from policies and traces, and needs nothing from the network."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from nomotic_dsl.ir.spec import InvariantSpec
from nomotic_dsl.replay.source import load_policy_set
from nomotic_dsl.report.collect import ReportLimit, collect
from nomotic_dsl.report.html import approaching_bands
from nomotic_dsl.runtime.fleet.config import FleetConfig
from tests.policytest.helpers import ROOT, nomo

FLEET = ROOT / "examples" / "fleet"
TRACE = FLEET / "trace.jsonl"

HOSTILE_POLICY = """\
contract "<b>bot<b>&amp;" {
    archetype general
    scope {
        actions read, reply
        targets tickets
    }
    invariant loop "<script>alert('description')</script>": ratio reply/read < 1 over 10 actions
}
"""


class Page(HTMLParser):
    """Tags, attributes and text of a page, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend((name, value or "") for name, value in attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


@pytest.fixture(scope="module")
def fleet_page(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("report")
    assert nomo("keygen", str(folder / "k")).returncode == 0
    bundle = folder / "fleet.nomob"
    assert (
        nomo(
            "build", str(FLEET / "policy.nomo"), "--key", str(folder / "k.key"), "-o", str(bundle)
        ).returncode
        == 0
    )
    out = folder / "fleet.html"
    result = nomo(
        "report",
        str(bundle),
        "--trust",
        str(folder / "k.pub"),
        "--trace",
        str(TRACE),
        "-o",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout
        == f"wrote {out}: 742 observations, 3 agents, 3 violations, 40 out of scope, 2 refused lines\n"
    )
    return out.read_text(encoding="utf-8")


def test_the_page_is_self_contained(fleet_page: str) -> None:
    page = parse(fleet_page)
    assert "script" not in page.tags and "link" not in page.tags and "img" not in page.tags
    links = [value for name, value in page.attributes if name in ("src", "href")]
    assert links == []
    assert set(re.findall(r"https?://[^\"' <]+", fleet_page)) == {"http://www.w3.org/2000/svg"}


def test_a_chart_per_invariant_and_drift_per_agent(fleet_page: str) -> None:
    page = parse(fleet_page)
    # support-bot: hourly_rate, burst_rate, replies_follow_reads; etl: few_deletes; ops: few_targets;
    # and one drift chart per agent.
    assert page.tags.count("svg") == 5 + 3
    text = " ".join(page.text)
    for heading in ("Agent support-bot", "Agent etl-pipeline", "Agent ops-coordinator"):
        assert heading in text


def test_incidents_are_explained(fleet_page: str) -> None:
    text = " ".join(parse(fleet_page).text)
    assert "Reply-to-read ratio is 1.58824 over the last 50 actions" in text
    assert "27 reply against 17 read in 50 actions" in text
    assert (
        "The value (1.58824) was measured over the last 50 actions: 50 actions, lines 93 to 216"
        in text
    )
    assert "7 delete against 13 read in 40 actions" in text
    assert "362-401" in text and "target prod_database" in text
    assert "no contract for agent 'shadow-agent'" in text


def test_hostile_names_are_escaped(tmp_path: Path) -> None:
    policy = tmp_path / "hostile.nomo"
    policy.write_text(HOSTILE_POLICY, encoding="utf-8")
    lines = [
        {
            "timestamp": 1712577600 + i,
            "action_type": "read" if i < 2 else "reply",
            "target": "tickets" if i < 3 else "<img src=x onerror=alert(1)>",
            "session_id": "</td><script>x</script>",
        }
        for i in range(8)
    ]
    trace = tmp_path / "trace.jsonl"
    trace.write_text(
        "".join(json.dumps(line) + "\n" for line in lines) + '{"agent_id": "<i>ghost<i>"}\n',
        encoding="utf-8",
    )
    out = tmp_path / "page.html"
    result = nomo(
        "report", str(policy), "--trace", str(trace), "-o", str(out), "--title", "<h1>t</h1>"
    )
    assert result.returncode == 0, result.stderr
    html = out.read_text(encoding="utf-8")
    page = parse(html)
    assert "script" not in page.tags and "img" not in page.tags and "i" not in page.tags
    assert page.tags.count("h1") == 1  # the page's own heading only
    text = "".join(page.text)
    assert "<img src=x onerror=alert(1)>" in text
    assert "<script>alert('description')</script>" in text
    assert "<b>bot<b>&amp;" in text
    assert "<h1>t</h1>" in text
    assert "<script" not in html and "<img" not in html


def test_bands_per_operator() -> None:
    def spec(operator: str, threshold: float, upper: float | None = None) -> InvariantSpec:
        return InvariantSpec("i", "ratio", "", "a_to_b", operator, threshold, upper, 10)

    assert approaching_bands(spec("lt", 0.5)) == [(pytest.approx(0.4), 0.5)]
    assert approaching_bands(spec("gte", 2.0)) == [(2.0, pytest.approx(2.4))]
    assert approaching_bands(spec("lt", 0.0)) == [(-0.2, 0.0)]
    low, high = approaching_bands(spec("between", 1.0, 2.0))
    assert low == (1.0, pytest.approx(1.2)) and high == (pytest.approx(1.8), 2.0)
    assert len(approaching_bands(spec("eq", 1.0))) == 2


def test_limits_and_bad_input(tmp_path: Path) -> None:
    policy_set = load_policy_set(FLEET / "policy.nomo", [], FleetConfig())
    with pytest.raises(ReportLimit, match="more than 100 observations"):
        collect(policy_set, TRACE, max_observations=100)
    out = tmp_path / "r.html"
    missing = nomo(
        "report", str(FLEET / "policy.nomo"), "--trace", str(tmp_path / "no.jsonl"), "-o", str(out)
    )
    assert missing.returncode == 1 and "cannot read trace" in missing.stderr
    nowhere = nomo(
        "report",
        str(FLEET / "policy.nomo"),
        "--trace",
        str(TRACE),
        "-o",
        str(tmp_path / "a" / "b.html"),
    )
    assert nowhere.returncode == 1 and "cannot write" in nowhere.stderr
    assert nomo("report", str(FLEET / "policy.nomo"), "--trace", str(TRACE)).returncode == 2
    bundle = tmp_path / "x.nomob"
    bundle.write_bytes(b"not a bundle")
    untrusted = nomo("report", str(bundle), "--trace", str(TRACE), "-o", str(out))
    assert untrusted.returncode == 2 and "--trust" in untrusted.stderr
    assert not out.exists()


def test_the_same_replay_writes_the_same_page(tmp_path: Path) -> None:
    pages = []
    for name in ("a.html", "b.html"):
        out = tmp_path / name
        assert (
            nomo(
                "report", str(FLEET / "policy.nomo"), "--trace", str(TRACE), "-o", str(out)
            ).returncode
            == 0
        )
        pages.append(out.read_bytes())
    assert pages[0] == pages[1]


def test_the_summary_line_counts_refused_lines(tmp_path: Path) -> None:
    # A page written from a trace whose lines were refused says so on the console too.
    trace = tmp_path / "trace.jsonl"
    good = '{"timestamp": 1712577605.0, "agent_id": "support-bot", "action_type": "read", "target": "tickets"}'
    trace.write_text(good + "\n{not json\n" + '{"timestamp": 1e999}\n', encoding="utf-8")
    out = tmp_path / "report.html"
    result = nomo("report", str(FLEET / "policy.nomo"), "--trace", str(trace), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith(", 2 refused lines\n"), result.stdout
