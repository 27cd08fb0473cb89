"""
### distillery: label, train, evaluate, export once a day

For the logical date `ds` of a run, with `<root>` the `root` param:

0. When the `ingest_source` param is set, `ingest_requested` lets `ingest` read that source (the run's date replaces
   `<ds>` in it) into `<root>/transfer/dt=<ds>` (`distill ingest --split none --mode overwrite`, column mapping and
   preprocessing from the `ingest_*` params and the config file's `ingest` section); otherwise `ingest` and
   `summary_ingest` are skipped and the transfer set is the upstream pipeline's.
1. `wait_for_transfer` waits (reschedule mode) for `<root>/transfer/dt=<ds>/_SUCCESS`, published by `ingest` or by
   the upstream pipeline.
2. When `augment` is true, `augment_requested` lets `augment` widen that transfer set into `<root>/augmented/dt=<ds>`
   (`distill augment --transform <augment_transforms> --copies <augment_copies>`: the day's rows and their transformed,
   unlabelled copies); otherwise `augment` and `summary_augment` are skipped.
   `label` runs the frozen teacher over the augmented set, or else the day's transfer set, into
   `<root>/soft-targets/dt=<ds>`.
3. `continue_to_training` stops the run here when `relabel_only` is true (the teacher changed; relabel without
   retraining): everything downstream is skipped and the run still succeeds.
4. `train_student` (objective kd, on the soft targets) and `train_baseline` (objective hard, on the transfer set's
   labels) write `<root>/students/dt=<ds>/kd` and `<root>/students/dt=<ds>/baseline`, checkpointing under
   `<root>/checkpoints/dt=<ds>/{kd,baseline}`.
   When `mutual` is true, `mutual_requested` lets `train_mutual` train `mutual_peers` students together without the
   teacher (`train --objective mutual` on the transfer set's labels) into `<root>/students/dt=<ds>/mutual/student-k`;
   they are not evaluated or exported by this DAG (`distill evaluate --model mutual_1=.../student-1 ...`).
5. `evaluate` scores both against the teacher on `<root>/reference/test` into `<root>/evaluations/dt=<ds>`.
6. `export` writes the KD student as ONNX into `<root>/exports/dt=<ds>/kd`: `model.onnx` (fp32) and `model-int8.onnx`
   (int8, calibrated on the day's transfer set), each checked against DL4J's logits before publication, and the model
   card (`card.json`, `card.md`) with the evaluation's test metrics and the manifest chain.

Every path is scoped to the run's `ds`, never "latest", so reruns and backfills touch only their own day. Every Spark
task replaces only its own dt= output, atomically (the old one stays intact until the new one is complete): label with
`--mode incremental` (a retry, or a rerun after the day's data was corrected, sends only new or changed rows through
the teacher; a new teacher relabels everything), the others with `--mode overwrite`; the train tasks pass `--checkpoint-dir` and `--resume` (a retry continues from the last
checkpoint; the first try and the retries use the same command line).

`<root>/transfer` and `<root>/soft-targets` are partitioned tables, one dt= partition per day: `distill train
--soft-targets <root>/soft-targets` trains on every day labelled so far (it refuses while a day is missing or was
labelled from older data), and `distill label --transfer <root>/transfer --out <root>/soft-targets --mode incremental`
relabels only the days whose data, teacher or T changed (e.g. all of them after a new teacher).

After each Spark task, `summary_<task>` reads the `_SUCCESS` marker of the task's output (it holds the job's one-line
JSON summary: job, path, manifest, rows, seconds), checks it names that job and that directory, and returns it, so it
is the task's XCom `return_value`, e.g. `ti.xcom_pull(task_ids="summary_evaluate")["manifest"]`.

**Success markers.** `summary_evaluate` succeeding means `<root>/evaluations/dt=<ds>/_SUCCESS` exists and belongs to
this run's evaluation; `summary_export`, the last task, the same of `<root>/exports/dt=<ds>/kd/_SUCCESS`, the shipped
student and its card. Downstream DAGs can wait for those tasks (ExternalTaskSensor on `distillery.summary_export`) or
sense the files directly. A relabel-only run publishes soft targets but no evaluation or export.

(Airflow 2.x renders this text, the DAG's doc_md, as a Jinja template when the file is parsed: no braces in it.)

Parse-time settings (environment of the scheduler *and* the workers, which re-parse this file):
`DISTILLERY_TEACHER_SHA256` (pin the teacher's SHA-256; see `teacher_sha256` below) and `DISTILLERY_SPARK_CONN_ID`
(default `spark_default`).
"""

from __future__ import annotations

import os
import sys

from airflow import DAG
from airflow.models.param import Param
from airflow.operators.python import ShortCircuitOperator

# The callables live beside this file in distillery_tasks.py (no Airflow import, unit-testable), the helpers it shares
# with distillery_lm_dag.py in distillery_common.py. Airflow puts the dags folder itself on sys.path but not its
# subfolders, so add this file's directory when it is missing (appended, so it never shadows an installed module).
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.append(_HERE)

import distillery_tasks  # noqa: E402
from distillery_common import (  # noqa: E402
    CONFIG, DAG_SETTINGS, ROOT, common_params, optional_step, spark_task, summary_task, wait_for_published,
)

# --- Parse-time settings --------------------------------------------------------------------------------------------
# application_args is a list whose elements Airflow renders one by one: a template can change an element's text but
# can neither add nor remove elements, and the CLI refuses `--teacher-sha256 ""` (it wants 64 hex digits). So whether
# label gets `--teacher-sha256 HEX` is decided here, when the file is parsed, from DISTILLERY_TEACHER_SHA256:
#   - set: label always passes `--teacher-sha256 {{ params.teacher_sha256 }}`; the param defaults to that pin and a
#     triggered run may pass another pin (64 lower-case hex digits, checked by the param's schema);
#   - unset or empty: label passes no pin, and the param's schema only admits "", so a run triggered with a pin is
#     rejected when it is triggered instead of silently running unpinned.
# A pin can also live in the pipeline config file (label.teacher-sha256), which applies when no flag is given.
TEACHER_SHA256 = os.environ.get("DISTILLERY_TEACHER_SHA256", "").strip()

# --- Run-scoped paths (templates; rendered per task instance) -------------------------------------------------------
TRANSFER = ROOT + "/transfer/dt={{ ds }}"
VALIDATION = ROOT + "/reference/validation"
TEST = ROOT + "/reference/test"
AUGMENTED = ROOT + "/augmented/dt={{ ds }}"
# What label reads: the augmented set when the augment param is set, else the day's transfer set.
LABEL_TRANSFER = "{{ params.root.rstrip('/') ~ ('/augmented/dt=' if params.augment else '/transfer/dt=') ~ ds }}"
SOFT_TARGETS = ROOT + "/soft-targets/dt={{ ds }}"
MUTUAL = ROOT + "/students/dt={{ ds }}/mutual"
STUDENT = ROOT + "/students/dt={{ ds }}/kd"
BASELINE = ROOT + "/students/dt={{ ds }}/baseline"
STUDENT_CHECKPOINTS = ROOT + "/checkpoints/dt={{ ds }}/kd"
BASELINE_CHECKPOINTS = ROOT + "/checkpoints/dt={{ ds }}/baseline"
EVALUATION = ROOT + "/evaluations/dt={{ ds }}"
EXPORT = ROOT + "/exports/dt={{ ds }}/kd"
# The ingest source: a path or a catalog table; <ds> in it becomes the run's date (e.g. s3a://lake/orders/dt=<ds>).
INGEST_SOURCE = "{{ params.ingest_source | replace('<ds>', ds) }}"
# DAG param -> ingest flag. Each is passed as one `--flag=value` argument; `distill ingest` treats `--flag=` (an empty
# param) as not given, so the config file's `ingest` section or the built-in default applies.
INGEST_FLAGS = {
    "ingest_format": "--format",
    "ingest_options": "--option",
    "ingest_id": "--id",
    "ingest_id_from": "--id-from",
    "ingest_label": "--label",
    "ingest_classes": "--classes",
    "ingest_features": "--features",
    "ingest_features_prefix": "--features-prefix",
    "ingest_shape": "--shape",
    "ingest_scale": "--scale",
    "ingest_standardize": "--standardize",
    "ingest_transform_from": "--transform-from",
}
# An empty teacher param means the teacher published under the storage root.
TEACHER = "{{ params.teacher or params.root.rstrip('/') ~ '/models/teacher' }}"

if TEACHER_SHA256:
    TEACHER_PIN_ARGS = ["--teacher-sha256", "{{ params.teacher_sha256 }}"]
    TEACHER_SHA256_PARAM = Param(
        TEACHER_SHA256,
        type="string",
        pattern="^[0-9a-f]{64}$",
        description="SHA-256 the teacher file must have (label refuses to run otherwise). "
        "Default from DISTILLERY_TEACHER_SHA256.",
    )
else:
    TEACHER_PIN_ARGS = []
    TEACHER_SHA256_PARAM = Param(
        "",
        type="string",
        maxLength=0,
        description="No pin: this DAG was parsed without DISTILLERY_TEACHER_SHA256, so label passes no "
        "--teacher-sha256 and only an empty value is accepted (or pin it in the config file: label.teacher-sha256).",
    )

with DAG(
    dag_id="distillery",
    description="Knowledge distillation: label the day's transfer set, train a student and a baseline, evaluate, export"
    " the student to ONNX with its model card.",
    doc_md=__doc__,
    **DAG_SETTINGS,
    params={
        **common_params(root="hdfs:///distillery", config="/opt/distillery/conf/pipeline.conf"),
        "ingest_source": Param(
            "",
            type="string",
            description="Source the ingest task reads into <root>/transfer/dt=<ds> (a path on any Hadoop filesystem,"
            " or a catalog table with ingest_format=table); <ds> in it becomes the run's date. Empty: no ingest, the"
            " upstream pipeline publishes the transfer set.",
        ),
        "ingest_format": Param(
            "",
            type="string",
            enum=["", "parquet", "csv", "json", "orc", "image", "binaryFile", "table"],
            description="Spark source of ingest_source (empty: the config file's ingest.format).",
        ),
        "ingest_options": Param(
            "",
            type="string",
            description="Spark reader options, KEY=VALUE,KEY=VALUE (e.g. header=true,inferSchema=true).",
        ),
        "ingest_id": Param("", type="string", description="Row id column (integer as is, string hashed)."),
        "ingest_id_from": Param("", type="string", description="Columns hashed together into the id, COL,COL."),
        "ingest_label": Param("", type="string", description="Class label column (integer or string)."),
        "ingest_classes": Param(
            "",
            type="string",
            description="Class names in index order, NAME,NAME,... Give them for daily data: a day that lacks a class"
            " must still map the others to the same indices.",
        ),
        "ingest_features": Param(
            "", type="string", description="Feature column (array, vector, image bytes) or numeric columns COL,COL."
        ),
        "ingest_features_prefix": Param("", type="string", description="Numeric feature columns by name prefix."),
        "ingest_shape": Param("", type="string", description="Image shape CxHxW (resize to it)."),
        "ingest_scale": Param("", type="string", description="Scale of every feature value, e.g. 1/255."),
        "ingest_standardize": Param(
            "",
            type="string",
            enum=["", "true", "false"],
            description="Standardize each feature (fitted on this day's rows; prefer ingest_transform_from).",
        ),
        "ingest_transform_from": Param(
            "",
            type="string",
            description="A published transfer set (e.g. <root>/reference/train) whose classes, scale and"
            " standardization statistics to apply, so every day is transformed as the reference data was.",
        ),
        "teacher": Param(
            "",
            type="string",
            description="Published teacher directory, DL4J zip or Keras HDF5 file (ONNX: label only); empty means"
                        " <root>/models/teacher.",
        ),
        "teacher_sha256": TEACHER_SHA256_PARAM,
        "augment": Param(
            False,
            type="boolean",
            description="Widen the day's transfer set with augment_transforms before labelling (label reads"
            " <root>/augmented/dt=<ds>).",
        ),
        "augment_transforms": Param(
            "shift=2,flip",
            type="string",
            minLength=1,
            description="augment --transform: shift=S, flip, noise=SIGMA, mixup=ALPHA, comma-separated, in order.",
        ),
        "augment_copies": Param(4, type="integer", minimum=1, description="augment --copies: copies per row."),
        "mutual": Param(
            False,
            type="boolean",
            description="Also train mutual_peers students together without the teacher (train --objective mutual).",
        ),
        "mutual_peers": Param(2, type="integer", minimum=2, description="train --peers of the mutual students."),
        "relabel_only": Param(
            False,
            type="boolean",
            description="Only relabel (e.g. the teacher changed): skip training and evaluation.",
        ),
    },
    tags=["distillery", "spark"],
) as dag:
    # skips only ingest and its summary when no source is given: wait_for_transfer still runs
    ingest_requested = optional_step("ingest_requested", distillery_tasks.ingest_requested)

    ingest = spark_task(
        "ingest",
        ["ingest", "--source=" + INGEST_SOURCE,
         *[f"{flag}={{{{ params.{param} }}}}" for param, flag in INGEST_FLAGS.items()],
         "--split", "none", "--out", TRANSFER, "--mode", "overwrite"],
    )
    summary_ingest = summary_task("ingest", TRANSFER, "ingest")

    wait_for_transfer = wait_for_published("wait_for_transfer", {"path": TRANSFER})

    # skips only augment and its summary when the augment param is false: label still runs, on the transfer set
    augment_requested = optional_step("augment_requested", distillery_tasks.augment_requested)
    augment = spark_task(
        "augment",
        ["augment", "--transfer", TRANSFER, "--transform", "{{ params.augment_transforms }}",
         "--copies", "{{ params.augment_copies }}", "--out", AUGMENTED, "--mode", "overwrite"],
    )
    summary_augment = summary_task("augment", AUGMENTED, "augment")

    label = spark_task(
        "label",
        ["label", "--transfer", LABEL_TRANSFER, "--teacher", TEACHER, *TEACHER_PIN_ARGS,
         "--out", SOFT_TARGETS, "--mode", "incremental"],
        trigger_rule="none_failed",  # after augment, or after its skip
    )
    summary_label = summary_task("label", SOFT_TARGETS, "label")

    continue_to_training = ShortCircuitOperator(
        task_id="continue_to_training",
        python_callable=distillery_tasks.continue_to_training,
    )

    train_student = spark_task(
        "train_student",
        ["train", "--objective", "kd", "--soft-targets", SOFT_TARGETS, "--validation", VALIDATION,
         "--out", STUDENT, "--checkpoint-dir", STUDENT_CHECKPOINTS, "--resume", "--mode", "overwrite"],
    )
    summary_train_student = summary_task("train_student", STUDENT, "train")

    train_baseline = spark_task(
        "train_baseline",
        ["train", "--objective", "hard", "--transfer", TRANSFER, "--validation", VALIDATION,
         "--out", BASELINE, "--checkpoint-dir", BASELINE_CHECKPOINTS, "--resume", "--mode", "overwrite"],
    )
    summary_train_baseline = summary_task("train_baseline", BASELINE, "train")

    mutual_requested = optional_step("mutual_requested", distillery_tasks.mutual_requested)
    train_mutual = spark_task(
        "train_mutual",
        ["train", "--objective", "mutual", "--peers", "{{ params.mutual_peers }}", "--transfer", TRANSFER,
         "--validation", VALIDATION, "--out", MUTUAL, "--mode", "overwrite"],
    )
    summary_train_mutual = summary_task("train_mutual", MUTUAL, "train")

    evaluate = spark_task(
        "evaluate",
        ["evaluate", "--test", TEST, "--teacher", TEACHER, "--model", "student=" + STUDENT,
         "--model", "baseline=" + BASELINE, "--out", EVALUATION, "--mode", "overwrite"],
    )
    summary_evaluate = summary_task("evaluate", EVALUATION, "evaluate")

    export = spark_task(
        "export",
        ["export", "--model", STUDENT, "--format", "onnx", "--quantize", "int8", "--calibration", TRANSFER,
         "--evaluation", EVALUATION, "--out", EXPORT, "--mode", "overwrite"],
    )
    summary_export = summary_task("export", EXPORT, "export")

    ingest_requested >> ingest >> summary_ingest >> wait_for_transfer
    wait_for_transfer >> augment_requested >> augment >> summary_augment >> label
    label >> summary_label >> continue_to_training >> [train_student, train_baseline, mutual_requested]
    mutual_requested >> train_mutual >> summary_train_mutual
    train_student >> summary_train_student
    train_baseline >> summary_train_baseline
    [summary_train_student, summary_train_baseline] >> evaluate >> summary_evaluate >> export >> summary_export
