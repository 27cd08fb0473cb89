/** The notebooks' contract test: each notebook executes against a real (small) run directory. */
package org.distillery.jobs.notebooks;
