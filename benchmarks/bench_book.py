"""The book's two doors and its reference twin on the same seeded flow.

Peers in one run: the numba engine's batch door, its per-command door and the
plain-Python reference book (`engine.reference`) all process the same
commands; each result is checked after timing (same number of events).
"""
import pytest

from engine.batch import array_to_commands
from engine.matching import MatchingEngine
from engine.reference import ReferenceEngine
from oms import flowgen


def _events_of_batch(venue, cmds):
    engine = MatchingEngine(*venue)
    return engine.run(cmds)


@pytest.fixture(scope="module")
def expected_events(venue, flow):
    return _events_of_batch(venue, flow)


@pytest.mark.benchmark(group="book-doors")
def test_batch_door(benchmark, venue, flow, expected_events):
    MatchingEngine(*venue)                       # compile or load the kernels first
    events = benchmark.pedantic(_events_of_batch, args=(venue, flow), rounds=5, iterations=1)
    assert events == expected_events


@pytest.mark.benchmark(group="book-doors")
def test_per_command_door(benchmark, venue, flow, expected_events):
    structs = array_to_commands(flow)

    def run():
        submit = MatchingEngine(*venue).submit
        return sum(len(submit(c)) for c in structs)
    assert benchmark.pedantic(run, rounds=3, iterations=1) == expected_events


@pytest.mark.benchmark(group="book-doors")
def test_reference_book(benchmark, venue, flow):
    structs = array_to_commands(flow[:20_000])
    expected = MatchingEngine(*venue).run(flow[:20_000])

    def run():
        ref = ReferenceEngine(*venue)
        return sum(len(ref.submit(c)) for c in structs)
    assert benchmark.pedantic(run, rounds=1, iterations=1) == expected


@pytest.mark.benchmark(group="book-deep")
def test_batch_door_on_a_deep_book(benchmark, venue, flow):
    """The same flow on top of 200k resting orders (1M with BENCH_SCALE=5)."""
    deep = flowgen.resting_book(len(flow))

    def setup():
        engine = MatchingEngine(*venue)
        engine.run(deep)
        return (engine,), {}

    def run(engine):
        return engine.run(flow)
    events = benchmark.pedantic(run, setup=setup, rounds=3, iterations=1)
    assert events >= len(flow)             # every command has at least one event
