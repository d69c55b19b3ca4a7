"""A software prefetch usable inside kernels (LLVM's ``llvm.prefetch``).

The trainers touch one state record per active column, in an order set by the data: a cache
miss per record dominates their cost. Rows are visited from a contiguous buffer, so the slots of
the row a few steps ahead are known and their records can be requested early; the hardware then
overlaps the misses instead of paying them one after another. A prefetch is only a hint: it never
changes results, and the address may be anything.

Where: the one kernel that reads rows in a random order (``train.rows.gather_rows``) requests
the rows ahead; the kernels that then read them in storage order request the records of the row
four ahead (three lines in each loop). Those lines are written out in each loop on purpose: a
compiled helper taking the arrays, even inlined, costs reference counting per call, measured at
10-30 % of an epoch.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def prefetch_row(typingctx, array, row):
    """Hint that ``array[row]`` (1-D) or ``array[row, 0]`` (C-contiguous 2-D) will soon be used."""
    if not (isinstance(array, types.Array) and array.ndim in (1, 2) and isinstance(row, types.Integer)):
        return None
    sig = types.void(array, row)

    def codegen(context, builder, signature, args):
        array_type, row_type = signature.args
        ary = context.make_array(array_type)(context, builder, args[0])
        index = context.cast(builder, args[1], row_type, types.intp)
        indices = [index] + [context.get_constant(types.intp, 0)] * (array_type.ndim - 1)
        ptr = cgutils.get_item_pointer(context, builder, array_type, ary, indices, wraparound=False)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        # rw=1 (the record is updated), locality=3 (keep in all cache levels), data cache
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(1), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen

