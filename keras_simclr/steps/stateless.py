"""Running stateful Keras code on given variable values (JAX's steps)."""

import keras


def run_stateless(pairs, function):
    """Runs `function()` with each variable of `pairs` at the paired value.

    Args:
        pairs: `(variable, value)` pairs.
        function: what to run; it may read and assign the variables.

    Returns:
        `(function's result, the variables' values after it)`, the values
        in the order of `pairs`.

    Example:

    >>> counter = keras.Variable(0, dtype="int32")
    >>> _, values = run_stateless([(counter, 41)], lambda: counter.assign_add(1))
    >>> [int(value) for value in values]
    [42]
    >>> int(counter.value)  # the variable itself did not change
    0
    """
    pairs = list(pairs)
    with keras.StatelessScope(state_mapping=pairs) as scope:
        result = function()
    return result, [scope.get_current_value(variable) for variable, _ in pairs]
