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

    /**
     * The one spelling of {@code path} that outputs and inputs are compared in: fully qualified (scheme and authority),
     * {@code .} and {@code ..} resolved, no trailing slash, and on the local filesystem every symlink of its existing
     * part resolved. Two spellings of one directory ({@code IN/./x}, {@code IN/x/}, {@code file:IN/x}, a symlink to
     * it) give the same string.
     */
    public String canonical(String path) {
        if (path == null || path.isBlank()) {
            throw new IllegalArgumentException("empty path");
        }
        Path qualified = fs(path).makeQualified(new Path(path));
        java.net.URI uri = qualified.toUri().normalize();
        String p = uri.getPath();
        while (p.length() > 1 && p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        if ("file".equals(uri.getScheme())) {
            p = realLocal(java.nio.file.Path.of(p)).toString();
        }
        try {
            return new java.net.URI(uri.getScheme(), uri.getAuthority(), p, null, null).toString();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalArgumentException("not a valid path: " + path, e);
        }
    }

    /** {@code p} with the symlinks of its longest existing prefix resolved; the rest appended as it is. */
    private static java.nio.file.Path realLocal(java.nio.file.Path p) {
        java.nio.file.Path existing = p;
        java.util.Deque<String> rest = new java.util.ArrayDeque<>();
        while (existing != null && !java.nio.file.Files.exists(existing)) {
            if (existing.getFileName() != null) {
                rest.push(existing.getFileName().toString());
            }
            existing = existing.getParent();
        }
        if (existing == null) {
            return p;
        }
        java.nio.file.Path real;
        try {
            real = existing.toRealPath();
        } catch (IOException e) {
            real = existing;
        }
        for (String name : rest) {
            real = real.resolve(name);
        }
        return real;
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
        } catch (org.apache.hadoop.fs.ChecksumException e) {
            throw new IllegalArgumentException("corrupt file " + path + ": it does not match its Hadoop checksum (.crc)"
                    + " file (changed or damaged after it was written)", e);
        } catch (java.io.FileNotFoundException | org.apache.hadoop.security.AccessControlException e) {
            throw new IllegalArgumentException("cannot read " + path + ": "
                    + String.valueOf(e.getMessage()).lines().findFirst().orElse(""), e); // e.g. permission denied
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

    /**
     * Creates {@code path} and its parents; a location that cannot hold a directory (a file on the way, no permission,
     * a filesystem that refuses) is the caller's bad output path: one line naming it.
     */
    public void mkdirs(String path) {
        try {
            if (!fs(path).mkdirs(new Path(path))) {
                throw new IllegalArgumentException("cannot create directory " + path);
            }
        } catch (org.apache.hadoop.fs.ParentNotDirectoryException | org.apache.hadoop.fs.FileAlreadyExistsException
                 | org.apache.hadoop.security.AccessControlException e) {
            throw new IllegalArgumentException("cannot create directory " + path + ": "
                    + String.valueOf(e.getMessage()).lines().findFirst().orElse(""), e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + path, e);
        }
    }

    /**
     * The data files under directory {@code dir}, recursively: path relative to {@code dir} to size in bytes. Names
     * starting with {@code _} or {@code .} (markers, checksums, hidden staging) are not data.
     */
    public java.util.Map<String, Long> files(String dir) {
        java.util.Map<String, Long> out = new java.util.TreeMap<>();
        FileSystem fs = fs(dir);
        Path root = fs.makeQualified(new Path(dir));
        try {
            if (fs instanceof org.apache.hadoop.fs.LocalFileSystem
                    || fs instanceof org.apache.hadoop.fs.RawLocalFileSystem) {
                // listFiles makes a LocatedFileStatus per file, which asks for its permissions: without Hadoop's
                // native library the local filesystem runs `ls -ld` in a new process for each (~10 ms a file)
                walkLocal(fs, root, "", out);
                return out;
            }
            org.apache.hadoop.fs.RemoteIterator<org.apache.hadoop.fs.LocatedFileStatus> it = fs.listFiles(root, true);
            String prefix = root.toUri().getPath() + "/";
            while (it.hasNext()) {
                org.apache.hadoop.fs.LocatedFileStatus f = it.next();
                String relative = f.getPath().toUri().getPath().substring(prefix.length());
                boolean data = java.util.Arrays.stream(relative.split("/")).noneMatch(Storage::hidden);
                if (data) {
                    out.put(relative, f.getLen());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
        return out;
    }

    /** A name that is not data: markers, checksums, hidden staging. */
    private static boolean hidden(String name) {
        return name.startsWith("_") || name.startsWith(".");
    }

    /** {@link #files} on the local filesystem: a directory at a time, sizes without permissions, hidden trees pruned. */
    private static void walkLocal(FileSystem fs, Path dir, String prefix, java.util.Map<String, Long> out)
            throws IOException {
        for (org.apache.hadoop.fs.FileStatus f : fs.listStatus(dir)) {
            String name = f.getPath().getName();
            if (hidden(name)) {
                continue;
            }
            if (f.isDirectory()) {
                walkLocal(fs, f.getPath(), prefix + name + "/", out);
            } else {
                out.put(prefix + name, f.getLen());
            }
        }
    }

    /**
     * The manifest of a published output, verified: its id is the hash of its content, and every data file it lists is
     * there with its size. Refuses outputs that were never published (no {@code _SUCCESS}), whose manifest is missing
     * or corrupt, or whose files are missing or changed.
     */
    public Manifest publishedManifest(String dir) {
        if (!exists(dir)) {
            throw new IllegalArgumentException("input not found: " + dir);
        }
        if (!exists(dir + "/" + Manifest.SUCCESS) || !exists(dir + "/" + Manifest.FILE_NAME)) {
            throw new IllegalArgumentException("input is not a published distillery output (no "
                    + Manifest.SUCCESS + " or " + Manifest.FILE_NAME + "): " + dir);
        }
        Manifest m = Manifest.fromJson(readText(dir + "/" + Manifest.FILE_NAME), dir + "/" + Manifest.FILE_NAME);
        if (m.files() != null) {
            java.util.Map<String, Long> found = files(dir);
            m.files().forEach((name, bytes) -> {
                Long size = found.get(name);
                if (size == null) {
                    throw new IllegalArgumentException("published output " + dir + " is incomplete: " + name
                            + ", listed in its manifest, is missing");
                }
                if (size.longValue() != bytes) {
                    throw new IllegalArgumentException("published output " + dir + " was changed: " + name + " has "
                            + size + " bytes, its manifest lists " + bytes);
                }
            });
        }
        return m;
    }
}
