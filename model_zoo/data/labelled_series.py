"""Collections of labelled series for classification: reading, checking, scaling, padding.

A collection is a list of series, each a `(time, channels)` float array (lengths may differ),
with one label per series. It comes from:

* a `.ts` file of the UEA/UCR archive format (read with aeon's `load_from_ts_file`);
* a CSV file in long format: one row per time step, a series-id column, an optional time
  column (rows are sorted by it), a label column and one column per channel;
* Python objects: a list of series (lists or arrays) or a `(n, time, channels)` array.

The recipe, `classify` and `finetune` all go through these functions, so a user's file is
prepared exactly as the training data was: a per-channel scaler fitted on the training series,
then right padding with `PAD_VALUE` (which the model masks; right padding keeps the recurrent
layers on the cuDNN path on TensorFlow).

Example:
>>> collection = read_ts_file("JapaneseVowels_TRAIN.ts")  # doctest: +SKIP
>>> collection.series[0].shape, collection.labels[0]  # doctest: +SKIP
((20, 12), '1')
"""

import dataclasses
import os

import numpy as np

from model_zoo.data.arrays import array_dataset
from model_zoo.data.cache import package_dir
from model_zoo.data.timeseries import check_series, read_csv_frame
from model_zoo.errors import InputError
from model_zoo.optional import import_optional

# Padded time steps hold this value in every channel; the model's `Masking` layer skips them.
# Scaled inputs are clipped to +-CLIP, so a real time step can never equal it.
PAD_VALUE = -1000.0
CLIP = 100.0


@dataclasses.dataclass
class SeriesCollection:
    """Series of shape `(time, channels)` with optional labels.

    Args:
        series: list of float arrays `(time, channels)`; all have the same channel count.
        labels: array of label strings, one per series, or None.
        ids: identifiers of the series (row order of the file, or the CSV's series ids).
        source: where the collection was read from.
    """

    series: list
    labels: np.ndarray | None = None
    ids: list | None = None
    source: str = ""

    def __post_init__(self):
        if self.ids is None:
            self.ids = list(range(len(self.series)))

    def __len__(self):
        return len(self.series)

    @property
    def channels(self):
        return int(self.series[0].shape[1])

    @property
    def lengths(self):
        return np.array([s.shape[0] for s in self.series])

    def subset(self, index):
        index = list(index)
        return SeriesCollection([self.series[i] for i in index],
                                None if self.labels is None else self.labels[index],
                                [self.ids[i] for i in index], self.source)


def _check_one(values, where, channels=None):
    """One series as a finite `(time, channels)` float array (1-D input is one channel)."""
    try:
        array = np.asarray(values, dtype="float64")
    except (TypeError, ValueError) as e:
        raise InputError(f"{where} must hold numbers: {e}. Received: {type(values).__name__}") \
            from None
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise InputError(
            f"{where} must be 1-D (univariate) or 2-D `(time, channels)`. "
            f"Received: an array of shape {array.shape}"
        )
    if channels is not None and array.shape[1] != channels:
        hint = (" It looks channels-first: pass its transpose, `(time, channels)`."
                if array.shape[0] == channels else "")
        raise InputError(
            f"{where} must have {channels} channel(s) (shape `(time, {channels})`).{hint} "
            f"Received: shape {array.shape}"
        )
    if array.shape[0] == 0:
        raise InputError(f"{where} is empty. Received: shape {array.shape}")
    for c in range(array.shape[1]):
        check_series(array[:, c], where=f"{where} (channel {c})")
    return array


def as_collection(data, channels=None, labels=None):
    """Turns the user's series into a `SeriesCollection`, checking every value.

    Args:
        data: a `SeriesCollection`; a `(n, time, channels)` array; or a list of series, each
            a list or array of shape `(time,)` or `(time, channels)`.
        channels: the channel count the model expects (checked; None: any, but equal).
        labels: one label per series (optional).

    Raises:
        InputError: a series is empty, not numeric, has gaps or infinities, or has the wrong
            number of channels; the message names the series.
    """
    if isinstance(data, SeriesCollection):
        collection = data
        items = collection.series
    else:
        if isinstance(data, np.ndarray) and data.ndim == 3:
            items = list(data)
        elif isinstance(data, (list, tuple)):
            items = list(data)
        else:
            raise InputError(
                "Series to classify are a list of series (each `(time,)` or `(time, channels)`) "
                f"or a `(n, time, channels)` array. Received: {type(data).__name__}"
                + (f" of shape {np.shape(data)}" if hasattr(data, "shape") else "")
            )
        collection = SeriesCollection(items, None if labels is None else labels)
    if not items:
        raise InputError("There are no series. Received: an empty collection")
    checked = [_check_one(s, f"Series {collection.ids[i]!r}", channels)
               for i, s in enumerate(items)]
    found = {s.shape[1] for s in checked}
    if len(found) > 1:
        raise InputError(
            f"Every series must have the same number of channels. Received: {sorted(found)}"
        )
    labels = collection.labels if labels is None else labels
    if labels is not None:
        labels = np.asarray([str(v) for v in labels])
        if len(labels) != len(checked):
            raise InputError(
                f"There must be one label per series. Received: {len(labels)} labels for "
                f"{len(checked)} series"
            )
    return SeriesCollection(checked, labels, collection.ids, collection.source)


# -- files ----------------------------------------------------------------------------------------


def read_ts_file(path):
    """Reads a `.ts` file (UEA/UCR archive format) into a `SeriesCollection`.

    Class labels are read if the file has them (`@classLabel true ...`), else `labels` is None.
    """
    if not os.path.isfile(path):
        raise InputError(f"No such .ts file. Received: {path!r}")
    import_optional("aeon", "train", "Reading a .ts file (UEA/UCR archive format)")
    from aeon.datasets import load_from_ts_file

    try:
        x, y = load_from_ts_file(path)
    except Exception as e:  # aeon raises IOError, ValueError, IndexError ... on bad files.
        raise InputError(f"Could not read {path} as a .ts file: {e}. Received: {path!r}") \
            from None
    series = [np.asarray(s, dtype="float64").T for s in x]  # aeon: (channels, time).
    labels = np.asarray([str(v) for v in y]) if y is not None and len(y) else None
    return as_collection(SeriesCollection(series, labels, source=os.path.abspath(path)))


def read_long_csv(path, id_column="series_id", label_column="label", time_column=None,
                  value_columns=None):
    """Reads labelled series from a CSV file in long format (one row per time step).

    Args:
        path: the CSV file, with a header row.
        id_column: the column naming the series each row belongs to.
        label_column: the column holding each series' label (None or absent: unlabelled).
            It must be constant within a series.
        time_column: a column to sort each series' rows by (default: file order).
        value_columns: the channel columns, in order (default: every other column).

    Example (two series, two channels)::

        series_id,time,label,x,y
        a,0,walk,0.1,0.5
        a,1,walk,0.2,0.4
        b,0,run,0.9,0.1
    """
    import pandas as pd

    frame = read_csv_frame(path)
    if id_column not in frame.columns:
        raise InputError(
            f"The long-format CSV {path} needs a series-id column {id_column!r}; its columns "
            f"are {list(frame.columns)}. Received: id_column={id_column!r}"
        )
    has_labels = label_column is not None and label_column in frame.columns
    if time_column is not None and time_column not in frame.columns:
        raise InputError(
            f"Column {time_column!r} is not in {path}; its columns are {list(frame.columns)}. "
            f"Received: time_column={time_column!r}"
        )
    reserved = {id_column, time_column, label_column if has_labels else None}
    if value_columns is None:
        value_columns = [c for c in frame.columns if c not in reserved]
    missing = [c for c in value_columns if c not in frame.columns]
    if missing or not value_columns:
        raise InputError(
            f"The value columns must be columns of {path} ({list(frame.columns)}). "
            f"Received: value_columns={list(value_columns)}"
        )
    for column in value_columns:
        numbers = pd.to_numeric(frame[column], errors="coerce")
        bad = np.flatnonzero((numbers.isna() & frame[column].notna()).to_numpy())
        if bad.size:
            raise InputError(
                f"Column {column!r} of {path} must hold numbers, but line {int(bad[0]) + 2} "
                f"does not. Received: {frame[column].iloc[bad[0]]!r}"
            )
    series, labels, ids = [], [], []
    for key, rows in frame.groupby(id_column, sort=False):
        if time_column is not None:
            rows = rows.sort_values(time_column, kind="stable")
        if has_labels:
            values = rows[label_column].astype(str).unique()
            if len(values) != 1:
                raise InputError(
                    f"Series {key!r} of {path} has more than one label: {sorted(values)}. "
                    f"Received: {len(values)} labels"
                )
            labels.append(values[0])
        series.append(rows[list(value_columns)].to_numpy(dtype="float64"))
        ids.append(key.item() if hasattr(key, "item") else key)
    labels = np.asarray(labels) if has_labels else None
    return as_collection(SeriesCollection(series, labels, ids, os.path.abspath(path)))


def read_collection(path, **csv_options):
    """Reads a `.ts` file or a long-format CSV file, by extension."""
    path = os.fspath(path)
    if path.lower().endswith(".ts"):
        return read_ts_file(path)
    if path.lower().endswith(".csv"):
        return read_long_csv(path, **csv_options)
    raise InputError(
        f"Labelled series are read from a .ts file or a long-format .csv file. Received: {path!r}"
    )


# -- scaling and padding ----------------------------------------------------------------------------


class ChannelScaler:
    """Per-channel standardisation, fitted on every time step of the training series.

    (`model_zoo.data.timeseries.StandardScaler` is the one-channel, log-capable scaler of the
    forecasters; classification needs one mean and std per channel.)

    Args:
        mean, std: lists with one value per channel.
    """

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, dtype="float64")
        self.std = np.asarray(std, dtype="float64")

    @classmethod
    def fit(cls, collection):
        values = np.concatenate(collection.series, axis=0)
        std = values.std(axis=0)
        return cls(values.mean(axis=0), np.where(std > 0, std, 1.0))

    def scale(self, series):
        return np.clip((series - self.mean) / self.std, -CLIP, CLIP)

    def to_dict(self):
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, d):
        return cls(d["mean"], d["std"])


def pad_batch(series, scaler, length=None, pad_value=PAD_VALUE):
    """Scales each series and right-pads them with `pad_value` into `(n, length, channels)`."""
    length = length or max(s.shape[0] for s in series)
    out = np.full((len(series), length, series[0].shape[1]), pad_value, dtype="float32")
    for i, s in enumerate(series):
        out[i, :s.shape[0]] = scaler.scale(s[:length])
    return out


def encode_labels(labels, classes):
    """Label strings to class indices; an unknown label is an error naming it."""
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted({str(v) for v in labels} - set(index))
    if unknown:
        raise InputError(
            f"Labels {unknown[:10]} are not among this model's classes {list(classes)}. "
            f"Received: {unknown[:10]}"
        )
    return np.asarray([index[str(v)] for v in labels], dtype="int32")


def classification_dataset(x, y, batch_size, shuffle=False, seed=0):
    """A tf.data pipeline of padded `(x, y)` batches."""
    return array_dataset(x, y, batch_size, shuffle=shuffle, seed=seed)


def stratified_split(labels, fraction, seed=0):
    """Indices `(train, validation)`: `fraction` of each class held out (None: too few)."""
    import_optional("sklearn", "train", "A stratified validation split")
    from sklearn.model_selection import train_test_split

    index = np.arange(len(labels))
    if not fraction:
        return index, None
    _, counts = np.unique(labels, return_counts=True)
    n_val = int(round(fraction * len(labels)))
    if counts.min() < 2 or n_val < len(counts):
        return index, None
    train, val = train_test_split(index, test_size=n_val, stratify=labels, random_state=seed)
    return np.sort(train), np.sort(val)


# -- the UEA/UCR sets shipped with sktime -------------------------------------------------------------

ARCHIVE = {
    "japanese_vowels": ("JapaneseVowels", "UEA multivariate archive: 9 speakers' vowel /ae/, "
                        "12 LPC cepstrum channels, 7-29 frames; Kudo, Toyama & Shimbo (1999)"),
    "italy_power_demand": ("ItalyPowerDemand", "UCR univariate archive: 24 hourly Italian "
                           "electricity demand values per day, winter vs summer; Keogh et al."),
    "basic_motions": ("BasicMotions", "UEA multivariate archive: 6-channel smartwatch "
                      "accelerometer/gyroscope, 4 activities"),
    "gun_point": ("GunPoint", "UCR univariate archive: hand-centroid x coordinate, gun vs point"),
}


def load_archive_split(name):
    """The published train and test splits of a UEA/UCR set shipped in sktime's data folder.

    Returns:
        `(train, test, info)`: two `SeriesCollection`s and a dict with the set's provenance.
    """
    if name not in ARCHIVE:
        raise InputError(f"Unknown archive set; available: {sorted(ARCHIVE)}. Received: {name!r}")
    folder_name, about = ARCHIVE[name]
    import sktime

    folder = os.path.join(package_dir("sktime"), "datasets", "data", folder_name)
    train = read_ts_file(os.path.join(folder, f"{folder_name}_TRAIN.ts"))
    test = read_ts_file(os.path.join(folder, f"{folder_name}_TEST.ts"))
    info = {"name": folder_name,
            "source": f"sktime {sktime.__version__} datasets/data/{folder_name}/"
                      f"{folder_name}_{{TRAIN,TEST}}.ts; {about}",
            "license": "UEA & UCR Time Series Classification Archive, free for research use "
                       "(cite the archive and the original authors)"}
    return train, test, info
