"""Where the time of one `submit` goes: the per-command door taken apart.

`submit(cmd)` is: encode the command struct to msgpack (msgspec), call the
compiled kernel (numba's boundary: unbox the table array and the bytes, box
the result), run the command, write its events as msgpack, and decode them
into event structs (msgspec). Each part runs alone here over the same flow,
beside the whole door and the batch door (the same kernels with no per-command
boundary), so the cost of crossing between Python and the kernels is measured,
not guessed. The empty kernel takes the same arguments and does nothing.
"""
import pytest
from numba import njit

from engine import msgpack_kernels as mp
from engine.batch import array_to_commands
from engine.matching import MatchingEngine


@pytest.fixture(scope="module")
def parts(flow):
    """The flow's commands as structs and as msgpack."""
    structs = array_to_commands(flow)
    return structs, [mp.COMMAND_ENCODER.encode(c) for c in structs]


def _kernel_outputs(engine, encoded):
    """Each command's events as msgpack bytes, from the compiled door alone
    (growing the arrays when a kernel asks, as `submit` does)."""
    one, table, outputs = engine._submit_one, engine.table, []
    for c in encoded:
        n = one(table, c)
        while n < 0:
            engine.grow(n)
            n = one(table, c)
        outputs.append(bytes(engine.out_view[:n]))
    return outputs


@njit(cache=True)
def _empty_kernel(table, cmd):
    return 0


@pytest.mark.benchmark(group="submit-parts")
def test_encode_commands(benchmark, parts):
    structs, encoded = parts
    encode = mp.COMMAND_ENCODER.encode
    result = benchmark.pedantic(lambda: [encode(c) for c in structs], rounds=3, iterations=1)
    assert result == encoded


@pytest.mark.benchmark(group="submit-parts")
def test_empty_kernel_calls(benchmark, venue, parts):
    _, encoded = parts
    table = MatchingEngine(*venue).table
    _empty_kernel(table, encoded[0])
    call = _empty_kernel.overloads[_empty_kernel.signatures[0]].entry_point

    def run():
        return sum(call(table, c) for c in encoded)
    assert benchmark.pedantic(run, rounds=3, iterations=1) == 0


@pytest.mark.benchmark(group="submit-parts")
def test_kernel_calls(benchmark, venue, parts, expected_outputs):
    """The compiled door with its msgpack events, no struct on either side."""
    _, encoded = parts

    def run():
        return _kernel_outputs(MatchingEngine(*venue), encoded)
    assert benchmark.pedantic(run, rounds=3, iterations=1) == expected_outputs


@pytest.mark.benchmark(group="submit-parts")
def test_decode_events(benchmark, expected_outputs):
    decode = mp.EVENT_DECODER.decode

    def run():
        return sum(len(decode(b)) for b in expected_outputs)
    assert benchmark.pedantic(run, rounds=3, iterations=1) >= len(expected_outputs)


@pytest.fixture(scope="module")
def expected_outputs(venue, parts):
    _, encoded = parts
    return _kernel_outputs(MatchingEngine(*venue), encoded)
