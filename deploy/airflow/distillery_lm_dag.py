"""
### distillery_lm: distil a language model once a day

The language-model counterpart of the `distillery` DAG, from the same task helpers (distillery_common.py). For the
logical date `ds` of a run, with `<lm>` the `root` param followed by `/lm`:

0. When the `ingest_source` param is set, `ingest_requested` lets `ingest` read that corpus (the run's date replaces
   `<ds>` in it) into `<lm>/corpus/dt=<ds>/train`, `validation` and `test` (`distill ingest --format text --mode
   overwrite`: documents split by a seeded hash, one character vocabulary for the three splits; documents, windows and
   split fractions from the config file's `ingest` section); otherwise `ingest` and `summary_ingest` are skipped and
   the corpus is the upstream pipeline's.
1. `wait_for_corpus` waits (reschedule mode) for the `_SUCCESS` of the three splits.
2. When `train_teacher` is true, `teacher_requested` lets `train_teacher` train a teacher LM (`train --task lm
   --objective hard`, shape `teacher_embedding`, `teacher_hidden`, `teacher_layers`) on the day's train split into
   `<lm>/teachers/dt=<ds>`; otherwise `train_teacher` and `summary_train_teacher` are skipped and label uses the
   `teacher` param (empty: `<lm>/models/teacher`), whose vocabulary must be the day's.
3. `label` runs that teacher over the train split into `<lm>/soft-targets/dt=<ds>`: token soft targets, the top
   `top_k` logits per position and the tail's log-sum-exp, stored in `precision`.
4. `train_student` distils a student LM (`train --task lm --objective kd`, shape `student_embedding`,
   `student_hidden`, `student_layers`) into `<lm>/students/dt=<ds>/kd`, validated on the day's validation split.
5. `evaluate` scores the student against the teacher its soft targets name on the day's test split into
   `<lm>/evaluations/dt=<ds>` (bits per character, perplexity, agreement, KL, latency, samples).

Every path is scoped to the run's `ds`, never "latest", so reruns and backfills touch only their own day. Every Spark
task replaces only its own output, atomically: label with `--mode incremental` (a retry sends only new or changed
windows through the teacher; another teacher relabels everything), the others with `--mode overwrite`; the train
tasks pass `--checkpoint-dir` (under `<lm>/checkpoints/dt=<ds>`) and `--resume`.

After each Spark task, `summary_<task>` reads the `_SUCCESS` marker of the task's output (for ingest, of the train
split) and returns the job's one-line JSON summary (job, path, manifest, rows, seconds) as the task's XCom
`return_value`, e.g. `ti.xcom_pull(task_ids="summary_evaluate")["manifest"]`. `summary_evaluate`, the last task,
succeeding means `<lm>/evaluations/dt=<ds>/_SUCCESS` exists and belongs to this run's evaluation.

(Airflow 2.x renders this text, the DAG's doc_md, as a Jinja template when the file is parsed: no braces in it.)

Parse-time setting: `DISTILLERY_SPARK_CONN_ID` (default `spark_default`). Pin a given teacher in the config file
(label.teacher-sha256).
"""

from __future__ import annotations

import os
import sys

from airflow import DAG
from airflow.models.param import Param

# The callables and helpers live beside this file (see distillery_dag.py for why its directory is added).
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.append(_HERE)

import distillery_tasks  # noqa: E402
from distillery_common import (  # noqa: E402
    DAG_SETTINGS, ROOT, common_params, optional_step, spark_task, summary_task, wait_for_published,
)

# --- Run-scoped paths (templates; rendered per task instance) -------------------------------------------------------
LM = ROOT + "/lm"
CORPUS = LM + "/corpus/dt={{ ds }}"
SPLITS = {name: CORPUS + "/" + name for name in ("train", "validation", "test")}
DAY_TEACHER = LM + "/teachers/dt={{ ds }}"
SOFT_TARGETS = LM + "/soft-targets/dt={{ ds }}"
STUDENT = LM + "/students/dt={{ ds }}/kd"
TEACHER_CHECKPOINTS = LM + "/checkpoints/dt={{ ds }}/teacher"
STUDENT_CHECKPOINTS = LM + "/checkpoints/dt={{ ds }}/kd"
EVALUATION = LM + "/evaluations/dt={{ ds }}"
# The corpus: files, folders or globs, comma-separated; <ds> in it becomes the run's date.
INGEST_SOURCE = "{{ params.ingest_source | replace('<ds>', ds) }}"
# The teacher label uses: the day's own when train_teacher is set, else the teacher param (empty: <lm>/models/teacher).
TEACHER = ("{{ params.root.rstrip('/') ~ '/lm/teachers/dt=' ~ ds if params.train_teacher"
           " else params.teacher or params.root.rstrip('/') ~ '/lm/models/teacher' }}")


def lm_shape(role: str) -> list[str]:
    """The LSTM LM's --embedding, --hidden and --layers flags from the `<role>_*` params."""
    return [f"--{flag}={{{{ params.{role}_{flag} }}}}" for flag in ("embedding", "hidden", "layers")]


def shape_params(role: str, embedding: int, hidden: int, layers: int) -> dict:
    return {
        f"{role}_embedding": Param(embedding, type="integer", minimum=1,
                                   description=f"Width of the {role} LM's token embedding (train --embedding)."),
        f"{role}_hidden": Param(hidden, type="integer", minimum=1,
                                description=f"Width of each LSTM layer of the {role} LM (train --hidden)."),
        f"{role}_layers": Param(layers, type="integer", minimum=1,
                                description=f"LSTM layers of the {role} LM (train --layers)."),
    }


with DAG(
    dag_id="distillery_lm",
    description="Language-model distillation: [ingest a corpus,] [train a teacher LM,] label token soft targets,"
    " distil a student LM, evaluate it against the teacher.",
    doc_md=__doc__,
    **DAG_SETTINGS,
    params={
        **common_params(root="hdfs:///distillery", config="/opt/distillery/conf/pipeline-lm.conf"),
        "ingest_source": Param(
            "",
            type="string",
            description="Text corpus the ingest task reads into <root>/lm/corpus/dt=<ds>/{train,validation,test}:"
            " files, folders or globs on any Hadoop filesystem, comma-separated; <ds> in it becomes the run's date."
            " Empty: no ingest, the upstream pipeline publishes the corpus.",
        ),
        "train_teacher": Param(
            False,
            type="boolean",
            description="Train the day's teacher LM on the day's train split and label with it (else the teacher"
            " param's).",
        ),
        "teacher": Param(
            "",
            type="string",
            description="Teacher LM when train_teacher is false: a published directory, DL4J zip or ONNX causal LM;"
            " empty means <root>/lm/models/teacher. Its vocabulary must be the day's corpus's.",
        ),
        "top_k": Param(16, type="integer", minimum=1,
                       description="Logits stored per position: the K largest and the tail's log-sum-exp (label"
                       " --top-k; at most the vocabulary size)."),
        "precision": Param("fp16", type="string", enum=["fp16", "fp32"],
                           description="How the stored logits are encoded (label --precision)."),
        **shape_params("teacher", 32, 256, 2),
        **shape_params("student", 16, 64, 1),
    },
    tags=["distillery", "spark", "lm"],
) as dag:
    # skips only ingest and its summary when no source is given: wait_for_corpus still runs
    ingest_requested = optional_step("ingest_requested", distillery_tasks.ingest_requested)

    ingest = spark_task(
        "ingest",
        ["ingest", "--source=" + INGEST_SOURCE, "--format", "text", "--out", CORPUS, "--mode", "overwrite"],
    )
    summary_ingest = summary_task("ingest", SPLITS["train"], "ingest")

    wait_for_corpus = wait_for_published("wait_for_corpus", {"paths": list(SPLITS.values())},
                                         distillery_tasks.all_published)

    # skips only the teacher's training and its summary: label still runs, with the given teacher
    teacher_requested = optional_step("teacher_requested", distillery_tasks.teacher_requested)

    train_teacher = spark_task(
        "train_teacher",
        ["train", "--task", "lm", "--objective", "hard", "--transfer", SPLITS["train"],
         "--validation", SPLITS["validation"], *lm_shape("teacher"), "--out", DAY_TEACHER,
         "--checkpoint-dir", TEACHER_CHECKPOINTS, "--resume", "--mode", "overwrite"],
    )
    summary_train_teacher = summary_task("train_teacher", DAY_TEACHER, "train")

    label = spark_task(
        "label",
        ["label", "--transfer", SPLITS["train"], "--teacher", TEACHER, "--top-k", "{{ params.top_k }}",
         "--precision", "{{ params.precision }}", "--out", SOFT_TARGETS, "--mode", "incremental"],
        trigger_rule="none_failed",  # after the day's teacher, or after its training was skipped
    )
    summary_label = summary_task("label", SOFT_TARGETS, "label")

    train_student = spark_task(
        "train_student",
        ["train", "--task", "lm", "--objective", "kd", "--soft-targets", SOFT_TARGETS,
         "--validation", SPLITS["validation"], *lm_shape("student"), "--out", STUDENT,
         "--checkpoint-dir", STUDENT_CHECKPOINTS, "--resume", "--mode", "overwrite"],
    )
    summary_train_student = summary_task("train_student", STUDENT, "train")

    evaluate = spark_task(
        "evaluate",
        ["evaluate", "--test", SPLITS["test"], "--model", "student=" + STUDENT, "--out", EVALUATION,
         "--mode", "overwrite"],
    )
    summary_evaluate = summary_task("evaluate", EVALUATION, "evaluate")

    ingest_requested >> ingest >> summary_ingest >> wait_for_corpus >> teacher_requested
    teacher_requested >> train_teacher >> summary_train_teacher >> label >> summary_label
    summary_label >> train_student >> summary_train_student >> evaluate >> summary_evaluate
