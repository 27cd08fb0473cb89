/** Evaluate: what each student kept of the teacher, on the test split, as report.json and a printed table. */
package org.distillery.jobs.evaluate;
