"""The Python callables of the ``distillery`` Airflow DAG (see distillery_dag.py).

A plain module with no Airflow import, so it can be unit-tested and called by the contract test
(contract/render_dag.py --call TASK_ID) without Airflow. pyarrow is imported inside the functions, so parsing the DAG
file stays cheap for the scheduler; the Airflow workers that run these callables need pyarrow (and, for hdfs:// paths,
libhdfs with the usual HADOOP_HOME / CLASSPATH / JAVA_HOME set up).

Paths may be URIs (``file:///x``, ``hdfs:///x``, ``hdfs://namenode:8020/x``, ...) or absolute local paths.
"""

from __future__ import annotations

import json
import os
import posixpath
from urllib.parse import urlsplit

SUCCESS = "_SUCCESS"
"""The marker every distillery job writes last in a published directory; it holds the job's one-line JSON summary."""


def _filesystem(uri: str):
    """(pyarrow FileSystem, path inside it) for a URI or a local path."""
    from pyarrow import fs

    if "://" not in uri and not uri.startswith("file:"):
        uri = os.path.abspath(uri)
    return fs.FileSystem.from_uri(uri)


def _child(uri: str, name: str) -> str:
    return uri.rstrip("/") + "/" + name


def is_published(path: str) -> bool:
    """True when ``<path>/_SUCCESS`` exists as a file: the directory was published completely.

    The python_callable of a PythonSensor: False means "not yet" (poke again later); an error reaching the file
    system raises, so the sensor attempt fails and Airflow's retries apply.
    """
    from pyarrow import fs

    filesystem, marker = _filesystem(_child(path, SUCCESS))
    return filesystem.get_file_info(marker).type == fs.FileType.File


def read_summary(out: str, job: str) -> dict:
    """The JSON summary that the ``job`` run wrote into ``<out>/_SUCCESS``, checked to belong to ``out``.

    Returned as a dict, which Airflow pushes as the task's XCom ``return_value``. Raises ValueError when the marker is
    empty (a Hadoop committer's marker, not a distillery one), is not a JSON object, names another job, or names
    another directory (left over from a different layout); FileNotFoundError when there is no marker.
    """
    filesystem, marker = _filesystem(_child(out, SUCCESS))
    with filesystem.open_input_stream(marker) as stream:
        text = stream.read().decode("utf-8").strip()
    where = _child(out, SUCCESS)
    if not text:
        raise ValueError(f"{where} is empty: not written by a distillery job")
    try:
        summary = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{where} does not hold a JSON summary ({e}): {text[:200]!r}") from e
    if not isinstance(summary, dict):
        raise ValueError(f"{where} holds {type(summary).__name__}, not a JSON object: {text[:200]!r}")
    if summary.get("job") != job:
        raise ValueError(f"{where} was written by job {summary.get('job')!r}, expected {job!r}")
    if not isinstance(summary.get("path"), str) or not same_location(summary["path"], out):
        raise ValueError(f"{where} names path {summary.get('path')!r}, not {out!r}")
    return summary


def same_location(published: str, out: str) -> bool:
    """Whether the ``path`` a job reports (Hadoop-qualified, e.g. ``file:/x/y`` or ``hdfs://nn:8020/x/y``) is ``out``.

    The path components must be equal (or, when ``out`` is relative, ``published`` must end with it at a ``/``);
    schemes must be equal when both are given, and hosts when both are given (``hdfs:///x`` means the default name
    node, so it matches ``hdfs://nn:8020/x``).
    """
    p, o = urlsplit(published), urlsplit(out)
    if p.scheme and o.scheme and p.scheme != o.scheme:
        return False
    if p.netloc and o.netloc and p.netloc != o.netloc:
        return False
    p_path, o_path = _normal(p.path), _normal(o.path)
    if o_path.startswith("/"):
        return p_path == o_path
    return p_path == o_path or p_path.endswith("/" + o_path)


def _normal(path: str) -> str:
    if not path:
        return path
    normal = posixpath.normpath(path)
    return "/" + normal.lstrip("/") if path.startswith("/") else normal


def ingest_requested(params) -> bool:
    """The ShortCircuitOperator's callable: run the ingest task only when the ``ingest_source`` param names a source."""
    source = params.get("ingest_source") or ""
    if not isinstance(source, str):
        raise ValueError(f"param ingest_source must be a string, got {source!r}")
    return bool(source.strip())


def continue_to_training(params) -> bool:
    """The ShortCircuitOperator's callable: train and evaluate unless the run only relabels (``relabel_only``)."""
    return not _as_bool(params["relabel_only"], "relabel_only")


def _as_bool(value, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"param {name} must be a boolean, got {value!r}")


def all_published(paths: list[str]) -> bool:
    """The PythonSensor callable for several outputs (e.g. a corpus's splits): each ``<path>/_SUCCESS`` exists."""
    return all(is_published(p) for p in paths)


def teacher_requested(params) -> bool:
    """The ShortCircuitOperator's callable: train the day's teacher LM only when ``train_teacher`` is true."""
    return _as_bool(params["train_teacher"], "train_teacher")


def augment_requested(params) -> bool:
    """The ShortCircuitOperator's callable: widen the day's transfer set before labelling only when ``augment`` is
    true."""
    return _as_bool(params["augment"], "augment")


def mutual_requested(params) -> bool:
    """The ShortCircuitOperator's callable: train the mutual peers beside the student only when ``mutual`` is true."""
    return _as_bool(params["mutual"], "mutual")
