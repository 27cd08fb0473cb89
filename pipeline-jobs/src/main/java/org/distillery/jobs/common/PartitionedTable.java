package org.distillery.jobs.common;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.distillery.model.nn.Models;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.SoftTargetSchema;
import org.distillery.model.schema.TransferSchema;

/**
 * A table published one partition at a time, Hive-style: a directory without a {@code _SUCCESS} of its own whose
 * children {@code COLUMN=VALUE} are each a published output (their own manifest and {@code _SUCCESS}), written and
 * replaced independently. A transfer set partitioned by date looks like this, and the label job writes its soft
 * targets the same way, so that relabeling one partition replaces that partition only (dynamic partition overwrite,
 * each partition published atomically by {@link StagedOutput}).
 *
 * <p>Readers take the table as the union of its published partitions, under one manifest made from theirs
 * ({@link #manifest()}): its id is the SHA-256 of the partitions' manifest ids, its facts those the partitions share
 * (rows summed), and an input that each partition read from the same partition of another table (a soft-target
 * partition labelled from the transfer partition of the same name) becomes an input on that table, with the id that
 * table's own combined manifest has. So train's check that soft targets were labelled from its transfer set works on
 * whole partitioned tables, and fails when a partition was added or changed but not relabeled.
 */
public final class PartitionedTable {
    private static final Pattern NAME = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)=([^/]+)");
    /** Facts every partition must agree on for the table to be read as one (a reader would mix otherwise). */
    private static final Set<String> MUST_AGREE = Set.of(TransferSchema.FEATURE_COUNT, TransferSchema.CLASSES,
            TransferSchema.SCHEMA_VERSION, SoftTargetSchema.TEMPERATURE, SoftTargetSchema.SCHEMA_VERSION,
            SoftTargetSchema.PRECISION, SoftTargetSchema.TOP_K, SoftTargetSchema.SOFT_STORED,
            SoftTargetSchema.HINT_LAYER, SoftTargetSchema.HINT_WIDTH, "teacherSha256", "ensemble",
            TransferSchema.CLASS_NAMES, TransferSchema.SHAPE, TransferSchema.PREPROCESSING);

    /** The combined manifest's fact listing the partitions read: name to manifest id. */
    public static final String PARTITIONS = "partitions";

    /** One published partition: {@code name} is {@code COLUMN=VALUE}. */
    public record Partition(String name, String path, Manifest manifest) {
    }

    private final String root;
    private final String column;
    private final List<Partition> partitions;

    private PartitionedTable(String root, String column, List<Partition> partitions) {
        this.root = root;
        this.column = column;
        this.partitions = List.copyOf(partitions);
    }

    /**
     * Whether {@code path} is a partitioned table: an existing directory without {@code _SUCCESS} with at least one
     * {@code COLUMN=VALUE} child directory (hidden and {@code _} names, e.g. staging directories, are not children).
     */
    public static boolean isPartitioned(Storage storage, String path) {
        return storage.exists(path) && !storage.exists(path + "/" + Manifest.SUCCESS)
                && !childNames(storage, path).isEmpty();
    }

    /** The partition directory names under {@code path} (sorted; empty when there is none or no such directory). */
    public static List<String> childNames(Storage storage, String path) {
        if (!storage.exists(path)) {
            return List.of();
        }
        FileStatus[] children;
        try {
            children = storage.fs(path).listStatus(new Path(path));
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot list " + path + ": " + e.getMessage(), e);
        }
        return Arrays.stream(children).filter(FileStatus::isDirectory).map(s -> s.getPath().getName())
                .filter(n -> !n.startsWith(".") && !n.startsWith("_") && NAME.matcher(n).matches())
                .sorted().toList();
    }

    /**
     * The partitioned table at {@code root}: every partition must be published and all must be partitions of one
     * column; an error names the first that is not.
     */
    public static PartitionedTable read(Storage storage, String root) {
        String qualified = storage.qualify(root);
        List<String> names = childNames(storage, qualified);
        if (names.isEmpty()) {
            throw new IllegalArgumentException("not a partitioned table (no COLUMN=VALUE partition directories): "
                    + root);
        }
        String column = column(names.get(0));
        List<Partition> partitions = new ArrayList<>();
        for (String name : names) {
            if (!column(name).equals(column)) {
                throw new IllegalArgumentException("partitions of " + root + " are partitioned by different columns: "
                        + names.get(0) + " and " + name);
            }
            String path = qualified + "/" + name;
            partitions.add(new Partition(name, path, storage.publishedManifest(path)));
        }
        return new PartitionedTable(qualified, column, partitions);
    }

    /** The column of a partition name {@code COLUMN=VALUE}, or an error naming the value. */
    public static String column(String name) {
        Matcher m = NAME.matcher(name);
        if (!m.matches()) {
            throw new IllegalArgumentException("partition must be COLUMN=VALUE (e.g. date=2026-11-24), got '" + name
                    + "'");
        }
        return m.group(1);
    }

    public String root() {
        return root;
    }

    public String column() {
        return column;
    }

    public List<Partition> partitions() {
        return partitions;
    }

    /** The partition called {@code name}, or null. */
    public Partition partition(String name) {
        return partitions.stream().filter(p -> p.name().equals(name)).findFirst().orElse(null);
    }

    /** The table's identity: the SHA-256 of its partitions' names and manifest ids. */
    public String id() {
        return id(column, ids(partitions));
    }

    private static Map<String, String> ids(List<Partition> partitions) {
        Map<String, String> ids = new TreeMap<>();
        partitions.forEach(p -> ids.put(p.name(), p.manifest().id()));
        return ids;
    }

    private static String id(String column, Map<String, String> manifestIds) {
        StringBuilder b = new StringBuilder("distillery partitioned table by ").append(column).append('\n');
        new TreeMap<>(manifestIds).forEach((name, id) -> b.append(name).append(' ').append(id).append('\n'));
        return Models.sha256(b.toString().getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The table as one manifest (see the class comment). Refuses a table whose partitions were written by different
     * jobs or disagree on a fact a reader relies on (class count, temperature, teacher, storage layout, ...), naming
     * two partitions that differ.
     */
    public Manifest manifest() {
        Partition first = partitions.get(0);
        Map<String, Object> facts = new TreeMap<>();
        Set<String> keys = new TreeSet<>();
        for (Partition p : partitions) {
            if (!Objects.equals(p.manifest().job(), first.manifest().job())) {
                throw new IllegalArgumentException("partitions of " + root + " were written by different jobs: "
                        + first.name() + " by " + first.manifest().job() + ", " + p.name() + " by " + p.manifest().job());
            }
            keys.addAll(p.manifest().facts().keySet());
        }
        for (String key : keys) {
            Object value = first.manifest().facts().get(key);
            Partition differs = partitions.stream()
                    .filter(p -> !Objects.equals(p.manifest().facts().get(key), value)).findFirst().orElse(null);
            if (differs == null) {
                facts.put(key, value);
            } else if (MUST_AGREE.contains(key)) {
                throw new IllegalArgumentException("partitions of " + root + " disagree on " + key + ": "
                        + first.name() + " has " + value + ", " + differs.name() + " has "
                        + differs.manifest().facts().get(key) + " (relabel or republish the older partitions)");
            }
        }
        facts.put("rows", partitions.stream().mapToLong(p -> (long) p.manifest().number("rows")).sum());
        facts.put("partitionColumn", column);
        facts.put(PARTITIONS, ids(partitions));
        return new Manifest(Manifest.FORMAT, id(), first.manifest().job(), null, inputs(), facts, Map.of(), files(),
                null);
    }

    /** The partitions' data files, as paths relative to the table's root; null unless every partition lists its own. */
    private Map<String, Long> files() {
        if (partitions.stream().anyMatch(p -> p.manifest().files() == null)) {
            return null;
        }
        Map<String, Long> files = new TreeMap<>();
        partitions.forEach(p -> p.manifest().files().forEach((name, bytes) -> files.put(p.name() + "/" + name, bytes)));
        return files;
    }

    /**
     * Inputs of the combined manifest: one the partitions share as is, or, when each partition read the partition of
     * its own name under one table, that table with the id its combined manifest has.
     */
    private Map<String, Manifest.Input> inputs() {
        Map<String, Manifest.Input> inputs = new LinkedHashMap<>();
        for (String role : partitions.get(0).manifest().inputs().keySet()) {
            List<Manifest.Input> each = partitions.stream().map(p -> p.manifest().inputs().get(role)).toList();
            if (each.stream().anyMatch(Objects::isNull)) {
                continue;
            }
            if (each.stream().distinct().count() == 1) {
                inputs.put(role, each.get(0));
                continue;
            }
            String parent = parent(each.get(0).path(), partitions.get(0).name());
            Map<String, String> ids = new TreeMap<>();
            for (int i = 0; i < partitions.size() && parent != null; i++) {
                Manifest.Input in = each.get(i);
                if (!parent.equals(parent(in.path(), partitions.get(i).name()))) {
                    parent = null;
                } else {
                    ids.put(partitions.get(i).name(), in.manifestId());
                }
            }
            if (parent != null) {
                inputs.put(role, new Manifest.Input(parent, id(column, ids)));
            }
        }
        return inputs;
    }

    private static String parent(String path, String name) {
        return path != null && path.endsWith("/" + name) ? path.substring(0, path.length() - name.length() - 1) : null;
    }

    /**
     * Why a partitioned soft-target table was not labelled from {@code transfer} as it is now, partition by
     * partition (empty when it was): partitions not labelled yet, labelled from an older version, or without a
     * transfer partition.
     */
    public String staleness(PartitionedTable transfer) {
        List<String> why = new ArrayList<>();
        for (Partition t : transfer.partitions) {
            Partition s = partition(t.name());
            Manifest.Input from = s == null ? null : s.manifest().inputs().get("transfer");
            if (s == null) {
                why.add(t.name() + " is not labelled");
            } else if (from == null || !t.manifest().id().equals(from.manifestId())) {
                why.add(t.name() + " was labelled from transfer manifest " + (from == null ? "?" : from.manifestId())
                        + ", the partition is now " + t.manifest().id());
            }
        }
        partitions.stream().filter(s -> transfer.partition(s.name()) == null)
                .forEach(s -> why.add(s.name() + " has no transfer partition"));
        return String.join("; ", why);
    }

    @Override
    public String toString() {
        return root + " (" + partitions.size() + " partitions by " + column + ": "
                + partitions.stream().map(Partition::name).sorted(Comparator.naturalOrder()).toList() + ")";
    }
}
