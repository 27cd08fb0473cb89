/** Network shapes built from config, frozen teachers seen as logit functions, and model zip I/O with hashing. */
package org.distillery.model.nn;
