"""Classification beyond one machine: :func:`classify_frame` over a Dask DataFrame.

Needs the optional ``dask`` extra (``pip install 'cordtrial[dask]'``); nothing else in
cordtrial imports Dask. Three pieces:

* :func:`classify_dask` -- ``map_partitions`` of :func:`~cordtrial.isncsci.batch.classify_frame`
  with an explicit output schema: the columns :data:`~cordtrial.isncsci.batch.BATCH_FIELDS`, every
  one of dtype :data:`RESULT_DTYPE` (Arrow-backed strings). ``classify_frame`` returns categorical
  result columns whose categories differ from chunk to chunk; Dask would have to treat them as
  "unknown categories" and Parquet would store a different dictionary per file, so each partition
  turns them into plain strings before it leaves the worker;
* :func:`classify_parquet` -- read a (partitioned) Parquet dataset, classify it, write a Parquet
  dataset of result records, all in one pass on the current Dask client;
* :func:`dask_engine` -- for a stream of chunks read on this machine (the CLI's streaming
  reader): each chunk is classified on the cluster, a few at a time, and comes back in order;
* :func:`client_for` -- a :class:`distributed.Client` for an existing cluster (by scheduler
  address) or for a new :class:`distributed.LocalCluster` on this machine.

Example::

    from cordtrial.isncsci.io.distributed import classify_parquet, client_for

    with client_for("tcp://scheduler:8786"):      # or client_for(None): a LocalCluster
        run = classify_parquet("registry/", "results/")
    print(run.exams, run.rejected)

Rows that are not valid exams are flagged (``error_field``, ``error``), never dropped, exactly as
by ``classify_frame``; row order and index within each partition are kept.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from cordtrial.isncsci.batch import BATCH_FIELDS, classify_frame
from cordtrial.isncsci.io.formats import Dialect, detect_dialect, praxis_to_canonical

try:
    import dask
    import dask.base
    import dask.dataframe as dd
    from distributed import Client, Future
except ImportError as _missing:  # pragma: no cover - the dev extra installs Dask
    raise ImportError(
        "cordtrial.isncsci.io.distributed needs the optional Dask extra: "
        "pip install 'cordtrial[dask]'"
    ) from _missing

__all__ = [
    "RESULT_DTYPE",
    "ClassifiedDataset",
    "classify_dask",
    "classify_parquet",
    "client_for",
    "dask_engine",
    "result_meta",
]

#: dtype of every column of :func:`classify_dask`'s result (Dask's own string dtype).
RESULT_DTYPE = pd.StringDtype("pyarrow")


def result_meta(index: pd.Index[Any] | None = None) -> pd.DataFrame:
    """The empty frame that declares :func:`classify_dask`'s output schema to Dask.

    Parameters
    ----------
    index:
        The input's (empty) index, whose dtype and name the result keeps; default a plain
        ``int64`` index.
    """
    if index is None:
        index = pd.Index([], dtype="int64")
    columns = {name: pd.Series([], dtype=RESULT_DTYPE, index=index[:0]) for name in BATCH_FIELDS}
    return pd.DataFrame(columns, index=index[:0], columns=list(BATCH_FIELDS))


def classify_partition(
    df: pd.DataFrame,
    first_ids: tuple[int, ...] | None = None,
    partition_info: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Classify one partition: :func:`classify_frame` with every column as :data:`RESULT_DTYPE`.

    ``first_ids`` (one per partition, with Dask's ``partition_info``) numbers the exams of a frame
    without an ``id`` column by their 1-based position in the whole frame, as
    ``classify_frame`` numbers them in one frame.
    """
    if first_ids is not None and "id" not in df.columns:
        number = partition_info["number"] if partition_info else 0
        first = first_ids[number]
        df = df.assign(id=np.arange(first, first + len(df)).astype(str))
    result = classify_frame(df, workers=1)  # one classification per Dask worker thread
    return pd.DataFrame(
        {name: _strings(result[name]) for name in BATCH_FIELDS},
        index=result.index,
        columns=list(BATCH_FIELDS),
    )


def _strings(column: pd.Series[Any]) -> pd.Series[Any]:
    """A column as :data:`RESULT_DTYPE`; a categorical one by rendering only its categories
    (several times faster than ``astype`` on a registry's few hundred distinct results)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        values = column.array
        categories = pd.array(np.asarray(values.categories, dtype=object), dtype=RESULT_DTYPE)
        codes = np.asarray(values.codes)
        return pd.Series(categories.take(codes, allow_fill=True), index=column.index)
    return column.astype(RESULT_DTYPE)


def classify_dask(ddf: dd.DataFrame) -> dd.DataFrame:
    """Classify every exam of a Dask DataFrame of canonical flat columns (lazily).

    The vectorized :func:`~cordtrial.isncsci.batch.classify_frame` runs on each partition; the
    result is a Dask DataFrame with the same partitions, index and divisions, and columns
    :data:`~cordtrial.isncsci.batch.BATCH_FIELDS`, every one a string column
    (:data:`RESULT_DTYPE`): values exactly as ``classify_frame``'s (``""`` where a result is
    absent), ``id`` as text.

    Parameters
    ----------
    ddf:
        One exam per row, canonical columns (DESIGN.md), values as text or integers; other
        columns are ignored. Without an ``id`` column, the ``id`` of an exam is its 1-based
        position in the whole frame: the partitions' lengths are then computed first (one
        extra pass over the data; give an ``id`` column to avoid it).

    Returns
    -------
    dask.dataframe.DataFrame
        Not computed: call ``.compute()``, ``.to_parquet(...)`` etc. on it.
    """
    frame: Any = ddf  # Dask's DataFrame methods carry no type annotations
    meta = result_meta(pd.Index([], dtype=frame.index.dtype, name=frame.index.name))
    if "id" in frame.columns:
        return cast(dd.DataFrame, frame.map_partitions(classify_partition, meta=meta))
    lengths = frame.map_partitions(len).compute().tolist()
    first_ids = tuple(int(x) for x in np.cumsum([1, *lengths[:-1]]))
    return cast(dd.DataFrame, frame.map_partitions(classify_partition, first_ids, meta=meta))


@dataclass(frozen=True)
class ClassifiedDataset:
    """What :func:`classify_parquet` wrote: where, how many exams, how many rejected."""

    destination: Path
    exams: int
    rejected: int
    partitions: int


def classify_parquet(
    source: str | Path,
    destination: str | Path,
    *,
    dialect: Dialect | None = None,
    overwrite: bool = False,
    split_row_groups: bool | int | str = True,
) -> ClassifiedDataset:
    """Classify a Parquet dataset of exams into a Parquet dataset of result records.

    Runs on the current Dask scheduler: inside ``with client_for(...):`` on that cluster, else
    Dask's default (threads on this machine). Reading, classifying, writing and counting happen
    in one pass over the data; each partition of the input (by default one Parquet row group)
    becomes one file ``part.N.parquet`` of the output. A worker holds a few partitions at a
    time: memory follows the size of the row groups, not of the dataset.

    Parameters
    ----------
    source:
        A Parquet file, a folder of Parquet files (a partitioned dataset), or a glob; any
        filesystem Dask reads (``s3://...`` with the matching package installed).
    destination:
        The folder to write, with columns :data:`~cordtrial.isncsci.batch.BATCH_FIELDS` (strings;
        rejected rows have empty results and the reason in ``error``).
    dialect:
        ``"canonical"`` or ``"praxis"`` column names; detected from the columns when ``None``.
    overwrite:
        Replace ``destination`` if it exists (Dask's ``overwrite``); otherwise files are added.
    split_row_groups:
        How Dask partitions the input (its ``read_parquet`` option): ``True``, one partition per
        row group; ``n``, ``n`` row groups per partition; ``"infer"``, Dask's choice by the
        metadata's uncompressed size -- which counts dictionary-encoded text, far smaller than
        in memory, and can put a whole file of exams into one partition.

    Raises
    ------
    ValueError
        The source holds no exam columns of either dialect (or of both).
    """
    ddf: Any = dd.read_parquet(source, split_row_groups=split_row_groups)
    columns = [str(c) for c in ddf.columns]
    if dialect is None:
        dialect = detect_dialect(columns)
    if dialect == "praxis":
        ddf = ddf.rename(columns={c: praxis_to_canonical(c) for c in columns})
    results: Any = classify_dask(ddf)
    written = results.to_parquet(destination, write_index=False, overwrite=overwrite, compute=False)
    error = results["error"]
    compute: Any = dask.base.compute
    _, exams, rejected = compute(written, error.size, (error != "").sum())
    return ClassifiedDataset(Path(destination), int(exams), int(rejected), results.npartitions)


#: A classifier of a stream of chunks: yields each chunk with its ``classify_frame`` result.
ChunkEngine = Callable[[Iterable[pd.DataFrame]], Iterator[tuple[pd.DataFrame, pd.DataFrame]]]


def dask_engine(client: Client, in_flight: int | None = None) -> ChunkEngine:
    """Classify a stream of chunks on a Dask cluster, in order, a few chunks at a time.

    For inputs read on this machine (a CSV file, the streaming CLI): each chunk of exams is sent
    to a worker, classified there with :func:`~cordtrial.isncsci.batch.classify_frame`, and
    yielded back with its result, in the order of the chunks. At most ``in_flight`` chunks are
    on the cluster at once (default: two per worker), so memory stays bounded whatever the
    length of the stream. The chunks travel over the network: for data the workers can read
    themselves, :func:`classify_parquet` moves less.

    Parameters
    ----------
    client:
        A connected client (:func:`client_for`).
    in_flight:
        Chunks submitted and not yet yielded, at most.

    Returns
    -------
    callable
        ``engine(chunks)`` -> iterator of ``(chunk, classify_frame(chunk))``.
    """

    def engine(chunks: Iterable[pd.DataFrame]) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
        limit = in_flight or 2 * max(1, len(client.scheduler_info()["workers"]))
        pending: deque[tuple[pd.DataFrame, Future[pd.DataFrame]]] = deque()
        try:
            for chunk in chunks:
                pending.append((chunk, client.submit(classify_frame, chunk, pure=False)))
                if len(pending) >= limit:
                    done, future = pending.popleft()
                    yield done, future.result()
            while pending:
                done, future = pending.popleft()
                yield done, future.result()
        finally:
            if pending:  # the caller stopped early, or a chunk failed
                cancel: Any = client.cancel  # untyped in distributed
                cancel([future for _, future in pending])

    return engine


def client_for(
    scheduler: str | None = None,
    *,
    n_workers: int | None = None,
    threads_per_worker: int = 1,
    processes: bool = True,
    **cluster_options: Any,
) -> Client:
    """A Dask client: connected to the scheduler at ``scheduler``, or to a new LocalCluster.

    Use it as a context manager; closing the client also shuts down a LocalCluster it started
    (an existing cluster is left running).

    Parameters
    ----------
    scheduler:
        Address of a running Dask scheduler (``tcp://host:8786``); ``None`` starts a
        :class:`distributed.LocalCluster` on this machine.
    n_workers, threads_per_worker, processes, cluster_options:
        For a LocalCluster only: worker processes (default one per core), threads in each
        (default 1: ``classify_frame`` is many short numpy calls and gains little from a second
        thread), and any other :class:`distributed.LocalCluster` option
        (``dashboard_address=None``, ``memory_limit=...``).
    """
    connect: Any = Client  # distributed's Client.__init__ carries no type annotations
    if scheduler:
        return cast(Client, connect(scheduler))
    # Dask's nannies start workers with MALLOC_TRIM_THRESHOLD_ set, which stops glibc adapting
    # its mmap threshold: every large numpy temporary is then mapped and faulted in afresh, and
    # classify_frame runs about 1.7x slower (docs/scaling.md). Let the workers keep glibc's way.
    with dask.config.set({_MALLOC_TRIM: None}):
        # a LocalCluster started by the Client itself is shut down when the client closes
        return cast(
            Client,
            connect(
                n_workers=n_workers,
                threads_per_worker=threads_per_worker,
                processes=processes,
                **cluster_options,
            ),
        )


_MALLOC_TRIM = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"
