"""A peephole LSTM cell (Gers, Schraudolph & Schmidhuber, 2002). Keras 3 ships none.

Peephole connections let the gates look at the cell state: the input and forget gates at
c[t-1], the output gate at c[t]. They have no cuDNN kernel, so `cudnn_report` marks any layer
built on this cell as ineligible; use it where the connections matter more than speed.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="model_zoo")
class PeepholeLSTMCell(keras.layers.Layer):
    """LSTM cell with diagonal peephole connections, for `keras.layers.RNN`.

    i = sigmoid(x W_i + h U_i + p_i * c[t-1] + b_i)
    f = sigmoid(x W_f + h U_f + p_f * c[t-1] + b_f)
    c[t] = f * c[t-1] + i * tanh(x W_c + h U_c + b_c)
    o = sigmoid(x W_o + h U_o + p_o * c[t] + b_o)
    h[t] = o * tanh(c[t])

    Args:
        units: size of the hidden and cell states.
        unit_forget_bias: start the forget gate's bias at 1 (Jozefowicz et al., 2015).
        kernel_initializer, recurrent_initializer, peephole_initializer: initialisers of the
            input, recurrent and peephole weights.

    Example:
    >>> layer = keras.layers.RNN(PeepholeLSTMCell(16), return_sequences=True)
    >>> layer(np.zeros((2, 5, 3), "float32")).shape
    (2, 5, 16)
    """

    def __init__(
        self,
        units,
        unit_forget_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        peephole_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units < 1:
            raise ValueError(f"`units` must be a positive integer. Received: units={units!r}")
        self.units = units
        self.unit_forget_bias = unit_forget_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.peephole_initializer = keras.initializers.get(peephole_initializer)
        self.state_size = [units, units]
        self.output_size = units

    def build(self, input_shape):
        input_dim = input_shape[-1]
        u = self.units
        self.kernel = self.add_weight(
            shape=(input_dim, 4 * u), initializer=self.kernel_initializer, name="kernel"
        )
        self.recurrent_kernel = self.add_weight(
            shape=(u, 4 * u), initializer=self.recurrent_initializer, name="recurrent_kernel"
        )
        self.peephole_kernel = self.add_weight(
            shape=(3, u), initializer=self.peephole_initializer, name="peephole_kernel"
        )
        forget = 1.0 if self.unit_forget_bias else 0.0

        def bias_initializer(shape, dtype=None):
            return ops.concatenate(
                [ops.zeros((u,)), ops.full((u,), forget), ops.zeros((2 * u,))]
            )

        self.bias = self.add_weight(shape=(4 * u,), initializer=bias_initializer, name="bias")

    def call(self, inputs, states, training=False):
        h_prev, c_prev = states
        z = ops.matmul(inputs, self.kernel) + ops.matmul(h_prev, self.recurrent_kernel) + self.bias
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        p_i, p_f, p_o = self.peephole_kernel[0], self.peephole_kernel[1], self.peephole_kernel[2]
        i = ops.sigmoid(z_i + p_i * c_prev)
        f = ops.sigmoid(z_f + p_f * c_prev)
        c = f * c_prev + i * ops.tanh(z_c)
        o = ops.sigmoid(z_o + p_o * c)
        h = o * ops.tanh(c)
        return h, [h, c]

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            unit_forget_bias=self.unit_forget_bias,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            recurrent_initializer=keras.initializers.serialize(self.recurrent_initializer),
            peephole_initializer=keras.initializers.serialize(self.peephole_initializer),
        )
        return config
