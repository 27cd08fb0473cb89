/** Tests of the deploy artefacts (Airflow DAG, spark-submit scripts, Kubernetes manifests) against the real CLI. */
package org.distillery.jobs.deploy;
