/**
 * Table schemas defined once and versioned (transfer set, text transfer set, soft targets) and the manifest every
 * output carries.
 */
package org.distillery.model.schema;
