"""Greedy and beam-search decoding for `build_lstm_seq2seq` models, batched and incremental.

The source is encoded once per batch. Each step then runs one compiled function on the last
token of every live hypothesis: it reorders the carried LSTM states to their parent
hypotheses, advances every decoder layer's *cell* by one token (the same weights the trained
`LSTM` layers hold), attends over the encoder outputs and returns log-probabilities, the new
states and the attention weights. Nothing is recomputed for the prefix.

Beam search keeps `beam_size` hypotheses per sentence and ranks finished ones by
`log p / lp(length)` with GNMT's length penalty `lp(n) = ((5 + n) / 6) ** alpha` (Wu et al.,
2016); `alpha = 0` is the raw log-probability. A sentence stops when `beam_size` hypotheses have
finished and no live one can still beat them at the current length (the usual heuristic), or at
its length guard: `max_length = min(max_target_length, ratio * source_length + extra)`.

The bookkeeping (top-k over `beam * vocabulary`, finished lists) is NumPy: a few hundred small
operations per step, against a step function that does the real work.
"""

import keras
import numpy as np
from keras import ops

from model_zoo.models.seq2seq.lstm_seq2seq import SOURCE, decoder_layers_of
from model_zoo.models.seq2seq.sentencepiece_tokenizer import BOS_ID, EOS_ID, PAD_ID
from model_zoo.models.step_functions import compile_function


def length_penalty(length, alpha):
    return ((5.0 + np.asarray(length, dtype="float64")) / 6.0) ** alpha


class Seq2SeqDecoder:
    """Incremental decoding with a trained `build_lstm_seq2seq` model.

    Args:
        model: the training model (its layers are reused, weights shared).

    Example:
    >>> decoder = Seq2SeqDecoder(model)  # doctest: +SKIP
    >>> tokens, attention = decoder.decode(source_ids, max_lengths, beam_size=4)  # doctest: +SKIP
    """

    def __init__(self, model):
        self.model = model
        self.lstms = decoder_layers_of(model)
        encoder_outputs = sorted(
            (layer for layer in model.layers if layer.name.startswith("encoder_bilstm_")),
            key=lambda layer: int(layer.name.rsplit("_", 1)[1]))[-1].output
        bridges = []
        for i in range(len(self.lstms)):
            bridges += [model.get_layer(f"bridge_h_{i}").output,
                        model.get_layer(f"bridge_c_{i}").output]
        self.encoder = keras.Model(model.get_layer(SOURCE).output, [encoder_outputs] + bridges)
        self.embedding = model.get_layer("target_embedding")
        self.attention = model.get_layer("attention")
        self.concat = model.get_layer("attention_concat")
        self.attentional = model.get_layer("attentional")
        self.output_layer = model.get_layer("logits")
        self._encode = compile_function(self._encode_fn, model.variables)
        self._step = compile_function(self._step_fn, model.variables)

    # -- the compiled pieces ---------------------------------------------------------------------

    def _encode_fn(self, source):
        outputs = self.encoder(source, training=False)
        return outputs[0], tuple(outputs[1:])

    def _step_fn(self, tokens, parents, states, encoded, value_mask):
        states = [ops.take(s, parents, axis=0) for s in states]
        x = self.embedding(tokens)
        new_states = []
        for i, lstm in enumerate(self.lstms):
            x, (h, c) = lstm.cell(x, [states[2 * i], states[2 * i + 1]], training=False)
            new_states += [h, c]
        query = ops.expand_dims(x, 1)
        context, weights = self.attention([query, encoded], value_mask=value_mask)
        z = self.attentional(self.concat([query, context]))
        log_probs = ops.log_softmax(ops.cast(self.output_layer(z)[:, 0], "float32"), axis=-1)
        return log_probs, tuple(new_states), weights[:, 0]

    def step_logits(self, source, target_in):
        """Log-probabilities of every position under teacher forcing, computed step by step.

        Equals the training model's log-softmax on the same input; the tests check it.
        """
        source = np.asarray(source, dtype="int32")
        target_in = np.asarray(target_in, dtype="int32")
        encoded, states = self._encode(source)
        parents = np.arange(source.shape[0], dtype="int32")
        out = []
        for t in range(target_in.shape[1]):
            log_probs, states, _ = self._step(target_in[:, t], parents, states, encoded,
                                              source != PAD_ID)
            out.append(ops.convert_to_numpy(log_probs))
        return np.stack(out, axis=1)

    # -- search ---------------------------------------------------------------------------------

    def decode(self, source, max_lengths, beam_size=1, alpha=0.6, return_attention=False):
        """Decodes a padded batch of source ids.

        Args:
            source: `(batch, S)` int array, right-padded with 0.
            max_lengths: per sentence, the most target tokens to produce (the length guard).
            beam_size: 1 for greedy search.
            alpha: strength of the length normalisation of beam search.
            return_attention: also return each output's `(T, S)` attention weights.

        Returns:
            `(tokens, attention)`: a list of id lists (without start/end ids) and a list of
            arrays, or None.
        """
        source = np.asarray(source, dtype="int32")
        max_lengths = np.maximum(np.asarray(max_lengths, dtype="int64"), 1)
        if beam_size <= 1:
            return self._greedy(source, max_lengths, return_attention)
        return self._beam(source, max_lengths, int(beam_size), alpha, return_attention)

    def _greedy(self, source, max_lengths, return_attention):
        batch = source.shape[0]
        encoded, states = self._encode(source)
        mask = source != PAD_ID
        parents = np.arange(batch, dtype="int32")
        tokens = np.full(batch, BOS_ID, dtype="int32")
        done = np.zeros(batch, dtype=bool)
        outputs, attention = [], []
        for t in range(int(max_lengths.max())):
            log_probs, states, weights = self._step(tokens, parents, states, encoded, mask)
            tokens = np.argmax(ops.convert_to_numpy(log_probs), axis=-1).astype("int32")
            tokens = np.where(done, PAD_ID, tokens)
            outputs.append(tokens)
            if return_attention:
                attention.append(ops.convert_to_numpy(weights))
            done |= (tokens == EOS_ID) | (t + 1 >= max_lengths)
            if done.all():
                break
        outputs = np.stack(outputs, axis=1)
        attention = np.stack(attention, axis=1) if return_attention else None
        results, maps = [], []
        for b in range(batch):
            row = outputs[b].tolist()
            row = row[:row.index(EOS_ID)] if EOS_ID in row else row
            row = [i for i in row if i != PAD_ID]
            results.append(row)
            if return_attention:
                maps.append(attention[b, :len(row), :int(mask[b].sum())])
        return results, (maps if return_attention else None)

    def greedy_tensors(self, source, max_lengths, width):
        """`decode(..., beam_size=1)` in TensorFlow ops only, for a saved graph
        (`model_zoo.export`): the same compiled pieces, stepped in a `tf.while_loop`.

        Args:
            source: `(batch, S)` int32 tensor, right-padded with 0.
            max_lengths: `(batch,)` int32 tensor, the length guard of each sentence (>= 1).
            width: a Python int, at least every `max_lengths`: the loop's output buffer.

        Returns:
            `(tokens, log_probability)`: `(batch, T)` int32 ids right-padded with 0 (the end
            id and what follows it dropped, as `decode` drops them; a padding id the model
            produced, which `decode` drops, stays a 0 in its place; `T` the longest row) and
            the sum of the log-probabilities of each sentence's tokens and its end id (if
            produced).
        """
        import tensorflow as tf

        batch = tf.shape(source)[0]
        encoded, states = self._encode_fn(source)
        mask = tf.not_equal(source, PAD_ID)
        parents = tf.range(batch)

        def body(t, tokens, states, done, out, score):
            log_probs, states, _ = self._step_fn(tokens, parents, states, encoded, mask)
            tokens = tf.argmax(log_probs, axis=-1, output_type=tf.int32)
            tokens = tf.where(done, PAD_ID, tokens)
            score += tf.where(done, 0.0, tf.gather(log_probs, tokens, axis=1, batch_dims=1))
            out += tf.one_hot(t, width, dtype=tf.int32) * tokens[:, None]
            done = done | tf.equal(tokens, EOS_ID) | (t + 1 >= max_lengths)
            return t + 1, tokens, tuple(states), done, out, score

        def running(t, tokens, states, done, out, score):
            return tf.logical_and(t < tf.reduce_max(max_lengths),
                                  tf.logical_not(tf.reduce_all(done)))

        start = (tf.constant(0), tf.fill([batch], BOS_ID), tuple(states),
                 tf.zeros([batch], tf.bool), tf.zeros([batch, width], tf.int32),
                 tf.zeros([batch], tf.float32))
        _, _, _, _, out, score = tf.while_loop(running, body, start)
        before_end = tf.equal(tf.cumsum(tf.cast(tf.equal(out, EOS_ID), tf.int32), axis=1), 0)
        kept = tf.logical_and(before_end, tf.not_equal(out, PAD_ID))
        out = tf.where(kept, out, PAD_ID)
        # A padding id the model chose is dropped by `decode` too: here it stays a 0.
        longest = tf.reduce_max(tf.where(kept, tf.range(1, width + 1)[None], 0))
        return out[:, :longest], score

    def beam_tensors(self, source, max_lengths, width, beam, alpha):
        """`decode(..., beam_size=beam, alpha=alpha)` in TensorFlow ops only, for a saved
        graph (`model_zoo.export`): the same search as `_beam`, its per-sentence lists kept as
        fixed-size tensors and its loops over candidates as masks, stepped in a
        `tf.while_loop`.

        Scores are summed in float64 as `_beam` sums them, and ties are broken as its stable
        sort of the finished list breaks them (earlier first), so the two choose the same
        translation; the candidates' order within one step can differ on exactly equal
        scores only.

        Args:
            source: `(batch, S)` int32 tensor, right-padded with 0.
            max_lengths: `(batch,)` int32 tensor, the length guard of each sentence (>= 1).
            width: a Python int, at least every `max_lengths`.
            beam: a Python int >= 2, the hypotheses kept per sentence.
            alpha: a Python float, the length penalty's strength.

        Returns:
            `(tokens, log_probability)` as `greedy_tensors`: the best finished hypothesis of
            each sentence (its ids right-padded with 0, `T` the longest) and its
            log-probability (the end id's included where it ended with one).
        """
        import tensorflow as tf

        batch = tf.shape(source)[0]
        encoded, states = self._encode_fn(source)
        repeat = tf.repeat(tf.range(batch), beam)  # row b * beam + k: hypothesis k of b
        encoded = tf.gather(encoded, repeat)
        states = tuple(tf.gather(s, repeat) for s in states)
        mask = tf.gather(tf.not_equal(source, PAD_ID), repeat)
        max_lengths = tf.cast(max_lengths, tf.int32)
        neg_inf = tf.constant(-np.inf, tf.float64)
        candidates = 2 * beam
        positions = tf.range(width)

        def penalty(length):
            return tf.pow((5.0 + tf.cast(length, tf.float64)) / 6.0, float(alpha))

        def body(t, tokens, parents, states, scores, sequences, done, fin_norm, fin_raw,
                 fin_seq):
            log_probs, states, _ = self._step_fn(tokens, parents, states, encoded, mask)
            log_probs = tf.cast(log_probs, tf.float64)
            vocabulary = tf.shape(log_probs)[-1]
            total = tf.reshape(scores[:, :, None] + tf.reshape(
                log_probs, [batch, beam, vocabulary]), [batch, beam * vocabulary])
            top_scores, top = tf.math.top_k(total, k=candidates)  # sorted, earlier first
            parent, token = top // vocabulary, top % vocabulary
            length = t + 1
            finite = tf.math.is_finite(top_scores) & ~done[:, None]
            ends = (tf.equal(token, EOS_ID) | (length >= max_lengths)[:, None]) & finite
            live = ~ends & finite
            # `_beam` walks the candidates in order and stops after `beam` live ones: a
            # candidate counts if fewer than `beam` live ones came before it.
            before = tf.cumsum(tf.cast(live, tf.int32), axis=1, exclusive=True)
            taken = before < beam
            ends, live = ends & taken, live & taken
            # The finished: the parent's sequence, plus the token unless it is the end id.
            parent_seq = tf.gather(sequences, parent, batch_dims=1)  # (batch, 2 beam, width)
            at_t = tf.equal(positions, t)[None, None]
            with_token = tf.where(at_t, token[:, :, None], parent_seq)
            new_fin_seq = tf.where(tf.equal(token, EOS_ID)[:, :, None], parent_seq, with_token)
            new_norm = tf.where(ends, top_scores / penalty(length), neg_inf)
            new_raw = tf.where(ends, top_scores, neg_inf)
            pooled = tf.concat([fin_norm, new_norm], axis=1)  # the old first: a stable sort
            fin_norm, keep = tf.math.top_k(pooled, k=beam)
            fin_raw = tf.gather(tf.concat([fin_raw, new_raw], 1), keep, batch_dims=1)
            fin_seq = tf.gather(tf.concat([fin_seq, new_fin_seq], 1), keep, batch_dims=1)
            # The live: the first `beam` of them, in order, into slots 0, 1, ...
            slot = tf.where(live, before, beam)  # `beam`: a slot that is dropped
            rows = tf.repeat(tf.range(batch)[:, None], candidates, axis=1)
            index = tf.stack([rows, slot], axis=-1)
            new_scores = tf.tensor_scatter_nd_update(
                tf.fill([batch, beam + 1], neg_inf), index, tf.where(live, top_scores, neg_inf)
            )[:, :beam]
            new_parents = tf.tensor_scatter_nd_update(
                tf.tile(tf.range(beam + 1)[None], [batch, 1]), index,
                tf.where(live, parent, tf.minimum(slot, beam)))[:, :beam]
            new_tokens = tf.tensor_scatter_nd_update(
                tf.fill([batch, beam + 1], PAD_ID), index, tf.where(live, token, PAD_ID)
            )[:, :beam]
            count = tf.reduce_sum(tf.cast(live, tf.int32), axis=1)
            best_live = tf.reduce_max(new_scores, axis=1) / penalty(length)
            enough = tf.math.is_finite(fin_norm[:, -1]) & (fin_norm[:, -1] >= best_live)
            done = done | (length >= max_lengths) | tf.equal(count, 0) | enough
            sequences = tf.gather(sequences, new_parents, batch_dims=1)
            sequences = tf.where(at_t, new_tokens[:, :, None], sequences)
            parents = tf.reshape(tf.range(batch)[:, None] * beam + new_parents, [-1])
            return (t + 1, tf.reshape(new_tokens, [-1]), parents, tuple(states), new_scores,
                    sequences, done, fin_norm, fin_raw, fin_seq)

        def running(t, *rest):
            done = rest[5]
            return tf.logical_and(t < tf.reduce_max(max_lengths),
                                  tf.logical_not(tf.reduce_all(done)))

        scores = tf.concat([tf.zeros([batch, 1], tf.float64),
                            tf.fill([batch, beam - 1], neg_inf)], axis=1)
        start = (tf.constant(0), tf.fill([batch * beam], BOS_ID), tf.range(batch * beam),
                 tuple(states), scores, tf.zeros([batch, beam, width], tf.int32),
                 tf.zeros([batch], tf.bool), tf.fill([batch, beam], neg_inf),
                 tf.fill([batch, beam], neg_inf), tf.zeros([batch, beam, width], tf.int32))
        free = tf.nest.map_structure(lambda x: tf.TensorShape([None] * x.shape.rank), start)
        out = tf.while_loop(running, body, start, shape_invariants=free)
        fin_norm, fin_raw, fin_seq = out[7], out[8], out[9]
        found = tf.math.is_finite(fin_norm[:, 0])  # none finished: the empty translation
        best = tf.where(found[:, None], fin_seq[:, 0], 0)
        longest = tf.reduce_max(tf.where(best > 0, positions[None] + 1, 0))
        return best[:, :longest], tf.cast(tf.where(found, fin_raw[:, 0], 0.0), tf.float32)

    def _beam(self, source, max_lengths, beam, alpha, return_attention):
        batch, src_len = source.shape
        encoded, states = self._encode(source)
        # Every sentence gets `beam` rows; row b * beam + k is hypothesis k of sentence b.
        repeat = np.repeat(np.arange(batch, dtype="int32"), beam)
        encoded = ops.take(encoded, repeat, axis=0)
        states = tuple(ops.take(s, repeat, axis=0) for s in states)
        mask = np.repeat(source != PAD_ID, beam, axis=0)
        scores = np.full((batch, beam), -np.inf)
        scores[:, 0] = 0.0  # One live hypothesis to start with.
        sequences = np.zeros((batch, beam, 0), dtype="int32")
        history = np.zeros((batch, beam, 0, src_len), dtype="float32")
        finished = [[] for _ in range(batch)]  # (normalised score, tokens, attention)
        done = np.zeros(batch, dtype=bool)
        tokens = np.full(batch * beam, BOS_ID, dtype="int32")
        parents = np.arange(batch * beam, dtype="int32")
        for t in range(int(max_lengths.max())):
            log_probs, states, weights = self._step(tokens, parents, states, encoded, mask)
            log_probs = ops.convert_to_numpy(log_probs).astype("float64")
            vocabulary = log_probs.shape[-1]
            total = (scores[:, :, None] + log_probs.reshape(batch, beam, vocabulary))
            total = total.reshape(batch, beam * vocabulary)
            top = np.argpartition(-total, 2 * beam, axis=1)[:, :2 * beam]
            order = np.take_along_axis(total, top, 1).argsort(axis=1)[:, ::-1]
            top = np.take_along_axis(top, order, 1)
            if return_attention:
                weights = ops.convert_to_numpy(weights).reshape(batch, beam, src_len)
            new_scores = np.full((batch, beam), -np.inf)
            new_parents = np.tile(np.arange(beam), (batch, 1))
            new_tokens = np.full((batch, beam), PAD_ID, dtype="int32")
            length = t + 1
            for b in range(batch):
                if done[b]:
                    continue
                live = 0
                for flat in top[b]:
                    score = total[b, flat]
                    if not np.isfinite(score):
                        break
                    k, token = divmod(int(flat), vocabulary)
                    if token == EOS_ID or length >= max_lengths[b]:
                        seq = sequences[b, k].tolist() + ([] if token == EOS_ID else [token])
                        att = None
                        if return_attention:
                            att = np.concatenate([history[b, k], weights[b, k][None]], 0)
                            att = att[:len(seq), :int(mask[b * beam].sum())]
                        finished[b].append((score / length_penalty(length, alpha), seq, att))
                        continue
                    new_scores[b, live], new_parents[b, live] = score, k
                    new_tokens[b, live] = token
                    live += 1
                    if live == beam:
                        break
                finished[b].sort(key=lambda f: -f[0])
                del finished[b][beam:]
                best_live = new_scores[b].max() / length_penalty(length, alpha)
                if (length >= max_lengths[b] or live == 0
                        or (len(finished[b]) >= beam and finished[b][-1][0] >= best_live)):
                    done[b] = True
            if done.all():
                break
            sequences = np.concatenate(
                [np.take_along_axis(sequences, new_parents[:, :, None], 1),
                 new_tokens[:, :, None]], axis=2)
            if return_attention:
                history = np.concatenate(
                    [np.take_along_axis(history, new_parents[:, :, None, None], 1),
                     np.take_along_axis(weights, new_parents[:, :, None], 1)[:, :, None]], 2)
            scores = new_scores
            tokens = new_tokens.reshape(-1)
            parents = (np.arange(batch)[:, None] * beam + new_parents).reshape(-1).astype("int32")
        results, maps = [], []
        for b in range(batch):
            best = max(finished[b], key=lambda f: f[0]) if finished[b] else (0.0, [], None)
            results.append(best[1])
            maps.append(best[2])
        return results, (maps if return_attention else None)
