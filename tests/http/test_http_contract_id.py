"""One contract id, whichever path built the contract: compiler, generator, HTTP, store."""

from __future__ import annotations

from pathlib import Path

from api_helpers import post_contract
from fastapi.testclient import TestClient

from nomotic_dsl import BehavioralContract, ContractStore, compile_source, generate_contract
from nomotic_dsl.ir import derive_contract_id

SOURCE = """
contract "support-bot" {
    version 3
    archetype customer-experience
    scope { actions read, reply targets tickets, knowledge_base }
    trust { initial 0.6 floor 0.2 ceiling 0.9 }
    drift thresholds { action 0.2 overall 0.3 }
    invariant replies_follow_reads: ratio reply/read < 1.0 over 100 actions
}
"""


def _compiled() -> BehavioralContract:
    result = compile_source(SOURCE, "support.nomo", created_at=0.0)
    assert result.ok, result.render()
    return result.contracts[0]


def test_the_compiler_uses_the_one_derivation() -> None:
    contract = _compiled()
    assert contract.contract_id == derive_contract_id(contract.to_dict())
    stamped = compile_source(SOURCE, "support.nomo", created_at=1_700_000_000.0).contracts[0]
    assert stamped.contract_id == contract.contract_id, "created_at is not part of the id"


def test_rebuilding_and_generating_give_the_same_id() -> None:
    contract = _compiled()
    fields = {k: v for k, v in contract.to_dict().items() if k not in ("contract_id", "created_at")}
    assert BehavioralContract.from_dict(fields).contract_id == contract.contract_id
    agent, archetype = fields.pop("agent_id"), fields.pop("archetype")
    generated = generate_contract(agent, archetype, **fields)
    assert generated.contract_id == contract.contract_id


def test_the_store_keeps_the_id(tmp_path: Path) -> None:
    contract = _compiled()
    store = ContractStore(tmp_path / "s.sqlite3")
    store.store(contract)
    active = store.get_active("support-bot")
    assert active is not None and active.contract_id == contract.contract_id


def test_posting_the_source_gives_the_same_id(client: TestClient) -> None:
    contract = _compiled()
    response = post_contract(client, agent_id="support-bot", version=3, source=SOURCE)
    assert response.status_code == 201, response.text
    assert response.json()["contract_id"] == contract.contract_id
