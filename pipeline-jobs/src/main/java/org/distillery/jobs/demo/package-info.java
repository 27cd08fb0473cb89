/** The demo: the whole chain on Fashion-MNIST in one Spark application, resumable by rerunning. */
package org.distillery.jobs.demo;
