"""Eight-lane popcount accumulators for the engine's numba kernels.

A product of two L = 512 streams is only 8 words, so a kernel that folds every product's
popcount into a scalar spends most of its time on the fold. These intrinsics keep 8 lanes of
partial counts in one LLVM vector (a zmm register with AVX-512, two ymm with AVX2) for a
whole neuron sum, and fold once at the end. They extend numba through its own extension
point, `numba.extending.intrinsic`; LLVM promotes each accumulator to a register.

    acc = lanes_zero()
    popcount_into(acc, AND, x, x_offset, w, w_offset, count)  # per product
    total = lanes_sum(acc)

An accumulator's lanes can also be eight neurons' counts at once: `lanes_add` adds eight
int64 values (one per neuron), `lanes_sub_and` subtracts a scalar where a mask lane is set,
and `lanes_get` / `lanes_segment` read one lane or the sum of a run of lanes.
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
def popcount_into(typingctx, acc, op, x, x_offset, w, w_offset, count):
    """acc += popcount(x[x_offset + l] op w[w_offset + l]) for lanes l < count (<= LANES).

    op is AND or XOR.
    """

    def codegen(context, builder, signature, args):
        acc_, op_, x_, x_offset_, w_, w_offset_, count_ = args
        a = _load_words(context, builder, signature.args[2], x_, x_offset_, count_)
        b = _load_words(context, builder, signature.args[4], w_, w_offset_, count_)
        product = builder.select(
            builder.icmp_signed("==", op_, _WORD(AND)), builder.and_(a, b), builder.xor(a, b)
        )
        ctpop = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(_VECTOR, [_VECTOR]), f"llvm.ctpop.v{LANES}i64"
        )
        _add_into(builder, acc_, builder.call(ctpop, [product]))
        return context.get_dummy_value()

    word = types.int64
    return types.void(types.voidptr, word, x, word, w, word, word), codegen


def _add_into(builder, acc, values):
    slot = builder.bitcast(acc, _VECTOR.as_pointer())
    builder.store(builder.add(builder.load(slot), values), slot)


@intrinsic
def lanes_add(typingctx, acc, values, offset):
    """acc += values[offset + l] for every lane l (a C-contiguous int64 array)."""

    def codegen(context, builder, signature, args):
        acc_, values_, offset_ = args
        loaded = _load_words(context, builder, signature.args[1], values_, offset_, _WORD(LANES))
        _add_into(builder, acc_, loaded)
        return context.get_dummy_value()

    return types.void(types.voidptr, values, types.int64), codegen


@intrinsic
def lanes_sub_and(typingctx, acc, masks, offset, value):
    """acc -= masks[offset + l] & value for every lane l: masks of 0 or -1 pick the lanes."""

    def codegen(context, builder, signature, args):
        acc_, masks_, offset_, value_ = args
        loaded = _load_words(context, builder, signature.args[1], masks_, offset_, _WORD(LANES))
        picked = builder.and_(loaded, _splat(builder, value_))
        slot = builder.bitcast(acc_, _VECTOR.as_pointer())
        builder.store(builder.sub(builder.load(slot), picked), slot)
        return context.get_dummy_value()

    return types.void(types.voidptr, masks, types.int64, types.int64), codegen


@intrinsic
def lanes_get(typingctx, acc, lane):
    """Lane `lane` of an accumulator."""

    def codegen(context, builder, signature, args):
        slot = builder.bitcast(args[0], _VECTOR.as_pointer())
        return builder.extract_element(builder.load(slot), builder.trunc(args[1], _INDEX))

    return types.int64(types.voidptr, types.int64), codegen


@intrinsic
def lanes_segment(typingctx, acc, first, count):
    """The sum of lanes first … first+count-1 of an accumulator."""

    def codegen(context, builder, signature, args):
        acc_, first_, count_ = args
        lanes = ir.Constant(_VECTOR, list(range(LANES)))
        inside = builder.and_(
            builder.icmp_signed(">=", lanes, _splat(builder, first_)),
            builder.icmp_signed("<", lanes, _splat(builder, builder.add(first_, count_))),
        )
        slot = builder.bitcast(acc_, _VECTOR.as_pointer())
        picked = builder.select(inside, builder.load(slot), ir.Constant(_VECTOR, 0))
        return builder.call(_reduce_add(builder), [picked])

    return types.int64(types.voidptr, types.int64, types.int64), codegen


def _reduce_add(builder):
    return cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(_WORD, [_VECTOR]), f"llvm.vector.reduce.add.v{LANES}i64"
    )


@intrinsic
def lanes_sum(typingctx, acc):
    """The sum of an accumulator's lanes."""

    def codegen(context, builder, signature, args):
        slot = builder.bitcast(args[0], _VECTOR.as_pointer())
        return builder.call(_reduce_add(builder), [builder.load(slot)])

    return types.int64(types.voidptr), codegen
