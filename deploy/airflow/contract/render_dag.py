#!/usr/bin/env python3
"""Render a DAG file through the recording Airflow stand-ins in ./stubs, as Airflow would for one logical date.

    python3 render_dag.py --dag PATH --ds YYYY-MM-DD [--param key=value ...] [--call TASK_ID]

Without --call, prints one JSON object: the DAG (dag_id, schedule, catchup, max_active_runs, start_date, the run's
params, ds, run_id) and "tasks", in a topological order, each with task_id, kind (the operator's class name),
upstream and downstream (task ids), retries, retry_delay (seconds), and every other constructor argument the DAG
passed (DAG default_args included), with the operator's templated fields rendered (e.g. for a SparkSubmitOperator:
application, application_args, conf, name; java_class and conn_id as given, since Airflow does not template them).
Callables appear as "module.qualname", durations as seconds.

With --call TASK_ID, runs that task's python_callable with its rendered op_args/op_kwargs/templates_dict and the
context keys its signature asks for (a fake ``ti`` records xcom_push), and prints {"return_value": ...}; for a sensor
the value is the poke's boolean.

Templates are rendered with jinja2.StrictUndefined (as Airflow's default template_undefined): an unknown variable
fails. The context holds ds, ds_nodash, ts, ts_nodash, logical_date, run_id ("scheduled__<ds>T00:00:00+00:00"), params
(defaults overridden by --param; booleans "true"/"false", numbers parsed by the param's type; every value is checked
against its Param's JSON schema, as Airflow checks a triggered run's conf), dag and task.

Exit status: 0 ok; 1 when the DAG, a template or the called callable fails (message on stderr); 2 for bad usage or a
param that does not validate.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import inspect
import json
import os
import sys
import traceback

STUBS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stubs")


class UsageError(Exception):
    pass


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dag", required=True, help="the DAG file")
    parser.add_argument("--ds", required=True, help="logical date, YYYY-MM-DD")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="override a param")
    parser.add_argument("--call", metavar="TASK_ID", help="run this task's python_callable instead")
    a = parser.parse_args(argv)
    try:
        day = dt.date.fromisoformat(a.ds)
    except ValueError:
        parser.error(f"--ds must be YYYY-MM-DD, got {a.ds!r}")
    overrides = {}
    for item in a.param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--param must be KEY=VALUE, got {item!r}")
        overrides[key] = value

    try:
        dag = load_dag(a.dag)
        params = resolve_params(dag, overrides)
    except UsageError as e:
        print(f"render_dag: {e}", file=sys.stderr)
        return 2
    except Exception:  # the DAG file does not import: Airflow would show an import error
        print(f"render_dag: cannot load {a.dag}:\n{traceback.format_exc().rstrip()}", file=sys.stderr)
        return 1

    logical_date = dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)
    base_context = {
        "ds": day.isoformat(),
        "ds_nodash": day.strftime("%Y%m%d"),
        "ts": logical_date.isoformat(),
        "ts_nodash": logical_date.strftime("%Y%m%dT%H%M%S"),
        "logical_date": logical_date,
        "run_id": f"scheduled__{day.isoformat()}T00:00:00+00:00",
        "params": params,
        "dag": dag,
    }
    try:
        order = topological(dag)
        if a.call:
            if a.call not in dag.tasks:
                raise UsageError(f"no task {a.call!r} in DAG {dag.dag_id} (tasks: {', '.join(order)})")
            result = call(dag, dag.tasks[a.call], base_context)
            print(json.dumps({"return_value": result}))
        else:
            print(json.dumps(describe(dag, order, params, base_context), indent=2))
    except UsageError as e:
        print(f"render_dag: {e}", file=sys.stderr)
        return 2
    except Exception:
        print(f"render_dag: {traceback.format_exc().rstrip()}", file=sys.stderr)
        return 1
    return 0


# --- loading ------------------------------------------------------------------------------------------------------

def load_dag(path: str):
    if not os.path.isfile(path):
        raise UsageError(f"no DAG file {path}")
    sys.path.insert(0, STUBS)
    import airflow  # the stand-in, never a real Airflow

    if not getattr(airflow, "STUB", False) or not os.path.abspath(airflow.__file__).startswith(STUBS):
        raise UsageError(f"imported a real Airflow from {airflow.__file__}, not the stand-in in {STUBS}")
    from airflow.models.dag import INSTANCES

    name = "contract_dag_" + os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, os.path.abspath(path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    dags = [d for d in INSTANCES]
    if len(dags) != 1:
        raise UsageError(f"{path} defines {len(dags)} DAGs, expected exactly one")
    return dags[0]


def resolve_params(dag, overrides: dict[str, str]) -> dict:
    from airflow.models.param import Param, ParamValidationError

    unknown = set(overrides) - set(dag.params)
    if unknown:
        raise UsageError(f"unknown param(s) {sorted(unknown)}; the DAG declares {sorted(dag.params)}")
    resolved = {}
    for key, declared in dag.params.items():
        param = declared if isinstance(declared, Param) else Param(declared)
        if key in overrides:
            value = parse_value(key, overrides[key], param)
            try:
                resolved[key] = param.resolve(value)
            except ParamValidationError as e:
                raise UsageError(f"param {key}={overrides[key]!r} is invalid: {e}") from None
        else:
            try:
                resolved[key] = param.resolve()
            except ParamValidationError as e:
                raise UsageError(f"param {key}: default is invalid: {e}") from None
    return resolved


def parse_value(key: str, text: str, param):
    kind = param.schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    default = param.value
    if "boolean" in kinds or isinstance(default, bool):
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise UsageError(f"param {key} is a boolean: give true or false, not {text!r}")
    if "null" in kinds and text == "null":
        return None
    try:
        if "integer" in kinds or (kind is None and isinstance(default, int)):
            return int(text)
        if "number" in kinds or (kind is None and isinstance(default, float)):
            return float(text)
    except ValueError:
        raise UsageError(f"param {key} is a {kind or type(default).__name__}, not {text!r}") from None
    if "object" in kinds or "array" in kinds or (kind is None and isinstance(default, (dict, list))):
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise UsageError(f"param {key} wants JSON: {e}") from None
    return text


# --- rendering ----------------------------------------------------------------------------------------------------

def jinja_env(dag):
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    # Airflow renders with a SandboxedEnvironment, the DAG's template_undefined (StrictUndefined unless the DAG says
    # otherwise; here always StrictUndefined, so a typo fails) and the "do" extension.
    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.do"], cache_size=0)
    env.globals.update(dag.user_defined_macros)
    env.filters.update(dag.user_defined_filters)
    return env


def render(value, env, context):
    """Airflow's BaseOperator.render_template: strings rendered, containers element by element (dict values only)."""
    if isinstance(value, str):
        return env.from_string(value).render(**context)
    if isinstance(value, tuple):
        return tuple(render(v, env, context) for v in value)
    if isinstance(value, list):
        return [render(v, env, context) for v in value]
    if isinstance(value, dict):
        return {k: render(v, env, context) for k, v in value.items()}
    if isinstance(value, set):
        return {render(v, env, context) for v in value}
    return value


def rendered_args(dag, task, base_context) -> dict:
    env = jinja_env(dag)
    context = {**base_context, "task": task}
    args = dict(task.args)
    for field in task.template_fields:
        if field in args:
            try:
                args[field] = render(args[field], env, context)
            except Exception as e:
                raise RuntimeError(f"task {task.task_id}: cannot render {field}: {type(e).__name__}: {e}") from e
    return args


def topological(dag) -> list[str]:
    """Kahn's algorithm; ties broken by the order in which the DAG file created the tasks."""
    position = {t: i for i, t in enumerate(dag.tasks)}
    missing = {t for task in dag.tasks.values() for t in task.upstream_task_ids} - set(dag.tasks)
    if missing:
        raise RuntimeError(f"dependencies on unknown tasks {sorted(missing)}")
    waiting = {t: len(task.upstream_task_ids) for t, task in dag.tasks.items()}
    ready = sorted((t for t, n in waiting.items() if n == 0), key=position.get)
    order = []
    while ready:
        t = ready.pop(0)
        order.append(t)
        for d in dag.tasks[t].downstream_task_ids:
            waiting[d] -= 1
            if waiting[d] == 0:
                ready.append(d)
        ready.sort(key=position.get)
    if len(order) != len(dag.tasks):
        raise RuntimeError(f"DAG {dag.dag_id} has a cycle through {sorted(set(dag.tasks) - set(order))}")
    return order


def describe(dag, order, params, base_context) -> dict:
    rank = {t: i for i, t in enumerate(order)}
    tasks = []
    for task_id in order:
        task = dag.tasks[task_id]
        args = rendered_args(dag, task, base_context)
        entry = {
            "task_id": task_id,
            "kind": type(task).__name__,
            "upstream": sorted(task.upstream_task_ids, key=rank.get),
            "downstream": sorted(task.downstream_task_ids, key=rank.get),
            "retries": args.pop("retries", 0),
            "retry_delay": jsonable(args.pop("retry_delay", dt.timedelta(seconds=300))),
        }
        args.pop("task_id")
        entry.update({k: jsonable(v) for k, v in sorted(args.items())})
        tasks.append(entry)
    return {
        "dag_id": dag.dag_id,
        "schedule": jsonable(dag.schedule),
        "catchup": dag.kwargs.get("catchup", True),
        "max_active_runs": dag.kwargs.get("max_active_runs", 16),
        "start_date": jsonable(dag.kwargs.get("start_date")),
        "params": jsonable(params),
        "ds": base_context["ds"],
        "run_id": base_context["run_id"],
        "tasks": tasks,
    }


def jsonable(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
        return int(seconds) if seconds.is_integer() else seconds
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{value.__module__}.{value.__qualname__}"
    return repr(value)


# --- calling ------------------------------------------------------------------------------------------------------

class FakeTaskInstance:
    """Records xcom_push; xcom_pull finds only what this task pushed itself."""

    def __init__(self, dag_id: str, task_id: str, run_id: str):
        self.dag_id, self.task_id, self.run_id, self.try_number = dag_id, task_id, run_id, 1
        self.pushed: list[dict] = []

    def xcom_push(self, key: str, value, **_) -> None:
        self.pushed.append({"key": key, "value": value})

    def xcom_pull(self, task_ids=None, key: str = "return_value", **_):
        if task_ids in (None, self.task_id):
            for p in reversed(self.pushed):
                if p["key"] == key:
                    return p["value"]
        return None


def call(dag, task, base_context):
    if not hasattr(task, "python_callable"):
        raise UsageError(f"task {task.task_id} is a {type(task).__name__}: it has no python_callable to call")
    args = rendered_args(dag, task, base_context)
    ti = FakeTaskInstance(dag.dag_id, task.task_id, base_context["run_id"])
    context = {**base_context, "task": task, "ti": ti, "task_instance": ti,
               "templates_dict": args.get("templates_dict")}
    # Airflow 2.x: op_kwargs are merged into the context, then the callable gets op_args positionally and, by name,
    # the context keys its signature asks for (all of them when it takes **kwargs).
    context.update(args.get("op_kwargs") or {})
    op_args = list(args.get("op_args") or [])
    fn = task.python_callable
    signature = inspect.signature(fn)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values()):
        kwargs = context
    else:
        names = [n for n, p in signature.parameters.items()
                 if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)]
        positional = [n for n, p in signature.parameters.items()
                      if p.kind is not inspect.Parameter.VAR_POSITIONAL][:len(op_args)]
        kwargs = {n: context[n] for n in names if n in context and n not in positional}
    value = fn(*op_args, **kwargs)
    if ti.pushed:
        print(json.dumps({"xcom_push": ti.pushed}, default=repr), file=sys.stderr)
    if type(task).__name__ == "PythonSensor":
        return bool(value)
    json.dumps(value)  # Airflow must be able to store it as an XCom: fail here if it cannot
    return value


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
