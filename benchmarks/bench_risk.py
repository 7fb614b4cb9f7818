"""The pre-trade checks' cost: the book benchmark's flow through both doors
with every check on (generous limits, `oms.bench_risk.venue_config`) and
without risk, in the same run. Results checked after timing: the same
events either way, and no order refused."""
import pytest

from engine.batch import array_to_commands
from engine.enums import OrderFlags
from engine.matching import MatchingEngine
from engine.refdata import ReferenceData
from oms import bench_risk


@pytest.fixture(scope="module")
def setup(flow):
    config = bench_risk.venue_config()
    ref = ReferenceData.from_config(config)
    cmds = flow.copy()
    cmds["flags"][cmds["side"] == -1] |= int(OrderFlags.SHORT_EXEMPT)
    return config, ref, cmds, array_to_commands(cmds)


def _plain(ref):
    return MatchingEngine(ref.book_specs(), ref.account_specs())


def _gated(config, ref):
    from risk.gate import RiskGate
    return RiskGate(config, ref=ref)


@pytest.fixture(scope="module")
def expected(setup):
    config, ref, cmds, _ = setup
    return _plain(ref).run(cmds)


@pytest.mark.benchmark(group="risk-batch")
@pytest.mark.parametrize("checks", [False, True], ids=["no-risk", "all-checks"])
def test_batch_door(benchmark, setup, expected, checks):
    config, ref, cmds, _ = setup
    make = (lambda: _gated(config, ref)) if checks else (lambda: _plain(ref))
    make()                                               # compile or load first
    events = benchmark.pedantic(lambda: make().run(cmds), rounds=3, iterations=1)
    assert events == expected


@pytest.mark.benchmark(group="risk-submit")
@pytest.mark.parametrize("checks", [False, True], ids=["no-risk", "all-checks"])
def test_per_command_door(benchmark, setup, expected, checks):
    config, ref, _, structs = setup
    make = (lambda: _gated(config, ref)) if checks else (lambda: _plain(ref))
    make()

    def run():
        submit = make().submit
        refused = 0
        n = 0
        for c in structs:
            evs = submit(c)
            n += len(evs)
            refused += sum(1 for e in evs if type(e).__name__ == "Rejected" and e.reason >= 200
                           and e.reason < 300)
        return n, refused
    assert benchmark.pedantic(run, rounds=2, iterations=1) == (expected, 0)
