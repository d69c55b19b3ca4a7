"""A software prefetch usable inside kernels (LLVM's ``llvm.prefetch``).

The trainers touch one state record per active column, in an order set by the data: a cache
miss per record dominates their cost. Rows are visited from a contiguous buffer, so the slots of
the row a few steps ahead are known and their records can be requested early; the hardware then
overlaps the misses instead of paying them one after another. A prefetch is only a hint: it never
changes results, and the address may be anything.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from ._jit import jit


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


@jit(inline="always")
def prefetch_rows(order, pos, end, indptr, slots, data, y, sw):
    """While visiting ``order[pos]`` (of ``order[:end]``) of a CSR of rows, request what comes next.

    The row 16 visits ahead gets its pointers, label and weight requested, the row 8 ahead its
    entries (slots and values): by the time a visit reaches them, the misses have overlapped.
    ``data`` or ``sw`` may be empty (all ones), and are then skipped.
    """
    if pos + 16 < end:
        far = order[pos + 16]
        prefetch_row(indptr, far)
        prefetch_row(y, far)
        if sw.shape[0] > 0:
            prefetch_row(sw, far)
    if pos + 8 < end:
        mid = indptr[order[pos + 8]]
        prefetch_row(slots, mid)
        if data.shape[0] > 0:
            prefetch_row(data, mid)


@jit(inline="always")
def prefetch_records(order, pos, end, indptr, slots, records):
    """Request the per-slot records of the row 4 visits ahead (its slots were requested earlier)."""
    if pos + 4 < end:
        near = order[pos + 4]
        for p in range(indptr[near], indptr[near + 1]):
            prefetch_row(records, slots[p])


@jit(inline="always")
def prefetch_records_sequential(r, n_rows, indptr, slots, records):
    """Rows visited in storage order: request the per-slot records of row ``r + 4``.

    A slot of -1 (a column unseen in training) points before the array: harmless for a hint.
    """
    if r + 4 < n_rows:
        for p in range(indptr[r + 4], indptr[r + 5]):
            prefetch_row(records, slots[p])
