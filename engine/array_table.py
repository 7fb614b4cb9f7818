"""One small table of array addresses, so that a kernel call takes one array.

Crossing from Python into a compiled numba function costs about 40-100 ns per
array argument (unboxing and reference counting), which for the ten arrays
of the engine was most of the cost of a one-command call; between kernels,
each call with ten arrays pushed some eighty words on the stack. Instead the
engine keeps its arrays itself and writes each one's address and shape into a
table (an int64 array); kernels pass the table around and `unpack` turns it
back into the arrays with a few loads.

The contract that makes this safe: the owner keeps every array alive and calls
`publish` again whenever it replaces one (growth), before the next kernel call.
Under NUMBA_DISABLE_JIT there are no raw pointers; `unpack` then returns the
arrays registered by `publish` for that table.
"""
import numba
import numpy as np
from numba.core import types
from numba.extending import intrinsic
from numba.np.arrayobj import make_array, populate_array
from numba.np.numpy_support import from_dtype

from .jit import kernel
from .layout import (ACCOUNT_DTYPE, BOOK_DTYPE, ID_DTYPE, LADDER_DTYPE, LEVEL_DTYPE,
                     ORDER_DTYPE)

ARRAYS = ("orders", "levels", "books", "accounts", "ids", "ladders", "rungs", "ctr", "ev",
          "out")
_LAYOUT = ((ORDER_DTYPE, 1), (LEVEL_DTYPE, 1), (BOOK_DTYPE, 1), (ACCOUNT_DTYPE, 1),
           (ID_DTYPE, 1), (LADDER_DTYPE, 1), (np.int32, 1), (np.int64, 1), (np.int64, 2),
           (np.uint8, 1))
TABLE_SIZE = 3 * len(ARRAYS)         # per array: address, rows, columns

_registry: dict[int, tuple] = {}     # table address -> arrays, for NUMBA_DISABLE_JIT


def new_table() -> np.ndarray:
    return np.zeros(TABLE_SIZE, np.int64)


def publish(table: np.ndarray, arrays: dict[str, np.ndarray]) -> None:
    """Record the arrays' addresses and shapes in `table`. Every array must be
    C-contiguous and stay alive until the next `publish`."""
    for i, name in enumerate(ARRAYS):
        a = arrays[name]
        if not a.flags.c_contiguous:
            raise ValueError(f"{name} must be C-contiguous")
        table[3 * i] = a.ctypes.data
        table[3 * i + 1] = a.shape[0]
        table[3 * i + 2] = a.shape[1] if a.ndim == 2 else 1
    _registry[table.ctypes.data] = tuple(arrays[name] for name in ARRAYS)


def _array_types():
    return [types.Array(from_dtype(np.dtype(dtype)), ndim, "C") for dtype, ndim in _LAYOUT]


@intrinsic
def _unpack(typingctx, table):
    """Build the arrays from `table` in place: loads of address and shape, no
    reference counting (the arrays carry no meminfo; their owner keeps them)."""
    array_types = _array_types()
    result = types.Tuple(array_types)

    def codegen(context, builder, signature, args):
        tbl = make_array(signature.args[0])(context, builder, value=args[0])

        def word(k):
            return builder.load(builder.gep(tbl.data, [context.get_constant(types.intp, k)]))

        arrays = []
        for i, arrty in enumerate(array_types):
            address, rows, cols = word(3 * i), word(3 * i + 1), word(3 * i + 2)
            item = context.get_data_type(arrty.dtype)
            size = context.get_constant(types.intp, context.get_abi_sizeof(item))
            if arrty.ndim == 1:
                shape, strides = [rows], [size]
            else:
                shape, strides = [rows, cols], [builder.mul(cols, size), size]
            ary = make_array(arrty)(context, builder)
            populate_array(ary, data=builder.inttoptr(address, item.as_pointer()), shape=shape,
                           strides=strides, itemsize=size, meminfo=None)
            arrays.append(ary._getvalue())
        return context.make_tuple(builder, result, arrays)

    return result(table), codegen


if numba.config.DISABLE_JIT:
    def unpack(table):
        """The arrays published in `table` (see `publish`)."""
        return _registry[table.ctypes.data]
else:
    @kernel
    def unpack(table):
        """(orders, levels, books, accounts, ids, ladders, rungs, ctr, ev, out)
        over the memory published in `table`. Costs a few loads; arrays a
        caller does not use are optimised away."""
        return _unpack(table)
