/**
 * Ingest: a table from any Spark source (Parquet, CSV, JSON, ORC, a catalog table, a folder of images, or
 * Fashion-MNIST's IDX files) to Parquet transfer sets (train, validation, test) with manifests. {@link
 * org.distillery.jobs.ingest.IngestJob} runs {@link org.distillery.jobs.ingest.IngestPlan}: ids
 * ({@link org.distillery.jobs.ingest.RowIds}), labels and class names ({@link org.distillery.jobs.ingest.ClassMap}),
 * features ({@link org.distillery.jobs.ingest.FeatureColumns}, images by
 * {@link org.distillery.jobs.ingest.ImageDecoder}), splits ({@link org.distillery.jobs.ingest.RowKeys}) and the
 * feature transform (standardization fitted with {@link org.distillery.jobs.ingest.ExactSums}). Text corpora
 * ({@code --format text}, {@link org.distillery.jobs.ingest.TextConfig}) take their own path,
 * {@link org.distillery.jobs.ingest.TextIngest}: files cut into documents ({@link org.distillery.jobs.ingest.TextCorpus},
 * {@link org.distillery.jobs.ingest.DocumentRule}), split by document, windows of character tokens.
 */
package org.distillery.jobs.ingest;
