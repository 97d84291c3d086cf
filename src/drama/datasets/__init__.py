"""Data sets for DRAMA: loaders, the public benchmark catalogue, synthetic benchmarks.

- :func:`load` reads ODDS ``.mat``, ADBench ``.npz``, ``.npy``, CSV, Parquet and FITS
  files, by path or by name (built-in tasks first, then the data folders:
  ``data_dir``, ``$DRAMA_DATA``, the user cache);
- :func:`download` fetches the 25 benchmark files of the paper's table, checked by sha256;
- :func:`make_signals`, :func:`make_local_anomaly`, :func:`make_new_class_anomaly`
  build the paper's synthetic signal benchmarks;
- :func:`load_breast_cancer_task`, :func:`load_digits_task` are real tasks that need no
  download (built-in names ``"breast_cancer"`` and ``"digits_new_class"``).
"""

from .builtin_tasks import BUILTINS, load_breast_cancer_task, load_digits_task
from .download import CATALOGUE, RemoteFile, download
from .folders import cache_dir, data_dirs, odds_dir
from .loading import DatasetInfo, available, find, load, load_catalogue, load_table
from .synthetic import make_local_anomaly, make_new_class_anomaly, make_signals

__all__ = [
    "BUILTINS",
    "CATALOGUE",
    "DatasetInfo",
    "RemoteFile",
    "available",
    "cache_dir",
    "data_dirs",
    "download",
    "find",
    "load",
    "load_breast_cancer_task",
    "load_catalogue",
    "load_digits_task",
    "load_table",
    "make_local_anomaly",
    "make_new_class_anomaly",
    "make_signals",
    "odds_dir",
]
