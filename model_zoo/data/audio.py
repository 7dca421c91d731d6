"""Audio for speech models on core TensorFlow: reading, resampling, log-mel features, augmentation.

No tensorflow-io: WAV files are decoded with `tf.audio.decode_wav` (16-bit PCM) and anything
else (OGG/Vorbis, FLAC, other WAV encodings) with `soundfile`. Every waveform goes through the
same stages, whether it comes from a file, a NumPy array at some sample rate, or a tf.data
pipeline:

    read (any channel count)  ->  mono  ->  resample to the model's rate  ->  checks
      ->  log-mel spectrogram (tf.signal)  ->  per-utterance normalisation
      [training only: speed perturbation and noise on the waveform, SpecAugment on features]

`AudioFeatures` holds the settings; `to_dict()` goes into the checkpoint's preprocessing JSON
and `AudioFeatures.from_dict` re-creates the identical front end at load time.

Example:
>>> features = AudioFeatures(sample_rate=8000)
>>> wave = load_waveform("clip.ogg", target_rate=8000)      # doctest: +SKIP
>>> features(wave).shape                                      # doctest: +SKIP
(312, 40)
"""

import dataclasses
import math
import os

import numpy as np

from model_zoo import limits
from model_zoo.errors import InputError


class AudioError(InputError):
    """Audio that cannot be used: unreadable, empty, silent, non-finite or too short."""


# ## Reading and converting


def _tf():
    import tensorflow as tf

    return tf


def read_audio(path):
    """Reads an audio file; returns `(samples float32 array (n, channels) in [-1, 1], rate)`.

    16-bit PCM WAV goes through `tf.audio.decode_wav`; OGG/Vorbis, FLAC and other WAV
    encodings through `soundfile`. Errors name the file and the problem.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise AudioError(f"No audio file at {path}. Received: {path!r}")
    if os.path.getsize(path) == 0:
        raise AudioError(f"The audio file {path} is empty (0 bytes). Received: {path!r}")
    with open(path, "rb") as f:
        head = f.read(64)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE" and _wav_is_pcm16(head):
        tf = _tf()
        try:
            audio, rate = tf.audio.decode_wav(tf.io.read_file(path))
            return audio.numpy(), int(rate.numpy())
        except Exception:  # noqa: BLE001 - a damaged header: let soundfile try and explain.
            pass
    import soundfile

    try:
        data, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except Exception as e:  # noqa: BLE001 - soundfile raises several types for bad files.
        raise AudioError(
            f"Cannot decode {path} as audio ({type(e).__name__}: {e}). Expected WAV, OGG/Vorbis "
            f"or FLAC. Received: {path!r}"
        ) from None
    return data, int(rate)


def _wav_is_pcm16(head):
    """Whether a WAV header's first `fmt ` chunk says PCM (format 1), 16 bits per sample."""
    pos = head.find(b"fmt ")
    if pos < 0 or len(head) < pos + 24:
        return False
    audio_format = int.from_bytes(head[pos + 8:pos + 10], "little")
    bits = int.from_bytes(head[pos + 22:pos + 24], "little")
    return audio_format == 1 and bits == 16


def to_mono(samples):
    """Averages the channels of `(n, channels)` samples (any count) into a 1-D waveform."""
    samples = np.asarray(samples, dtype="float32")
    if samples.ndim == 1:
        return samples
    if samples.ndim != 2:
        raise AudioError(
            "A waveform is 1-D (samples,) or 2-D (samples, channels). "
            f"Received: shape {samples.shape}"
        )
    if samples.shape[1] > samples.shape[0] and samples.shape[1] > 16:
        samples = samples.T  # (channels, samples), as some libraries return.
    return samples.mean(axis=1)


def _smooth_count(k):
    """The smallest integer >= k whose only prime factors are 2, 3 and 5 (fast FFT sizes)."""
    k = max(1, int(k))
    while True:
        r = k
        for p in (2, 3, 5):
            while r % p == 0:
                r //= p
        if r == 1:
            return k
        k += 1


def resample(waveform, rate_in, rate_out):
    """Band-limited resampling of a 1-D waveform (a TF tensor or array) from `rate_in` to `rate_out`.

    Done in the frequency domain with `tf.signal`: the real FFT is truncated (down-sampling,
    which is the ideal low-pass) or zero-padded (up-sampling) to the new length, and inverted.
    Core TensorFlow has no resampling op; this one is exact for band-limited periodic signals
    and needs no filter design. The clip is first padded with silence to a length whose FFT
    is fast (and whose new length is a whole number of samples), and the result is cut back.
    Works eagerly (NumPy in, tensor out) and inside tf.data.
    """
    tf = _tf()
    rate_in, rate_out = int(rate_in), int(rate_out)
    if rate_in == rate_out:
        return tf.convert_to_tensor(waveform, tf.float32)
    x = tf.convert_to_tensor(waveform, tf.float32)
    g = math.gcd(rate_in, rate_out)
    block_in, block_out = rate_in // g, rate_out // g
    n = tf.shape(x)[0]
    m = tf.maximum(tf.cast(tf.math.round(tf.cast(n, tf.float64) * rate_out / rate_in),
                           tf.int32), 1)
    if isinstance(waveform, np.ndarray) or not tf.is_symbolic_tensor(x):
        blocks = _smooth_count(-(-int(n) // block_in))
        if (blocks * block_in) % 2 or (blocks * block_out) % 2:
            blocks = _smooth_count(blocks + 1) if blocks % 2 else blocks
    else:  # Inside a graph: whole blocks, rounded up to an even count.
        blocks = -(-n // block_in)
        blocks = blocks + tf.math.floormod(blocks, 2)
    n_pad = blocks * block_in
    m_pad = blocks * block_out
    y = _spectral_resize(tf.pad(x, [[0, n_pad - n]]), m_pad) * (block_out / block_in)
    return y[:m]


def _spectral_resize(x, m):
    """`x` (length n) stretched to `m` samples by truncating or zero-padding its spectrum."""
    tf = _tf()
    spectrum = tf.signal.rfft(x)
    bins_out = m // 2 + 1
    keep = tf.minimum(tf.shape(spectrum)[0], bins_out)
    spectrum = tf.concat([spectrum[:keep], tf.zeros([bins_out - keep], spectrum.dtype)], axis=0)
    return tf.signal.irfft(spectrum, fft_length=[m])


@dataclasses.dataclass
class AudioFeatures:
    """The speech front end: waveform at `sample_rate` -> normalised log-mel frames.

    Args:
        sample_rate: the rate every waveform is resampled to (8000: telephone speech).
        frame_length: STFT window in samples (200 = 25 ms at 8 kHz).
        frame_step: hop in samples (80 = 10 ms at 8 kHz).
        fft_length: FFT size.
        num_mel_bins: mel bands.
        lower_edge_hertz, upper_edge_hertz: the mel filterbank's range.
        min_seconds: shorter audio is an error.
        max_seconds: longer audio is an error (split it first); the limit `audio_seconds` of
            `model_zoo.limits` (`MODEL_ZOO_MAX_AUDIO_SECONDS`) replaces it when set.
        silence_dbfs: audio whose peak is below this level (dB full scale) is an error.

    Example:
    >>> features = AudioFeatures()
    >>> wave = np.sin(2 * np.pi * 440 * np.arange(8000) / 8000).astype("float32")
    >>> features(wave).shape     # 1 s at 10 ms hops, 40 mel bands
    (98, 40)
    """

    sample_rate: int = 8000
    frame_length: int = 200
    frame_step: int = 80
    fft_length: int = 256
    num_mel_bins: int = 40
    lower_edge_hertz: float = 60.0
    upper_edge_hertz: float = 3800.0
    min_seconds: float = 0.1
    max_seconds: float = 180.0
    silence_dbfs: float = -55.0

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data):
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    # -- the tf.data / graph stages ---------------------------------------------------------

    def log_mel(self, waveform):
        """`(frames, num_mel_bins)` log-mel energies of a 1-D float32 waveform (TF op)."""
        tf = _tf()
        stft = tf.signal.stft(waveform, self.frame_length, self.frame_step, self.fft_length,
                              window_fn=tf.signal.hann_window, pad_end=False)
        power = tf.math.square(tf.abs(stft))
        weights = tf.signal.linear_to_mel_weight_matrix(
            self.num_mel_bins, self.fft_length // 2 + 1, self.sample_rate,
            self.lower_edge_hertz, self.upper_edge_hertz)
        return tf.math.log(tf.tensordot(power, weights, 1) + 1e-6)

    @staticmethod
    def normalize(features):
        """Per-utterance mean and variance normalisation of each mel band (TF op).

        Removes the recording channel's fixed colouring and level: a telephone line, a studio
        microphone and a synthesiser then look alike to the network.
        """
        tf = _tf()
        mean, variance = tf.nn.moments(features, axes=[0], keepdims=True)
        return (features - mean) / tf.sqrt(variance + 1e-3)

    def frames(self, waveform):
        """Normalised log-mel frames of a 1-D waveform at `sample_rate` (TF op)."""
        return self.normalize(self.log_mel(waveform))

    def num_frames(self, num_samples):
        return max(0, 1 + (int(num_samples) - self.frame_length) // self.frame_step)

    # -- eager use ----------------------------------------------------------------------------

    def check(self, waveform, what="the audio"):
        """Raises `AudioError` for empty, non-finite, silent, too short or too long audio."""
        n = int(np.size(waveform))
        seconds = n / self.sample_rate
        if n == 0:
            raise AudioError(f"{what} is empty: it has no samples. Received: 0 samples")
        if not np.all(np.isfinite(waveform)):
            raise AudioError(
                f"{what} has NaN or infinite samples. Received: "
                f"{int(np.sum(~np.isfinite(waveform)))} non-finite of {n} samples"
            )
        if seconds < self.min_seconds:
            raise AudioError(
                f"{what} is too short to transcribe: {seconds:.3f} s; at least "
                f"{self.min_seconds} s is needed. Received: {n} samples at {self.sample_rate} Hz"
            )
        limits.check("audio_seconds", seconds, what, default=self.max_seconds, error=AudioError)
        peak = float(np.max(np.abs(waveform)))
        level = 20 * np.log10(peak) if peak > 0 else -np.inf
        if level < self.silence_dbfs:
            raise AudioError(
                f"{what} is silent: its loudest sample is {level:.1f} dBFS, below the "
                f"{self.silence_dbfs} dBFS this model needs to hear speech. "
                f"Received: peak amplitude {peak:.3g}"
            )
        return waveform

    def __call__(self, waveform):
        """Normalised log-mel frames (NumPy) of a checked 1-D waveform at `sample_rate`."""
        return self.frames(_tf().constant(np.asarray(waveform, "float32"))).numpy()


def load_waveform(source, sample_rate=None, target_rate=8000, what=None):
    """A mono float32 waveform at `target_rate` from a file path or an array.

    Args:
        source: a path (WAV, OGG, FLAC) or a waveform: a 1-D array, or 2-D
            `(samples, channels)`; integer PCM arrays are scaled to [-1, 1].
        sample_rate: the rate of an array `source` (required for arrays; ignored for files).
        target_rate: the rate to resample to.
    """
    if isinstance(source, (str, os.PathLike)):
        what = what or f"The audio file {os.fspath(source)}"
        samples, rate = read_audio(source)
    else:
        what = what or "The waveform"
        if sample_rate is None:
            raise AudioError(
                "A waveform needs its sample rate: pass sample_rate=... (in Hz). "
                f"Received: sample_rate=None for an array of shape {np.shape(source)}"
            )
        if not isinstance(sample_rate, (int, np.integer)) or sample_rate < 1000:
            raise AudioError(f"`sample_rate` must be an integer >= 1000 Hz. Received: "
                             f"{sample_rate!r}")
        samples = np.asarray(source)
        if samples.dtype.kind in "iu":
            samples = samples.astype("float32") / float(np.iinfo(samples.dtype).max)
        elif samples.dtype.kind != "f":
            raise AudioError(f"A waveform must hold numbers. Received: dtype {samples.dtype}")
        rate = int(sample_rate)
    if np.size(samples) == 0:
        raise AudioError(f"{what} is empty: it has no samples. Received: shape "
                         f"{np.shape(samples)}")
    mono = to_mono(samples)
    if not np.all(np.isfinite(mono)):
        raise AudioError(f"{what} has NaN or infinite samples. Received: "
                         f"{int(np.sum(~np.isfinite(mono)))} non-finite samples")
    return np.asarray(resample(mono, rate, target_rate), dtype="float32"), what


def to_int16(wave):
    """16-bit PCM samples of a float waveform in [-1, 1] (clipped): half the memory."""
    return np.clip(np.round(np.asarray(wave) * 32767.0), -32768, 32767).astype("int16")


def from_int16(wave):
    """The float32 waveform of 16-bit samples, scaled as `speech_dataset` scales them."""
    return np.asarray(wave, "float32") * (1 / 32768.0)


# ## Augmentation (training only), as tf.data stages


def speed_perturb(waveform, factor):
    """Plays the waveform `factor` times faster (tempo and pitch together, as Kaldi does)."""
    tf = _tf()
    n = tf.shape(waveform)[0]
    m = tf.maximum(tf.cast(tf.cast(n, tf.float32) / factor, tf.int32), 1)
    # Resampling from n to m samples and playing at the old rate scales time by m / n.
    return _spectral_resize(waveform, m) * tf.cast(m, tf.float32) / tf.cast(n, tf.float32)


def add_noise(waveform, snr_db, colour, seed):
    """Adds white (colour 0), pink (1) or brown (2) noise at `snr_db` dB below the speech.

    Coloured noise is white noise shaped in the frequency domain by f^(-colour/2).
    """
    tf = _tf()
    n = tf.shape(waveform)[0]
    white = tf.random.stateless_normal([n], seed)
    spectrum = tf.signal.rfft(white)
    freqs = tf.range(1, tf.shape(spectrum)[0] + 1, dtype=tf.float32)
    shaped = spectrum * tf.cast(tf.pow(freqs, -colour / 2.0), spectrum.dtype)
    noise = tf.signal.irfft(shaped, fft_length=[n])
    signal_power = tf.reduce_mean(tf.square(waveform)) + 1e-10
    noise_power = tf.reduce_mean(tf.square(noise)) + 1e-10
    scale = tf.sqrt(signal_power / noise_power / tf.pow(10.0, snr_db / 10.0))
    return waveform + scale * noise


def telephone_channel(waveform, low_hz, high_hz, sample_rate, mu=255.0):
    """The waveform as a telephone line passes it: band-limited, then G.711 mu-law coded.

    The band-pass zeroes the real FFT's bins outside `[low_hz, high_hz]` (a telephone passes
    about 300-3400 Hz); the codec compands each sample with mu-law, keeps 8 bits and expands
    it again, adding the codec's level-dependent quantisation noise. (`audioop`, which does
    mu-law in C, left Python in 3.13; this stays in the graph.)
    """
    tf = _tf()
    n = tf.shape(waveform)[0]
    spectrum = tf.signal.rfft(waveform)
    hz = tf.range(tf.shape(spectrum)[0], dtype=tf.float32) * (sample_rate / tf.cast(n, tf.float32))
    band = tf.cast((hz >= low_hz) & (hz <= high_hz), spectrum.dtype)
    x = tf.clip_by_value(tf.signal.irfft(spectrum * band, fft_length=[n]), -1.0, 1.0)
    log_mu = tf.math.log1p(mu)
    coded = tf.round(tf.sign(x) * tf.math.log1p(mu * tf.abs(x)) / log_mu * 127.0) / 127.0
    return tf.sign(coded) * (tf.pow(1.0 + mu, tf.abs(coded)) - 1.0) / mu


def spec_augment(features, seed, freq_masks=2, freq_width=8, time_masks=2, time_fraction=0.05,
                 max_time_width=20):
    """SpecAugment (Park et al., 2019) frequency and time masks, set to 0 (the mean).

    Args:
        features: `(frames, bins)` normalised features.
        seed: a stateless seed `[a, b]`.
        freq_masks, freq_width: number of frequency masks and their largest width in bins.
        time_masks: number of time masks; each at most `time_fraction` of the frames and
            `max_time_width` frames wide.
    """
    tf = _tf()
    frames = tf.shape(features)[0]
    bins = tf.shape(features)[1]
    keep = tf.ones_like(features)
    seeds = tf.random.experimental.stateless_split(seed, freq_masks + time_masks)
    for i in range(freq_masks):
        width = tf.random.stateless_uniform([], seeds[i], 0, freq_width + 1, tf.int32)
        start = tf.random.stateless_uniform([], seeds[i] + 1, 0, tf.maximum(bins - width, 1),
                                            tf.int32)
        band = tf.logical_and(tf.range(bins) >= start, tf.range(bins) < start + width)
        keep = keep * (1.0 - tf.cast(band, features.dtype))[None, :]
    max_width = tf.minimum(max_time_width,
                           tf.cast(tf.cast(frames, tf.float32) * time_fraction, tf.int32))
    for i in range(time_masks):
        s = seeds[freq_masks + i]
        width = tf.random.stateless_uniform([], s, 0, max_width + 1, tf.int32)
        start = tf.random.stateless_uniform([], s + 1, 0, tf.maximum(frames - width, 1),
                                            tf.int32)
        span = tf.logical_and(tf.range(frames) >= start, tf.range(frames) < start + width)
        keep = keep * (1.0 - tf.cast(span, features.dtype))[:, None]
    return features * keep


def frequency_warp(log_mel, factor, front_end):
    """Log-mel frames of the same sound with its spectrum stretched by `factor` along frequency.

    Band `j`, centred at `f_j` Hz, takes the (linearly interpolated) value the input has at
    `f_j / factor`: `factor > 1` moves formants up (a shorter vocal tract), `< 1` down. Bands
    whose source lies outside the filterbank repeat the edge band.

    Args:
        log_mel: `(frames, num_mel_bins)` log-mel energies from `front_end.log_mel`.
        factor: a scalar warp factor (1: unchanged).
        front_end: the `AudioFeatures` that made them (its mel scale and band edges).
    """
    tf = _tf()
    # The mel scale of tf.signal.linear_to_mel_weight_matrix: band edges are evenly spaced in
    # mel(f) = 1127 ln(1 + f / 700) between the filterbank's edges; band j is centred on edge j+1.
    lo = 1127.0 * np.log1p(front_end.lower_edge_hertz / 700.0)
    hi = 1127.0 * np.log1p(front_end.upper_edge_hertz / 700.0)
    step = (hi - lo) / (front_end.num_mel_bins + 1)
    centres_mel = lo + step * np.arange(1, front_end.num_mel_bins + 1)
    centres_hz = tf.constant(700.0 * np.expm1(centres_mel / 1127.0), tf.float32)
    source_mel = 1127.0 * tf.math.log1p(centres_hz / tf.cast(factor, tf.float32) / 700.0)
    position = tf.clip_by_value((source_mel - lo) / step - 1.0, 0.0,
                                front_end.num_mel_bins - 1.0)
    below = tf.cast(tf.floor(position), tf.int32)
    above = tf.minimum(below + 1, front_end.num_mel_bins - 1)
    weight = position - tf.cast(below, tf.float32)
    return (tf.gather(log_mel, below, axis=1) * (1.0 - weight)
            + tf.gather(log_mel, above, axis=1) * weight)


@dataclasses.dataclass
class Augmentation:
    """Random training-time distortions, applied per example in the tf.data pipeline.

    Args:
        speed: `(low, high)` range of the speed-perturbation factor (1.0 = none).
        noise_probability: chance of adding noise to an example.
        snr_db: `(low, high)` signal-to-noise ratio of that noise.
        lead_silence: largest silence (in seconds, with a little noise) added before and
            after the speech.
        spec_augment: whether to apply SpecAugment masks to the features.
        freq_masks, freq_width, time_masks, time_fraction: SpecAugment's settings.
        freq_warp: largest vocal-tract-length warp (VTLP, Jaitly & Hinton 2013): each clip's
            spectrum is stretched along frequency by a factor drawn from
            `[1 - freq_warp, 1 + freq_warp]`, as if a speaker with a shorter or longer vocal
            tract had spoken it (0: none). Unlike speed perturbation it leaves tempo alone.
        telephone: chance that a clip passes a simulated telephone line after the noise
            (`telephone_channel`: a band-pass with its edges drawn from `low_hz` and
            `high_hz`, then 8-bit mu-law coding; 0: never).
        low_hz, high_hz: the ranges the band-pass's edges are drawn from.
    """

    speed: tuple = (0.9, 1.1)
    noise_probability: float = 0.8
    snr_db: tuple = (8.0, 40.0)
    lead_silence: float = 0.3
    spec_augment: bool = True
    freq_masks: int = 2
    freq_width: int = 7
    time_masks: int = 2
    time_fraction: float = 0.05
    freq_warp: float = 0.0
    telephone: float = 0.0
    low_hz: tuple = (200.0, 400.0)
    high_hz: tuple = (3000.0, 3600.0)

    def waveform(self, waveform, seed, sample_rate):
        tf = _tf()
        seeds = tf.random.experimental.stateless_split(seed, 6)
        factor = tf.random.stateless_uniform([], seeds[0], self.speed[0], self.speed[1])
        waveform = speed_perturb(waveform, factor)
        pads = tf.random.stateless_uniform([2], seeds[1], 0, int(self.lead_silence * sample_rate)
                                           + 1, tf.int32)
        waveform = tf.pad(waveform, [[pads[0], pads[1]]])
        snr = tf.random.stateless_uniform([], seeds[2], self.snr_db[0], self.snr_db[1])
        colour = tf.cast(tf.random.stateless_uniform([], seeds[3], 0, 3, tf.int32), tf.float32)
        use = tf.random.stateless_uniform([], seeds[5]) < self.noise_probability
        # Without added noise the padding still gets a faint white floor (60 dB below the
        # speech), as any recording has: one noise pass either way.
        snr = tf.where(use, snr, 60.0)
        colour = tf.where(use, colour, 0.0)
        noisy = add_noise(waveform, snr, colour, seeds[4])
        if not self.telephone:
            return noisy
        # Its own seeds (folded in), so the draws above stay what they were without it.
        line = tf.random.experimental.stateless_split(
            tf.random.experimental.stateless_fold_in(seed, 2), 3)
        low = tf.random.stateless_uniform([], line[0], *self.low_hz)
        high = tf.random.stateless_uniform([], line[1], *self.high_hz)
        use_line = tf.random.stateless_uniform([], line[2]) < self.telephone
        return tf.cond(use_line, lambda: telephone_channel(noisy, low, high, sample_rate),
                       lambda: noisy)

    def log_mel(self, log_mel, seed, front_end):
        """The un-normalised log-mel frames, frequency-warped if `freq_warp` is set."""
        if not self.freq_warp:
            return log_mel
        tf = _tf()
        seed = tf.random.experimental.stateless_fold_in(seed, 1)
        factor = tf.random.stateless_uniform([], seed, 1.0 - self.freq_warp,
                                             1.0 + self.freq_warp)
        return frequency_warp(log_mel, factor, front_end)

    def features(self, features, seed):
        if not self.spec_augment:
            return features
        return spec_augment(features, seed, self.freq_masks, self.freq_width, self.time_masks,
                            self.time_fraction)


def speech_dataset(waveforms, labels, features, batch_size, augmentation=None, shuffle=False,
                   seed=0):
    """A tf.data pipeline of `(features, labels)` batches for CTC training.

    Args:
        waveforms: list of 1-D float32 (or int16) arrays at `features.sample_rate`.
        labels: list of label-id lists (no 0: the blank).
        features: the `AudioFeatures` front end.
        batch_size: examples per batch; a batch holds clips of similar length (so padding is
            short; the same clips are batched together every epoch, in a new order), features
            are padded with 0 (the normalised mean) and labels with 0.
        augmentation: an `Augmentation` for training, None for evaluation.
        shuffle: shuffle the examples every epoch.
        seed: makes shuffling and augmentation deterministic; every epoch still draws new
            shuffles and new distortions (`Dataset.random(rerandomize_each_iteration=True)`).
    """
    tf = _tf()
    n = len(waveforms)
    if n == 0:
        raise InputError("No examples to build a speech dataset from. Received: 0 waveforms")
    integer = np.asarray(waveforms[0]).dtype.kind == "i"
    # Batches of similar length (little padding), all of exactly `batch_size` (the last one is
    # filled up with the shortest clips), so the number of steps per epoch is known.
    order = list(np.argsort([len(w) for w in waveforms], kind="stable"))
    batch_size = min(batch_size, n)
    order += order[:(-n) % batch_size]
    num_batches = len(order) // batch_size
    wave_rt = tf.RaggedTensor.from_row_lengths(
        np.concatenate([np.asarray(waveforms[i]) for i in order]),
        [len(waveforms[i]) for i in order])
    label_rt = tf.RaggedTensor.from_row_lengths(
        np.concatenate([np.asarray(labels[i], "int32") for i in order]).astype("int32"),
        [len(labels[i]) for i in order])
    ds = tf.data.Dataset.from_tensor_slices((wave_rt, label_rt)).batch(batch_size)
    if shuffle:
        ds = ds.shuffle(num_batches, seed=seed, reshuffle_each_iteration=True)
    ds = ds.unbatch()
    if augmentation is not None:
        draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
        ds = tf.data.Dataset.zip((ds, draws)).map(lambda x, r: (*x, r))
    else:
        ds = ds.map(lambda w, x: (w, x, tf.constant(0, tf.int64)))

    def prepare(wave, label, draw):
        wave = tf.cast(wave, tf.float32)
        if integer:
            wave = wave * (1 / 32768.0)  # as from_int16
        if augmentation is not None:
            s = tf.stack([tf.constant(seed, tf.int64), draw])
            s1, s2 = tf.unstack(tf.random.experimental.stateless_split(s, 2))
            wave = augmentation.waveform(wave, s1, features.sample_rate)
            log_mel = augmentation.log_mel(features.log_mel(wave), s2, features)
            feats = augmentation.features(features.normalize(log_mel), s2)
        else:
            feats = features.frames(wave)
        return feats, label

    ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.padded_batch(batch_size, padded_shapes=([None, features.num_mel_bins], [None]),
                         padding_values=(0.0, 0))
    ds = ds.apply(tf.data.experimental.assert_cardinality(num_batches))
    return ds.prefetch(tf.data.AUTOTUNE)
