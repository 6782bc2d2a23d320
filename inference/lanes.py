"""Eight-lane popcount accumulators for the engine's numba kernels.

A product of two L = 512 streams is only 8 words, so a kernel that folds every product's
popcount into a scalar spends most of its time on the fold. These intrinsics keep 8 lanes of
partial counts in one LLVM vector (a zmm register with AVX-512, two ymm with AVX2) for a
whole neuron sum, and fold once at the end. They extend numba through its own extension
point, `numba.extending.intrinsic`; LLVM promotes each accumulator to a register.

    acc = lanes_zero()
    popcount_into(acc, AND, x, x_offset, w, w_offset, count, negate)  # per product
    total = lanes_sum(acc)
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

LANES = 8  # uint64 words per vector
AND = 0  # sign-magnitude products
XOR = 1  # bipolar products count popcount(x ^ w), the complement of XNOR's ones

_WORD = ir.IntType(64)
_VECTOR = ir.VectorType(_WORD, LANES)
_INDEX = ir.IntType(32)


def _splat(builder, value):
    lane0 = builder.insert_element(ir.Constant(_VECTOR, ir.Undefined), value, _INDEX(0))
    return builder.shuffle_vector(
        lane0, ir.Constant(_VECTOR, ir.Undefined), ir.Constant(ir.VectorType(_INDEX, LANES), 0)
    )


def _load_words(context, builder, array_type, array, offset, count):
    """Words offset … offset+count-1 of a C-contiguous uint64 array; lanes past count are 0.

    A masked load never reads past the stream, so the last stream of an array is safe. With
    count = LANES, LLVM turns it into a plain load.
    """
    data = context.make_array(array_type)(context, builder, array).data
    pointer = builder.bitcast(builder.gep(data, [offset]), _VECTOR.as_pointer())
    mask = builder.icmp_unsigned(
        "<", ir.Constant(_VECTOR, list(range(LANES))), _splat(builder, count)
    )
    signature = ir.FunctionType(
        _VECTOR, [_VECTOR.as_pointer(), _INDEX, ir.VectorType(ir.IntType(1), LANES), _VECTOR]
    )
    masked_load = cgutils.get_or_insert_function(
        builder.module, signature, f"llvm.masked.load.v{LANES}i64.p0"
    )
    return builder.call(masked_load, [pointer, _INDEX(8), mask, ir.Constant(_VECTOR, 0)])


@intrinsic
def lanes_zero(typingctx):
    """A fresh accumulator of LANES zero counts (an opaque pointer to stack memory)."""

    def codegen(context, builder, signature, args):
        slot = cgutils.alloca_once(builder, _VECTOR)
        builder.store(ir.Constant(_VECTOR, 0), slot)
        return builder.bitcast(slot, cgutils.voidptr_t)

    return types.voidptr(), codegen


@intrinsic
def popcount_into(typingctx, acc, op, x, x_offset, w, w_offset, count, negate):
    """acc += popcount(x[x_offset + l] op w[w_offset + l]) for lanes l < count (<= LANES).

    op is AND or XOR; negate is 0 or -1 (all ones), and -1 subtracts the counts instead.
    """

    def codegen(context, builder, signature, args):
        acc_, op_, x_, x_offset_, w_, w_offset_, count_, negate_ = args
        a = _load_words(context, builder, signature.args[2], x_, x_offset_, count_)
        b = _load_words(context, builder, signature.args[4], w_, w_offset_, count_)
        product = builder.select(
            builder.icmp_signed("==", op_, _WORD(AND)), builder.and_(a, b), builder.xor(a, b)
        )
        ctpop = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(_VECTOR, [_VECTOR]), f"llvm.ctpop.v{LANES}i64"
        )
        counts = builder.call(ctpop, [product])
        sign = _splat(builder, negate_)
        counts = builder.sub(builder.xor(counts, sign), sign)  # two's complement when -1
        slot = builder.bitcast(acc_, _VECTOR.as_pointer())
        builder.store(builder.add(builder.load(slot), counts), slot)
        return context.get_dummy_value()

    word = types.int64
    return types.void(types.voidptr, word, x, word, w, word, word, word), codegen


@intrinsic
def lanes_sum(typingctx, acc):
    """The sum of an accumulator's lanes."""

    def codegen(context, builder, signature, args):
        slot = builder.bitcast(args[0], _VECTOR.as_pointer())
        reduce_add = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(_WORD, [_VECTOR]), f"llvm.vector.reduce.add.v{LANES}i64"
        )
        return builder.call(reduce_add, [builder.load(slot)])

    return types.int64(types.voidptr), codegen
