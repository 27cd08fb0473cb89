/** Data conversion without Spark: the IDX reader, seeded stratified selection, rows to DL4J minibatches. */
package org.distillery.model.data;
