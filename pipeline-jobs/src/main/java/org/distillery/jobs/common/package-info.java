/**
 * What every job shares: the Spark session, Hadoop-filesystem storage, staged atomic publishing, Parquet reads and
 * writes of the shared schemas, job results.
 */
package org.distillery.jobs.common;
