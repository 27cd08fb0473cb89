package org.distillery.jobs.common;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.permission.FsAction;
import org.distillery.model.schema.Manifest;

/**
 * The one rule every job applies to its output before it starts (in dry runs too): compared in their canonical form
 * ({@link Storage#canonical}: scheme, authority, {@code .}/{@code ..}, trailing slashes and symlinks resolved), the
 * output must not be, contain, or lie inside any input, nor lie inside the published output or partitioned table an
 * input belongs to; and its location must be usable: no regular file on the way to it, and the nearest existing
 * directory writable. Replacing or publishing into an input's directory is how a rerun with {@code --mode overwrite}
 * would otherwise delete what it reads.
 */
public final class OutputRule {
    private final Storage storage;
    private final Map<String, String> inputs = new LinkedHashMap<>();
    /** Each input's canonical form, computed on the first check: a job checking several outputs resolves it once. */
    private final Map<String, String> canonical = new HashMap<>();

    private OutputRule(Storage storage) {
        this.storage = storage;
    }

    /** A rule over the inputs added next. */
    public static OutputRule of(Storage storage) {
        return new OutputRule(storage);
    }

    /** An input read from {@code path} under {@code role} (a flag name, e.g. {@code --transfer}); null is skipped. */
    public OutputRule input(String role, String path) {
        if (path != null && !path.isBlank()) {
            inputs.put(role + " " + path, path);
        }
        return this;
    }

    /** Every path of {@code paths} as an input of {@code role}. */
    public OutputRule inputs(String role, Iterable<String> paths) {
        if (paths != null) {
            paths.forEach(p -> input(role, p));
        }
        return this;
    }

    /**
     * Checks {@code out} (under {@code role}, e.g. {@code --out}) against the inputs and its location.
     *
     * @throws IllegalArgumentException naming both paths as the user spelt them
     */
    public void check(String role, String out) {
        String o = storage.canonical(out);
        for (Map.Entry<String, String> in : inputs.entrySet()) {
            String i = canonical.computeIfAbsent(in.getValue(), storage::canonical);
            String what = role + " " + out + " ";
            if (o.equals(i)) {
                throw new IllegalArgumentException(what + "is the same location as input " + in.getKey());
            }
            if (inside(o, i)) {
                throw new IllegalArgumentException(what + "is inside input " + in.getKey());
            }
            if (inside(i, o)) {
                throw new IllegalArgumentException(what + "contains input " + in.getKey());
            }
            for (String table : publishedAncestors(i)) {
                if (o.equals(table) || inside(o, table)) {
                    throw new IllegalArgumentException(what + "is inside " + table + ", the published table of input "
                            + in.getKey());
                }
            }
        }
        usable(role, out, o);
    }

    private static boolean writable(FileSystem fs, Path dir) throws IOException {
        if ("file".equals(dir.toUri().getScheme())) { // the OS decides (root may write anywhere)
            return java.nio.file.Files.isWritable(java.nio.file.Path.of(dir.toUri().getPath()));
        }
        try {
            fs.access(dir, FsAction.WRITE);
            return true;
        } catch (org.apache.hadoop.security.AccessControlException e) {
            return false;
        }
    }

    private static boolean inside(String path, String dir) {
        return path.startsWith(dir.endsWith("/") ? dir : dir + "/");
    }

    /** Ancestors of {@code path} that are published outputs or partitioned tables: what the input belongs to. */
    private List<String> publishedAncestors(String path) {
        List<String> out = new ArrayList<>();
        for (Path p = new Path(path).getParent(); p != null && !p.isRoot(); p = p.getParent()) {
            String dir = p.toString();
            if (storage.exists(dir + "/" + Manifest.SUCCESS) || PartitionedTable.isPartitioned(storage, dir)) {
                out.add(dir);
            }
        }
        return out;
    }

    /**
     * The output's location must be creatable: walking up to the nearest existing path, that path must be a directory
     * (or the output itself, when it exists) and writable.
     */
    private void usable(String role, String out, String canonical) {
        FileSystem fs = storage.fs(canonical);
        Path p = new Path(canonical);
        try {
            while (p != null && !fs.exists(p)) {
                p = p.getParent();
            }
            if (p == null) {
                return;
            }
            FileStatus status = fs.getFileStatus(p);
            if (!status.isDirectory()) {
                throw new IllegalArgumentException(role + " " + out + " cannot be created: " + p + " is a file");
            }
            if (!writable(fs, p)) {
                throw new IllegalArgumentException(role + " " + out + " cannot be created: " + p + " is not writable");
            }
        } catch (IOException e) {
            throw new IllegalArgumentException(role + " " + out + " cannot be created: " + e.getMessage(), e);
        }
    }
}
