/** Label: a frozen teacher over a transfer set, raw logits and temperature-softened targets into Parquet. */
package org.distillery.jobs.label;
