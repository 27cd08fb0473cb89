package org.distillery.jobs.common;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.distillery.model.schema.Manifest;

/** Small file operations on any Hadoop filesystem (local, HDFS, object stores), with errors that name the path. */
public final class Storage {
    private final Configuration hadoop;

    public Storage(Configuration hadoop) {
        this.hadoop = hadoop;
    }

    public static Storage of(SparkSession spark) {
        return new Storage(spark.sparkContext().hadoopConfiguration());
    }

    /**
     * Storage without a SparkSession (dry runs): Hadoop's default configuration (core-site.xml and hdfs-site.xml from
     * the classpath, as spark-submit sets it up) plus any {@code spark.hadoop.*} system properties.
     */
    public static Storage standalone() {
        Configuration conf = new Configuration();
        for (String k : System.getProperties().stringPropertyNames()) {
            if (k.startsWith("spark.hadoop.")) {
                conf.set(k.substring("spark.hadoop.".length()), System.getProperty(k));
            }
        }
        return new Storage(conf);
    }

    public FileSystem fs(String path) {
        try {
            return new Path(path).getFileSystem(hadoop);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot reach filesystem of " + path, e);
        }
    }

    /** Fully qualified form of {@code path} (scheme and absolute path), as stored in manifests. */
    public String qualify(String path) {
        Path p = new Path(path);
        return fs(path).makeQualified(p).toString();
    }

    public boolean exists(String path) {
        try {
            return fs(path).exists(new Path(path));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot check " + path, e);
        }
    }

    public byte[] readBytes(String path) {
        if (!exists(path)) {
            throw new IllegalArgumentException("file not found: " + path);
        }
        try (InputStream in = fs(path).open(new Path(path))) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path, e);
        }
    }

    public String readText(String path) {
        return new String(readBytes(path), StandardCharsets.UTF_8);
    }

    public void writeBytes(String path, byte[] bytes) {
        try (OutputStream out = fs(path).create(new Path(path), true)) {
            out.write(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + path, e);
        }
    }

    public void writeText(String path, String text) {
        writeBytes(path, text.getBytes(StandardCharsets.UTF_8));
    }

    public void delete(String path) {
        try {
            fs(path).delete(new Path(path), true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + path, e);
        }
    }

    public void rename(String from, String to) {
        try {
            if (!fs(from).rename(new Path(from), new Path(to))) {
                throw new IllegalStateException("could not move " + from + " to " + to);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot move " + from + " to " + to, e);
        }
    }

    /**
     * Moves {@code from} to {@code to}, failing if {@code to} exists (plain Hadoop rename would move {@code from}
     * inside an existing directory): two runs racing to publish the same output cannot both succeed.
     */
    public void renameNoReplace(String from, String to) {
        try {
            org.apache.hadoop.fs.FileContext fc = org.apache.hadoop.fs.FileContext.getFileContext(
                    new Path(to).toUri(), hadoop);
            fc.rename(new Path(from), new Path(to), org.apache.hadoop.fs.Options.Rename.NONE);
        } catch (org.apache.hadoop.fs.FileAlreadyExistsException e) {
            throw new IllegalArgumentException("output already exists (another run published it first): " + to, e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot move " + from + " to " + to, e);
        }
    }

    public void mkdirs(String path) {
        try {
            fs(path).mkdirs(new Path(path));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + path, e);
        }
    }

    /**
     * The manifest of a published output. Refuses outputs that were never published (no {@code _SUCCESS}) or whose
     * manifest is missing or corrupt.
     */
    public Manifest publishedManifest(String dir) {
        if (!exists(dir)) {
            throw new IllegalArgumentException("input not found: " + dir);
        }
        if (!exists(dir + "/" + Manifest.SUCCESS) || !exists(dir + "/" + Manifest.FILE_NAME)) {
            throw new IllegalArgumentException("input is not a published distillery output (no "
                    + Manifest.SUCCESS + " or " + Manifest.FILE_NAME + "): " + dir);
        }
        return Manifest.fromJson(readText(dir + "/" + Manifest.FILE_NAME), dir + "/" + Manifest.FILE_NAME);
    }
}
