/** What every job shares: the Spark session, Hadoop-filesystem storage, staged atomic publishing, job results. */
package org.distillery.jobs.common;
