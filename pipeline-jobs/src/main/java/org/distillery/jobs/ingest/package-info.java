/** Ingest: Fashion-MNIST IDX files to Parquet transfer sets (train, validation, test) with manifests. */
package org.distillery.jobs.ingest;
